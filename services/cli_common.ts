/**
 * Command-line options shared by the PE and PU programs of the example services.
 *
 * @module
 */

import type { MulticastOptions } from "../transport/multicast.ts";
import { type EndpointAddress, parseEndpointAddress } from "../transport/open.ts";
import { LOG_LEVELS_TEXT, parseCount, UsageError } from "../cli/options.ts";
import { services } from "./mod.ts";
import type { Service } from "./service.ts";

/** Options both programs read. */
export const COMMON_OPTIONS = {
  "service": { type: "string" },
  "pool": { type: "string" },
  "registrar": { type: "string", multiple: true },
  "announce": { type: "string" },
  "announce-interface": { type: "string" },
  "log-level": { type: "string" },
  "sctp-udp-port": { type: "string" },
  "sctp-remote-udp-port": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;

/** The help lines of {@linkcode COMMON_OPTIONS}. */
export const COMMON_HELP = `  --service NAME               ${Object.keys(services).join(", ")}
  --pool HANDLE                pool handle (default: the service's, e.g. CalcPool)
  --registrar ADDR             registrar [sctp:|tcp:]HOST[:PORT], repeatable (default port 3863)
  --announce GROUP:PORT        also find registrars by SERVER_ANNOUNCE on this group
  --announce-interface ADDR    interface address for --announce (default 127.0.0.1)
  --log-level LEVEL            ${LOG_LEVELS_TEXT} (default warning)
  --sctp-udp-port N            local UDP port of every SCTP association and listener of the
                               process (SCTP over UDP, RFC 6951); 9899 to talk to RSPLIB
                               (default: a listener's SCTP port, else a free port)
  --sctp-remote-udp-port N     UDP port of an SCTP peer before it has sent anything; 9899 for
                               RSPLIB (default: the peer's SCTP port)
  -h, --help                   this text`;

/**
 * The SCTP UDP encapsulation ports of `--sctp-udp-port` and `--sctp-remote-udp-port`, as the
 * options `udpPort` and `remoteUdpPort` of a PE or PU (absent when not given).
 */
export function udpPortsOf(
  udpPort: string | undefined,
  remoteUdpPort: string | undefined,
): { udpPort?: number; remoteUdpPort?: number } {
  const ports: { udpPort?: number; remoteUdpPort?: number } = {};
  if (udpPort !== undefined) ports.udpPort = parseCount("--sctp-udp-port", udpPort, 0, 65535);
  if (remoteUdpPort !== undefined) {
    ports.remoteUdpPort = parseCount("--sctp-remote-udp-port", remoteUdpPort, 1, 65535);
  }
  return ports;
}

/** The service named on the command line. */
export function serviceOf(name: string | undefined): Service {
  if (name === undefined) throw new UsageError("--service is required");
  const service = services[name];
  if (service === undefined) {
    throw new UsageError(
      `--service: unknown service '${name}' (${Object.keys(services).join(", ")})`,
    );
  }
  return service;
}

/** Registrar addresses from `--registrar`. */
export function registrarsOf(values: string[] | undefined): EndpointAddress[] {
  return (values ?? []).map((r) => {
    try {
      return parseEndpointAddress(r, 3863);
    } catch (e) {
      throw new UsageError(`--registrar: ${(e as Error).message}`);
    }
  });
}

/** The multicast group of `--announce`, on `--announce-interface` (default loopback). */
export function announceOf(
  group: string | undefined,
  interfaceAddress: string | undefined,
): MulticastOptions | undefined {
  if (group === undefined) return undefined;
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(group);
  if (m === null) throw new UsageError("--announce: expected GROUP:PORT");
  return { group: m[1], port: Number(m[2]), interfaceAddress: interfaceAddress ?? "127.0.0.1" };
}
