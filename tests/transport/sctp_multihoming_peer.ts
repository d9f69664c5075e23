/**
 * One side of the multi-homing test, run inside a network namespace by
 * `sctp_multihoming_test.ts`: `server LOCAL1,LOCAL2 PORT` echoes every message; `client
 * LOCAL1,LOCAL2 PEER1,PEER2 PORT` sends numbered messages, checks that each echo comes back
 * exactly once and in order, and stops when its standard input says `stop`. Both print JSON
 * lines: events, progress and a final summary.
 *
 * @module
 */

import { connectSctp, listenSctp, type SctpAssociation } from "../../transport/sctp/mod.ts";

const TUNING = {
  heartbeatInterval: 100,
  rtoInitial: 100,
  rtoMin: 50,
  rtoMax: 200,
  pathMaxRetransmits: 2,
  associationMaxRetransmits: 1000,
};

function print(value: unknown): void {
  console.log(JSON.stringify(value));
}

function watch(association: SctpAssociation): void {
  association.onEvent((event) => print({ event }));
}

const [role, locals, ...rest] = Deno.args;

if (role === "server") {
  const port = Number(rest[0]);
  const listener = await listenSctp({ hostname: locals.split(","), port, ...TUNING });
  print({ ready: true });
  const association = (await listener.accept()) as SctpAssociation;
  watch(association);
  let received = 0;
  for await (const m of association) {
    received++;
    await association.send(m.data, { stream: m.stream, ppid: m.ppid });
  }
  print({ done: true, received, paths: association.paths });
  await listener.close();
} else if (role === "client") {
  const peers = rest[0].split(",");
  const port = Number(rest[1]);
  const association = await connectSctp({
    hostname: peers,
    port,
    localHostname: locals.split(","),
    ...TUNING,
  });
  watch(association);
  print({ up: true, paths: association.paths });
  let stop = false;
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of Deno.stdin.readable) {
      if (decoder.decode(chunk).includes("stop")) stop = true;
    }
  })();
  let sent = 0;
  let echoed = 0;
  let errors = 0;
  const receiving = (async () => {
    for (;;) {
      const m = await association.receive();
      if (m === null) return;
      const n = new DataView(m.data.buffer, m.data.byteOffset).getUint32(0);
      if (n !== echoed || m.data.length !== 200 + (n % 1000)) errors++;
      for (let i = 4; i < m.data.length; i++) if (m.data[i] !== ((n + i) & 0xff)) errors++;
      echoed++;
      if (echoed % 100 === 0) print({ echoed, current: association.currentPath.hostname });
    }
  })();
  // Keep at most 50 messages outstanding, paced so that the transfer lasts.
  while (!stop) {
    if (sent - echoed >= 50) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    const data = new Uint8Array(200 + (sent % 1000));
    new DataView(data.buffer).setUint32(0, sent);
    for (let i = 4; i < data.length; i++) data[i] = (sent + i) & 0xff;
    await association.send(data, { stream: sent % 4 });
    sent++;
    if (sent % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  while (echoed < sent && !association.closed) await new Promise((r) => setTimeout(r, 10));
  const paths = association.paths;
  await association.close();
  await receiving;
  print({ done: true, sent, echoed, errors, paths });
  // Let the SHUTDOWN COMPLETE leave, then exit (standard input is still open).
  await new Promise((r) => setTimeout(r, 200));
  Deno.exit(0);
}
