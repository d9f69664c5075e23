/**
 * Tunables of the SCTP stack, with defaults suited to a LAN.
 *
 * @module
 */

import { TransportError } from "../errors.ts";

/**
 * UDP encapsulation ports of SCTP over UDP (RFC 6951), for every SCTP association and listener
 * of a program. A peer is always answered on the UDP port it sent from; these say where to
 * send before it has.
 *
 * Defaults: a listener's UDP port is its SCTP port; outgoing associations share one free UDP
 * port of the process; a peer is first reached on its SCTP port. RSPLIB (sctplib) and Linux's
 * SCTP over UDP use 9899 at both ends: set both to 9899 to talk to them.
 *
 * @example Talking to RSPLIB
 * ```ts
 * import type { SctpUdpPorts } from "@rserpool/rserpool/transport";
 * const rsplib: SctpUdpPorts = { udpPort: 9899, remoteUdpPort: 9899 };
 * ```
 */
export interface SctpUdpPorts {
  /** Local UDP port of every SCTP association and listener (all share it). */
  udpPort?: number;
  /** A peer's UDP port until it has sent something (default: the peer's SCTP port). */
  remoteUdpPort?: number;
}

/**
 * Protocol parameters of an SCTP association (RFC 9260, section 16). Times in milliseconds.
 *
 * @example Faster failure detection than the defaults
 * ```ts
 * import type { SctpTuning } from "@rserpool/rserpool/transport";
 * const fast: SctpTuning = { heartbeatInterval: 500, pathMaxRetransmits: 2, rtoMax: 1000 };
 * ```
 */
export interface SctpTuning {
  /** Largest UDP payload, the SCTP packet (default 1200). */
  mtu?: number;
  /** Initial retransmission timeout (default 500). */
  rtoInitial?: number;
  /** Smallest retransmission timeout (default 100). */
  rtoMin?: number;
  /** Largest retransmission timeout (default 5000). */
  rtoMax?: number;
  /** Interval of HEARTBEATs on each path, plus the path's RTO (default 2000). */
  heartbeatInterval?: number;
  /** Unanswered retransmissions/heartbeats after which a path is down (default 5). */
  pathMaxRetransmits?: number;
  /** Unanswered retransmissions/heartbeats after which the association fails (default 10). */
  associationMaxRetransmits?: number;
  /** INIT and COOKIE ECHO retransmissions before connecting fails (default 8). */
  maxInitRetransmits?: number;
  /** Most packets of new data sent at one opportunity (RFC 9260 Max.Burst, default 4). */
  maxBurst?: number;
  /** Longest delay of a SACK (default 50). */
  delayedAckTime?: number;
  /** Bytes of received data held for the application, the advertised window (default 4 MiB). */
  receiveBufferSize?: number;
  /**
   * Bytes queued or in flight before `send` waits (default 4 MiB). Any size works: a message
   * larger than it is still sent, alone.
   */
  sendBufferSize?: number;
  /** Largest message sent or reassembled (default 2 MiB). */
  maxMessageSize?: number;
  /** Outbound streams asked for and inbound streams accepted (default 16). */
  streams?: number;
  /** Lifetime of a state cookie (default 60000). */
  cookieLifetime?: number;
  /**
   * Aborts the association when the oldest DATA chunk not yet acknowledged was first sent
   * this long ago (ms), checked at each T3-rtx expiry and HEARTBEAT; 0 (the default): never.
   * RFC 9260 lets a peer that answers HEARTBEATs but never acknowledges DATA keep an
   * association up forever (a HEARTBEAT ACK clears the error counter, 8.1); a server facing
   * untrusted peers sets this.
   */
  dataStallTimeout?: number;
}

/** {@linkcode SctpTuning} with every default filled in. */
export type SctpConfig = Required<SctpTuning>;

const DEFAULTS: SctpConfig = {
  mtu: 1200,
  rtoInitial: 500,
  rtoMin: 100,
  rtoMax: 5000,
  heartbeatInterval: 2000,
  pathMaxRetransmits: 5,
  associationMaxRetransmits: 10,
  maxInitRetransmits: 8,
  maxBurst: 4,
  delayedAckTime: 50,
  receiveBufferSize: 4 * 1024 * 1024,
  sendBufferSize: 4 * 1024 * 1024,
  maxMessageSize: 2 * 1024 * 1024,
  streams: 16,
  cookieLifetime: 60_000,
  dataStallTimeout: 0,
};

/**
 * Fills in defaults and checks ranges.
 *
 * @example
 * ```ts
 * import { resolveSctpConfig } from "./config.ts";
 * resolveSctpConfig({ mtu: 1400 }).rtoMin; // 100
 * ```
 */
export function resolveSctpConfig(tuning: SctpTuning = {}): SctpConfig {
  const c: SctpConfig = { ...DEFAULTS };
  for (const [key, value] of Object.entries(tuning)) {
    if (value === undefined) continue;
    if (!(key in DEFAULTS)) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new TransportError("invalid", `Invalid SCTP setting ${key}: ${String(value)}`);
    }
    (c as Record<string, number>)[key] = value;
  }
  if (c.mtu < 256 || c.mtu > 65_507) {
    throw new TransportError("invalid", `MTU ${c.mtu} outside 256-65507`);
  }
  if (c.streams < 1 || c.streams > 65_535) {
    throw new TransportError("invalid", `Stream count ${c.streams} outside 1-65535`);
  }
  if (c.rtoMin > c.rtoMax || c.rtoMin <= 0) {
    throw new TransportError("invalid", "RTO minimum must be positive and not above the maximum");
  }
  c.receiveBufferSize = Math.max(c.receiveBufferSize, c.maxMessageSize + 64 * 1024);
  return c;
}
