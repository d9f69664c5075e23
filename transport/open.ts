/**
 * Opening associations and listeners by protocol name, and the `protocol:host:port` notation
 * of the command lines.
 *
 * @module
 */

import { Channel } from "./channel.ts";
import { TransportError } from "./errors.ts";
import { connectSctp, listenSctp } from "./sctp/endpoint.ts";
import type { SctpTuning, SctpUdpPorts } from "./sctp/config.ts";
import { connectTcp } from "./tcp/connect.ts";
import { listenTcp } from "./tcp/listen.ts";
import type { Framing } from "./tcp/framing.ts";
import type { Association, AssociationListener, TransportAddress } from "./types.ts";
import { ipAddressFamily } from "../wire/address.ts";

/**
 * Where to connect or listen: a protocol, an IP address and a port.
 *
 * @example
 * ```ts
 * import type { EndpointAddress } from "@rserpool/rserpool/transport";
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
 * Where a multi-homed endpoint connects or listens: like {@linkcode EndpointAddress}, with one
 * IP address or several (SCTP multi-homing; the first is the primary). Every
 * {@linkcode EndpointAddress} is one.
 *
 * @example
 * ```ts
 * import type { MultiHomedAddress } from "@rserpool/rserpool/transport";
 * const pe: MultiHomedAddress = {
 *   protocol: "sctp",
 *   hostname: ["10.211.0.2", "10.212.0.2"],
 *   port: 0,
 * };
 * ```
 */
export interface MultiHomedAddress {
  /** SCTP over UDP or TCP. */
  protocol: "sctp" | "tcp";
  /** IPv4 or IPv6 address, or several of them, the primary first. */
  hostname: string | string[];
  /** Port (SCTP port, which is also the UDP encapsulation port unless configured otherwise). */
  port: number;
}

/**
 * The IP addresses of an address, the primary first, without repetitions.
 *
 * @example
 * ```ts
 * import { hostnamesOf } from "@rserpool/rserpool/transport";
 * hostnamesOf({ protocol: "sctp", hostname: ["10.0.0.1", "10.1.0.1"], port: 9 });
 * // ["10.0.0.1", "10.1.0.1"]
 * hostnamesOf({ protocol: "tcp", hostname: "127.0.0.1", port: 9 }); // ["127.0.0.1"]
 * ```
 */
export function hostnamesOf(address: MultiHomedAddress): string[] {
  const list = Array.isArray(address.hostname) ? address.hostname : [address.hostname];
  return list.filter((h, i) => list.indexOf(h) === i);
}

/**
 * Parses `[sctp:|tcp:]host[,host...][:port]`, the notation of {@linkcode parseEndpointAddress}
 * with several comma-separated addresses of a multi-homed endpoint (IPv6 ones in brackets). One
 * address gives a `hostname` string, several a list.
 *
 * @example
 * ```ts
 * import { parseMultiHomedAddress } from "@rserpool/rserpool/transport";
 * parseMultiHomedAddress("sctp:10.211.0.2,10.212.0.2:7000", 0);
 * // { protocol: "sctp", hostname: ["10.211.0.2", "10.212.0.2"], port: 7000 }
 * parseMultiHomedAddress("tcp:127.0.0.1:9", 0); // { protocol: "tcp", hostname: "127.0.0.1", port: 9 }
 * ```
 */
export function parseMultiHomedAddress(text: string, defaultPort: number): MultiHomedAddress {
  const trimmed = text.trim();
  const m = /^(sctp|tcp):(.*)$/i.exec(trimmed);
  const prefix = m === null ? "" : `${m[1]}:`;
  const parts = (m === null ? trimmed : m[2]).split(",");
  if (parts.length === 1) return parseEndpointAddress(trimmed, defaultPort);
  const last = parseEndpointAddress(`${prefix}${parts[parts.length - 1]}`, defaultPort);
  const hostnames: string[] = [];
  for (const part of parts.slice(0, -1)) {
    let host = part.trim();
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (host === "localhost") host = "127.0.0.1";
    if (ipAddressFamily(host) === undefined) {
      throw new TransportError("invalid", `Invalid IP address '${part}' in '${text}'`);
    }
    if (!hostnames.includes(host)) hostnames.push(host);
  }
  if (!hostnames.includes(last.hostname)) hostnames.push(last.hostname);
  return {
    protocol: last.protocol,
    hostname: hostnames.length === 1 ? hostnames[0] : hostnames,
    port: last.port,
  };
}

/**
 * Parses `[sctp:|tcp:]host[:port]`, with IPv6 addresses in brackets (`tcp:[::1]:3863`).
 * The protocol defaults to SCTP and the port to `defaultPort`.
 *
 * @example
 * ```ts
 * import { parseEndpointAddress } from "@rserpool/rserpool/transport";
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
 * import { formatEndpointAddress } from "@rserpool/rserpool/transport";
 * formatEndpointAddress({ protocol: "tcp", hostname: "::1", port: 3863 }); // "tcp:[::1]:3863"
 * ```
 */
export function formatEndpointAddress(address: EndpointAddress | MultiHomedAddress): string {
  const host = hostnamesOf(address).map((h) => h.includes(":") ? `[${h}]` : h).join(",");
  return `${address.protocol}:${host}:${address.port}`;
}

/**
 * Options of {@linkcode openAssociation} and {@linkcode openListener}.
 *
 * @example
 * ```ts
 * import type { OpenOptions } from "@rserpool/rserpool/transport";
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
  /** TCP: bound of queued bytes per direction (see `TcpAssociationOptions`). */
  maxBufferedBytes?: number;
  /** SCTP listener: most associations of the endpoint. */
  maxAssociations?: number;
}

/**
 * Connects to an endpoint over its protocol. With several addresses, SCTP makes one
 * association to all of them (multi-homing, the first as primary path); TCP connects to the
 * first.
 *
 * @example
 * ```ts ignore
 * import { openAssociation } from "@rserpool/rserpool/transport";
 * const a = await openAssociation({ protocol: "tcp", hostname: "127.0.0.1", port: 3863 });
 * ```
 */
export function openAssociation(
  address: EndpointAddress | MultiHomedAddress,
  options: OpenOptions = {},
): Promise<Association> {
  if (address.protocol === "tcp") {
    return connectTcp({
      hostname: hostnamesOf(address)[0],
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
    hostname: hostnamesOf(address),
    port: address.port,
    udpPort: options.udpPort,
    remoteUdpPort: options.remoteUdpPort,
  });
}

/**
 * Listens on an endpoint over its protocol. With several addresses, SCTP listens on all of
 * them as one multi-homed endpoint; TCP listens on each (on the same port, the one the first
 * bound when the port is 0) and accepts from all.
 *
 * @example
 * ```ts ignore
 * import { openListener } from "@rserpool/rserpool/transport";
 * const l = await openListener({ protocol: "sctp", hostname: "127.0.0.1", port: 0 });
 * console.log(l.addresses[0].port);
 * ```
 */
export async function openListener(
  address: EndpointAddress | MultiHomedAddress,
  options: OpenOptions = {},
): Promise<AssociationListener> {
  if (address.protocol === "tcp") {
    const tcp = (hostname: string, port: number) =>
      listenTcp({
        hostname,
        port,
        framing: options.framing,
        ppid: options.ppid,
        maxMessageSize: options.maxMessageSize,
        maxBufferedBytes: options.maxBufferedBytes,
      });
    const [first, ...others] = hostnamesOf(address);
    const listeners = [await tcp(first, address.port)];
    try {
      const port = listeners[0].addresses[0]?.port ?? address.port;
      for (const hostname of others) listeners.push(await tcp(hostname, port));
    } catch (e) {
      await Promise.all(listeners.map((l) => l.close()));
      throw e;
    }
    return listeners.length === 1 ? listeners[0] : new MergedListener(listeners);
  }
  return listenSctp({
    ...options.sctp,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    hostname: hostnamesOf(address),
    port: address.port,
    udpPort: options.udpPort,
    maxAssociations: options.maxAssociations,
  });
}

/** Several listeners as one: accepts from all of them. */
class MergedListener implements AssociationListener {
  #listeners: AssociationListener[];
  #incoming = new Channel<Association>();

  constructor(listeners: AssociationListener[]) {
    this.#listeners = listeners;
    for (const l of listeners) void this.#pump(l);
  }

  async #pump(listener: AssociationListener): Promise<void> {
    for (;;) {
      const a = await listener.accept().catch(() => null);
      if (a === null) return;
      if (!this.#incoming.push(a)) a.abort("Listener closed");
    }
  }

  get addresses(): readonly TransportAddress[] {
    return this.#listeners.flatMap((l) => l.addresses);
  }

  accept(): Promise<Association | null> {
    return this.#incoming.receive();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Association> {
    for (;;) {
      const a = await this.accept();
      if (a === null) return;
      yield a;
    }
  }

  async close(): Promise<void> {
    if (this.#incoming.closed) return;
    this.#incoming.close();
    for (const a of this.#incoming.drain()) a.abort("Listener closed");
    await Promise.all(this.#listeners.map((l) => l.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
