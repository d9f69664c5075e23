/**
 * SCTP exchange benchmark: the CPU that one keep-alive-like exchange costs over our SCTP over
 * UDP stack, both ends in this one process over real loopback UDP.
 *
 * A listener and N associations to it (each from an endpoint of its own, all sharing the
 * process's UDP socket for outgoing associations, as a registrar's or a PE's do); then, at a
 * fixed rate spread over all associations in turn, a small request goes out from the
 * connecting side and the accepting side answers it at once (its SACK bundled with the answer),
 * so that the connecting side sends its delayed SACK later, as a registrar supervising PEs
 * does. CPU time is the sum of the first field of /proc/self/task/* /schedstat (nanoseconds of
 * every thread, exact, not tick-sampled), over a measurement window after a warm-up. Both ends
 * are counted: the figure compares versions of the stack, it is not one end's cost.
 *
 * The defaults (2,000 associations, 3,000 exchanges/s, each association every 0.67 s, so that
 * the 50 ms delayed SACK goes out on its own) keep the socket buffers from overflowing: at
 * 10,000/s both ends in one process lose datagrams whenever a GC pause or a burst of timers
 * outlasts the default 208 KiB UDP receive buffer (`/proc/net/snmp` RcvbufErrors), and the
 * retransmissions then make the figure noisy. `retransmissions` in the result tells whether a
 * run was clean; `latency_ms_p50_p90_p99` is the time from a request to its answer.
 *
 * Run `deno run -A bench/sctp_exchange_bench.ts [--associations N] [--rate R] [--seconds S]
 * [--warmup S]`; the last line of output is one JSON object.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connectSctp, listenSctp, type SctpAssociation } from "../transport/sctp/mod.ts";
import type { Association } from "../transport/types.ts";

const { values } = parseArgs({
  options: {
    associations: { type: "string", default: "2000" },
    rate: { type: "string", default: "3000" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
  },
});
const count = Number(values.associations);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

/** CPU nanoseconds of every thread of this process, from the scheduler's exact accounting. */
function cpuNs(): number {
  let total = 0;
  for (const task of Deno.readDirSync("/proc/self/task")) {
    try {
      const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/schedstat`);
      total += Number(text.slice(0, text.indexOf(" ")));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return total;
}

const listener = await listenSctp({
  hostname: "127.0.0.1",
  port: 0,
  maxAssociations: count + 16,
});
const port = listener.addresses[0].port;

// The accepting side answers every request at once.
const servers: Association[] = [];
(async () => {
  for await (const a of listener) {
    servers.push(a);
    (async () => {
      // receive() in a loop, as the registrar reads its associations.
      for (let m = await a.receive(); m !== null; m = await a.receive()) {
        a.send(m.data, { ppid: m.ppid }).catch(() => {});
      }
    })();
  }
})();

const clients: Association[] = [];
const sentAt: number[] = [];
/** Times from a request to its answer (ms), over the measurement window. */
let latencies: number[] = [];
let answers = 0;
const BATCH = 100;
for (let i = 0; i < count; i += BATCH) {
  const batch = await Promise.all(
    Array.from(
      { length: Math.min(BATCH, count - i) },
      () => connectSctp({ hostname: "127.0.0.1", port }),
    ),
  );
  for (const a of batch) {
    const index = clients.length;
    clients.push(a);
    (async () => {
      while ((await a.receive()) !== null) {
        answers++;
        latencies.push(performance.now() - sentAt[index]);
      }
    })();
  }
}

// A keep-alive sized message (28 bytes, as an ASAP ENDPOINT_KEEP_ALIVE is).
const request = new Uint8Array(28).fill(7);
let sent = 0;
let next = 0;
const start = performance.now();
let running = true;
const tick = () => {
  if (!running) return;
  const due = Math.floor((performance.now() - start) * rate / 1000);
  while (sent < due) {
    const a = clients[next];
    sentAt[next] = performance.now();
    next = (next + 1) % clients.length;
    sent++;
    a.send(request, { ppid: 5 }).catch(() => {});
  }
  setTimeout(tick, 2);
};
tick();

await new Promise((r) => setTimeout(r, warmup * 1000));
const answers0 = answers;
latencies = [];
const sent0 = sent;
const re0 = retransmissions(clients) + retransmissions(servers);
const cpu0 = cpuNs();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu1 = cpuNs();
const t1 = performance.now();
const exchanges = answers - answers0;
const requests = sent - sent0;
running = false;

/** The `qs` quantiles of `values` (ms), rounded to 0.1. */
function quantiles(values: number[], qs: number[]): number[] {
  const sorted = values.toSorted((a, b) => a - b);
  return qs.map((q) =>
    Math.round(10 * (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)) / 10
  );
}

/** DATA chunks sent again (each one is work beside the exchanges: a sign of lost packets). */
function retransmissions(associations: Association[]): number {
  let n = 0;
  for (const a of associations) n += (a as SctpAssociation).retransmissions;
  return n;
}

const result = {
  associations: count,
  rate,
  seconds: (t1 - t0) / 1000,
  exchanges,
  requests,
  cpu_share: (cpu1 - cpu0) / 1e6 / (t1 - t0),
  cpu_us_per_exchange: (cpu1 - cpu0) / 1000 / exchanges,
  latency_ms_p50_p90_p99: quantiles(latencies, [0.5, 0.9, 0.99]),
  retransmissions: retransmissions(clients) + retransmissions(servers) - re0,
};

for (const a of clients) a.abort();
await listener.destroy();
console.log(JSON.stringify(result));
Deno.exit(0);
