// `deno task bench:path-switch`: how long a multi-homed session waits for its next answer when
// the primary link is cut. Hosts A and B in network namespaces joined by two veth links; a
// registrar and this program's PU half in A, an echo PE with one address on each link in B.
// The PU keeps one request in flight all the time; BENCH_CUTS times (default 20) it cuts the
// primary link (`ip link set a0 down`, from inside A) and measures from the cut to the first
// answer after it, which comes over the other path; then it brings the link back and waits
// for the session to return to the primary. The last line of output is one JSON object:
// path_switch_p50_ms, path_switch_p99_ms, path_switch_max_ms, cuts, failovers, path_switches.
// Needs root and iproute2.

import { PoolUser } from "../asap/pool_user.ts";
import { createTwoHosts, netnsAvailable } from "../tests/support/netns.ts";
import { Child } from "../tests/support/processes.ts";

const CUTS = Number(Deno.env.get("BENCH_CUTS") ?? 20);
const POOL = "PathSwitchPool";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** The PU half, run inside host A: `path_switch_bench.ts pu REGISTRAR PRIMARY CUTS`. */
async function pu(registrar: string, primary: string, cuts: number): Promise<void> {
  const pu = new PoolUser({
    registrars: [{ protocol: "sctp", hostname: registrar, port: 3863 }],
    requestTimeout: 5000,
  });
  const session = await pu.connect(POOL);
  let lastAnswer = 0;
  let wake: (() => void) | undefined;
  let stop = false;
  let errors = 0;
  const loop = (async () => {
    const data = new Uint8Array(64);
    while (!stop) {
      try {
        await session.request(data);
        lastAnswer = performance.now();
        wake?.();
      } catch {
        errors++;
      }
    }
  })();
  const nextAnswerAfter = (t: number): Promise<number> =>
    new Promise((resolve) => {
      const check = () => {
        if (lastAnswer > t) {
          wake = undefined;
          resolve(lastAnswer);
        }
      };
      wake = check;
      check();
    });
  const onPath = async (hostname: string, timeout = 10_000) => {
    const end = performance.now() + timeout;
    while (session.path?.hostname !== hostname) {
      if (performance.now() > end) throw new Error(`Not back on ${hostname}`);
      await sleep(10);
    }
  };
  const times: number[] = [];
  await onPath(primary);
  await sleep(500);
  for (let i = 0; i < cuts; i++) {
    const t0 = performance.now();
    await ip("link", "set", "a0", "down");
    const t1 = performance.now();
    const answered = await nextAnswerAfter(t1);
    times.push(answered - t0);
    await sleep(200);
    await ip("link", "set", "a0", "up");
    await onPath(primary);
    // Let the heartbeats confirm the path and the RTO settle.
    await sleep(700);
  }
  stop = true;
  await loop;
  const sorted = times.slice().sort((a, b) => a - b);
  console.log(JSON.stringify({
    path_switch_p50_ms: Number(percentile(sorted, 0.5).toFixed(1)),
    path_switch_p99_ms: Number(percentile(sorted, 0.99).toFixed(1)),
    path_switch_max_ms: Number(sorted[sorted.length - 1].toFixed(1)),
    cuts: times.length,
    failovers: session.failovers,
    path_switches: session.pathSwitches,
    request_errors: errors,
  }));
  await pu.close();
}

async function main(): Promise<void> {
  if (Deno.args[0] === "pu") {
    await pu(Deno.args[1], Deno.args[2], Number(Deno.args[3]));
    return;
  }
  if (!(await netnsAvailable())) {
    console.error("path_switch_bench: needs root and iproute2 (network namespaces)");
    Deno.exit(1);
  }
  const hosts = await createTwoHosts({ links: 2, base: 241 });
  const children: Child[] = [];
  try {
    const [a0] = hosts.aAddresses;
    const [b0, b1] = hosts.bAddresses;
    const registrar = Child.spawn("registrar", "registrar/main.ts", [
      "--asap",
      "sctp:0.0.0.0:3863",
      "--announce",
      "off",
      "--enrp",
      "off",
    ], hosts.a);
    children.push(registrar);
    await registrar.line(30_000);
    const pe = Child.spawn("pe", "services/pe_main.ts", [
      "--service",
      "echo",
      "--pool",
      POOL,
      "--listen",
      `sctp:${b0},${b1}:7000`,
      "--registrar",
      `sctp:${a0}:3863`,
    ], hosts.b);
    children.push(pe);
    await pe.line(30_000);
    const user = Child.spawn(
      "pu",
      "bench/path_switch_bench.ts",
      ["pu", "127.0.0.1", b0, String(CUTS)],
      hosts.a,
    );
    children.push(user);
    const result = await user.line(CUTS * 15_000 + 30_000);
    console.log(result);
  } finally {
    for (const c of children.reverse()) await c.stop("SIGKILL");
    // `ip netns exec` forks: kill what may have outlived its `ip`.
    for (const ns of [hosts.a, hosts.b]) {
      const out = await new Deno.Command("ip", { args: ["netns", "pids", ns], stdout: "piped" })
        .output();
      for (const pid of new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    await hosts.destroy();
  }
}

if (import.meta.main) await main();
