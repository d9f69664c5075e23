/**
 * One SCTP stack per process, as a kernel or usrsctp has: every SCTP endpoint of the process
 * (listeners and the endpoints of outgoing associations) shares one UDP socket per local
 * address and UDP port, and packets are demultiplexed by their destination SCTP port (then, in
 * the endpoint, by verification tag).
 *
 * This is what lets a process run all of its SCTP on one fixed UDP port, as RSPLIB's sctplib
 * and Linux's SCTP-over-UDP require (both use UDP 9899 at both ends): a pool element's
 * registrar association and its listener, a pool user's registrar association and its data
 * associations, a registrar's ASAP and ENRP endpoints.
 *
 * Sharing rules, for a request of local address A and UDP port P:
 * - P = 0 with `shared`: the process's one socket of that address with a free port (outgoing
 *   associations all use it); P = 0 without: a new socket on a free port;
 * - a socket bound to exactly A and P is shared;
 * - A is a wildcard (`0.0.0.0`, `::`) and sockets of specific addresses of the same family hold
 *   P: those are shared (a wildcard bind would fail next to them);
 * - A is specific and the wildcard of its family holds P: the wildcard socket is shared.
 *
 * A packet for an SCTP port that no endpoint holds is out of the blue (RFC 9260, section 8.4)
 * and answered by the stack itself.
 *
 * @module
 */

import { ipAddressFamily } from "../../wire/address.ts";
import { TransportError } from "../errors.ts";
import { ChunkType, decodeInit, decodePacket, PacketBuilder, type SctpPacket } from "./chunks.ts";
import { type SctpClock, systemClock } from "./clock.ts";
import { bindUdp, type UdpBinder, type UdpSocket, type UdpSocketApi } from "./udp_socket.ts";
import { udpReceiveDrops } from "./udp_drops.ts";

/** Receives the datagrams addressed to one SCTP port; `bytes` is only valid during the call. */
export type SctpPortReceiver = (
  bytes: Uint8Array,
  socket: SharedUdpSocket,
  address: string,
  udpPort: number,
) => void;

/**
 * A UDP socket of the stack, shared by the endpoints bound to it.
 *
 * @example
 * ```ts ignore
 * import { SctpStack } from "@rserpool/rserpool/transport";
 * const binding = await SctpStack.default.bind({
 *   hostnames: ["127.0.0.1"],
 *   udpPort: 0,
 *   sctpPort: 0,
 *   receiver: () => {},
 * });
 * binding.sockets[0].send(new Uint8Array(12), "127.0.0.1", 9899);
 * await binding.release(); // the socket has closed: it had no other endpoint
 * ```
 */
export class SharedUdpSocket {
  /** Local address it is bound to (may be a wildcard). */
  readonly address: string;
  /** Whether the address is `0.0.0.0` or `::`. */
  readonly wildcard: boolean;
  /** Whether this is the socket that outgoing associations share. */
  readonly shared: boolean;
  #socket!: UdpSocket;
  #stack: SctpStack;
  #receivers = new Map<number, SctpPortReceiver>();
  #references = 0;
  #sendsInProgress = 0;
  #closeAfterSends = false;
  #released = false;
  #closed = false;
  #whenClosed = Promise.withResolvers<void>();
  #onSent = (): void => {
    if (--this.#sendsInProgress === 0 && this.#closeAfterSends) this.#closeNow();
  };

  /** @internal Use {@linkcode SctpStack.bind}. */
  constructor(stack: SctpStack, address: string, shared: boolean) {
    this.#stack = stack;
    this.address = address;
    this.wildcard = address === "0.0.0.0" || address === "::";
    this.shared = shared;
  }

  /** @internal Binds the UDP socket. */
  async open(port: number, api: UdpSocketApi | undefined): Promise<void> {
    this.#socket = await this.#stack.bindUdp(
      this.address,
      port,
      (bytes, address, udpPort) => this.#onDatagram(bytes, address, udpPort),
      api,
    );
  }

  /** The UDP port. */
  get port(): number {
    return this.#socket.port;
  }

  /** Times the socket was bound anew because its receive had stalled. */
  get rebinds(): number {
    return this.#socket.rebinds;
  }

  /** The UDP API underneath. */
  get api(): "deno" | "node" {
    return this.#socket.api;
  }

  /** The SCTP ports that endpoints hold on this socket. */
  get sctpPorts(): number[] {
    return [...this.#receivers.keys()];
  }

  /** Whether the socket has been closed (the last endpoint left). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the last endpoint has left: the socket is closed, or closes once its sends left. */
  get released(): boolean {
    return this.#released;
  }

  /** Resolves once the socket is closed and its UDP port free again. */
  get whenClosed(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** Sends a packet; a send error is a lost packet (retransmission takes care of it). */
  send(packet: Uint8Array, address: string, udpPort: number): void {
    if (this.#closed) return;
    try {
      this.#sendsInProgress++;
      this.#socket.send(packet, udpPort, address, this.#onSent);
    } catch {
      this.#sendsInProgress--;
    }
  }

  /** @internal */
  hasPort(sctpPort: number): boolean {
    return this.#receivers.has(sctpPort);
  }

  /** @internal */
  attach(sctpPort: number, receiver: SctpPortReceiver): void {
    this.#receivers.set(sctpPort, receiver);
    this.#references++;
  }

  /** @internal */
  detach(sctpPort: number, receiver: SctpPortReceiver): void {
    if (this.#receivers.get(sctpPort) !== receiver) return;
    this.#receivers.delete(sctpPort);
    if (--this.#references === 0) this.#close();
  }

  /** @internal Closes a socket that no endpoint took. */
  closeIfUnused(): void {
    if (this.#references === 0) this.#close();
  }

  #onDatagram(bytes: Uint8Array, address: string, udpPort: number): void {
    if (bytes.length < 12) {
      this.#stack.stats.malformed++;
      return;
    }
    const receiver = this.#receivers.get((bytes[2] << 8) | bytes[3]);
    if (receiver !== undefined) receiver(bytes, this, address, udpPort);
    else this.#stack.outOfTheBlue(bytes, this, address, udpPort);
  }

  #close(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stack.forget(this);
    // Close only once the packets handed to the socket have left (a final ABORT or SHUTDOWN
    // COMPLETE would otherwise be dropped: its send is still queued when we get here).
    if (this.#sendsInProgress > 0) this.#closeAfterSends = true;
    else this.#closeNow();
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeAfterSends = false;
    let closing: void | Promise<void> = undefined;
    try {
      closing = this.#socket.close();
    } catch {
      // already closed
    }
    const done = () => this.#whenClosed.resolve();
    Promise.resolve(closing).then(done, done);
  }
}

/**
 * What {@linkcode SctpStack.bind} is asked for.
 *
 * @example
 * ```ts
 * import type { SctpBindRequest } from "@rserpool/rserpool/transport";
 * const request: SctpBindRequest = {
 *   hostnames: ["0.0.0.0"],
 *   udpPort: 9899,
 *   sctpPort: 3863,
 *   receiver: () => {},
 * };
 * ```
 */
export interface SctpBindRequest {
  /** Local addresses (several for multi-homing). */
  hostnames: string[];
  /** UDP port; 0 for a free one (the same one on every address). */
  udpPort: number;
  /** SCTP port; 0 for a free one on every socket (the UDP port when that is free). */
  sctpPort: number;
  /** Share the process's socket for outgoing associations when `udpPort` is 0. */
  shared?: boolean;
  /** UDP API of sockets bound for this request. */
  udpApi?: UdpSocketApi;
  /** Receives the datagrams for the SCTP port. */
  receiver: SctpPortReceiver;
}

/**
 * An endpoint's place in the stack: its sockets and its SCTP port.
 *
 * @example
 * ```ts ignore
 * import type { SctpBinding } from "@rserpool/rserpool/transport";
 * function ports(b: SctpBinding): string {
 *   return `SCTP ${b.sctpPort} over UDP ${b.sockets[0].port}`;
 * }
 * ```
 */
export interface SctpBinding {
  /** The sockets, one per local address. */
  readonly sockets: readonly SharedUdpSocket[];
  /** The SCTP port held on each of them. */
  readonly sctpPort: number;
  /**
   * Gives the SCTP port back; a socket closes when its last endpoint leaves (once the packets
   * handed to it have left). Resolves when the sockets that this closes are closed.
   */
  release(): Promise<void>;
}

/** Counters of a stack. */
export interface SctpStackStats {
  /** Datagrams too short for an SCTP common header. */
  malformed: number;
  /** Packets for an SCTP port that no endpoint holds. */
  outOfTheBlue: number;
}

/**
 * What a stack runs on: its clock and the way it binds UDP sockets. The defaults are the
 * runtime's; a simulated network (`SimNetwork`) supplies its own.
 *
 * @example
 * ```ts
 * import type { SctpStackOptions } from "./stack.ts";
 * import { systemClock } from "./clock.ts";
 * const options: SctpStackOptions = { clock: systemClock };
 * ```
 */
export interface SctpStackOptions {
  /** Time and timers of every endpoint and association of the stack (default: the runtime's). */
  clock?: SctpClock;
  /** Binds a UDP socket (default: the runtime's UDP, see {@linkcode bindUdp}). */
  bindUdp?: UdpBinder;
}

/**
 * The SCTP stack of a process: the UDP sockets that its SCTP endpoints share.
 * {@linkcode SctpStack.default} is the one every endpoint uses unless given another.
 *
 * @example
 * ```ts ignore
 * import { SctpStack } from "@rserpool/rserpool/transport";
 * import { listenSctp, connectSctp } from "@rserpool/rserpool/transport";
 * const stack = new SctpStack();
 * // A listener and an outgoing association on the same UDP port 9899:
 * const listener = await listenSctp({ hostname: "127.0.0.1", port: 7, udpPort: 9899, stack });
 * const a = await connectSctp({ hostname: "127.0.0.1", port: 3863, udpPort: 9899, stack });
 * ```
 */
export class SctpStack {
  static #default: SctpStack | undefined;

  /** The process's stack. */
  static get default(): SctpStack {
    return SctpStack.#default ??= new SctpStack();
  }

  /** Counters of packets that reached no endpoint. */
  readonly stats: SctpStackStats = { malformed: 0, outOfTheBlue: 0 };
  /** Time and timers of the stack's endpoints and associations. */
  readonly clock: SctpClock;
  /** @internal Binds a UDP socket. */
  readonly bindUdp: UdpBinder;
  #sockets = new Set<SharedUdpSocket>();
  /** Sockets whose last endpoint left, until they are closed. */
  #closing = new Set<SharedUdpSocket>();
  #builder = new PacketBuilder(64);

  /** A stack of its own (tests, simulations); most programs use {@linkcode SctpStack.default}. */
  constructor(options: SctpStackOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.bindUdp = options.bindUdp ?? bindUdp;
  }

  /** The sockets open now. */
  get sockets(): readonly SharedUdpSocket[] {
    return [...this.#sockets];
  }

  /**
   * Datagrams the kernel dropped so far at the ports of the stack's open sockets for want of
   * room in their receive buffers; undefined where that cannot be read (not Linux, or no read
   * permission for `/proc/net/udp`).
   */
  receiveDrops(): Promise<number | undefined> {
    return udpReceiveDrops([...this.#sockets].map((s) => s.port));
  }

  /**
   * Finds or binds the sockets for `request.hostnames` on `request.udpPort` and holds
   * `request.sctpPort` on each. Throws `TransportError` `local` when a socket cannot be bound
   * and `invalid` when the SCTP port is already held there.
   */
  async bind(request: SctpBindRequest): Promise<SctpBinding> {
    for (const h of request.hostnames) {
      if (ipAddressFamily(h) === undefined) {
        throw new TransportError("invalid", `Invalid local address '${h}'`);
      }
    }
    const sockets: SharedUdpSocket[] = [];
    let udpPort = request.udpPort;
    const opened: SharedUdpSocket[] = [];
    try {
      for (const hostname of request.hostnames) {
        // A socket of this port still closing (its last sends leaving) holds the port.
        const closing = this.#closingOn(udpPort);
        if (closing !== undefined) await closing;
        const found = this.#find(hostname, udpPort, request.shared === true);
        if (found.length > 0) {
          for (const s of found) if (!sockets.includes(s)) sockets.push(s);
        } else {
          const s = new SharedUdpSocket(this, hostname, udpPort === 0 && request.shared === true);
          await s.open(udpPort, request.udpApi);
          opened.push(s);
          this.#sockets.add(s);
          sockets.push(s);
        }
        if (udpPort === 0) udpPort = sockets[0].port;
      }
    } catch (e) {
      for (const s of opened) s.closeIfUnused();
      throw new TransportError("local", `Could not bind UDP port ${udpPort}: ${String(e)}`, {
        cause: e,
      });
    }
    let sctpPort = request.sctpPort;
    try {
      if (sctpPort === 0) {
        sctpPort = freePort(sockets, udpPort);
      } else if (sockets.some((s) => s.hasPort(sctpPort))) {
        throw new TransportError(
          "invalid",
          `SCTP port ${sctpPort} is already in use on UDP port ${udpPort}`,
        );
      }
    } catch (e) {
      for (const s of opened) s.closeIfUnused();
      throw e;
    }
    for (const s of sockets) s.attach(sctpPort, request.receiver);
    let released = false;
    return {
      sockets,
      sctpPort,
      release: () => {
        if (!released) {
          released = true;
          for (const s of sockets) s.detach(sctpPort, request.receiver);
        }
        return whenClosed(sockets.filter((s) => s.released));
      },
    };
  }

  /** @internal The last endpoint of a socket left: it closes. */
  forget(socket: SharedUdpSocket): void {
    this.#sockets.delete(socket);
    if (socket.closed) return;
    this.#closing.add(socket);
    socket.whenClosed.then(() => this.#closing.delete(socket));
  }

  /** Resolves when the sockets of `udpPort` that are closing have closed; undefined: none. */
  #closingOn(udpPort: number): Promise<void> | undefined {
    if (udpPort === 0 || this.#closing.size === 0) return undefined;
    const sockets = [...this.#closing].filter((s) => s.port === udpPort);
    return sockets.length === 0 ? undefined : whenClosed(sockets);
  }

  #find(hostname: string, udpPort: number, shared: boolean): SharedUdpSocket[] {
    if (udpPort === 0) {
      if (!shared) return [];
      for (const s of this.#sockets) if (s.shared && s.address === hostname) return [s];
      return [];
    }
    const family = ipAddressFamily(hostname);
    const wildcard = hostname === "0.0.0.0" || hostname === "::";
    const same: SharedUdpSocket[] = [];
    for (const s of this.#sockets) {
      if (s.port !== udpPort || ipAddressFamily(s.address) !== family) continue;
      if (s.address === hostname) return [s];
      if (wildcard !== s.wildcard) same.push(s);
    }
    return same;
  }

  /** @internal RFC 9260, section 8.4, for a packet that no endpoint's port matched. */
  outOfTheBlue(bytes: Uint8Array, socket: SharedUdpSocket, address: string, udpPort: number) {
    const packet = decodePacket(bytes);
    if (packet === undefined) {
      this.stats.malformed++;
      return;
    }
    this.stats.outOfTheBlue++;
    const reply = outOfTheBlueReply(packet, this.#builder);
    if (reply !== undefined) socket.send(reply, address, udpPort);
  }
}

/** Resolves once every one of `sockets` is closed. */
async function whenClosed(sockets: readonly SharedUdpSocket[]): Promise<void> {
  for (const s of sockets) await s.whenClosed;
}

/** A free SCTP port on every socket: `preferred` when it is free, else one from 49152. */
function freePort(sockets: SharedUdpSocket[], preferred: number): number {
  const free = (p: number) => !sockets.some((s) => s.hasPort(p));
  if (preferred !== 0 && free(preferred)) return preferred;
  const start = 49152 + Math.floor(Math.random() * 16384);
  for (let i = 0; i < 16384; i++) {
    const p = 49152 + ((start - 49152 + i) % 16384);
    if (free(p)) return p;
  }
  throw new TransportError("local", "No free SCTP port on this UDP socket");
}

/**
 * The answer to an out-of-the-blue packet (RFC 9260, section 8.4): nothing for ABORT, SHUTDOWN
 * COMPLETE, COOKIE ACK and ERROR; SHUTDOWN COMPLETE for a SHUTDOWN ACK; ABORT with the initiate
 * tag for an INIT; otherwise ABORT with the T bit and the packet's own tag.
 *
 * @example
 * ```ts ignore
 * import { outOfTheBlueReply } from "./stack.ts";
 * import { decodePacket, PacketBuilder } from "./chunks.ts";
 * const reply = outOfTheBlueReply(decodePacket(bytes)!, new PacketBuilder(64));
 * ```
 */
export function outOfTheBlueReply(
  packet: SctpPacket,
  builder: PacketBuilder,
): Uint8Array | undefined {
  let type: number = ChunkType.Abort;
  let flags = 1;
  let tag = packet.verificationTag;
  for (const c of packet.chunks) {
    if (
      c.type === ChunkType.Abort || c.type === ChunkType.ShutdownComplete ||
      c.type === ChunkType.CookieAck || c.type === ChunkType.Error
    ) {
      return undefined;
    }
    if (c.type === ChunkType.ShutdownAck) {
      type = ChunkType.ShutdownComplete;
      break;
    }
    if (c.type === ChunkType.Init) {
      const init = decodeInit(c.value);
      if (init === undefined || init.initiateTag === 0) return undefined;
      tag = init.initiateTag;
      flags = 0;
      break;
    }
  }
  builder.start(packet.destinationPort, packet.sourcePort, tag);
  builder.chunk(type, flags, new Uint8Array());
  return builder.finish();
}
