// RSPLIB's `hrestest` (one handle resolution at a time) against RSPLIB's registrar
// (`rspregistrar`) and against ours, in one run, for pools of 3 and of 10 PEs registered by
// RSPLIB's `testregistrator`. RSPLIB's programs run in namespace A of an interop lab
// (tests/support/rsplib.ts), our registrar in a namespace of its own on the lab's bridge, its
// SCTP on UDP 9899 as sctplib needs.

import {
  createInteropLab,
  type InteropLab,
  rsplibMissing,
  rsplibProgram,
} from "../tests/support/rsplib.ts";

/** The subnet of the lab, `10.N.0.0/24` (the interop tests use 221-225). */
const SUBNET = 231;
/** Resolutions timed; a run of SHORT_RUNS is subtracted to remove start-up. */
const RUNS = 20_000;
const SHORT_RUNS = 1_000;
const POOL_SIZES = [3, 10] as const;

/** Why the hrestest figures cannot be measured here, or `undefined` when they can. */
export async function hrestestMissing(): Promise<string | undefined> {
  const missing = await rsplibMissing();
  if (missing !== undefined) return missing;
  try {
    await Deno.stat(rsplibProgram("testregistrator"));
  } catch {
    return `RSPLIB not built: no ${rsplibProgram("testregistrator")}`;
  }
  return undefined;
}

/** Runs `hrestest` for `runs` resolutions of `pool`; returns its wall time in ms. */
async function timeHrestest(
  lab: InteropLab,
  registrar: string,
  pool: string,
  runs: number,
): Promise<number> {
  const started = performance.now();
  const result = await lab.run("hrestest", [
    `-registrar=${registrar}`,
    "-asapannounce=off",
    `-poolhandle=${pool}`,
    `-maxruns=${runs}`,
    "-statsinterval=3600000",
    "-quiet",
    "-logquiet",
  ], 120_000);
  const elapsed = performance.now() - started;
  if (result.code !== 0) {
    throw new Error(
      `hrestest against ${registrar} failed (${result.code}):\n` +
        [...result.stdout, ...result.stderr].slice(-20).join("\n"),
    );
  }
  return elapsed;
}

/** Waits until resolutions of `pool` at `registrar` have returned all `size` PEs. */
async function waitForPool(
  lab: InteropLab,
  registrar: string,
  pool: string,
  size: number,
): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await lab.hrestest({ pool, registrar, runs: 4 * size, timeout: 20_000 });
    if (r.identifiers.size >= size) return;
    if (Date.now() > end) {
      throw new Error(`${pool} at ${registrar}: ${r.identifiers.size} of ${size} PEs seen`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Resolutions per second of hrestest against `registrar` for each pool size. */
async function measure(lab: InteropLab, registrar: string, tag: string) {
  const figures: Record<string, number> = {};
  const registrators = [];
  try {
    for (const size of POOL_SIZES) {
      registrators.push(lab.rsplib("testregistrator", [
        `-registrar=${registrar}`,
        "-asapannounce=off",
        `-poolhandle=H${size}`,
        `-poolelements=${size}`,
        "-pools=1",
        "-logquiet",
      ]));
    }
    for (const size of POOL_SIZES) await waitForPool(lab, registrar, `H${size}-0001`, size);
    for (const size of POOL_SIZES) {
      const pool = `H${size}-0001`;
      const short = await timeHrestest(lab, registrar, pool, SHORT_RUNS);
      const long = await timeHrestest(lab, registrar, pool, RUNS);
      figures[`hrestest_per_s_${tag}_${size}`] = Math.round(
        (RUNS - SHORT_RUNS) / ((long - short) / 1000),
      );
    }
  } finally {
    await Promise.all(registrators.map((p) => p.stop("SIGKILL")));
  }
  return figures;
}

/**
 * `hrestest_per_s_{rsplib,ours}_{3,10}`: hrestest's resolutions per second against RSPLIB's
 * registrar and against ours, or the reason they cannot be measured here.
 */
export async function hrestestFigures(): Promise<Record<string, number> | string> {
  const missing = await hrestestMissing();
  if (missing !== undefined) return missing;
  await using lab = await createInteropLab(SUBNET);
  const results: Record<string, number> = {};
  // RSPLIB's registrar, alone in the lab while measured.
  const theirs = await lab.rsplibRegistrar();
  Object.assign(results, await measure(lab, `${lab.rsplibAddress}:3863`, "rsplib"));
  await theirs.process.stop("SIGKILL");
  // Ours. Its per-association rate limit (default 1000/s, bursts of 2000) is raised for the
  // run: hrestest resolves over one association as fast as the registrar answers.
  const ours = await lab.ourRegistrar([
    "--handle-resolution-rate",
    "10000000/10000000",
    "--log-level",
    "warning",
  ]);
  Object.assign(results, await measure(lab, `${ours.address}:3863`, "ours"));
  return results;
}

if (import.meta.main) {
  const r = await hrestestFigures();
  console.log(typeof r === "string" ? `hrestest skipped: ${r}` : JSON.stringify(r));
}
