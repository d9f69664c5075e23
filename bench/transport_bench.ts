/**
 * Transport benchmark: round trips per second with 1 and 32 messages outstanding over SCTP
 * over UDP, raw node:dgram UDP and framed TCP (transport/tcp), and one-way SCTP bulk
 * throughput, all on 127.0.0.1 with the servers in a child process (so that the two sides do
 * not share an event loop). Run `deno run -A bench/transport_bench.ts`; the last line of output
 * is a JSON object of numbers. Under `deno bench` only a tiny packet-building bench runs.
 *
 * It also measures goodput under loss in virtual time over the simulated network
 * (transport/sctp/sim): a bulk transfer over a 10 Mbit/s link with 1 % and 5 % random loss (each
 * direction) and 1 ms and 20 ms one-way delay, as a fraction of the link's capacity
 * (`sim_goodput_*`), beside the reference `sim_reference_*`: the lower of the capacity and the
 * Mathis bound MSS / RTT x 1.22 / sqrt(p), also as a fraction of the capacity.
 *
 * Options: `--seconds N` per round-trip measurement (default 2), `--bulk-mb N` (default 200),
 * `--sim-seconds N` of virtual time per goodput measurement (default 30), `--only-sim`.
 *
 * @module
 */

import dgram from "node:dgram";
import { denoUdpEcho, denoUdpPingPong } from "./udp_pingpong.ts";
import { parseArgs } from "node:util";
import { PacketBuilder } from "../transport/sctp/chunks.ts";
import { connectSctp, listenSctp } from "../transport/sctp/mod.ts";
import { SimNetwork } from "../transport/sctp/sim/mod.ts";
import { connectTcp, listenTcp } from "../transport/tcp/mod.ts";
import type { Association } from "../transport/types.ts";

const SMALL = 64;
const BULK_MESSAGE = 64 * 1024;

/** The child: echo servers for SCTP, UDP and TCP, and an SCTP bulk sink. */
async function serve(): Promise<void> {
  const echo = async (a: Association) => {
    for await (const m of a) await a.send(m.data, { stream: m.stream, ppid: m.ppid });
  };
  const sctp = await listenSctp({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const a of sctp) {
      // PPID 1 marks a bulk transfer: count bytes, answer once with the total.
      (async () => {
        let bytes = 0;
        for await (const m of a) {
          if (m.ppid === 1) {
            bytes += m.data.length;
          } else if (m.ppid === 2) {
            const total = new Uint8Array(8);
            new DataView(total.buffer).setFloat64(0, bytes);
            bytes = 0;
            await a.send(total, { ppid: 2 });
          } else {
            await a.send(m.data, { stream: m.stream, ppid: m.ppid });
          }
        }
      })();
    }
  })();
  const tcp = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const a of tcp) echo(a);
  })();
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((r) => udp.bind({ address: "127.0.0.1", port: 0 }, () => r()));
  udp.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    udp.send(msg, rinfo.port, rinfo.address);
  });
  console.log(JSON.stringify({
    sctp: sctp.addresses[0].port,
    tcp: tcp.addresses[0].port,
    udp: udp.address().port,
    udpDeno: denoUdpEcho().port,
  }));
  // Ends when the parent closes our standard input.
  for await (const _ of Deno.stdin.readable) {
    // nothing
  }
  Deno.exit(0);
}

/** Round trips per second over an association with `outstanding` messages in flight. */
async function associationRoundTrips(
  a: Association,
  outstanding: number,
  seconds: number,
): Promise<number> {
  const data = new Uint8Array(SMALL);
  // Warm up.
  for (let i = 0; i < 200; i++) {
    await a.send(data);
    await a.receive();
  }
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let stop = false;
  const workers = Array.from({ length: outstanding }, async () => {
    while (!stop) {
      await a.send(data);
      if ((await a.receive()) === null) throw new Error("association ended");
      done++;
      if (performance.now() >= end) stop = true;
    }
  });
  await Promise.all(workers);
  return done / ((performance.now() - start) / 1000);
}

/** Raw node:dgram ping-pong with `outstanding` datagrams in flight. */
async function udpRoundTrips(port: number, outstanding: number, seconds: number) {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind({ address: "127.0.0.1", port: 0 }, () => r()));
  const data = new Uint8Array(SMALL);
  let done = 0;
  let stop = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  let inFlight = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  socket.on("message", () => {
    done++;
    inFlight--;
    if (!stop && performance.now() >= end) stop = true;
    if (!stop) {
      inFlight++;
      socket.send(data, port, "127.0.0.1");
    } else if (inFlight === 0) {
      finish();
    }
  });
  // A lost datagram would stall a slot: refill slots that waited too long.
  const refill = setInterval(() => {
    if (!stop && inFlight < outstanding) {
      inFlight++;
      socket.send(data, port, "127.0.0.1");
    }
    if (stop) finish();
  }, 50);
  for (let i = 0; i < outstanding; i++) {
    inFlight++;
    socket.send(data, port, "127.0.0.1");
  }
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(refill);
  socket.close();
  return done / elapsed;
}

/** One-way SCTP bulk transfer to the sink, in MB/s (10^6 bytes). */
async function sctpBulk(a: Association, megabytes: number): Promise<number> {
  const data = new Uint8Array(BULK_MESSAGE);
  const count = Math.ceil((megabytes * 1e6) / BULK_MESSAGE);
  const start = performance.now();
  for (let i = 0; i < count; i++) await a.send(data, { ppid: 1 });
  await a.send(new Uint8Array(1), { ppid: 2 });
  const answer = await a.receive();
  const seconds = (performance.now() - start) / 1000;
  const bytes = new DataView(answer!.data.buffer, answer!.data.byteOffset).getFloat64(0);
  if (bytes !== count * BULK_MESSAGE) throw new Error(`sink counted ${bytes} bytes`);
  return bytes / 1e6 / seconds;
}

/** Capacity of the simulated link, bits per second. */
const SIM_BANDWIDTH = 10e6;
const SIM_MTU = 1200;

/**
 * Goodput of a bulk transfer over a simulated link with random loss `loss` in each direction
 * and one-way delay `delay` ms, measured over `seconds` of virtual time after the first 20 %,
 * as a fraction of the link's capacity; and the reference: the Mathis bound (with RTT the
 * propagation round trip plus the serialization of one full packet) capped at the capacity.
 */
async function simGoodput(
  loss: number,
  delay: number,
  seconds: number,
  seed = 1,
): Promise<{ goodput: number; reference: number; wallMs: number }> {
  const wallStart = performance.now();
  const net = new SimNetwork({ seed });
  const overhead = 28;
  net.link("10.0.0.1", "10.0.0.2", {
    delay,
    loss,
    bandwidth: SIM_BANDWIDTH,
    overhead,
    // A drop-tail queue of a bandwidth-delay product, at least 64 packets.
    queueBytes: Math.max(64 * SIM_MTU, SIM_BANDWIDTH / 8 * 2 * delay / 1000),
  });
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const tuning = { mtu: SIM_MTU };
  const listener = await listenSctp({
    ...tuning,
    hostname: "10.0.0.2",
    port: 5000,
    stack: net.stack(),
    random,
    secret: new Uint8Array(32),
  });
  const accepted = listener.accept();
  const client = await net.settle(connectSctp({
    ...tuning,
    hostname: "10.0.0.2",
    port: 5000,
    localHostname: "10.0.0.1",
    stack: net.stack(),
    random,
  }));
  const server = (await net.settle(accepted))!;
  let received = 0;
  (async () => {
    for await (const m of server) received += m.data.length;
  })();
  let sending = true;
  (async () => {
    const data = new Uint8Array(16 * 1024);
    while (sending) await client.send(data);
  })().catch(() => {});
  const warmup = seconds * 200;
  await net.run(warmup);
  const before = received;
  await net.run(seconds * 1000);
  const bytes = received - before;
  sending = false;
  client.abort();
  listener.destroy();
  await net.run(10);
  const capacity = SIM_BANDWIDTH / 8 * seconds; // bytes the link could carry
  const mss = SIM_MTU - 12 - 16; // payload of a full DATA chunk
  const rtt = (2 * delay + (SIM_MTU + overhead) * 8000 / SIM_BANDWIDTH) / 1000;
  const mathis = mss / rtt * 1.22 / Math.sqrt(loss); // bytes per second
  return {
    goodput: bytes / capacity,
    reference: Math.min(1, mathis / (SIM_BANDWIDTH / 8)),
    wallMs: performance.now() - wallStart,
  };
}

/** The four goodput measurements, keyed for the JSON summary. */
async function simGoodputs(seconds: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const r3 = (n: number) => Math.round(n * 1000) / 1000;
  for (const [pct, loss] of [[1, 0.01], [5, 0.05]]) {
    for (const delay of [1, 20]) {
      const key = `${pct}pct_${delay}ms`;
      const r = await simGoodput(loss, delay, seconds);
      out[`sim_goodput_${key}`] = r3(r.goodput);
      out[`sim_reference_${key}`] = r3(r.reference);
      out[`sim_wall_ms_${key}`] = Math.round(r.wallMs);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      server: { type: "boolean", default: false },
      seconds: { type: "string", default: "2" },
      "bulk-mb": { type: "string", default: "200" },
      "sim-seconds": { type: "string", default: "30" },
      "only-sim": { type: "boolean", default: false },
    },
  });
  if (values.server) return await serve();
  const seconds = Number(values.seconds);
  const sim = await simGoodputs(Number(values["sim-seconds"]));
  if (values["only-sim"]) {
    console.log(JSON.stringify(sim));
    return;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--server"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server child ended");
    text += value;
  }
  const ports = JSON.parse(text.split("\n")[0]) as {
    sctp: number;
    tcp: number;
    udp: number;
    udpDeno: number;
  };
  const round = (n: number) => Math.round(n);
  const result: Record<string, number> = { ...sim };
  try {
    // The baseline is raw UDP over the API the SCTP stack uses (Deno.listenDatagram when the
    // runtime has it); node:dgram's figures are reported beside it.
    const payload = new Uint8Array(SMALL);
    for (const n of [1, 32]) {
      result[`rt_per_s_udp_${n}`] = round(
        (await denoUdpPingPong(ports.udpDeno, n, seconds, payload)).perSecond,
      );
    }
    result.rt_per_s_udp_node_1 = round(await udpRoundTrips(ports.udp, 1, seconds));
    result.rt_per_s_udp_node_32 = round(await udpRoundTrips(ports.udp, 32, seconds));
    const sctp = await connectSctp({ hostname: "127.0.0.1", port: ports.sctp });
    result.rt_per_s_sctp_1 = round(await associationRoundTrips(sctp, 1, seconds));
    result.rt_per_s_sctp_32 = round(await associationRoundTrips(sctp, 32, seconds));
    result.bulk_mb_per_s_sctp = Math.round(await sctpBulk(sctp, Number(values["bulk-mb"])) * 10) /
      10;
    result.sctp_retransmissions = sctp.stats.retransmissions;
    await sctp.close();
    const tcp = await connectTcp({ hostname: "127.0.0.1", port: ports.tcp });
    result.rt_per_s_tcp_1 = round(await associationRoundTrips(tcp, 1, seconds));
    result.rt_per_s_tcp_32 = round(await associationRoundTrips(tcp, 32, seconds));
    await tcp.close();
    result.sctp_vs_udp_1 = Math.round(result.rt_per_s_sctp_1 / result.rt_per_s_udp_1 * 100) / 100;
    result.sctp_vs_udp_32 = Math.round(result.rt_per_s_sctp_32 / result.rt_per_s_udp_32 * 100) /
      100;
  } finally {
    await child.stdin.close();
    await reader.cancel();
    await child.status;
  }
  console.log(JSON.stringify(result));
}

if (import.meta.main) {
  await main();
}

const builder = new PacketBuilder(1200);
const payload = new Uint8Array(1000);
Deno.bench("sctp: build a packet with one 1000-byte DATA chunk", () => {
  builder.start(5000, 5000, 1);
  builder.data(3, 1, 0, 0, 0, payload);
  builder.finish();
});
