/**
 * The registrar: the {@linkcode Registrar} class and its HTTP status server for embedding,
 * and, run as a program, its command line (`deno run -A --unstable-net
 * jsr:@rserpool/rserpool/registrar [options]`; `--help` lists the options).
 *
 * @example The command line
 * ```sh
 * deno run -A --unstable-net jsr:@rserpool/rserpool/registrar \
 *   --asap sctp:127.0.0.1:3863 --asap tcp:127.0.0.1:3863 --announce-interface 127.0.0.1
 * ```
 *
 * @example Embedded
 * ```ts
 * import { Registrar } from "@rserpool/rserpool/registrar";
 * await using registrar = await Registrar.start({
 *   asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
 *   announce: false,
 *   enrp: [],
 * });
 * console.log(registrar.addresses.length); // 1
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getLogger } from "@logtape/logtape";
import { type LogFormat, parseLogFormat, setUpLogging } from "../cli/logging.ts";
import {
  LOG_LEVELS_TEXT,
  parseCount,
  parseDuration,
  parseLogLevel,
  parseRate,
  UsageError,
  usageLine,
} from "../cli/options.ts";
import { hostnamesOf, parseEndpointAddress, parseMultiHomedAddress } from "../transport/open.ts";
import { TransportError } from "../transport/errors.ts";
import { Registrar, type RegistrarOptions } from "./registrar.ts";
import { type HttpAddress, RegistrarHttpServer } from "./http/mod.ts";

export * from "./mod.ts";
export type { LogFormat };

/**
 * A log level of `--log-level`.
 *
 * @example
 * ```ts
 * import type { LogLevel } from "@rserpool/rserpool/registrar";
 * const level: LogLevel = "warning";
 * ```
 */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

const HELP = `Usage: registrar [options]

An RSerPool registrar (RFC 5352): pool elements register with it, pool users resolve pool
handles through it.

Options:
  --asap ADDR                  ASAP endpoint [sctp:|tcp:]HOST[,HOST...][:PORT], repeatable
                               (several hosts: a multi-homed SCTP endpoint)
                               (default sctp:0.0.0.0:3863)
  --local                      defaults for one host (what \`deno task registrar\` uses): ASAP
                               on sctp:127.0.0.1:3863 and tcp:127.0.0.1:3863, announcements
                               on 127.0.0.1, HTTP on 127.0.0.1:8080; --asap, --announce-interface
                               and --http given as well replace the corresponding default
  --server-id ID               server ID, decimal or 0x hex (default random)
  --announce GROUP:PORT|off    SERVER_ANNOUNCE multicast (default 239.0.0.50:3863)
  --announce-interface ADDR    address of the interface to announce on (default: the first
                               ASAP address, or the system's choice for a wildcard one)
  --announce-interval TIME     (default 1s)
  --announce-ttl N             (default 30)
  --keep-alive-interval TIME   ENDPOINT_KEEP_ALIVE interval (default 5s)
  --keep-alive-timeout TIME    answer time before a PE is removed (default 5s)
  --overload-lag TIME          mean event-loop lag over a second that makes the registrar
                               pace its keep-alives and keep PEs whose answers are late
                               (default 20ms; 0 = never)
  --max-bad-pe-reports N       ENDPOINT_UNREACHABLE reports before removal (default 3)
  --max-handle-resolution-items N
                               most PEs per handle resolution (default 3)
  --max-increment N            selected PEs advancing per resolution, 0 = all (default 1)
  --handle-resolution-rate R[/B]
                               per association: R per second, bursts of B (default 1000/2000)
  --unreachable-rate R[/B]     per association (default 10/20)
  --registration-rate R[/B]    per association (default 100/200)
  --max-pools N                (default 100000)
  --max-pes-per-pool N         (default 10000)
  --max-pes N                  (default 1000000)
  --max-pool-handle-length N   bytes (default 32)
  --max-associations N         ASAP associations at once, SCTP and TCP (default 100000); at
                               the limit the idlest one without PEs makes room
  --max-associations-per-address N
                               from one IP address (default 1000)
  --idle-timeout TIME          close associations without PEs silent this long (default 2m;
                               0 = never)
  --pool-secret POOL=FILE      only PEs that sign with the secret in FILE may register into
                               POOL (repeatable; off by default, as in RSPLIB)
  --unreachable-window TIME    unreachable reports count once per association in it (default
                               30s); maxBadPeReports reporters make the registrar check the PE
  --send-stall-timeout TIME    cut an association whose answers have waited this long for its
                               peer to take them, e.g. an SCTP peer that never acknowledges
                               (default 30s; 0 = never)

ENRP (registrar to registrar, RFC 5353):
  --enrp ADDR|off              ENRP endpoint [sctp:|tcp:]HOST[:PORT], repeatable (default
                               sctp on the host of the first --asap, port 9901)
  --peer ADDR                  a peer's ENRP endpoint [sctp:|tcp:]HOST[:PORT], repeatable
                               (default port 9901)
  --enrp-announce GROUP:PORT|off
                               PRESENCE multicast to find peers (default 239.0.0.51:9901)
  --enrp-announce-interface ADDR
                               interface address for it (default: the first ENRP address)
  --peer-heartbeat-cycle TIME  PRESENCE interval, +-12.5 % (default 2444ms)
  --max-time-last-heard TIME   a silent peer is asked for a PRESENCE after (default 5s)
  --max-time-no-response TIME  then taken over after (default 5s)
  --takeover-expiry TIME       a takeover not acknowledged is abandoned after (default 5s)
  --mentor-discovery-timeout TIME
                               start alone when no peer is heard in (default 5s)
  --max-handle-table-elements N
                               PEs per HANDLE_TABLE_RESPONSE (default 128)
  --max-peers N                (default 64)
  --enrp-secret FILE           authenticate ENRP peers with the secret in FILE: give every
                               registrar of the set the same one; each ENRP message is then
                               signed (HMAC-SHA256, signing time, sequence number) and
                               messages unsigned, wrongly signed, older than 60s or replayed
                               are dropped (off by default; RSPLIB registrars cannot peer
                               with one that has it)

SCTP over UDP:
  --sctp-udp-port N            UDP port of all SCTP endpoints (default: each endpoint's SCTP
                               port); RSPLIB and Linux SCTP over UDP use 9899
  --sctp-remote-udp-port N     UDP port of a peer that has not sent yet (default: its SCTP
                               port; RSPLIB: 9899); a peer is answered on the port it sent from

HTTP (status, metrics, live page; no authentication):
  --http HOST:PORT|off         serve GET / (live page), /api/registrar, /api/pools[/HANDLE],
                               /api/events (server-sent events), /metrics (Prometheus)
                               (default off); keep HOST a loopback address unless the
                               network in between is trusted

General:
  --log-level LEVEL            ${LOG_LEVELS_TEXT} (default info)
  --log-format text|json       log lines as text or JSON lines (default text); lines that
                               standard error cannot take in time are dropped and counted
  -h, --help                   this text

TIME is 500ms, 5s, 2m or plain milliseconds. Three registrars on one host:
  registrar --asap sctp:127.0.0.1:3863 --enrp sctp:127.0.0.1:9901 --announce off
  registrar --asap sctp:127.0.0.1:3864 --enrp sctp:127.0.0.1:9902 --announce off \
    --peer 127.0.0.1:9901
  registrar --asap sctp:127.0.0.1:3865 --enrp sctp:127.0.0.1:9903 --announce off \
    --peer 127.0.0.1:9901 SCTP runs over UDP (RFC 6951). To work with
RSPLIB's registrar, PEs and PUs: --sctp-udp-port 9899 --sctp-remote-udp-port 9899.
`;

/**
 * What {@linkcode parseRegistrarArgs} reads from a command line.
 *
 * @example
 * ```ts
 * import type { RegistrarArgs } from "@rserpool/rserpool/registrar";
 * const args: RegistrarArgs = { options: {}, logLevel: "info", logFormat: "text" };
 * ```
 */
export interface RegistrarArgs {
  /** The options of {@linkcode Registrar.start}. */
  options: RegistrarOptions;
  /** Lowest level logged (`--log-level`). */
  logLevel: LogLevel;
  /** Log line format (`--log-format`). */
  logFormat: LogFormat;
  /** Where to serve HTTP (`--http`), when it is on. */
  http?: HttpAddress;
}

/**
 * Reads the command line into registrar options, the HTTP address and a log level, or
 * `"help"` for `--help`. Throws a `UsageError` (one line naming the flag) for a bad one.
 *
 * @example
 * ```ts
 * import { parseRegistrarArgs } from "@rserpool/rserpool/registrar";
 * const args = parseRegistrarArgs(["--asap", "tcp:127.0.0.1:3863", "--announce", "off"]);
 * if (args !== "help") console.log(args.options.asap?.length); // 1
 * ```
 */
export function parseRegistrarArgs(args: string[]): RegistrarArgs | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      "asap": { type: "string", multiple: true },
      "server-id": { type: "string" },
      "announce": { type: "string" },
      "announce-interface": { type: "string" },
      "announce-interval": { type: "string" },
      "announce-ttl": { type: "string" },
      "keep-alive-interval": { type: "string" },
      "keep-alive-timeout": { type: "string" },
      "max-bad-pe-reports": { type: "string" },
      "max-handle-resolution-items": { type: "string" },
      "max-increment": { type: "string" },
      "handle-resolution-rate": { type: "string" },
      "unreachable-rate": { type: "string" },
      "registration-rate": { type: "string" },
      "max-pools": { type: "string" },
      "max-pes-per-pool": { type: "string" },
      "max-pes": { type: "string" },
      "max-pool-handle-length": { type: "string" },
      "max-associations": { type: "string" },
      "max-associations-per-address": { type: "string" },
      "idle-timeout": { type: "string" },
      "unreachable-window": { type: "string" },
      "send-stall-timeout": { type: "string" },
      "overload-lag": { type: "string" },
      "pool-secret": { type: "string", multiple: true },
      "log-format": { type: "string" },
      "enrp": { type: "string", multiple: true },
      "peer": { type: "string", multiple: true },
      "enrp-announce": { type: "string" },
      "enrp-announce-interface": { type: "string" },
      "peer-heartbeat-cycle": { type: "string" },
      "max-time-last-heard": { type: "string" },
      "max-time-no-response": { type: "string" },
      "takeover-expiry": { type: "string" },
      "mentor-discovery-timeout": { type: "string" },
      "max-handle-table-elements": { type: "string" },
      "max-peers": { type: "string" },
      "enrp-secret": { type: "string" },
      "sctp-udp-port": { type: "string" },
      "sctp-remote-udp-port": { type: "string" },
      "http": { type: "string" },
      "log-level": { type: "string" },
      "local": { type: "boolean" },
      "help": { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (values.local) {
    values.asap ??= ["sctp:127.0.0.1:3863", "tcp:127.0.0.1:3863"];
    values["announce-interface"] ??= "127.0.0.1";
    values.http ??= "127.0.0.1:8080";
  }
  const asap = (values.asap ?? ["sctp:0.0.0.0:3863"]).map((a) => {
    try {
      return parseMultiHomedAddress(a, 3863);
    } catch (e) {
      throw new UsageError(`--asap: ${(e as Error).message}`);
    }
  });
  const options: RegistrarOptions = { asap };
  const v = values;
  if (v["server-id"] !== undefined) {
    options.serverId = parseCount("--server-id", v["server-id"], 1);
  }
  if (v.announce === "off") {
    options.announce = false;
  } else {
    const announce: Exclude<RegistrarOptions["announce"], false | undefined> = {};
    if (v.announce !== undefined) {
      const m = /^(.+):(\d+)$/.exec(v.announce);
      if (m === null) throw new UsageError(`--announce: expected GROUP:PORT or off`);
      announce.group = m[1].replace(/^\[|\]$/g, "");
      announce.port = parseCount("--announce", m[2], 1, 65535);
    }
    if (v["announce-interface"] !== undefined) {
      announce.interfaceAddress = v["announce-interface"];
    }
    if (v["announce-interval"] !== undefined) {
      announce.interval = parseDuration("--announce-interval", v["announce-interval"]);
    }
    if (v["announce-ttl"] !== undefined) {
      announce.ttl = parseCount("--announce-ttl", v["announce-ttl"], 1, 255);
    }
    options.announce = announce;
  }
  const duration = (flag: keyof typeof v) =>
    v[flag] === undefined ? undefined : parseDuration(`--${flag}`, v[flag] as string);
  const count = (flag: keyof typeof v, min = 0) =>
    v[flag] === undefined ? undefined : parseCount(`--${flag}`, v[flag] as string, min);
  const rate = (flag: keyof typeof v) =>
    v[flag] === undefined ? undefined : parseRate(`--${flag}`, v[flag] as string);
  options.keepAliveInterval = duration("keep-alive-interval");
  options.keepAliveTimeout = duration("keep-alive-timeout");
  options.maxBadPeReports = count("max-bad-pe-reports", 1);
  options.maxHandleResolutionItems = count("max-handle-resolution-items", 1);
  options.maxIncrement = count("max-increment");
  options.handleResolutionRate = rate("handle-resolution-rate");
  options.unreachableRate = rate("unreachable-rate");
  options.registrationRate = rate("registration-rate");
  options.maxPools = count("max-pools", 1);
  options.maxPoolElementsPerPool = count("max-pes-per-pool", 1);
  options.maxPoolElements = count("max-pes", 1);
  options.maxPoolHandleLength = count("max-pool-handle-length", 1);
  options.maxAssociations = count("max-associations", 1);
  options.maxAssociationsPerAddress = count("max-associations-per-address", 1);
  options.idleTimeout = duration("idle-timeout");
  options.unreachableWindow = duration("unreachable-window");
  options.sendStallTimeout = duration("send-stall-timeout");
  options.overloadLag = duration("overload-lag");
  if (v["pool-secret"] !== undefined) {
    const secrets: Record<string, string> = {};
    for (const item of v["pool-secret"]) {
      const i = item.indexOf("=");
      if (i <= 0) throw new UsageError("--pool-secret: expected POOL=FILE");
      try {
        secrets[item.slice(0, i)] = Deno.readTextFileSync(item.slice(i + 1)).trim();
      } catch (e) {
        throw new UsageError(`--pool-secret: cannot read ${item.slice(i + 1)}: ${e}`);
      }
    }
    options.poolSecrets = secrets;
  }
  const port = (flag: keyof typeof v) =>
    v[flag] === undefined ? undefined : parseCount(`--${flag}`, v[flag] as string, 1, 65535);
  options.udpPort = port("sctp-udp-port");
  options.remoteUdpPort = port("sctp-remote-udp-port");
  const addressList = (flag: "enrp" | "peer", values: string[]) =>
    values.map((a) => {
      try {
        return parseEndpointAddress(a, 9901);
      } catch (e) {
        throw new UsageError(`--${flag}: ${(e as Error).message}`);
      }
    });
  const firstHost = asap[0] === undefined ? "0.0.0.0" : hostnamesOf(asap[0])[0];
  const enrp = v.enrp ?? [`sctp:${formatHost(firstHost)}:9901`];
  if (enrp.includes("off")) {
    if (enrp.length > 1) throw new UsageError("--enrp: off cannot go with addresses");
    if (v.peer !== undefined) throw new UsageError("--peer needs ENRP (--enrp is off)");
    if (v["enrp-secret"] !== undefined) throw new UsageError("--enrp-secret needs ENRP");
  } else {
    options.enrp = addressList("enrp", enrp);
    if (v["enrp-secret"] !== undefined) {
      let secret: string;
      try {
        secret = Deno.readTextFileSync(v["enrp-secret"]).trim();
      } catch (e) {
        throw new UsageError(`--enrp-secret: cannot read ${v["enrp-secret"]}: ${e}`);
      }
      if (secret.length === 0) throw new UsageError("--enrp-secret: the file is empty");
      options.enrpSecret = secret;
    }
    options.peers = addressList("peer", v.peer ?? []);
    if (v["enrp-announce"] === "off") {
      options.enrpAnnounce = false;
    } else {
      const announce: Exclude<RegistrarOptions["enrpAnnounce"], false | undefined> = {};
      if (v["enrp-announce"] !== undefined) {
        const m = /^(.+):(\d+)$/.exec(v["enrp-announce"]);
        if (m === null) throw new UsageError(`--enrp-announce: expected GROUP:PORT or off`);
        announce.group = m[1].replace(/^\[|\]$/g, "");
        announce.port = parseCount("--enrp-announce", m[2], 1, 65535);
      }
      if (v["enrp-announce-interface"] !== undefined) {
        announce.interfaceAddress = v["enrp-announce-interface"];
      }
      options.enrpAnnounce = announce;
    }
    options.enrpTuning = {
      heartbeatCycle: duration("peer-heartbeat-cycle"),
      maxTimeLastHeard: duration("max-time-last-heard"),
      maxTimeNoResponse: duration("max-time-no-response"),
      takeoverExpiry: duration("takeover-expiry"),
      mentorHuntTimeout: duration("mentor-discovery-timeout"),
      maxElementsPerHandleTableResponse: count("max-handle-table-elements", 1),
      maxPeers: count("max-peers", 1),
    };
  }
  const logLevel = parseLogLevel("--log-level", v["log-level"] ?? "info");
  const logFormat = parseLogFormat(v["log-format"] ?? "text");
  const http = v.http === undefined || v.http === "off" ? undefined : parseHttp(v.http);
  return { options, logLevel, logFormat, ...(http === undefined ? {} : { http }) };
}

function parseHttp(text: string): HttpAddress {
  const m = /^(.+):(\d+)$/.exec(text);
  if (m === null) throw new UsageError("--http: expected HOST:PORT or off");
  return {
    hostname: m[1].replace(/^\[|\]$/g, ""),
    port: parseCount("--http", m[2], 0, 65535),
  };
}

/** The limits `/api/registrar` shows: the options given, with the registrar's defaults. */
function limitsOf(o: RegistrarOptions): Record<string, unknown> {
  return {
    keepAliveInterval: o.keepAliveInterval ?? 5000,
    keepAliveTimeout: o.keepAliveTimeout ?? 5000,
    maxBadPeReports: o.maxBadPeReports ?? 3,
    maxHandleResolutionItems: o.maxHandleResolutionItems ?? 3,
    maxIncrement: o.maxIncrement ?? 1,
    handleResolutionRate: o.handleResolutionRate ?? { rate: 1000, burst: 2000 },
    unreachableRate: o.unreachableRate ?? { rate: 10, burst: 20 },
    registrationRate: o.registrationRate ?? { rate: 100, burst: 200 },
    maxPools: o.maxPools ?? 100_000,
    maxPoolElementsPerPool: o.maxPoolElementsPerPool ?? 10_000,
    maxPoolElements: o.maxPoolElements ?? 1_000_000,
    maxPoolHandleLength: o.maxPoolHandleLength ?? 32,
  };
}

async function main(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseRegistrarArgs>;
  try {
    parsed = parseRegistrarArgs(args);
  } catch (e) {
    console.error(usageLine("registrar", e));
    return 2;
  }
  if (parsed === "help") {
    console.log(HELP);
    return 0;
  }
  await setUpLogging(parsed.logLevel, { format: parsed.logFormat });
  const logger = getLogger(["rserpool", "registrar"]);
  let registrar: Registrar;
  try {
    registrar = await Registrar.start(parsed.options);
  } catch (e) {
    const message = e instanceof TransportError ? e.message : String(e);
    console.error(`registrar: could not start: ${message}`);
    return 1;
  }
  let http: RegistrarHttpServer | undefined;
  if (parsed.http !== undefined) {
    try {
      http = await RegistrarHttpServer.start(registrar, {
        ...parsed.http,
        limits: limitsOf(parsed.options),
      });
    } catch (e) {
      console.error(`registrar: could not serve HTTP: ${(e as Error).message}`);
      await registrar.close();
      return 1;
    }
    logger.info("Serving HTTP at http://{host}:{port}/", {
      host: formatHost(http.address.hostname),
      port: http.address.port,
    });
  }
  // The test harness and the demo read this line to learn the ports bound.
  console.log(JSON.stringify({
    serverId: registrar.serverId,
    asap: registrar.addresses,
    enrp: registrar.enrpAddresses,
    ...(http === undefined ? {} : { http: http.address }),
  }));
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped.promise;
  logger.info("Shutting down");
  await http?.close();
  await registrar.close();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}

function formatHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
