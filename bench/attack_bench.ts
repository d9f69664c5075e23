// `deno task bench:attack`: each attack on a registrar process for a few seconds next to a
// well-behaved PU that resolves over TCP, one request at a time. For each attack: the PU's
// resolutions per second during it as a fraction of before (`served_<attack>`), the
// registrar's peak resident memory in MB (`rss_<attack>_mb`), and what became of the attack.
// Each attack meets a registrar process of its own, with its defaults. The last line of output
// is one JSON object.
//
// Attacks (bounded in count and time, loopback only):
// - flood: 50 TCP connections send handle resolutions as fast as they can and never read;
// - idle: 2,000 TCP connections that connect and say nothing;
// - half_frame: 200 TCP connections that send half an ASAP header and stop;
// - sctp_handshakes: 1,023 SCTP associations from one address;
// - unreachable: 20 clients report 30 healthy PEs unreachable, again and again;
// - churn: registrations and deregistrations as fast as one association may (log lines);
// - sctp_no_sack: 50 raw SCTP peers with a 1,500-byte window that answer HEARTBEATs, send
//   1 KB handle resolutions as fast as the registrar's window lets them and never SACK (with
//   the default --send-stall-timeout of 30 s they are not cut off within BENCH_SECONDS: this
//   measures what they cost while they last).

import { encodeAsapMessage } from "../asap/codec.ts";
import { connectSctp } from "../transport/sctp/endpoint.ts";
import { SctpStack } from "../transport/sctp/stack.ts";
import type { Association } from "../transport/types.ts";
import type { EndpointAddress } from "../transport/open.ts";
import { AsapClient, pe, text } from "../tests/support/asap_client.ts";
import { NoSackPeer } from "../tests/support/sctp_no_sack_peer.ts";
import { Child, startRegistrar } from "../tests/support/processes.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const POOL = text("AttackPool");
/** Resolutions per second the well-behaved PU asks for (the registrar allows 1000 by default). */
const PU_RATE = 500;

function rssMb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Resolutions per second of a well-behaved PU during `ms`, and the registrar's peak RSS. */
async function serve(
  client: AsapClient,
  pid: number,
  ms: number,
): Promise<{ perSecond: number; peakMb: number; failures: number }> {
  const end = performance.now() + ms;
  let done = 0;
  let failures = 0;
  let peakMb = rssMb(pid);
  let lastSample = 0;
  let next = performance.now();
  while (performance.now() < end) {
    // A well-behaved PU: at most PU_RATE resolutions per second (within the default limit).
    next += 1000 / PU_RATE;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      const r = await client.request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: POOL,
      });
      if (r.type === "handle-resolution-response" && r.poolElements.length > 0) done++;
      else failures++;
    } catch {
      failures++;
    }
    if (performance.now() - lastSample > 100) {
      lastSample = performance.now();
      peakMb = Math.max(peakMb, rssMb(pid));
    }
  }
  return { perSecond: done / (ms / 1000), peakMb, failures };
}

const round = (x: number, d = 3) => Number(x.toFixed(d));

type Attack = (tcp: EndpointAddress, sctp: EndpointAddress, stop: AbortSignal) => Promise<string>;

/** The attacks; each runs in a process of its own until it is told to stop. */
const ATTACKS: Record<string, Attack> = {
  async flood(tcp, _sctp, stop) {
    const request = encodeAsapMessage({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle: POOL,
    });
    const batch = new Uint8Array(request.length * 500);
    for (let i = 0; i < 500; i++) batch.set(request, i * request.length);
    const conns = await Promise.all(
      Array.from({ length: 50 }, () => Deno.connect({ hostname: tcp.hostname, port: tcp.port })),
    );
    let cut = 0;
    await Promise.all(conns.map((c) =>
      Promise.race([
        (async () => {
          try {
            while (!stop.aborted) await c.write(batch);
          } catch {
            cut++;
          }
        })(),
        new Promise((r) => stop.addEventListener("abort", r)),
      ])
    ));
    for (const c of conns) close(c);
    return `${cut} of 50 cut off`;
  },
  async idle(tcp, _sctp, stop) {
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 2000 && !stop.aborted; i++) {
      try {
        conns.push(await Deno.connect({ hostname: tcp.hostname, port: tcp.port }));
      } catch {
        break;
      }
    }
    await new Promise((r) => stop.addEventListener("abort", r));
    for (const c of conns) close(c);
    return `${conns.length} connected`;
  },
  async half_frame(tcp, _sctp, stop) {
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 200; i++) {
      const c = await Deno.connect({ hostname: tcp.hostname, port: tcp.port });
      await c.write(new Uint8Array([0x05, 0x00]));
      conns.push(c);
    }
    await new Promise((r) => stop.addEventListener("abort", r));
    for (const c of conns) close(c);
    return "200 half headers";
  },
  async unreachable(tcp, _sctp, stop) {
    const reporters = await Promise.all(Array.from({ length: 20 }, () => AsapClient.open(tcp)));
    while (!stop.aborted) {
      for (const r of reporters) {
        for (let id = 1; id <= 30; id++) {
          await r.send({ type: "endpoint-unreachable", poolHandle: POOL, identifier: id });
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const r of reporters) await r.abort();
    return "20 reporters";
  },
  async churn(tcp, _sctp, stop) {
    const churner = await AsapClient.open(tcp);
    let id = 1000;
    while (!stop.aborted) {
      id++;
      await churner.request({
        type: "registration",
        poolHandle: text("Churn"),
        poolElement: pe(id),
      });
      await churner.request({ type: "deregistration", poolHandle: text("Churn"), identifier: id });
    }
    await churner.abort();
    return `${id - 1000} registrations`;
  },
  async sctp_handshakes(_tcp, sctp, stop) {
    const stack = new SctpStack();
    const associations: Association[] = [];
    for (let i = 0; i < 1023 && !stop.aborted; i++) {
      try {
        associations.push(await connectSctp({ hostname: sctp.hostname, port: sctp.port, stack }));
      } catch {
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    const kept = associations.filter((a) => !a.closed).length;
    await new Promise((r) => stop.addEventListener("abort", r));
    for (const a of associations) a.abort();
    return `${kept} of ${associations.length} kept`;
  },
  async sctp_no_sack(_tcp, sctp, stop) {
    const request = encodeAsapMessage({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle: new Uint8Array(1000).fill(0x41),
    });
    const peers: NoSackPeer[] = [];
    for (let i = 0; i < 50 && !stop.aborted; i++) {
      const peer = await NoSackPeer.connect({ hostname: sctp.hostname, port: sctp.port });
      peers.push(peer);
      peer.flood(request, 100_000);
    }
    await new Promise((r) => stop.addEventListener("abort", r));
    const cut = peers.filter((p) => p.stats.aborted).length;
    const taken = Math.max(0, ...peers.map((p) => p.stats.bytesAccepted));
    for (const p of peers) p.close();
    return `${cut} of ${peers.length} cut off, at most ${taken} request bytes taken from one`;
  },
};

function close(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // closed by the registrar
  }
}

/** In the attack process: runs one attack until SIGTERM, then prints what became of it. */
async function attacker(name: string, tcp: EndpointAddress, sctp: EndpointAddress) {
  const stop = new AbortController();
  Deno.addSignalListener("SIGTERM", () => stop.abort());
  console.log(JSON.stringify({ started: name }));
  const outcome = await ATTACKS[name](tcp, sctp, stop.signal);
  console.log(JSON.stringify({ outcome }));
  Deno.exit(0);
}

/** A registrar process with 30 healthy PEs, and a well-behaved PU of its own. */
async function freshRegistrar() {
  // Defaults but for the PEs per resolution, so that the PEs left can be counted.
  const { child, ready } = await startRegistrar(
    ["--max-handle-resolution-items", "100"],
    "registrar",
  );
  const tcp = ready.asap.find((a) => a.protocol === "tcp")! as EndpointAddress;
  const sctp = ready.asap.find((a) => a.protocol === "sctp")! as EndpointAddress;
  // 30 healthy PEs on one association that answers keep-alives.
  const owner = await AsapClient.open(tcp);
  for (let i = 1; i <= 30; i++) {
    await owner.request({ type: "registration", poolHandle: POOL, poolElement: pe(i) });
  }
  const pu = await AsapClient.open(tcp);
  const pid = child.process.pid;
  await serve(pu, pid, 500); // warm-up
  return {
    pid,
    tcp,
    sctp,
    pu,
    /** PEs the PU finds now. */
    async pesLeft(): Promise<number> {
      const left = await pu.request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: POOL,
      });
      return left.type === "handle-resolution-response" ? left.poolElements.length : 0;
    },
    async stop(): Promise<void> {
      await pu.abort();
      await owner.abort();
      await child.stop("SIGTERM");
    },
  };
}

async function main(): Promise<void> {
  const result: Record<string, number> = {};
  // Each attack meets a registrar of its own, so that each peak is that attack's alone.
  let registrar = await freshRegistrar();
  const baseline = await serve(registrar.pu, registrar.pid, SECONDS * 1000);
  result.baseline_per_s = Math.round(baseline.perSecond);
  result.rss_baseline_mb = round(baseline.peakMb, 1);
  console.log(`baseline: ${result.baseline_per_s}/s, ${result.rss_baseline_mb} MB`);
  const address = (a: EndpointAddress) => `${a.protocol}:${a.hostname}:${a.port}`;
  const only = Deno.env.get("BENCH_ATTACKS")?.split(",");
  let pesLeft = 30;
  let first = true;
  for (const name of Object.keys(ATTACKS).filter((n) => only === undefined || only.includes(n))) {
    if (!first) registrar = await freshRegistrar();
    first = false;
    const { pid, tcp, sctp, pu } = registrar;
    const attack = Child.spawn(name, "bench/attack_bench.ts", [
      "--attack",
      name,
      address(tcp),
      address(sctp),
    ]);
    await attack.json(30_000);
    await new Promise((r) => setTimeout(r, 300));
    const during = await serve(pu, pid, SECONDS * 1000);
    Deno.kill(attack.process.pid, "SIGTERM");
    const { outcome } = await attack.json<{ outcome: string }>(30_000).catch(() => ({
      outcome: "?",
    }));
    await attack.stop("SIGKILL");
    result[`served_${name}`] = round(during.perSecond / baseline.perSecond);
    result[`rss_${name}_mb`] = round(during.peakMb, 1);
    await new Promise((r) => setTimeout(r, 1000));
    result[`rss_after_${name}_mb`] = round(rssMb(pid), 1);
    pesLeft = Math.min(pesLeft, await registrar.pesLeft());
    console.log(
      `${name}: served ${result[`served_${name}`]}, peak ${during.peakMb.toFixed(1)} MB, ` +
        `after ${result[`rss_after_${name}_mb`]} MB (${outcome})`,
    );
    await registrar.stop();
  }
  if (first) await registrar.stop();
  // The fewest healthy PEs left after any attack (30: none lost).
  result.pes_left = pesLeft;
  console.log(JSON.stringify(result));
}

const at = Deno.args.indexOf("--attack");
if (at >= 0) {
  const { parseEndpointAddress } = await import("../transport/open.ts");
  await attacker(
    Deno.args[at + 1],
    parseEndpointAddress(Deno.args[at + 2], 3863),
    parseEndpointAddress(Deno.args[at + 3], 3863),
  );
} else {
  await main();
}
