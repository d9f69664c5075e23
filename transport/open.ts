/**
 * Opening associations and listeners by protocol name, and the `protocol:host:port` notation
 * of the command lines.
 *
 * @module
 */

import { TransportError } from "./errors.ts";
import { connectSctp, listenSctp } from "./sctp/endpoint.ts";
import type { SctpTuning, SctpUdpPorts } from "./sctp/config.ts";
import { connectTcp } from "./tcp/connect.ts";
import { listenTcp } from "./tcp/listen.ts";
import type { Framing } from "./tcp/framing.ts";
import type { Association, AssociationListener } from "./types.ts";
import { ipAddressFamily } from "../wire/address.ts";

/**
 * Where to connect or listen: a protocol, an IP address and a port.
 *
 * @example
 * ```ts
 * import type { EndpointAddress } from "./open.ts";
 * const registrar: EndpointAddress = { protocol: "sctp", hostname: "127.0.0.1", port: 3863 };
 * ```
 */
export interface EndpointAddress {
  /** SCTP over UDP or TCP. */
  protocol: "sctp" | "tcp";
  /** IPv4 or IPv6 address. */
  hostname: string;
  /** Port (SCTP port, which is also the UDP encapsulation port unless configured otherwise). */
  port: number;
}

/**
 * Parses `[sctp:|tcp:]host[:port]`, with IPv6 addresses in brackets (`tcp:[::1]:3863`).
 * The protocol defaults to SCTP and the port to `defaultPort`.
 *
 * @example
 * ```ts
 * import { parseEndpointAddress } from "./open.ts";
 * parseEndpointAddress("tcp:127.0.0.1:3863", 3863);
 * // { protocol: "tcp", hostname: "127.0.0.1", port: 3863 }
 * parseEndpointAddress("[::1]", 3863); // { protocol: "sctp", hostname: "::1", port: 3863 }
 * ```
 */
export function parseEndpointAddress(text: string, defaultPort: number): EndpointAddress {
  let rest = text.trim();
  let protocol: "sctp" | "tcp" = "sctp";
  // Neither prefix can begin an IPv6 address ("s" and "t" are not hexadecimal digits).
  const m = /^(sctp|tcp):(.*)$/i.exec(rest);
  if (m !== null) {
    protocol = m[1].toLowerCase() as "sctp" | "tcp";
    rest = m[2];
  }
  let hostname: string;
  let port = defaultPort;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0) throw new TransportError("invalid", `Invalid address '${text}'`);
    hostname = rest.slice(1, end);
    const tail = rest.slice(end + 1);
    if (tail !== "") {
      if (!tail.startsWith(":")) throw new TransportError("invalid", `Invalid address '${text}'`);
      port = Number(tail.slice(1));
    }
  } else if (rest.split(":").length === 2) {
    const [h, p] = rest.split(":");
    hostname = h;
    port = Number(p);
  } else {
    hostname = rest;
  }
  if (hostname === "localhost") hostname = "127.0.0.1";
  if (ipAddressFamily(hostname) === undefined) {
    throw new TransportError("invalid", `Invalid IP address in '${text}'`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new TransportError("invalid", `Invalid port in '${text}'`);
  }
  return { protocol, hostname, port };
}

/**
 * Formats an address as {@linkcode parseEndpointAddress} reads it.
 *
 * @example
 * ```ts
 * import { formatEndpointAddress } from "./open.ts";
 * formatEndpointAddress({ protocol: "tcp", hostname: "::1", port: 3863 }); // "tcp:[::1]:3863"
 * ```
 */
export function formatEndpointAddress(address: EndpointAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${address.protocol}:${host}:${address.port}`;
}

/**
 * Options of {@linkcode openAssociation} and {@linkcode openListener}.
 *
 * @example
 * ```ts
 * import type { OpenOptions } from "./open.ts";
 * const asap: OpenOptions = { framing: "rserpool", ppid: 11 };
 * ```
 */
export interface OpenOptions extends SctpUdpPorts {
  /** TCP framing (default "framed"); "rserpool" carries only ASAP or ENRP messages. */
  framing?: Framing;
  /** PPID of every message with "rserpool" framing. */
  ppid?: number;
  /** SCTP protocol parameters. */
  sctp?: SctpTuning;
  /** Largest message (default: the transport's). */
  maxMessageSize?: number;
  /** Connect timeout in ms (TCP; SCTP gives up after its INIT retransmissions). */
  timeout?: number;
}

/**
 * Connects to an endpoint over its protocol.
 *
 * @example
 * ```ts ignore
 * import { openAssociation } from "./open.ts";
 * const a = await openAssociation({ protocol: "tcp", hostname: "127.0.0.1", port: 3863 });
 * ```
 */
export function openAssociation(
  address: EndpointAddress,
  options: OpenOptions = {},
): Promise<Association> {
  if (address.protocol === "tcp") {
    return connectTcp({
      hostname: address.hostname,
      port: address.port,
      framing: options.framing,
      ppid: options.ppid,
      maxMessageSize: options.maxMessageSize,
      timeout: options.timeout,
    });
  }
  return connectSctp({
    ...options.sctp,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    hostname: address.hostname,
    port: address.port,
    udpPort: options.udpPort,
    remoteUdpPort: options.remoteUdpPort,
  });
}

/**
 * Listens on an endpoint over its protocol.
 *
 * @example
 * ```ts ignore
 * import { openListener } from "./open.ts";
 * const l = await openListener({ protocol: "sctp", hostname: "127.0.0.1", port: 0 });
 * console.log(l.addresses[0].port);
 * ```
 */
export function openListener(
  address: EndpointAddress,
  options: OpenOptions = {},
): Promise<AssociationListener> {
  if (address.protocol === "tcp") {
    return listenTcp({
      hostname: address.hostname,
      port: address.port,
      framing: options.framing,
      ppid: options.ppid,
      maxMessageSize: options.maxMessageSize,
    });
  }
  return listenSctp({
    ...options.sctp,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    hostname: address.hostname,
    port: address.port,
    udpPort: options.udpPort,
  });
}
