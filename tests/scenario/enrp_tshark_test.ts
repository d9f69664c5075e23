// ENRP of real registrar processes on the wire, as Wireshark decodes it: three registrars on
// loopback, ENRP over SCTP over UDP between them (and one peer over TCP, port 9901, which
// Wireshark decodes as ENRP with ../shared/tshark/enrp_tcp.lua), a few PEs, a registrar that
// dies and is taken over. Every ENRP message of the capture must decode as an ENRP message
// type, without a Malformed marker or an expert error, and together they must cover every
// message type the scenario makes: PRESENCE, HANDLE_TABLE_REQUEST/RESPONSE, HANDLE_UPDATE,
// LIST_REQUEST/RESPONSE, INIT_TAKEOVER/ACK and TAKEOVER_SERVER.

import assert from "node:assert/strict";
import type { EndpointAddress } from "../../transport/open.ts";
import { decodeCapture, startCapture } from "../support/capture.ts";
import { AsapClient, text } from "../support/asap_client.ts";
import { Child, exitWithin, type RegistrarReady, startRegistrar } from "../support/processes.ts";
import { fieldValues, ignoreWithoutTshark, type TsharkPacket } from "../support/tshark.ts";

/** Root, for dumpcap on loopback (CI runs as root). */
function captureMissing(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (Deno.uid() !== 0) return "needs root for dumpcap";
  return undefined;
}

const missing = captureMissing();
const ignore = (await ignoreWithoutTshark()) ||
  (missing !== undefined && Deno.env.get("CI") !== "true");
if (missing !== undefined && ignore) console.error(`enrp tshark test ignored: ${missing}`);

const LUA = new URL("../../../shared/tshark/enrp_tcp.lua", import.meta.url).pathname;
const haveLua = await Deno.stat(LUA).then(() => true, () => false);
/** The ENRP-over-TCP endpoint of one registrar: port 9901 (the lua script's) on a loopback
 * address of its own, away from anything else on 127.0.0.1. */
const TCP_ENRP = { protocol: "tcp" as const, hostname: "127.77.0.3", port: 9901 };

const TIMERS = [
  "--peer-heartbeat-cycle",
  "300ms",
  "--max-time-last-heard",
  "1s",
  "--max-time-no-response",
  "1s",
  "--takeover-expiry",
  "2s",
  "--mentor-discovery-timeout",
  "500ms",
  "--keep-alive-interval",
  "300ms",
  // A second to answer: a PE process on a loaded machine may take some hundred ms.
  "--keep-alive-timeout",
  "1s",
];

const asArg = (a: EndpointAddress) => `${a.protocol}:${a.hostname}:${a.port}`;

/** ENRP message types by code, RFC 5353. */
const TYPES: Record<number, string> = {
  1: "PRESENCE",
  2: "HANDLE_TABLE_REQUEST",
  3: "HANDLE_TABLE_RESPONSE",
  4: "HANDLE_UPDATE",
  5: "LIST_REQUEST",
  6: "LIST_RESPONSE",
  7: "INIT_TAKEOVER",
  8: "INIT_TAKEOVER_ACK",
  9: "TAKEOVER_SERVER",
  10: "ERROR",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Running {
  child: Child;
  ready: RegistrarReady;
}

/** A UDP port free on loopback just now. */
function freeUdpPort(): number {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

/**
 * A registrar, ASAP on TCP, ENRP on SCTP port `port` (over UDP port `port`) and on
 * `extraEnrp`, peering `peers`.
 */
async function registrar(
  spawned: Child[],
  name: string,
  port: number,
  peers: EndpointAddress[],
  extraEnrp: EndpointAddress[] = [],
): Promise<Running> {
  const r = await startRegistrar([
    "--asap",
    "tcp:127.0.0.1:0",
    "--enrp",
    `sctp:127.0.0.1:${port}`,
    ...extraEnrp.flatMap((e) => ["--enrp", asArg(e)]),
    ...peers.flatMap((p) => ["--peer", asArg(p)]),
    ...TIMERS,
  ], name);
  spawned.push(r.child);
  return r;
}

async function pe(spawned: Child[], at: Running, name: string): Promise<number> {
  const child = Child.spawn(name, "services/pe_main.ts", [
    "--service",
    "echo",
    "--pool",
    "EnrpTsharkPool",
    "--registrar",
    asArg(at.ready.asap[0]),
    "--reregistration-interval",
    "1s",
  ]);
  spawned.push(child);
  return (await child.json<{ identifier: number }>()).identifier;
}

/** Waits (up to `timeout` ms) until one of `survivors` resolves PE `id` with another home than
 * `dead`. */
async function takenOver(survivors: Running[], id: number, dead: number, timeout = 30_000) {
  const clients = await Promise.all(survivors.map((r) => AsapClient.open(r.ready.asap[0])));
  try {
    const end = Date.now() + timeout;
    for (;;) {
      for (const c of clients) {
        const r = await c.request({
          type: "handle-resolution",
          wantsUpdates: false,
          poolHandle: text("EnrpTsharkPool"),
        });
        const home = r.type === "handle-resolution-response"
          ? r.poolElements.find((p) => p.identifier === id)?.homeRegistrarId
          : undefined;
        if (home !== undefined && home !== dead) return;
      }
      if (Date.now() > end) throw new Error(`PE ${id} not taken over in ${timeout} ms`);
      await sleep(100);
    }
  } finally {
    for (const c of clients) await c.abort();
  }
}

const sctpEnrp = (r: Running) => r.ready.enrp.find((e) => e.protocol === "sctp")!;

/** What is wrong with one ENRP packet as tshark decoded it. */
function problems(packet: TsharkPacket): string[] {
  const found: string[] = [];
  const types = fieldValues(packet.layers.enrp, "enrp.message_type").map(Number);
  if (types.length === 0 || types.some((t) => TYPES[t] === undefined)) {
    found.push(`message types ${JSON.stringify(types)}`);
  }
  if (packet.malformed) found.push("marked [Malformed Packet]");
  for (const e of packet.experts) {
    // SCTP retransmissions are Notes; an error or a warning is a decoding problem.
    if (e.severity === "Error" || e.severity === "Warning") {
      found.push(`expert ${e.severity}/${e.group}: ${e.message}`);
    }
  }
  return found;
}

Deno.test({
  name:
    "enrp tshark: the ENRP of three registrars (SCTP over UDP, and TCP), their PEs and a takeover decodes cleanly in Wireshark",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (missing !== undefined) throw new Error(`Cannot capture: ${missing}`);
    const dir = await Deno.makeTempDir({ prefix: "enrp-tshark-" });
    const spawned: Child[] = [];
    try {
      // Every ENRP packet between them has the UDP port of a registrar's ENRP SCTP endpoint
      // at one end at least (a peer that connects does so from a port of its own).
      const ports = [freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()];
      const path = `${dir}/enrp.pcapng`;
      const capture = await startCapture({
        filter: [...ports.map((p) => `udp port ${p}`), `tcp port ${TCP_ENRP.port}`].join(" or "),
        path,
      });
      let stopped = false;
      try {
        const r1 = await registrar(spawned, "r1", ports[0], []);
        const r2 = await registrar(spawned, "r2", ports[1], [sctpEnrp(r1)]);
        // r3 listens for ENRP over TCP too, and r4 joins it there (its mentor, over TCP).
        const r3 = await registrar(
          spawned,
          "r3",
          ports[2],
          [sctpEnrp(r1)],
          haveLua ? [TCP_ENRP] : [],
        );
        const r4 = haveLua ? await registrar(spawned, "r4", ports[3], [TCP_ENRP]) : undefined;
        // PEs at each: HANDLE_UPDATEs to the others.
        await pe(spawned, r1, "pe-1");
        const pe2 = await pe(spawned, r2, "pe-2");
        await pe(spawned, r3, "pe-3");
        await sleep(1500);
        // r2 dies: the survivors take its PE over (INIT_TAKEOVER, its ACKs, TAKEOVER_SERVER).
        await r2.child.stop("SIGKILL");
        // At least 4.5 s, and until a survivor is the home of r2's PE (a slow machine may
        // take longer), then a moment for the TAKEOVER_SERVER to reach the capture.
        await Promise.all([sleep(4500), takenOver([r1, r3], pe2, r2.ready.serverId)]);
        await sleep(500);
        if (r4 !== undefined) await exitWithin(r4.child, 15_000, "SIGTERM");
        await sleep(500);
        await capture.stop();
        stopped = true;
        const packets = await decodeCapture(path, [
          ...(haveLua ? ["-X", `lua_script:${LUA}`] : []),
          ...ports.flatMap((p) => ["-d", `udp.port==${p},sctp`]),
        ]);
        const enrp = packets.filter((p) => p.protocols.includes("enrp"));
        const report: string[] = [];
        const seen = new Map<number, Set<string>>();
        for (const packet of enrp) {
          for (const p of problems(packet)) report.push(`frame ${packet.number}: ${p}`);
          const carrier = packet.protocols.includes("sctp") ? "sctp" : "tcp";
          if (carrier === "tcp") {
            // Wireshark does no ENRP reassembly over TCP: every byte must be in a decoded
            // message (one per segment), none hidden behind the first.
            const decoded = fieldValues(packet.layers.enrp, "enrp.message_length")
              .map(Number).reduce((sum, n) => sum + n + ((4 - n % 4) % 4), 0);
            const length = Number(fieldValues(packet.layers.tcp, "tcp.len")[0]);
            if (decoded !== length) {
              report.push(`frame ${packet.number}: ${length} TCP bytes, ${decoded} decoded`);
            }
          }
          for (const t of fieldValues(packet.layers.enrp, "enrp.message_type").map(Number)) {
            if (!seen.has(t)) seen.set(t, new Set());
            seen.get(t)!.add(carrier);
          }
        }
        // ENRP data (PPID 12) that tshark did not take for ENRP (but for retransmitted
        // DATA, whose payload tshark does not dissect again).
        for (const packet of packets) {
          const ppids = fieldValues(packet.layers.sctp, "sctp.data_payload_proto_id");
          if (
            ppids.includes("12") && !packet.protocols.includes("enrp") &&
            !packet.text.includes("This TSN is a retransmission")
          ) {
            report.push(`frame ${packet.number}: PPID 12 not decoded as ENRP`);
          }
        }
        const summary = [...seen].sort(([a], [b]) => a - b)
          .map(([t, c]) => `${TYPES[t] ?? t} (${[...c].join("+")})`).join(", ");
        assert.deepEqual(report, [], `ENRP packets tshark disagrees with:\n${report.join("\n")}`);
        for (const t of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
          assert.ok(seen.has(t), `no ${TYPES[t]} in the capture; seen: ${summary}`);
        }
        if (haveLua) {
          for (const t of [1, 2, 3, 5, 6]) {
            assert.ok(seen.get(t)?.has("tcp"), `no ${TYPES[t]} over TCP; seen: ${summary}`);
          }
        }
      } finally {
        if (!stopped) await capture.stop().catch(() => {});
      }
    } catch (e) {
      const logs = spawned.map((c) => `--- ${c.name}:\n${c.stderr()}`).join("\n");
      (e as Error).message += `\n\n=== processes' output ===\n${logs}`;
      throw e;
    } finally {
      for (const c of spawned.reverse()) await c.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
