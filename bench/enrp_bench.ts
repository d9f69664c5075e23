// `deno task bench:enrp`: ENRP (RFC 5353) among real registrar processes on loopback, ENRP over
// SCTP/UDP, with this process as the PEs' and PUs' side (ASAP over TCP). The last line of output
// is one JSON object of numbers:
//
// - `sync_100k_s`: a new registrar, started with `--peer` at a mentor that holds BENCH_ENRP_PES
//   (default 100,000) PEs in pools of 100, from its spawn until it resolves every PE: the last
//   pool in the mentor's table order (the order the parts go out in) is resolved
//   BENCH_ENRP_POLL_MS (default 1) apart until it is complete, then a sweep over all pools
//   confirms the rest (`sync_sweep_s` is how long that sweep took, not counted).
//   `sync_100k_from_listen_s` counts from the new registrar's first line (listening) instead.
//   The PEs get into the mentor the way they do in reality: registered over ASAP, here from one
//   load association that registers them all with different IDs (the registration rate limit
//   raised for it, keep-alives every 10 minutes and answered, 1 h registration life), not as
//   100,000 processes. `register_100k_s` is how long that took.
// - `update_p50_ms`, `update_p99_ms`, `update_max_ms`: three fresh registrars with default
//   timers; BENCH_ENRP_UPDATES (default 200) registrations, one after another, each of a PE in
//   its own pool at the first registrar, timed from sending the REGISTRATION until both others
//   resolve it; each of them is polled by a tight HANDLE_RESOLUTION loop (one request
//   outstanding, the next sent as soon as the answer is in), so the granularity is one
//   resolution round trip.
// - `takeover_s`: the first registrar (its update PEs plus BENCH_ENRP_TAKEOVER_PES, default
//   1,000, in pools of 100) is SIGKILLed, and the time until a survivor resolves all of its PEs
//   with a survivor as home (homeRegistrarId) is measured, with the default ENRP timers
//   (max-time-last-heard 5 s, max-time-no-response 5 s). `takeover_both_s`: until both do.
//
// BENCH_ENRP_PHASES=sync,update,takeover picks phases (update and takeover share registrars).
// BENCH_ENRP_TABLE_ELEMENTS sets --max-handle-table-elements of both. BENCH_VERBOSE=1
// prints progress on standard error; SCENARIO_VERBOSE=1 the registrars' standard error.

import { type AsapMessage, decodeAsapMessage, encodeAsapMessage } from "../asap/mod.ts";
import type { PoolElementParameter } from "../wire/mod.ts";
import { type EndpointAddress, openAssociation } from "../transport/open.ts";
import type { Association } from "../transport/types.ts";
import { type Child, type RegistrarReady, startRegistrar } from "../tests/support/processes.ts";
import { loadPe } from "../tests/support/asap_client.ts";

const ASAP = 11;
const POOL_SIZE = 100;
const PES = Number(Deno.env.get("BENCH_ENRP_PES") ?? 100_000);
const UPDATES = Number(Deno.env.get("BENCH_ENRP_UPDATES") ?? 200);
const TAKEOVER_PES = Number(Deno.env.get("BENCH_ENRP_TAKEOVER_PES") ?? 1000);
const POLL_MS = Number(Deno.env.get("BENCH_ENRP_POLL_MS") ?? 1);
const TABLE_ELEMENTS = Deno.env.get("BENCH_ENRP_TABLE_ELEMENTS");
const PHASES = new Set((Deno.env.get("BENCH_ENRP_PHASES") ?? "sync,update,takeover").split(","));

const text = (s: string) => new TextEncoder().encode(s);
const log = (s: string) => Deno.env.get("BENCH_VERBOSE") && console.error(`[bench] ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const asArg = (a: EndpointAddress) => `${a.protocol}:${a.hostname}:${a.port}`;
const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

/** Limits raised so that one association may register and resolve as fast as it can. */
const UNLIMITED = [
  "--registration-rate",
  "10000000/10000000",
  "--handle-resolution-rate",
  "10000000/10000000",
  "--max-handle-resolution-items",
  String(POOL_SIZE),
  "--log-level",
  "warning",
];

interface Running {
  name: string;
  child: Child;
  ready: RegistrarReady;
  asap: EndpointAddress;
  enrp: EndpointAddress;
}

async function registrar(name: string, peers: Running[], extra: string[] = []): Promise<Running> {
  const { child, ready } = await startRegistrar([
    "--asap",
    "tcp:127.0.0.1:0",
    "--enrp",
    "sctp:127.0.0.1:0",
    ...peers.flatMap((p) => ["--peer", asArg(p.enrp)]),
    ...UNLIMITED,
    ...extra,
  ], name);
  return { name, child, ready, asap: ready.asap[0], enrp: ready.enrp[0] };
}

/**
 * One ASAP association of this process: requests answered in order (the registrar answers in
 * order on one association), keep-alives answered at once.
 */
class AsapLink {
  readonly association: Association;
  #waiting: ((m: AsapMessage) => void)[] = [];
  #ended = false;
  keepAlives = 0;

  private constructor(association: Association) {
    this.association = association;
    (async () => {
      for await (const m of association) {
        if (m.ppid !== ASAP) continue;
        const message = decodeAsapMessage(m.data);
        if (message.type === "endpoint-keep-alive") {
          this.keepAlives++;
          if (message.identifier !== undefined) {
            this.#send(encodeAsapMessage({
              type: "endpoint-keep-alive-ack",
              poolHandle: message.poolHandle,
              identifier: message.identifier,
            }));
          }
          continue;
        }
        this.#waiting.shift()?.(message);
      }
    })().catch(() => {}).finally(() => {
      this.#ended = true;
      for (const w of this.#waiting.splice(0)) w({ type: "error", error: [] });
    });
  }

  static async open(address: EndpointAddress): Promise<AsapLink> {
    return new AsapLink(await openAssociation(address, { framing: "rserpool", ppid: ASAP }));
  }

  #send(bytes: Uint8Array): void {
    this.association.send(bytes, { ppid: ASAP }).catch(() => {});
  }

  /** Sends a request; the promise is its answer. */
  request(bytes: Uint8Array): Promise<AsapMessage> {
    if (this.#ended) return Promise.reject(new Error("Association ended"));
    const answer = new Promise<AsapMessage>((r) => this.#waiting.push(r));
    this.#send(bytes);
    return answer;
  }

  /** The PEs a pool resolves to (up to POOL_SIZE), none for an unknown pool. */
  async resolve(poolHandle: Uint8Array): Promise<PoolElementParameter[]> {
    const answer = await this.request(encodeAsapMessage({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle,
      items: POOL_SIZE,
    }));
    if (answer.type !== "handle-resolution-response") {
      if (this.#ended) throw new Error("Association ended");
      return [];
    }
    return answer.poolElements;
  }

  abort(): void {
    this.association.abort();
  }
}

let nextIdentifier = 1;

/** Registers `size` PEs in each pool, `window` registrations outstanding at a time. */
async function registerMany(link: AsapLink, pools: Uint8Array[], size: number, window = 512) {
  const jobs: [Uint8Array, number][] = [];
  for (const poolHandle of pools) {
    for (let k = 0; k < size; k++) jobs.push([poolHandle, nextIdentifier++]);
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const [poolHandle, identifier] = jobs[next++];
      const answer = await link.request(
        encodeAsapMessage({ type: "registration", poolHandle, poolElement: loadPe(identifier) }),
      );
      if (answer.type !== "registration-response" || answer.rejected) {
        throw new Error(`Registration of ${identifier} failed: ${JSON.stringify(answer)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

/** Resolves until the pool has `size` PEs (and `accept` likes them), POLL_MS apart. */
async function until(
  link: AsapLink,
  poolHandle: Uint8Array,
  accept: (pes: PoolElementParameter[]) => boolean,
  deadline: number,
  pollMs = POLL_MS,
): Promise<PoolElementParameter[]> {
  for (;;) {
    const pes = await link.resolve(poolHandle);
    if (accept(pes)) return pes;
    if (performance.now() > deadline) {
      throw new Error(
        `Pool ${new TextDecoder().decode(poolHandle)}: ${pes.length} PEs, not as expected in time`,
      );
    }
    if (pollMs > 0) await sleep(pollMs);
  }
}

/** Resolves every pool, `window` resolutions outstanding; their sizes, in order. */
async function resolveAll(
  link: AsapLink,
  pools: Uint8Array[],
  each: (pes: PoolElementParameter[]) => void = () => {},
  window = 32,
): Promise<number[]> {
  const sizes: number[] = new Array(pools.length);
  let next = 0;
  const worker = async () => {
    while (next < pools.length) {
      const i = next++;
      const pes = await link.resolve(pools[i]);
      each(pes);
      sizes[i] = pes.length;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return sizes;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// ---------------------------------------------------------------------------- sync

async function syncPhase(results: Record<string, number>, spawned: Child[]): Promise<void> {
  const tableArgs = TABLE_ELEMENTS === undefined
    ? []
    : ["--max-handle-table-elements", TABLE_ELEMENTS];
  const mentor = await registrar("mentor", [], [
    "--keep-alive-interval",
    "10m",
    "--keep-alive-timeout",
    "10m",
    "--mentor-discovery-timeout",
    "100ms",
    ...tableArgs,
  ]);
  spawned.push(mentor.child);
  const pools = Array.from(
    { length: Math.ceil(PES / POOL_SIZE) },
    (_, i) => text(`Sync${String(i).padStart(5, "0")}`),
  );
  const load = await AsapLink.open(mentor.asap);
  const loadStart = performance.now();
  await registerMany(load, pools, POOL_SIZE);
  results.register_100k_s = seconds(performance.now() - loadStart);
  log(`registered ${pools.length * POOL_SIZE} PEs in ${results.register_100k_s} s`);
  // Sanity: the mentor resolves them all.
  const check = await AsapLink.open(mentor.asap);
  const atMentor = (await resolveAll(check, pools)).reduce((x, y) => x + y, 0);
  check.abort();
  if (atMentor !== pools.length * POOL_SIZE) throw new Error(`Mentor holds ${atMentor} PEs`);

  const spawnedAt = performance.now();
  const fresh = await registrar("new", [mentor], tableArgs);
  spawned.push(fresh.child);
  const listeningAt = performance.now();
  const probe = await AsapLink.open(fresh.asap);
  const deadline = performance.now() + 120_000;
  // The table goes out in the mentor's order, which is the order of `pools`: the last pool is
  // complete once the last part is in. It is polled POLL_MS apart; a sweep over all pools (32
  // resolutions outstanding) then confirms that every other pool was complete by then. Were
  // one not, the time would be the end of the first sweep that finds all of them complete.
  let polls = 0;
  await until(probe, pools[pools.length - 1], (pes) => {
    polls++;
    return pes.length === POOL_SIZE;
  }, deadline);
  let syncedAt = performance.now();
  let sweeps = 0;
  for (;;) {
    const sizes = await resolveAll(probe, pools, (pes) => {
      if (pes.some((pe) => pe.homeRegistrarId !== mentor.ready.serverId)) {
        throw new Error("A synchronised PE with another home");
      }
    });
    sweeps++;
    const total = sizes.reduce((x, y) => x + y, 0);
    if (sweeps === 1) results.sync_sweep_s = seconds(performance.now() - syncedAt);
    if (total === atMentor) break;
    log(`sweep ${sweeps}: ${total} of ${atMentor} PEs`);
    if (performance.now() > deadline) throw new Error(`New registrar holds ${total} PEs`);
    syncedAt = performance.now();
  }
  results.sync_100k_s = seconds(syncedAt - spawnedAt);
  results.sync_100k_from_listen_s = seconds(syncedAt - listeningAt);
  results.sync_pes = atMentor;
  results.sync_polls = polls;
  results.sync_sweeps = sweeps;
  log(`synchronised in ${results.sync_100k_s} s (${polls} resolutions)`);
  probe.abort();
  load.abort();
  await fresh.child.stop();
  await mentor.child.stop();
}

// ---------------------------------------------------------------------------- update, takeover

async function trioPhases(results: Record<string, number>, spawned: Child[]): Promise<void> {
  // Default ENRP timers and keep-alives: only the per-association limits are raised.
  const a = await registrar("A", []);
  spawned.push(a.child);
  const b = await registrar("B", [a]);
  spawned.push(b.child);
  const c = await registrar("C", [a, b]);
  spawned.push(c.child);
  const others = [b, c];
  const load = await AsapLink.open(a.asap);
  const probes = await Promise.all(others.map((r) => AsapLink.open(r.asap)));
  // The three know each other once a PE registered at A shows at B and C.
  const warm = text("Warmup");
  await registerMany(load, [warm], 1);
  await Promise.all(
    probes.map((p) => until(p, warm, (pes) => pes.length === 1, performance.now() + 30_000, 5)),
  );
  log("trio meshed");

  const updatePools: Uint8Array[] = [];
  if (PHASES.has("update")) {
    const latencies: number[] = [];
    for (let k = 0; k < UPDATES; k++) {
      const poolHandle = text(`Upd${k}`);
      updatePools.push(poolHandle);
      const identifier = nextIdentifier++;
      const sent = performance.now();
      const registered = load.request(
        encodeAsapMessage({ type: "registration", poolHandle, poolElement: loadPe(identifier) }),
      );
      const seen = await Promise.all(probes.map(async (p) => {
        await until(
          p,
          poolHandle,
          (pes) => pes.some((pe) => pe.identifier === identifier),
          sent + 10_000,
          0,
        );
        return performance.now() - sent;
      }));
      const answer = await registered;
      if (answer.type !== "registration-response" || answer.rejected) {
        throw new Error(`Registration failed: ${JSON.stringify(answer)}`);
      }
      latencies.push(Math.max(...seen));
    }
    const sorted = latencies.sort((x, y) => x - y);
    results.update_p50_ms = Number(percentile(sorted, 0.5).toFixed(2));
    results.update_p99_ms = Number(percentile(sorted, 0.99).toFixed(2));
    results.update_max_ms = Number(sorted[sorted.length - 1].toFixed(2));
    results.update_count = sorted.length;
    log(`updates: p50 ${results.update_p50_ms} ms, p99 ${results.update_p99_ms} ms`);
  }

  if (PHASES.has("takeover")) {
    const takePools = Array.from(
      { length: Math.ceil(TAKEOVER_PES / POOL_SIZE) },
      (_, i) => text(`Take${i}`),
    );
    await registerMany(load, takePools, POOL_SIZE);
    for (const p of probes) {
      for (const pool of takePools) {
        await until(p, pool, (pes) => pes.length === POOL_SIZE, performance.now() + 30_000, 5);
      }
    }
    const victim = a.ready.serverId;
    for (const p of probes) {
      if ((await p.resolve(takePools[0])).some((pe) => pe.homeRegistrarId !== victim)) {
        throw new Error("A PE registered at A with another home");
      }
    }
    const survivors = new Set(others.map((r) => r.ready.serverId));
    const owned = (pes: PoolElementParameter[]) =>
      pes.length > 0 && pes.every((pe) => survivors.has(pe.homeRegistrarId));
    // Let a heartbeat or two pass, as a registrar would be killed at any time.
    await sleep(3000);
    const killedAt = performance.now();
    a.child.process.kill("SIGKILL");
    const times = await Promise.all(probes.map(async (p) => {
      for (const pool of takePools) {
        await until(p, pool, (pes) => pes.length === POOL_SIZE && owned(pes), killedAt + 60_000);
      }
      return performance.now() - killedAt;
    }));
    results.takeover_s = seconds(Math.min(...times));
    results.takeover_both_s = seconds(Math.max(...times));
    results.takeover_pes = takePools.length * POOL_SIZE + updatePools.length + 1;
    // Sanity: the update PEs and the warm-up PE moved as well, to one and the same survivor.
    const homes = new Set<number>();
    for (const p of probes) {
      for (const pool of [...takePools, ...updatePools, warm]) {
        const pes = await p.resolve(pool);
        if (!owned(pes)) throw new Error("A PE of the dead registrar not taken over");
        for (const pe of pes) homes.add(pe.homeRegistrarId);
      }
    }
    if (homes.size !== 1) throw new Error(`PEs taken over by ${homes.size} registrars`);
    log(`takeover: ${results.takeover_s} s (both survivors ${results.takeover_both_s} s)`);
  }
  for (const p of probes) p.abort();
  load.abort();
}

async function main() {
  const results: Record<string, number> = {};
  const spawned: Child[] = [];
  try {
    if (PHASES.has("sync")) await syncPhase(results, spawned);
    if (PHASES.has("update") || PHASES.has("takeover")) await trioPhases(results, spawned);
  } finally {
    for (const c of spawned.reverse()) await c.stop("SIGKILL");
  }
  console.log(JSON.stringify(results));
}

if (import.meta.main) await main();
