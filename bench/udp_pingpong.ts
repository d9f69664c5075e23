// Raw UDP ping-pong with Deno.listenDatagram (the API the SCTP stack uses when the runtime has
// it), as the baseline of the transport and resolution benchmarks.

/** An echo server on a Deno datagram socket; runs until `close()`. */
export function denoUdpEcho(): { port: number; close: () => void } {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const buffer = new Uint8Array(65_536);
  (async () => {
    try {
      for (;;) {
        const [data, from] = await conn.receive(buffer);
        await conn.send(data, from);
      }
    } catch {
      // closed
    }
  })();
  return { port: (conn.addr as Deno.NetAddr).port, close: () => conn.close() };
}

/**
 * Keeps `outstanding` datagrams in flight against an echo server for `seconds`; returns the
 * round trips per second and each round trip's latency in ms.
 */
export async function denoUdpPingPong(
  port: number,
  outstanding: number,
  seconds: number,
  payload: Uint8Array,
): Promise<{ perSecond: number; latencies: number[] }> {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const buffer = new Uint8Array(65_536);
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let head = 0;
  for (let i = 0; i < outstanding; i++) {
    sentAt.push(performance.now());
    await conn.send(payload, to);
  }
  let last = performance.now();
  // A lost datagram would stall its slot: after 200 ms of silence, send a fresh one.
  const watchdog = setInterval(() => {
    if (performance.now() - last > 200) {
      sentAt.push(performance.now());
      conn.send(payload, to).catch(() => {});
    }
  }, 100);
  try {
    for (;;) {
      await conn.receive(buffer);
      last = performance.now();
      latencies.push(last - sentAt[head++]);
      if (last >= end) break;
      sentAt.push(performance.now());
      await conn.send(payload, to);
    }
  } finally {
    clearInterval(watchdog);
  }
  const perSecond = latencies.length / ((performance.now() - start) / 1000);
  conn.close();
  // The other slots' answers are not waited for: each slot's round trips were counted.
  return { perSecond, latencies };
}
