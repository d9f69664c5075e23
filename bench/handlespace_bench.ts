/**
 * Handlespace benchmark: registrations/s, deregistrations/s and handle resolutions/s (3 PEs per
 * resolution) for Round Robin, Least Used and Weighted Random, with one pool of 1,000, 10,000,
 * 100,000 and 1,000,000 PEs and with 10,000 pools of 100 PEs; and the memory per PE.
 *
 * Run: `npx deno run -A bench/handlespace_bench.ts`. The last line of output is one JSON object
 * of numbers. Memory is measured as the growth of `heapUsed + external` (typed array storage
 * is external) after a full GC; without `--v8-flags=--expose-gc` the script runs itself again
 * with that flag (set `HANDLESPACE_BENCH_NO_REEXEC=1` to prevent it; the memory figure is then
 * rougher). Registration times exclude building the Pool Element parameters (the decoder's job);
 * the memory per PE includes them (one distinct parameter object, transport and address string
 * per PE, as decoding makes them).
 *
 * Under `deno bench` only the small `Deno.bench` cases at the end run.
 *
 * @module
 */

import { Handlespace } from "../handlespace/mod.ts";
import { seededRandom } from "../policy/mod.ts";
import type { Policy, PoolElementParameter } from "../wire/types.ts";

type PolicyKey = "rr" | "lu" | "wr";

const SIZES: [string, number][] = [["1k", 1_000], ["10k", 10_000], ["100k", 100_000], [
  "1m",
  1_000_000,
]];
const RESOLUTIONS = 300_000;

function makePolicy(kind: PolicyKey, rnd: () => number): Policy {
  switch (kind) {
    case "rr":
      return { name: "round-robin" };
    case "lu":
      return { name: "least-used", load: Math.floor(rnd() * 101) * 42_949_672 };
    case "wr":
      return { name: "weighted-random", weight: 1 + Math.floor(rnd() * 1000) };
  }
}

function makeElements(kind: PolicyKey, n: number, seed: number): PoolElementParameter[] {
  const rnd = seededRandom(seed);
  const out: PoolElementParameter[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      identifier: (i * 2654435761 + 1) >>> 0, // distinct, spread over the 32-bit space
      homeRegistrarId: 0x1000 + (i % 4),
      registrationLife: 90_000,
      userTransport: {
        protocol: "sctp",
        port: 7 + (i % 1000),
        transportUse: "data",
        addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
      },
      policy: makePolicy(kind, rnd),
    };
  }
  return out;
}

function shuffled(n: number, seed: number): Uint32Array {
  const rnd = seededRandom(seed);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

interface Measured {
  registerPerS: number;
  registerS: number;
  selectPerS: number;
  deregisterPerS: number;
}

const enc = new TextEncoder();

/** One configuration: `pools` pools of `perPool` PEs. */
function measure(kind: PolicyKey, pools: number, perPool: number): Measured {
  const n = pools * perPool;
  const elements = makeElements(kind, n, 17);
  const handles = Array.from({ length: pools }, (_, i) => enc.encode(`pool-${i}`));
  const hs = new Handlespace({
    clock: () => 1_000,
    random: seededRandom(23),
    maxPools: pools,
    maxPoolElementsPerPool: perPool,
    maxPoolElements: n,
  });
  let t0 = performance.now();
  for (let i = 0; i < n; i++) hs.registerPoolElement(handles[i % pools], elements[i]);
  const registerS = (performance.now() - t0) / 1000;
  let sink = 0;
  t0 = performance.now();
  if (pools === 1) {
    const h = handles[0];
    for (let i = 0; i < RESOLUTIONS; i++) sink += hs.selectPoolElements(h, 3).length;
  } else {
    for (let i = 0; i < RESOLUTIONS; i++) {
      sink += hs.selectPoolElements(handles[(i * 7919) % pools], 3).length;
    }
  }
  const selectS = (performance.now() - t0) / 1000;
  if (sink !== RESOLUTIONS * 3) throw new Error("resolutions returned too few PEs");
  const order = shuffled(n, 29);
  t0 = performance.now();
  for (let j = 0; j < n; j++) {
    const i = order[j];
    hs.deregisterPoolElement(handles[i % pools], elements[i].identifier);
  }
  const deregisterS = (performance.now() - t0) / 1000;
  if (hs.size !== 0) throw new Error("deregistration left PEs behind");
  return {
    registerPerS: n / registerS,
    registerS,
    selectPerS: RESOLUTIONS / selectS,
    deregisterPerS: n / deregisterS,
  };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

function usedBytes(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** Bytes per PE with 1,000,000 round robin PEs in one pool: parameters and handlespace. */
function measureMemory(): { total: number; handlespace: number; parameters: number } {
  const n = 1_000_000;
  gc();
  const base = usedBytes();
  const elements = makeElements("rr", n, 31);
  gc();
  const withParams = usedBytes();
  const hs = new Handlespace({ clock: () => 0, maxPoolElementsPerPool: n });
  const handle = enc.encode("memory-pool");
  for (let i = 0; i < n; i++) hs.registerPoolElement(handle, elements[i]);
  elements.length = 0; // the handlespace alone keeps the parameters now
  gc();
  const after = usedBytes();
  if (hs.size !== n) throw new Error("memory run lost PEs");
  return {
    total: (after - base) / n,
    handlespace: (after - withParams) / n,
    parameters: (withParams - base) / n,
  };
}

async function main(): Promise<void> {
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  if (!hasGc && !Deno.env.get("HANDLESPACE_BENCH_NO_REEXEC")) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", import.meta.filename!],
      env: { HANDLESPACE_BENCH_NO_REEXEC: "1" },
      stdout: "inherit",
      stderr: "inherit",
    });
    const { code } = await child.output();
    Deno.exit(code);
  }

  const summary: Record<string, number> = {};
  const round = (v: number) => Math.round(v);
  // Warm-up of every code path
  for (const kind of ["rr", "lu", "wr"] as PolicyKey[]) measure(kind, 10, 1000);

  const memory = measureMemory();
  gc();
  summary.bytes_per_pe = round(memory.total);
  summary.bytes_per_pe_handlespace = round(memory.handlespace);
  summary.bytes_per_pe_parameters = round(memory.parameters);
  console.log(
    `memory: ${memory.total.toFixed(0)} bytes/PE (handlespace ${
      memory.handlespace.toFixed(0)
    }, parameters ${memory.parameters.toFixed(0)})${hasGc ? "" : " (no GC control)"}`,
  );

  for (const kind of ["rr", "lu", "wr"] as PolicyKey[]) {
    for (const [label, n] of SIZES) {
      const m = measure(kind, 1, n);
      gc();
      summary[`register_per_s_${kind}_${label}`] = round(m.registerPerS);
      summary[`select_per_s_${kind}_${label}`] = round(m.selectPerS);
      summary[`deregister_per_s_${kind}_${label}`] = round(m.deregisterPerS);
      if (n === 1_000_000) summary[`register_1m_s_${kind}`] = Number(m.registerS.toFixed(3));
      console.log(
        `${kind} one pool of ${label}: register ${round(m.registerPerS)}/s, resolve ${
          round(m.selectPerS)
        }/s, deregister ${round(m.deregisterPerS)}/s`,
      );
    }
    const m = measure(kind, 10_000, 100);
    gc();
    summary[`register_per_s_${kind}_10kx100`] = round(m.registerPerS);
    summary[`select_per_s_${kind}_10kx100`] = round(m.selectPerS);
    summary[`deregister_per_s_${kind}_10kx100`] = round(m.deregisterPerS);
    console.log(
      `${kind} 10,000 pools of 100: register ${round(m.registerPerS)}/s, resolve ${
        round(m.selectPerS)
      }/s, deregister ${round(m.deregisterPerS)}/s`,
    );
  }
  summary.select_per_s_1k = summary.select_per_s_rr_1k;
  summary.select_per_s_100k = summary.select_per_s_rr_100k;
  summary.select_per_s_1m = summary.select_per_s_rr_1m;
  summary.register_1m_s = summary.register_1m_s_rr;
  summary.select_slowdown_1m_vs_1k = Number(
    (summary.select_per_s_1k / summary.select_per_s_1m).toFixed(2),
  );
  console.log(JSON.stringify(summary));
}

if (import.meta.main) await main();

// Small cases for `deno bench` (they do nothing under `deno run`).
let benchSpace: Handlespace | undefined;
const BENCH_HANDLE = enc.encode("bench-pool");

function benchPool(): Handlespace {
  if (benchSpace === undefined) {
    benchSpace = new Handlespace({ clock: () => 0, random: seededRandom(1) });
    for (const e of makeElements("rr", 10_000, 3)) benchSpace.registerPoolElement(BENCH_HANDLE, e);
  }
  return benchSpace;
}

Deno.bench("handle resolution, round robin, 10,000 PEs, 3 per resolution", () => {
  benchPool().selectPoolElements(BENCH_HANDLE, 3);
});

Deno.bench("re-registration of a PE, round robin pool of 10,000", () => {
  const hs = benchPool();
  const e = hs.selectPoolElements(BENCH_HANDLE, 1)[0].poolElement;
  hs.registerPoolElement(BENCH_HANDLE, e);
});
