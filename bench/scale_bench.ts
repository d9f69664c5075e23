// `deno task bench:scale`: a registrar supervising many PEs. A registrar process runs with
// default timers; a load process (this file run with `load`) opens N associations over TCP or
// SCTP, registers one PE on each (pools of 1,000) and answers every keep-alive. Measured: the
// registrar's resident memory per PE (its RSS with the PEs minus its RSS before, over N), the
// registrar's CPU seconds per wall second while it supervises (keep-alives only), and handle
// resolutions over TCP with 32 outstanding while it supervises, over the same figure with none
// supervised (one run, the same registrar process). N = 1,000 and 10,000 on both transports,
// 100,000 over SCTP, with default timers and once more with keep-alives every 30 s (keys ending
// in `_ka30s`): 100,000 PEs answering every 5 s need more CPU than a 2-core machine has for the
// registrar and the load together. 20,000 SCTP PEs with keep-alives every second (`_ka1s`) have
// the keep-alive rate of 100,000 at the default 5 s, with a load this machine can answer.
// CPU is the scheduler's count of the registrar's threads' run time; beside it the registrar's
// wake-ups per second and the datagrams the machine's UDP sockets dropped for full buffers. With
// two CPUs or more the registrar runs alone on CPU 0 and the rest of the benchmark on the others
// (see `PIN`), for runs whose load one CPU can answer. A run that cannot set its PEs up is reported as
// `failed_<protocol>_<n>` = 1 and the others go on. The last line of output is one JSON object
// of numbers. BENCH_SCALE_RUNS=tcp:1000,sctp:100000:30s picks the runs (an optional third field is
// the keep-alive interval); BENCH_SECONDS the resolution runs' length; BENCH_REGISTRAR_ARGS adds
// registrar flags to every run (as "--keep-alive-timeout 10s"). Last, the raw UDP
// floor: the CPU that the datagrams of SCTP supervision cost with no protocol work, at the
// keep-alive rates of 10,000 and 100,000 PEs, to compare the registrar's figures with.

import { pin } from "./cpu_pin.ts";
import { decodeAsapMessage, encodeAsapMessage } from "../asap/mod.ts";
import { type EndpointAddress, openAssociation } from "../transport/open.ts";
import { connectSctp } from "../transport/sctp/endpoint.ts";
import type { Association } from "../transport/types.ts";
import { Child, exitWithin, startRegistrar } from "../tests/support/processes.ts";
import { loadPe } from "../tests/support/asap_client.ts";
import { parseDuration } from "../cli/options.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
/** Wall time over which the registrar's keep-alive CPU is measured. */
const CPU_WINDOW_S = Number(Deno.env.get("BENCH_CPU_SECONDS") ?? 10);
const ASAP = 11;
const POOL_SIZE = 1000;
const text = (s: string) => new TextEncoder().encode(s);
const log = (s: string) => Deno.env.get("BENCH_VERBOSE") && console.error(s);

/**
 * Associations per load process: its outgoing SCTP associations share one UDP socket and take
 * their SCTP ports from the 16,384 ephemeral ones. Each load process has a loopback address of
 * its own, as PEs on different hosts would: SCTP tells associations apart by addresses and SCTP
 * ports (the UDP port is only the encapsulation, RFC 6951), so two processes on one address
 * that pick the same SCTP port toward the registrar would be one association to it, the second
 * INIT restarting the first.
 */
const PER_LOAD = 15_000;
/** How long the load processes may take to set their PEs up. */
const SETUP_LIMIT_MS = 5 * 60_000;
/** Associations being set up at once by a load process. */
const OPENING = 16;

// ------------------------------------------------------------------ the load process

/**
 * One association with `count` PEs registered on it (identifiers from `first`), answering
 * keep-alives; resolves once all are registered.
 */
async function supervisedPes(
  address: EndpointAddress,
  pools: { handle: Uint8Array; identifier: number }[],
  localHostname?: string,
): Promise<Association> {
  const association = address.protocol === "tcp"
    ? await openAssociation(address, { framing: "rserpool", ppid: ASAP })
    : await connectSctp({
      hostname: address.hostname,
      port: address.port,
      localHostname,
      // Heartbeats every 30 s, as RFC 9260, sctplib and Linux have by default.
      heartbeatInterval: 30_000,
    });
  let answered = 0;
  const registered = Promise.withResolvers<void>();
  const acks = new Map<number, Uint8Array>();
  (async () => {
    try {
      for await (const m of association) {
        const message = decodeAsapMessage(m.data);
        if (message.type === "endpoint-keep-alive") {
          const id = message.identifier ?? 0;
          let ack = acks.get(id);
          if (ack === undefined) {
            ack = encodeAsapMessage({
              type: "endpoint-keep-alive-ack",
              poolHandle: message.poolHandle,
              identifier: id,
            });
            acks.set(id, ack);
          }
          association.send(ack, { ppid: ASAP }).catch(() => {});
        } else if (message.type === "registration-response") {
          if (message.rejected) {
            registered.reject(new Error(`Registration rejected: ${JSON.stringify(message)}`));
          } else if (++answered === pools.length) registered.resolve();
        }
      }
    } catch { /* closed */ }
  })();
  for (const { handle, identifier } of pools) {
    await association.send(
      encodeAsapMessage({
        type: "registration",
        poolHandle: handle,
        poolElement: loadPe(identifier),
      }),
      { ppid: ASAP },
    );
  }
  const timer = setTimeout(() => registered.reject(new Error("No registration response")), 30_000);
  try {
    await registered.promise;
  } catch (e) {
    association.abort();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return association;
}

async function load(args: string[]): Promise<void> {
  const [protocol, hostname, port, count, first, localHostname] = args;
  const address = { protocol: protocol as "tcp" | "sctp", hostname, port: Number(port) };
  const n = Number(count);
  const start = Number(first);
  const associations: Association[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = start + next++;
      const pes = [{ handle: text(`Scale${Math.floor(i / POOL_SIZE)}`), identifier: i + 1 }];
      // A registrar busy with many set-ups may let one time out: try again.
      for (let attempt = 1;; attempt++) {
        try {
          associations.push(await supervisedPes(address, pes, localHostname));
          break;
        } catch (e) {
          if (attempt === 5) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING }, worker));
  console.log(JSON.stringify({ ready: associations.length }));
  // Runs until killed.
  await new Promise(() => {});
}

// ------------------------------------------------------------------ the raw UDP floor

/**
 * What the datagrams of SCTP supervision cost by themselves: per keep-alive the registrar sends
 * one datagram (the DATA), receives one (the PE's answer with its SACK) and sends one (its
 * SACK), over `Deno.listenDatagram` with no protocol work at all. `floor-peer` answers;
 * `floor-sender` sends `rate` exchanges per second spread evenly (as the registrar's keep-alives
 * are) and prints its CPU seconds per wall second.
 */
async function floorPeer(): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ port: (socket.addr as Deno.NetAddr).port }));
  const buffer = new Uint8Array(65536);
  const answer = new Uint8Array(64); // SACK and ENDPOINT_KEEP_ALIVE_ACK in one packet
  for (;;) {
    const [bytes, from] = await socket.receive(buffer);
    if (bytes.length > 40) socket.send(answer, from).catch(() => {});
  }
}

async function floorSender(args: string[]): Promise<void> {
  const [port, rate] = args.map(Number);
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
  const keepAlive = new Uint8Array(68); // common header, DATA header, ENDPOINT_KEEP_ALIVE
  const sack = new Uint8Array(28);
  let answered = 0;
  (async () => {
    const buffer = new Uint8Array(65536);
    for (;;) {
      await socket.receive(buffer);
      answered++;
      socket.send(sack, to).catch(() => {});
    }
  })();
  const start = performance.now();
  let sent = 0;
  setInterval(() => {
    const due = Math.floor((performance.now() - start) * rate / 1000);
    for (; sent < due; sent++) socket.send(keepAlive, to).catch(() => {});
  }, 1);
  await new Promise((r) => setTimeout(r, 2000));
  const cpu0 = await cpuSeconds(Deno.pid);
  const wall0 = performance.now();
  const answered0 = answered;
  await new Promise((r) => setTimeout(r, CPU_WINDOW_S * 1000));
  const wall = (performance.now() - wall0) / 1000;
  console.log(JSON.stringify({
    cpuShare: (await cpuSeconds(Deno.pid) - cpu0) / wall,
    answeredPerS: (answered - answered0) / wall,
  }));
  Deno.exit(0);
}

/** The floor's CPU share at `rate` keep-alives per second (the sender's side). */
async function udpFloor(rate: number): Promise<{ cpuShare: number; answeredPerS: number }> {
  const peer = Child.spawn("floor-peer", "bench/scale_bench.ts", ["floor-peer"]);
  if (PIN) await pin(peer.process.pid, OTHER_CPUS);
  try {
    const { port } = await peer.json<{ port: number }>();
    const sender = Child.spawn("floor-sender", "bench/scale_bench.ts", [
      "floor-sender",
      String(port),
      String(rate),
    ]);
    if (PIN) await pin(sender.process.pid, "0");
    try {
      return await sender.json((CPU_WINDOW_S + 30) * 1000);
    } finally {
      await sender.stop("SIGKILL");
    }
  } finally {
    await peer.stop("SIGKILL");
  }
}

// ------------------------------------------------------------------ measuring the registrar

async function rssKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/**
 * CPU seconds the process's threads have run, from the scheduler's own count
 * (`/proc/PID/task/TID/schedstat`, ns): `/proc/PID/stat` is sampled at the timer tick here
 * (CONFIG_TICK_CPU_ACCOUNTING), which is biased for a process that wakes on timers.
 */
async function cpuSeconds(pid: number): Promise<number> {
  let ns = 0;
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      ns += Number(
        (await Deno.readTextFile(`/proc/${pid}/task/${task.name}/schedstat`)).split(" ")[0],
      );
    } catch {
      // a thread that has just ended
    }
  }
  return ns / 1e9;
}

/** Times the process's threads have gone to sleep and been woken (voluntary switches). */
async function wakeUps(pid: number): Promise<number> {
  let n = 0;
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const status = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/status`);
      n += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // a thread that has just ended
    }
  }
  return n;
}

/**
 * With two CPUs or more, the registrar (and the floor's sender) runs on CPU 0 alone and every
 * other process of the benchmark (its load processes, the resolving client, the floor's peer) on
 * the others, as PEs and PUs on other hosts would: the figures are then the registrar's, not the
 * machine's share-out among the registrar, a client and the load. Not for runs whose load
 * answers more than {@linkcode MAX_PINNED_RATE} keep-alives a second: on a 2-core machine one
 * core cannot answer them and serve the client (such runs share all CPUs, reported as
 * `pinned_<run>` = 0). BENCH_PIN=0 turns it off.
 */
const CPUS = navigator.hardwareConcurrency;
const PIN = Deno.env.get("BENCH_PIN") !== "0" && CPUS >= 2;
const OTHER_CPUS = `1-${CPUS - 1}`;
const ALL_CPUS = `0-${CPUS - 1}`;
const MAX_PINNED_RATE = 5000;

/** Lowers the priority of a process's main thread (where a Deno program does its work). */
async function renice(pid: number, niceness: number): Promise<void> {
  const { success } = await new Deno.Command("renice", {
    args: ["-n", String(niceness), "-p", String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`renice could not lower the priority of process ${pid}`);
}

/** Datagrams the machine's UDP sockets dropped for a full receive buffer (RcvbufErrors). */
async function udpReceiveDrops(): Promise<number> {
  const lines = (await Deno.readTextFile("/proc/net/snmp")).split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf("RcvbufErrors")]);
}

/**
 * Whether an answer is a HANDLE_RESOLUTION_RESPONSE (type 6) with a Pool Element parameter
 * (0x000a), found by walking its parameters' headers only: the client measures the registrar, so
 * it should not spend a core decoding every PE of every answer (the registrar was below one core
 * while the bench's own decoding held the rate down).
 */
function resolvedSomePe(bytes: Uint8Array): boolean {
  if (bytes[0] !== 6) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 4; at + 4 <= bytes.length;) {
    if (view.getUint16(at) === 0x000a) return true;
    const length = view.getUint16(at + 2);
    if (length < 4) return false;
    at += (length + 3) & ~3;
  }
  return false;
}

/** A PU side of one association: handle resolutions with `outstanding` in flight. */
async function resolutions(address: EndpointAddress, handle: Uint8Array, outstanding: number) {
  const association = await openAssociation(address, { framing: "rserpool", ppid: ASAP });
  const request = encodeAsapMessage({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: handle,
  });
  let answers = 0;
  let failures = 0;
  const end = performance.now() + SECONDS * 1000;
  const done = Promise.withResolvers<void>();
  let inFlight = 0;
  const send = () => {
    inFlight++;
    association.send(request, { ppid: ASAP }).catch(() => {});
  };
  (async () => {
    for await (const m of association) {
      if (!resolvedSomePe(m.data)) failures++;
      answers++;
      inFlight--;
      if (performance.now() < end) send();
      else if (inFlight === 0) done.resolve();
    }
  })();
  const started = performance.now();
  for (let i = 0; i < outstanding; i++) send();
  await done.promise;
  const perSecond = answers / ((performance.now() - started) / 1000);
  await association.close();
  if (failures > 0) throw new Error(`${failures} resolutions failed`);
  return Math.round(perSecond);
}

interface ScaleRun {
  /** Whether the registrar had CPU 0 to itself. */
  pinned: boolean;
  rssPerPeKb: number;
  cpuShare: number;
  hresRatio: number;
  hresNone: number;
  hresSupervised: number;
  setupS: number;
  keepAlivesPerS: number;
  supervised: number;
  wakeUpsPerS: number;
  udpDrops: number;
  /** The registrar's CPU share while resolving with none and with the PEs supervised. */
  hresCpuNone: number;
  hresCpuSupervised: number;
  /** Seconds from SIGTERM to the registrar's exit, its PEs still registered. */
  stopS: number;
}

async function scaleRun(
  protocol: "tcp" | "sctp",
  n: number,
  interval?: string,
): Promise<ScaleRun> {
  const seconds = interval === undefined ? 5 : parseDuration("interval", interval) / 1000;
  const pinned = PIN && n / seconds <= MAX_PINNED_RATE;
  // This process resolves: off the registrar's CPU when it has one of its own.
  if (PIN) await pin(Deno.pid, pinned ? OTHER_CPUS : ALL_CPUS);
  const { child: registrar, ready } = await startRegistrar([
    ...(interval === undefined ? [] : ["--keep-alive-interval", interval]),
    // Room for the load and this process's associations (the default is 100,000).
    "--max-associations",
    String(n + 1000),
    "--max-associations-per-address",
    String(n + 1000),
    "--handle-resolution-rate",
    "10000000/10000000",
    "--log-level",
    "warning",
    // Read once before and once after the CPU window: keep-alives sent, PEs held.
    "--http",
    "127.0.0.1:0",
    ...(Deno.env.get("BENCH_REGISTRAR_ARGS")?.split(" ").filter((a) => a !== "") ?? []),
  ], "registrar");
  const httpPort = (ready as unknown as { http: { port: number } }).http.port;
  const metric = async (name: string) => {
    const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const line = body.split("\n").find((l) => l.startsWith(`rserpool_registrar_${name}`));
    return Number(line?.split(" ").at(-1) ?? NaN);
  };
  const pid = registrar.process.pid;
  if (pinned) await pin(pid, "0");
  const tcp = ready.asap.find((a) => a.protocol === "tcp")!;
  const target = ready.asap.find((a) => a.protocol === protocol)!;
  const loads: Child[] = [];
  let small: Association | undefined;
  try {
    // A pool of 10 to resolve, registered by this process, which answers its keep-alives.
    const handle = text("Bench10");
    log("registrar ready");
    small = await supervisedPes(
      tcp,
      Array.from({ length: 10 }, (_, i) => ({ handle, identifier: 0x7fff0000 + i })),
    );
    log("small pool registered");
    await resolutions(tcp, handle, 32); // warm-up
    // The registrar's CPU share while it resolves: under 1, the client (or the machine) is the
    // limit, not the registrar.
    const measured = async () => {
      const cpu0 = await cpuSeconds(pid);
      const wall0 = performance.now();
      const perS = await resolutions(tcp, handle, 32);
      const share = (await cpuSeconds(pid) - cpu0) / ((performance.now() - wall0) / 1000);
      return { perS, share: Number(share.toFixed(2)) };
    };
    const none = await measured();
    const hresNone = none.perS;
    await new Promise((r) => setTimeout(r, 1000));
    const rssBefore = await rssKb(pid);
    const started = performance.now();
    // Several load processes when one would run out of SCTP ports on its UDP socket.
    for (let first = 0; first < n; first += PER_LOAD) {
      loads.push(Child.spawn(`load-${protocol}-${first}`, "bench/scale_bench.ts", [
        "load",
        protocol,
        target.hostname,
        String(target.port),
        String(Math.min(PER_LOAD, n - first)),
        String(first),
        `127.0.0.${10 + first / PER_LOAD}`,
      ]));
      if (pinned) {
        await pin(loads.at(-1)!.process.pid, OTHER_CPUS);
        // The client's CPUs are theirs too: at 100,000 PEs the load processes, at equal
        // priority, took the client's share down to a fraction of what the registrar could
        // serve, while the registrar idled.
        await renice(loads.at(-1)!.process.pid, 10);
      }
    }
    // Bounded: an overloaded registrar that cannot take them all is a failed run, not a hang.
    for (const child of loads) await child.json(SETUP_LIMIT_MS);
    const setupS = (performance.now() - started) / 1000;
    log(`${protocol} ${n}: set up in ${setupS.toFixed(1)} s`);
    // Two keep-alive intervals for every PE to have been probed and answered, and the first
    // round (at random times within the interval after registering) to have given way to the
    // steady one.
    await new Promise((r) => setTimeout(r, Math.max(11, 2 * seconds + 1) * 1000));
    const rssAfter = await rssKb(pid);
    const keepAlives0 = await metric("keep_alives_sent_total");
    const cpu0 = await cpuSeconds(pid);
    const wakeUps0 = await wakeUps(pid);
    const drops0 = await udpReceiveDrops();
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, CPU_WINDOW_S * 1000));
    const cpuShare = (await cpuSeconds(pid) - cpu0) / ((performance.now() - wall0) / 1000);
    const wakeUpsPerS = (await wakeUps(pid) - wakeUps0) / ((performance.now() - wall0) / 1000);
    const udpDrops = await udpReceiveDrops() - drops0;
    const keepAlivesPerS = (await metric("keep_alives_sent_total") - keepAlives0) /
      ((performance.now() - wall0) / 1000);
    const supervised = await metric("pool_elements");
    const supervisedRun = await measured();
    const hresSupervised = supervisedRun.perS;
    const metrics = {
      pinned,
      rssPerPeKb: Number(((rssAfter - rssBefore) / n).toFixed(2)),
      cpuShare: Number(cpuShare.toFixed(3)),
      hresRatio: Number((hresSupervised / hresNone).toFixed(3)),
      hresNone,
      hresSupervised,
      setupS: Number(setupS.toFixed(1)),
      keepAlivesPerS: Math.round(keepAlivesPerS),
      supervised,
      wakeUpsPerS: Math.round(wakeUpsPerS),
      hresCpuNone: none.share,
      hresCpuSupervised: supervisedRun.share,
      udpDrops,
    };
    // How long the registrar takes to stop (SIGTERM) with all its PEs registered.
    small.abort();
    small = undefined;
    const stopping = performance.now();
    await exitWithin(registrar, 5 * 60_000, "SIGTERM");
    const done = { ...metrics, stopS: Number(((performance.now() - stopping) / 1000).toFixed(1)) };
    log(`${protocol} ${n}: rss ${rssBefore} -> ${rssAfter} kB; ${JSON.stringify(done)}`);
    return done;
  } finally {
    small?.abort();
    for (const l of loads) await l.stop("SIGKILL");
    await registrar.stop();
  }
}

async function main(): Promise<void> {
  const runs = (Deno.env.get("BENCH_SCALE_RUNS") ??
    "tcp:1000,sctp:1000,tcp:10000,sctp:10000,sctp:20000:1s,sctp:100000:30s,sctp:100000")
    .split(",").map(
      (r) => {
        const [protocol, n, interval] = r.split(":");
        return { protocol: protocol as "tcp" | "sctp", n: Number(n), interval };
      },
    );
  const results: Record<string, number> = {};
  for (const { protocol, n, interval } of runs) {
    const name = (n >= 1000 ? `${n / 1000}k` : String(n)) +
      (interval === undefined ? "" : `_ka${interval}`);
    const tcp = protocol === "tcp" ? "_tcp" : "";
    let r: ScaleRun;
    try {
      r = await scaleRun(protocol, n, interval);
    } catch (e) {
      console.error(`${protocol} ${name}: ${e instanceof Error ? e.message : String(e)}`);
      results[`failed_${protocol}_${name}`] = 1;
      continue;
    }
    results[`pinned_${protocol}_${name}`] = r.pinned ? 1 : 0;
    results[`rss_per_pe_kb_${protocol}_${name}`] = r.rssPerPeKb;
    results[`cpu_share_keepalive_${name}${tcp}`] = r.cpuShare;
    results[`hres_tcp_32_ratio_${name}${tcp}`] = r.hresRatio;
    results[`hres_tcp_32_none_${protocol}_${name}`] = r.hresNone;
    results[`setup_s_${protocol}_${name}`] = r.setupS;
    results[`keepalives_per_s_${protocol}_${name}`] = r.keepAlivesPerS;
    results[`pes_supervised_${protocol}_${name}`] = r.supervised;
    results[`wakeups_per_s_${protocol}_${name}`] = r.wakeUpsPerS;
    results[`stop_s_${protocol}_${name}`] = r.stopS;
    results[`hres_registrar_cpu_none_${protocol}_${name}`] = r.hresCpuNone;
    results[`hres_registrar_cpu_supervised_${protocol}_${name}`] = r.hresCpuSupervised;
    results[`udp_receive_drops_${protocol}_${name}`] = r.udpDrops;
    // CPU per keep-alive, comparable across intervals.
    results[`cpu_us_per_keepalive_${protocol}_${name}`] = Math.round(
      r.cpuShare / r.keepAlivesPerS * 1e6,
    );
  }
  // The datagrams alone at the keep-alive rates of 10,000 and 100,000 PEs (5 s interval).
  for (const n of [10_000, 100_000]) {
    const floor = await udpFloor(n / 5);
    const name = `${n / 1000}k`;
    results[`udp_floor_cpu_share_${name}`] = Number(floor.cpuShare.toFixed(3));
    log(`udp floor ${name}: ${JSON.stringify(floor)}`);
    const measured = results[`cpu_share_keepalive_${name}`];
    if (measured !== undefined) {
      results[`cpu_share_over_floor_${name}`] = Number((measured / floor.cpuShare).toFixed(2));
    }
  }
  console.log(JSON.stringify(results));
}

if (Deno.args[0] === "load") await load(Deno.args.slice(1));
else if (Deno.args[0] === "floor-peer") await floorPeer();
else if (Deno.args[0] === "floor-sender") await floorSender(Deno.args.slice(1));
else {
  await main();
  Deno.exit(0);
}
