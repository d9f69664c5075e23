// `deno task bench:overload`: what a registrar short of CPU does to its PEs. A registrar
// process supervises N SCTP PEs (default 20,000, keep-alives every 5 s) answered by load
// processes (`bench/scale_bench.ts load`); the registrar runs on CPU 0, the load on the other
// CPUs. Then, for BENCH_OVERLOAD_SECONDS (30), BENCH_OVERLOAD_HOGS (4) busy loops share CPU 0
// with the registrar (it gets about a fifth of it), and the benchmark waits 15 s more. Each
// run is done twice: with the registrar's defaults (keep-alive pacing) and with
// `--overload-lag 0` (none). Reported per run (`_paced`, `_unpaced`): the PEs registered before,
// at the least during, and at the end (`pes_*`), the associations left, keep-alives put off and
// timeouts excused, the kernel's drops at the registrar's socket and the times its receive
// stalled (see `transport/sctp/udp_socket.ts`). Needs at least 2 CPUs, `taskset`, and Linux.
// The last line of output is one JSON object of numbers. BENCH_OVERLOAD_PES sets N.

import { pin } from "./cpu_pin.ts";
import { Child, startRegistrar } from "../tests/support/processes.ts";

const N = Number(Deno.env.get("BENCH_OVERLOAD_PES") ?? 20_000);
const OVERLOAD_S = Number(Deno.env.get("BENCH_OVERLOAD_SECONDS") ?? 30);
const HOGS = Number(Deno.env.get("BENCH_OVERLOAD_HOGS") ?? 4);
/** Associations per load process (as in `bench/scale_bench.ts`). */
const PER_LOAD = 15_000;
const CPUS = navigator.hardwareConcurrency;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => Deno.env.get("BENCH_VERBOSE") && console.error(s);

/** The registrar's metrics, by name (labels kept in the name). */
async function metrics(httpPort: number): Promise<Map<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of body.split("\n")) {
    if (!line.startsWith("rserpool_registrar_")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice("rserpool_registrar_".length, space), Number(line.slice(space + 1)));
  }
  return out;
}

interface OverloadRun {
  pesBefore: number;
  pesLeast: number;
  pesAfter: number;
  associationsAfter: number;
  deferred: number;
  excused: number;
  drops: number;
  stalls: number;
}

async function run(paced: boolean): Promise<OverloadRun> {
  const { child: registrar, ready } = await startRegistrar([
    "--asap",
    "sctp:127.0.0.1:0",
    "--max-associations",
    String(N + 1000),
    "--max-associations-per-address",
    String(N + 1000),
    "--log-level",
    "error",
    "--http",
    "127.0.0.1:0",
    ...(paced ? [] : ["--overload-lag", "0"]),
  ], "registrar");
  const httpPort = (ready as unknown as { http: { port: number } }).http.port;
  await pin(registrar.process.pid, "0");
  const target = ready.asap[0];
  const loads: Child[] = [];
  const hogs: Deno.ChildProcess[] = [];
  try {
    for (let first = 0; first < N; first += PER_LOAD) {
      const load = Child.spawn(`load-${first}`, "bench/scale_bench.ts", [
        "load",
        "sctp",
        target.hostname,
        String(target.port),
        String(Math.min(PER_LOAD, N - first)),
        String(first),
        `127.0.0.${10 + first / PER_LOAD}`,
      ]);
      loads.push(load);
      await pin(load.process.pid, `1-${CPUS - 1}`);
    }
    for (const load of loads) await load.json(5 * 60_000);
    // Two intervals for the first keep-alives (at random times) to give way to steady ones.
    await delay(12_000);
    const before = await metrics(httpPort);
    const pesBefore = before.get('pool_elements{home="local"}') ?? NaN;
    log(`${paced ? "paced" : "unpaced"}: ${pesBefore} PEs; ${HOGS} busy loops for ${OVERLOAD_S} s`);
    for (let i = 0; i < HOGS; i++) {
      const hog = new Deno.Command("taskset", {
        args: ["-c", "0", "sh", "-c", "while :; do :; done"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      hogs.push(hog);
    }
    let pesLeast = pesBefore;
    for (let t = 0; t < OVERLOAD_S; t += 5) {
      await delay(5000);
      const m = await metrics(httpPort);
      pesLeast = Math.min(pesLeast, m.get('pool_elements{home="local"}') ?? NaN);
      log(`  +${t + 5} s: ${m.get('pool_elements{home="local"}')} PEs`);
    }
    for (const hog of hogs.splice(0)) {
      hog.kill("SIGKILL");
      await hog.status;
    }
    await delay(15_000);
    const after = await metrics(httpPort);
    const pesAfter = after.get('pool_elements{home="local"}') ?? NaN;
    return {
      pesBefore,
      pesLeast: Math.min(pesLeast, pesAfter),
      pesAfter,
      associationsAfter: after.get('associations{transport="sctp"}') ?? NaN,
      deferred: after.get("keep_alives_deferred_total") ?? NaN,
      excused: after.get("keep_alive_timeouts_excused_total") ?? NaN,
      drops: after.get("sctp_receive_drops_total") ?? NaN,
      stalls: after.get("sctp_receive_stalls_total") ?? NaN,
    };
  } finally {
    for (const hog of hogs) {
      hog.kill("SIGKILL");
      await hog.status;
    }
    for (const load of loads) await load.stop("SIGKILL");
    await registrar.stop("SIGKILL");
  }
}

if (CPUS < 2 || Deno.build.os !== "linux") {
  console.error("bench:overload needs Linux and at least 2 CPUs");
  console.log(JSON.stringify({ skipped: 1 }));
  Deno.exit(0);
}
const results: Record<string, number> = {};
for (const paced of [true, false]) {
  const name = paced ? "paced" : "unpaced";
  const r = await run(paced);
  results[`pes_before_${name}`] = r.pesBefore;
  results[`pes_least_${name}`] = r.pesLeast;
  results[`pes_after_${name}`] = r.pesAfter;
  results[`associations_after_${name}`] = r.associationsAfter;
  results[`keep_alives_deferred_${name}`] = r.deferred;
  results[`keep_alive_timeouts_excused_${name}`] = r.excused;
  results[`receive_drops_${name}`] = r.drops;
  results[`receive_stalls_${name}`] = r.stalls;
}
console.log(JSON.stringify(results));
Deno.exit(0);
