// `deno task bench:resolution`: handle resolutions per second and their latency from a PU
// process (this one) to a registrar process, over SCTP/UDP and TCP, with 1 and 32 requests
// outstanding, for 1 pool of 10 PEs and for 1,000 pools of 100 PEs, plus raw UDP ping-pong in
// the same run; and, when RSPLIB is built and namespaces can be made (root, `ip`), RSPLIB's
// `hrestest` against RSPLIB's registrar and against ours (bench/hrestest.ts; our registrar's
// handle resolution rate limit is raised for that run). The registrar serves HTTP, and the
// TCP run with 32 outstanding is repeated while /metrics is scraped every 100 ms
// (hres_per_s_tcp_32_metrics, metrics_cost_pct_tcp_32). The last line of output is one JSON
// object of numbers. BENCH_HRESTEST=off skips the hrestest part, =only runs only it.

import dgram from "node:dgram";
import { decodeAsapMessage, encodeAsapMessage } from "../asap/mod.ts";
import { type EndpointAddress, openAssociation } from "../transport/open.ts";
import type { Association } from "../transport/types.ts";
import { Child, startRegistrar } from "../tests/support/processes.ts";
import { PoolUser } from "../asap/pool_user.ts";
import { denoUdpPingPong } from "./udp_pingpong.ts";
import { hrestestFigures } from "./hrestest.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 2);
const ASAP = 11;
const text = (s: string) => new TextEncoder().encode(s);

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function summarize(latencies: number[], elapsed: number): Run {
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    perSecond: Math.round(latencies.length / (elapsed / 1000)),
    p50: Number(percentile(sorted, 0.5).toFixed(3)),
    p99: Number(percentile(sorted, 0.99).toFixed(3)),
  };
}

/** Keeps `outstanding` requests in flight for SECONDS; each answer releases the next one. */
async function pingPong(
  outstanding: number,
  sendOne: () => void,
  onAnswer: (handler: () => void) => void,
): Promise<Run> {
  const latencies: number[] = [];
  const sentAt: number[] = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let head = 0;
  const done = Promise.withResolvers<void>();
  let inFlight = 0;
  const send = () => {
    sentAt.push(performance.now());
    inFlight++;
    sendOne();
  };
  onAnswer(() => {
    const now = performance.now();
    latencies.push(now - sentAt[head++]);
    inFlight--;
    if (now < end) send();
    else if (inFlight === 0) done.resolve();
  });
  for (let i = 0; i < outstanding; i++) send();
  await done.promise;
  return summarize(latencies, performance.now() - start);
}

async function udpRun(port: number, outstanding: number): Promise<Run> {
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((r) => socket.bind({ address: "127.0.0.1", port: 0 }, () => r()));
  const payload = encodeAsapMessage({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: text("Bench10"),
  });
  const run = await pingPong(
    outstanding,
    () => socket.send(payload, port, "127.0.0.1"),
    (handler) => socket.on("message", handler),
  );
  socket.close();
  return run;
}

/**
 * Runs `work` while scraping `url` every `interval` ms (one scrape at a time), as Prometheus
 * would, only faster; returns its result with the scrapes' latencies.
 */
async function scraping<T>(
  url: string,
  interval: number,
  work: () => Promise<T>,
): Promise<{ result: T; latencies: number[] }> {
  const latencies: number[] = [];
  let busy = false;
  let failure: Error | undefined;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const start = performance.now();
    try {
      const response = await fetch(url);
      const body = await response.text();
      if (!response.ok || !body.includes("rserpool_registrar_handle_resolutions_total")) {
        failure = new Error(`Scrape of ${url}: ${response.status}`);
      }
      latencies.push(performance.now() - start);
    } catch (e) {
      failure = e as Error;
    } finally {
      busy = false;
    }
  }, interval);
  try {
    const result = await work();
    if (failure !== undefined) throw failure;
    return { result, latencies };
  } finally {
    clearInterval(timer);
  }
}

/** A PU side of one association: one reader, and a handler per run. */
class Resolver {
  #association: Association;
  #handler: () => void = () => {};
  failures = 0;

  constructor(association: Association) {
    this.#association = association;
    (async () => {
      for await (const m of association) {
        const answer = decodeAsapMessage(m.data);
        if (answer.type !== "handle-resolution-response" || answer.poolElements.length === 0) {
          this.failures++;
        }
        this.#handler();
      }
    })();
  }

  async run(outstanding: number, handles: Uint8Array[]): Promise<Run> {
    const requests = handles.map((poolHandle) =>
      encodeAsapMessage({ type: "handle-resolution", wantsUpdates: false, poolHandle })
    );
    let i = 0;
    const run = await pingPong(
      outstanding,
      () => {
        // Handed over as a PU hands over what it encodes for one send (never changed after).
        this.#association.send(requests[i++ % requests.length], { ppid: ASAP, transfer: true })
          .catch(() => {});
      },
      (h) => this.#handler = h,
    );
    this.#handler = () => {};
    if (this.failures > 0) throw new Error(`${this.failures} resolutions failed`);
    return run;
  }
}

async function register(address: EndpointAddress, pools: { handle: Uint8Array; size: number }[]) {
  const association = await openAssociation(address, { framing: "rserpool", ppid: ASAP });
  const pending: Promise<void>[] = [];
  let answered = 0;
  let total = 0;
  const all = Promise.withResolvers<void>();
  (async () => {
    for await (const m of association) {
      const r = decodeAsapMessage(m.data);
      if (r.type !== "registration-response" || r.rejected) {
        all.reject(new Error(`Registration failed: ${JSON.stringify(r.type)}`));
        return;
      }
      if (++answered === total) all.resolve();
    }
  })();
  let id = 1;
  for (const pool of pools) total += pool.size;
  for (const pool of pools) {
    for (let k = 0; k < pool.size; k++) {
      pending.push(association.send(
        encodeAsapMessage({
          type: "registration",
          poolHandle: pool.handle,
          poolElement: {
            identifier: id++,
            homeRegistrarId: 0,
            registrationLife: 3_600_000,
            userTransport: {
              protocol: "tcp",
              port: 10000 + (id % 50000),
              transportUse: "data",
              addresses: ["127.0.0.1"],
            },
            policy: { name: "round-robin" },
          },
        }),
        { ppid: ASAP },
      ));
    }
  }
  await Promise.all(pending);
  await all.promise;
  return association; // kept open: the PEs belong to it
}

/**
 * PU failover time: a PU keeps one echo request outstanding against a pool of three PE
 * processes; the PE it uses is killed (SIGKILL) and the time until the next answer comes from
 * another PE is measured. The killed PE is replaced before the next run. Default settings.
 */
async function failoverRuns(
  registrar: EndpointAddress,
  protocol: "tcp" | "sctp",
  runs: number,
): Promise<Run> {
  const reg = `${registrar.protocol}:${registrar.hostname}:${registrar.port}`;
  const pes = new Map<number, Child>();
  const pool = `Fail${protocol}`;
  const spawnPe = async () => {
    const child = Child.spawn("pe", "services/pe_main.ts", [
      "--service",
      "echo",
      "--pool",
      pool,
      "--registrar",
      reg,
      "--listen",
      `${protocol}:127.0.0.1:0`,
    ]);
    const info = await child.json<{ identifier: number }>();
    pes.set(info.identifier, child);
  };
  for (let i = 0; i < 3; i++) await spawnPe();
  const pu = new PoolUser({ registrars: [registrar] });
  const session = await pu.connect(pool);
  const times: number[] = [];
  let answerFrom: ((pe: number) => void) | undefined;
  let running = true;
  const payload = new Uint8Array(32);
  const loop = (async () => {
    while (running) {
      await session.request(payload);
      answerFrom?.(session.poolElement?.identifier ?? 0);
    }
  })();
  try {
    for (let run = 0; run < runs; run++) {
      await new Promise((r) => setTimeout(r, 200));
      const victim = session.poolElement!.identifier;
      const other = new Promise<number>((resolve) => {
        answerFrom = (pe) => {
          if (pe !== victim) resolve(performance.now());
        };
      });
      const killed = performance.now();
      pes.get(victim)?.process.kill("SIGKILL");
      times.push((await other) - killed);
      answerFrom = undefined;
      await pes.get(victim)?.status;
      pes.delete(victim);
      await spawnPe();
    }
  } finally {
    running = false;
    await loop.catch(() => {});
    await session.close();
    await pu.close();
    for (const c of pes.values()) await c.stop("SIGKILL");
  }
  const sorted = times.sort((a, b) => a - b);
  return {
    perSecond: 0,
    p50: Number(percentile(sorted, 0.5).toFixed(1)),
    p99: Number(percentile(sorted, 0.99).toFixed(1)),
  };
}

/** Adds hrestest's figures to `results`, or prints why they are missing. */
async function addHrestest(results: Record<string, number>): Promise<void> {
  if (Deno.env.get("BENCH_HRESTEST") === "off") return;
  const figures = await hrestestFigures();
  if (typeof figures === "string") console.error(`hrestest figures skipped: ${figures}`);
  else Object.assign(results, figures);
}

async function main() {
  const results: Record<string, number> = {};
  if (Deno.env.get("BENCH_HRESTEST") === "only") {
    await addHrestest(results);
    console.log(JSON.stringify(results));
    return;
  }
  const echo = Child.spawn("udp-echo", "bench/udp_echo.ts", []);
  const log = (s: string) => Deno.env.get("BENCH_VERBOSE") && console.error(s);
  log("echo spawned");
  const { port: echoPort, denoPort } = await echo.json<{ port: number; denoPort: number }>();
  const { child: registrar, ready } = await startRegistrar([
    "--keep-alive-interval",
    "10m",
    "--keep-alive-timeout",
    "10m",
    "--registration-rate",
    "10000000/10000000",
    "--handle-resolution-rate",
    "10000000/10000000",
    "--max-pes-per-pool",
    "100000",
    "--log-level",
    "warning",
    // Idle unless scraped (the metrics run below).
    "--http",
    "127.0.0.1:0",
  ], "registrar");
  log("registrar ready");
  const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
  const sctp = ready.asap.find((a) => a.protocol === "sctp")!;
  const owners: Association[] = [];
  try {
    // The baseline is raw UDP over the API the SCTP stack uses (Deno.listenDatagram when the
    // runtime has it); node:dgram's figures are reported beside it.
    const probe = encodeAsapMessage({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle: text("Bench10"),
    });
    for (const outstanding of [1, 32]) {
      const deno = await denoUdpPingPong(denoPort, outstanding, SECONDS, probe);
      const r = summarize(deno.latencies, SECONDS * 1000);
      results[`udp_pingpong_per_s_${outstanding}`] = Math.round(deno.perSecond);
      results[`udp_pingpong_p99_ms_${outstanding}`] = r.p99;
      const node = await udpRun(echoPort, outstanding);
      results[`udp_pingpong_node_per_s_${outstanding}`] = node.perSecond;
    }
    log("udp done");
    owners.push(await register(tcp, [{ handle: text("Bench10"), size: 10 }]));
    log("registered 10");
    const small = [text("Bench10")];
    for (const [name, address] of [["sctp", sctp], ["tcp", tcp]] as const) {
      const association = await openAssociation(
        address,
        name === "tcp" ? { framing: "rserpool", ppid: ASAP } : {},
      );
      const resolver = new Resolver(association);
      for (const outstanding of [1, 32]) {
        const r = await resolver.run(outstanding, small);
        results[`hres_per_s_${name}_${outstanding}`] = r.perSecond;
        results[`hres_p50_ms_${name}_${outstanding}`] = r.p50;
        results[`hres_p99_ms_${name}_${outstanding}`] = r.p99;
        log(`${name} ${outstanding}: ${JSON.stringify(r)}`);
      }
      if (name === "tcp") {
        // The cost of metrics: /metrics scraped every 100 ms, in runs alternating with plain
        // ones (metrics, plain, metrics) beside the plain run above.
        const { port } = (ready as unknown as { http: { port: number } }).http;
        const url = `http://127.0.0.1:${port}/metrics`;
        const plain = [results.hres_per_s_tcp_32];
        const scraped: number[] = [];
        const scrapeTimes: number[] = [];
        for (const withMetrics of [true, false, true]) {
          if (!withMetrics) {
            plain.push((await resolver.run(32, small)).perSecond);
            continue;
          }
          const { result, latencies } = await scraping(url, 100, () => resolver.run(32, small));
          scraped.push(result.perSecond);
          scrapeTimes.push(...latencies);
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        results.hres_per_s_tcp_32_metrics = Math.round(mean(scraped));
        results.metrics_cost_pct_tcp_32 = Number(
          (100 * (1 - mean(scraped) / mean(plain))).toFixed(2),
        );
        const sortedScrapes = scrapeTimes.sort((a, b) => a - b);
        results.metrics_scrape_p50_ms = Number(percentile(sortedScrapes, 0.5).toFixed(2));
        results.metrics_scrape_p99_ms = Number(percentile(sortedScrapes, 0.99).toFixed(2));
        results.metrics_scrapes = sortedScrapes.length;
        log(`tcp 32 with metrics: ${scraped} vs ${plain}`);
      }
      await association.close();
    }
    // 1,000 pools of 100 PEs.
    const big = Array.from({ length: 1000 }, (_, i) => ({ handle: text(`Pool${i}`), size: 100 }));
    const started = performance.now();
    owners.push(await register(tcp, big));
    results.register_100k_s = Number(((performance.now() - started) / 1000).toFixed(2));
    const handles = big.map((p) => p.handle);
    for (const [name, address] of [["sctp", sctp], ["tcp", tcp]] as const) {
      const association = await openAssociation(
        address,
        name === "tcp" ? { framing: "rserpool", ppid: ASAP } : {},
      );
      const resolver = new Resolver(association);
      for (const outstanding of [1, 32]) {
        const r = await resolver.run(outstanding, handles);
        results[`hres_per_s_${name}_${outstanding}_100k`] = r.perSecond;
        results[`hres_p99_ms_${name}_${outstanding}_100k`] = r.p99;
      }
      await association.close();
    }
    // Failover against a registrar with default timers: the one above keeps PEs alive for 10
    // minutes, so the PEs killed run after run stayed in the pool (an unreachable report from
    // one PU does not remove a PE) until a PU's attempts met only dead ones.
    const failoverRegistrar = await startRegistrar(["--log-level", "warning"], "registrar");
    try {
      const at = (p: "tcp" | "sctp") => failoverRegistrar.ready.asap.find((a) => a.protocol === p)!;
      const runs = Number(Deno.env.get("BENCH_FAILOVER_RUNS") ?? 10);
      const tcpFailover = await failoverRuns(at("tcp"), "tcp", runs);
      results.failover_p50_ms = tcpFailover.p50;
      results.failover_p99_ms = tcpFailover.p99;
      log(`failover tcp: ${JSON.stringify(tcpFailover)}`);
      const sctpFailover = await failoverRuns(at("sctp"), "sctp", Math.min(runs, 3));
      results.failover_p50_ms_sctp = sctpFailover.p50;
      results.failover_p99_ms_sctp = sctpFailover.p99;
      log(`failover sctp: ${JSON.stringify(sctpFailover)}`);
    } finally {
      await failoverRegistrar.child.stop();
    }
  } finally {
    for (const o of owners) o.abort();
    await registrar.stop();
    await echo.stop();
  }
  results.sctp_vs_udp_ratio_32 = Number(
    (results.hres_per_s_sctp_32 / results.udp_pingpong_per_s_32).toFixed(3),
  );
  results.sctp_vs_udp_ratio_1 = Number(
    (results.hres_per_s_sctp_1 / results.udp_pingpong_per_s_1).toFixed(3),
  );
  results.hres_100k_vs_10_ratio_sctp_32 = Number(
    (results.hres_per_s_sctp_32_100k / results.hres_per_s_sctp_32).toFixed(3),
  );
  // After the other runs, so that the registrar above no longer takes CPU.
  await addHrestest(results);
  console.log(JSON.stringify(results));
}

if (import.meta.main) await main();
