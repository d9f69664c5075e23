/**
 * An SCTP endpoint over UDP (RFC 6951): one UDP socket per local address, all on one port,
 * carrying SCTP packets unchanged. It answers INITs without keeping state (the state travels
 * in an HMAC-signed cookie), demultiplexes packets to associations by verification tag, and
 * drops (and counts) whatever is malformed.
 *
 * Port rule: the UDP encapsulation port is the SCTP port unless `udpPort` says otherwise, and
 * a peer is reached on the UDP port it last sent from (RFC 6951), or, before it has sent
 * anything, on `remoteUdpPort` (default: its SCTP port). RSPLIB's sctplib always uses UDP 9899:
 * set `udpPort: 9899` and `remoteUdpPort: 9899` to talk to it.
 *
 * @module
 */

import { ipAddressFamily } from "../../wire/address.ts";
import { Channel } from "../channel.ts";
import { TransportError } from "../errors.ts";
import type { Association, AssociationListener, TransportAddress } from "../types.ts";
import { type AssociationHost, SctpAssociation } from "./association.ts";
import type { SctpClock } from "./clock.ts";
import {
  ChunkType,
  decodeInit,
  decodePacket,
  encodeInit,
  errorCause,
  PacketBuilder,
  type SctpPacket,
} from "./chunks.ts";
import { resolveSctpConfig, type SctpConfig, type SctpTuning } from "./config.ts";
import { makeCookie, readCookie } from "./cookie.ts";
import { type SctpBinding, SctpStack, type SharedUdpSocket } from "./stack.ts";

/**
 * Options of {@linkcode listenSctp} and {@linkcode SctpEndpoint.open}.
 *
 * @example
 * ```ts
 * import type { SctpEndpointOptions } from "@rserpool/rserpool/transport";
 * const options: SctpEndpointOptions = { hostname: "127.0.0.1", port: 3863 };
 * ```
 */
export interface SctpEndpointOptions extends SctpTuning {
  /** Local addresses to bind (several for multi-homing). Default `"127.0.0.1"`. */
  hostname?: string | string[];
  /** Local SCTP port; 0 picks a free one (default 0). */
  port?: number;
  /** Local UDP encapsulation port (default: the SCTP port). */
  udpPort?: number;
  /** Largest number of associations at once (default 1024). */
  maxAssociations?: number;
  /** Key of the state cookie's HMAC (default: 32 random bytes). */
  secret?: Uint8Array;
  /** Random source for tags and TSNs: an unsigned 32-bit integer per call. */
  random?: () => number;
  /**
   * UDP API: `"auto"` (default) uses `Deno.listenDatagram` when the runtime has it
   * (`--unstable-net`), which is faster, and `node:dgram` otherwise.
   */
  udpApi?: "auto" | "deno" | "node";
  /** The SCTP stack whose UDP sockets to share (default {@linkcode SctpStack.default}). */
  stack?: SctpStack;
  /** Time and timers of the endpoint and its associations (default: the stack's clock). */
  clock?: SctpClock;
  /**
   * With no `udpPort`: share the stack's socket for outgoing associations instead of binding
   * a UDP port of the endpoint's own (what {@linkcode connectSctp} does).
   */
  sharedUdpPort?: boolean;
}

/**
 * Options of {@linkcode connectSctp}.
 *
 * @example
 * ```ts
 * import type { SctpConnectOptions } from "@rserpool/rserpool/transport";
 * const options: SctpConnectOptions = { hostname: "127.0.0.1", port: 7, remoteUdpPort: 9899 };
 * ```
 */
export interface SctpConnectOptions extends SctpTuning {
  /** Peer addresses, the primary first. */
  hostname: string | string[];
  /** Peer SCTP port. */
  port: number;
  /** Peer UDP encapsulation port until it answers (default: the peer's SCTP port). */
  remoteUdpPort?: number;
  /** Local addresses (default: loopback for a loopback peer, else the wildcard address). */
  localHostname?: string | string[];
  /** Local SCTP port (default: a free one). */
  localPort?: number;
  /** Local UDP encapsulation port (default: the local SCTP port). */
  udpPort?: number;
  /** Random source for tags and TSNs. */
  random?: () => number;
  /** UDP API of the connection's own endpoint (see {@linkcode SctpEndpointOptions.udpApi}). */
  udpApi?: "auto" | "deno" | "node";
  /** The SCTP stack whose UDP sockets to share (default {@linkcode SctpStack.default}). */
  stack?: SctpStack;
  /** Time and timers of the association, for {@linkcode connectSctp} (default: the stack's). */
  clock?: SctpClock;
  /** Gives the attempt up: the association is aborted and the promise rejects (`closed`). */
  signal?: AbortSignal;
}

/** Counters of an endpoint. */
export interface SctpEndpointStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams dropped as malformed (short, bad CRC32c, bad chunk lengths). */
  malformed: number;
  /** Packets that belonged to no association. */
  outOfTheBlue: number;
  /** INITs answered. */
  initsAnswered: number;
  /** COOKIE ECHOs rejected (forged, stale, over the limit). */
  cookiesRejected: number;
}

/** Random numbers drawn ahead, many at once: one call of the runtime's CSPRNG for 256. */
const randomPool = new Uint32Array(256);
let randomLeft = 0;

function randomU32(): number {
  if (randomLeft === 0) {
    crypto.getRandomValues(randomPool);
    randomLeft = randomPool.length;
  }
  return randomPool[--randomLeft];
}

function list(value: string | string[] | undefined, fallback: string): string[] {
  if (value === undefined) return [fallback];
  const out = Array.isArray(value) ? value : [value];
  if (out.length === 0) return [fallback];
  return out;
}

/**
 * An SCTP-over-UDP endpoint: listens (when opened with {@linkcode listenSctp}) and connects.
 *
 * @example
 * ```ts ignore
 * import { SctpEndpoint } from "@rserpool/rserpool/transport";
 * await using endpoint = await SctpEndpoint.open({ hostname: "127.0.0.1", port: 0 });
 * console.log(endpoint.addresses[0].port);
 * ```
 */
export class SctpEndpoint implements AssociationListener {
  /** Protocol parameters. */
  readonly config: SctpConfig;
  /** Counters. */
  readonly stats: SctpEndpointStats = {
    received: 0,
    malformed: 0,
    outOfTheBlue: 0,
    initsAnswered: 0,
    cookiesRejected: 0,
  };
  #binding!: SctpBinding;
  #sockets: readonly SharedUdpSocket[] = [];
  #socketFor = new Map<string, SharedUdpSocket>();
  #port = 0;
  /** The SCTP port again, where the associations' host reads it. */
  #local = { port: 0 };
  #byTag = new Map<number, SctpAssociation>();
  #byRemote = new Map<string, SctpAssociation>();
  #closing = false;
  #closeWhenIdle = false;
  #socketsClosed = false;
  /** Resolves once the sockets that the endpoint was the last of are closed. */
  #whenSocketsClosed: Promise<void> = Promise.resolve();
  /**
   * Associations not accepted yet, while listening: made by {@linkcode SctpEndpoint.listen},
   * closed (and drained, aborting them) by `close` and `destroy`.
   */
  #incoming: Channel<SctpAssociation> | undefined;
  #secret: Uint8Array;
  #random: () => number;
  #maxAssociations: number;
  #builder: PacketBuilder;
  #host: AssociationHost;
  #clock: SctpClock;

  private constructor(options: SctpEndpointOptions) {
    this.config = resolveSctpConfig(options);
    this.#clock = options.clock ?? (options.stack ?? SctpStack.default).clock;
    const clock = this.#clock;
    this.#secret = options.secret ?? crypto.getRandomValues(new Uint8Array(32));
    this.#random = options.random ?? randomU32;
    this.#maxAssociations = options.maxAssociations ?? 1024;
    this.#builder = new PacketBuilder(this.config.mtu);
    const localAddresses = () => this.#sockets.map((s) => s.address);
    // Read for every packet built: from a plain object, not through a closure.
    const local = this.#local;
    this.#host = {
      get localPort() {
        return local.port;
      },
      get localAddresses() {
        return localAddresses();
      },
      transmit: (packet, address, udpPort) => this.#transmit(packet, address, udpPort),
      detach: (a) => this.#detach(a),
      attach: (a) => this.#byTag.set(a.localTag, a),
      random: () => this.#random(),
      clock,
    };
  }

  /**
   * Binds the UDP sockets of an endpoint. It accepts associations only once
   * {@linkcode SctpEndpoint.listen} was called (as {@linkcode listenSctp} does).
   */
  static async open(options: SctpEndpointOptions = {}): Promise<SctpEndpoint> {
    const endpoint = new SctpEndpoint(options);
    const stack = options.stack ?? SctpStack.default;
    const port = options.port ?? 0;
    const udpPort = options.udpPort ?? port;
    endpoint.#binding = await stack.bind({
      hostnames: list(options.hostname, "127.0.0.1"),
      udpPort,
      sctpPort: port,
      shared: options.sharedUdpPort === true && udpPort === 0,
      udpApi: options.udpApi,
      receiver: (bytes, socket, from, fromPort) =>
        endpoint.#onDatagram(bytes, socket, from, fromPort),
    });
    endpoint.#sockets = endpoint.#binding.sockets;
    endpoint.#port = endpoint.#binding.sctpPort;
    endpoint.#local.port = endpoint.#port;
    return endpoint;
  }

  /** The local addresses with the SCTP port. */
  get addresses(): readonly TransportAddress[] {
    return this.#sockets.map((s) => ({ hostname: s.address, port: this.#port }));
  }

  /** The local UDP encapsulation port. */
  get udpPort(): number {
    return this.#sockets[0]?.port ?? 0;
  }

  /** The UDP API underneath: `"deno"` (`Deno.listenDatagram`) or `"node"` (`node:dgram`). */
  get udpApi(): "deno" | "node" {
    return this.#sockets[0]?.api ?? "node";
  }

  /** Number of associations alive. */
  get associationCount(): number {
    return this.#byTag.size;
  }

  /** Starts accepting associations (again, after {@linkcode SctpEndpoint.close}). */
  listen(): void {
    if (this.#closing || this.#listening) return;
    this.#incoming = new Channel();
  }

  get #listening(): boolean {
    return this.#incoming !== undefined && !this.#incoming.closed;
  }

  /** Waits for the next association, or null when the endpoint does not listen (any more). */
  accept(): Promise<Association | null> {
    return this.#incoming?.receive() ?? Promise.resolve(null);
  }

  /** Async iteration over accepted associations. */
  async *[Symbol.asyncIterator](): AsyncIterator<Association> {
    while (true) {
      const a = await this.accept();
      if (a === null) return;
      yield a;
    }
  }

  /** Opens an association from this endpoint to a peer. */
  async connect(options: SctpConnectOptions): Promise<SctpAssociation> {
    if (this.#closing) throw new TransportError("closed", "Endpoint is closed");
    const peers = list(options.hostname, "127.0.0.1");
    for (const h of peers) {
      if (ipAddressFamily(h) === undefined) {
        throw new TransportError("invalid", `Invalid peer address '${h}'`);
      }
    }
    if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 0xffff) {
      throw new TransportError("invalid", `Invalid peer port ${options.port}`);
    }
    if (this.#byTag.size >= this.#maxAssociations) {
      throw new TransportError("limit", "Too many associations");
    }
    const existing = this.#byRemote.get(`${peers[0]}|${options.port}`);
    if (existing !== undefined && !existing.closed) {
      // RFC 9260 allows one association between two endpoints: a second INIT would look like
      // a restart to the peer and break the first.
      throw new TransportError(
        "invalid",
        `Already associated with ${peers[0]}:${options.port} from port ${this.#port}`,
      );
    }
    const config = { ...this.config, ...resolveSctpConfig({ ...this.config, ...options }) };
    const host = this.#host;
    const clock = options.clock;
    const association = new SctpAssociation(
      clock === undefined ? host : {
        get localPort() {
          return host.localPort;
        },
        get localAddresses() {
          return host.localAddresses;
        },
        transmit: (packet, address, udpPort) => host.transmit(packet, address, udpPort),
        detach: (a) => host.detach(a),
        attach: (a) => host.attach(a),
        random: () => host.random(),
        clock,
      },
      config,
      {
        peerPort: options.port,
        peerAddresses: peers,
        peerUdpPort: options.remoteUdpPort ?? options.port,
      },
    );
    this.#byRemote.set(`${peers[0]}|${options.port}`, association);
    const signal = options.signal;
    if (signal?.aborted) {
      association.abort("Connect cancelled");
      throw new TransportError("closed", "Connect cancelled");
    }
    const onAbort = () => association.abort("Connect cancelled");
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await association.connect(this.#freshTag(), this.#random());
    } catch (e) {
      if (signal?.aborted) throw new TransportError("closed", "Connect cancelled", { cause: e });
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    return association;
  }

  /**
   * Stops accepting; the sockets close once every association has ended. With no association
   * alive, resolves when the sockets are closed (their UDP port free again); otherwise at once,
   * and the sockets close when the last association ends.
   */
  close(): Promise<void> {
    this.#stopListening("Listener closed");
    this.#closeWhenIdle = true;
    if (this.#byTag.size === 0) return this.#closeSockets();
    return Promise.resolve();
  }

  /**
   * Aborts every association and closes the sockets at once; resolves when they are closed
   * (once the ABORTs have left).
   */
  destroy(): Promise<void> {
    this.#closing = true;
    this.#stopListening("Endpoint closed");
    for (const a of [...this.#byTag.values()]) a.abort("Endpoint closed");
    return this.#closeSockets();
  }

  /** Same as {@linkcode SctpEndpoint.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the sockets when the last association ends (for an endpoint of one connection). */
  closeWhenIdle(): void {
    this.#closeWhenIdle = true;
    if (this.#byTag.size === 0) this.#closeSockets();
  }

  /** Ends `accept` (waiters get null) and aborts the associations not accepted yet. */
  #stopListening(reason: string): void {
    const incoming = this.#incoming;
    if (incoming === undefined) return;
    incoming.close();
    for (const a of incoming.drain()) a.abort(reason);
  }

  #closeSockets(): Promise<void> {
    this.#closing = true;
    if (this.#socketsClosed) return this.#whenSocketsClosed;
    this.#socketsClosed = true;
    // A shared socket closes when its last endpoint leaves, once its queued sends have left.
    this.#whenSocketsClosed = this.#binding.release();
    return this.#whenSocketsClosed;
  }

  #freshTag(): number {
    for (;;) {
      const tag = this.#random() >>> 0;
      if (tag !== 0 && !this.#byTag.has(tag)) return tag;
    }
  }

  /** Forgets an association that ended; resolves when the sockets closed, if that closed them. */
  #detach(a: SctpAssociation): Promise<void> | undefined {
    if (this.#byTag.get(a.localTag) === a) this.#byTag.delete(a.localTag);
    // Under the key it was made with (its first peer address: paths are only ever added), if
    // that key is still its own (a restarted peer's new association may hold it). Not a scan of
    // the map: with 100,000 associations that made each ending cost a millisecond, and closing
    // a registrar's endpoint took 40 s.
    for (const { hostname } of a.remoteAddresses) {
      const key = `${hostname}|${a.peerPort}`;
      if (this.#byRemote.get(key) === a) this.#byRemote.delete(key);
    }
    if (this.#closeWhenIdle && this.#byTag.size === 0 && !this.#listening) {
      return this.#closeSockets();
    }
    return undefined;
  }

  #transmit(packet: Uint8Array, address: string, udpPort: number): void {
    if (this.#socketsClosed) return;
    let socket = this.#socketFor.get(address);
    if (socket === undefined) {
      socket = chooseSocket(this.#sockets, address);
      if (socket === undefined) return;
      this.#socketFor.set(address, socket);
    }
    socket.send(packet, address, udpPort);
  }

  #onDatagram(bytes: Uint8Array, _socket: SharedUdpSocket, address: string, udpPort: number) {
    this.stats.received++;
    const packet = decodePacket(bytes);
    if (packet === undefined) {
      this.stats.malformed++;
      return;
    }
    const first = packet.chunks[0];
    if (first.type === ChunkType.Init) {
      if (packet.verificationTag === 0 && packet.chunks.length === 1) {
        this.#answerInit(packet, address, udpPort);
      } else {
        this.stats.malformed++;
      }
      return;
    }
    const a = this.#byTag.get(packet.verificationTag);
    if (a !== undefined) {
      if (first.type === ChunkType.CookieEcho) {
        // A repeated COOKIE ECHO still has to be genuine.
        if (readCookie(first.value, this.#secret) === undefined) return;
      }
      a.handlePacket(packet, address, udpPort);
      return;
    }
    if (first.type === ChunkType.CookieEcho) {
      this.#onCookieEcho(packet, address, udpPort);
      return;
    }
    if (
      (first.type === ChunkType.Abort || first.type === ChunkType.ShutdownComplete) &&
      (first.flags & 1) === 1
    ) {
      const r = this.#byRemote.get(`${address}|${packet.sourcePort}`);
      if (r !== undefined && r.peerTag === packet.verificationTag) {
        r.handlePacket(packet, address, udpPort);
        return;
      }
    }
    this.#outOfTheBlue(packet, address, udpPort);
  }

  /** RFC 9260, section 8.4. */
  #outOfTheBlue(packet: SctpPacket, address: string, udpPort: number): void {
    this.stats.outOfTheBlue++;
    for (const c of packet.chunks) {
      if (
        c.type === ChunkType.Abort || c.type === ChunkType.ShutdownComplete ||
        c.type === ChunkType.CookieAck || c.type === ChunkType.Error
      ) {
        return;
      }
      if (c.type === ChunkType.ShutdownAck) {
        this.#reply(packet, address, udpPort, ChunkType.ShutdownComplete, 1, new Uint8Array());
        return;
      }
    }
    this.#reply(packet, address, udpPort, ChunkType.Abort, 1, new Uint8Array());
  }

  #reply(
    packet: SctpPacket,
    address: string,
    udpPort: number,
    type: number,
    flags: number,
    value: Uint8Array,
    tag = packet.verificationTag,
  ): void {
    const b = this.#builder;
    b.start(this.#port, packet.sourcePort, tag);
    b.chunk(type, flags, value);
    this.#transmit(b.packet(), address, udpPort);
  }

  #answerInit(packet: SctpPacket, address: string, udpPort: number): void {
    const init = decodeInit(packet.chunks[0].value);
    if (init === undefined || init.initiateTag === 0 || init.stop) {
      this.stats.malformed++;
      return;
    }
    if (!this.#listening) {
      this.#reply(packet, address, udpPort, ChunkType.Abort, 0, new Uint8Array(), init.initiateTag);
      return;
    }
    this.stats.initsAnswered++;
    const localTag = this.#freshTag();
    const localInitialTsn = this.#random();
    const outboundStreams = Math.min(this.config.streams, init.inboundStreams);
    const inboundStreams = Math.min(this.config.streams, init.outboundStreams);
    const cookie = makeCookie({
      created: this.#clock.now(),
      lifetime: this.config.cookieLifetime,
      localTag,
      peerTag: init.initiateTag,
      localInitialTsn,
      peerInitialTsn: init.initialTsn,
      peerWindow: init.advertisedWindow,
      outboundStreams,
      inboundStreams,
      peerPort: packet.sourcePort,
      peerAddresses: init.addresses,
    }, this.#secret);
    const value = encodeInit({
      initiateTag: localTag,
      advertisedWindow: this.config.receiveBufferSize,
      outboundStreams,
      inboundStreams,
      initialTsn: localInitialTsn,
      addresses: this.#sockets.length > 1 ? this.#sockets.map((s) => s.address) : [],
      cookie,
      unrecognized: init.unrecognized,
      stop: false,
    });
    this.#reply(packet, address, udpPort, ChunkType.InitAck, 0, value, init.initiateTag);
  }

  #onCookieEcho(packet: SctpPacket, address: string, udpPort: number): void {
    const state = readCookie(packet.chunks[0].value, this.#secret);
    if (state === undefined || state.localTag !== packet.verificationTag) {
      this.stats.cookiesRejected++;
      return;
    }
    const age = this.#clock.now() - state.created;
    if (age > state.lifetime) {
      this.stats.cookiesRejected++;
      const staleness = new Uint8Array(4);
      new DataView(staleness.buffer).setUint32(
        0,
        Math.min(0xffffffff, (age - state.lifetime) * 1000),
      );
      this.#reply(
        packet,
        address,
        udpPort,
        ChunkType.Error,
        0,
        errorCause(3, staleness),
        state.peerTag,
      );
      return;
    }
    const key = `${address}|${packet.sourcePort}`;
    const existing = this.#byRemote.get(key);
    if (existing !== undefined && existing.peerTag !== state.peerTag) {
      // The peer restarted: its old association is gone.
      existing.abort("Peer restarted");
    }
    if (!this.#listening || this.#byTag.size >= this.#maxAssociations) {
      this.stats.cookiesRejected++;
      this.#reply(
        packet,
        address,
        udpPort,
        ChunkType.Abort,
        0,
        errorCause(4, new Uint8Array()),
        state.peerTag,
      );
      return;
    }
    const association = new SctpAssociation(this.#host, this.config, {
      peerPort: state.peerPort,
      peerAddresses: [address],
      peerUdpPort: udpPort,
      established: {
        localTag: state.localTag,
        peerTag: state.peerTag,
        localInitialTsn: state.localInitialTsn,
        peerInitialTsn: state.peerInitialTsn,
        peerWindow: state.peerWindow,
        outboundStreams: state.outboundStreams,
        inboundStreams: state.inboundStreams,
      },
    });
    this.#byTag.set(state.localTag, association);
    this.#byRemote.set(key, association);
    association.sendCookieAck();
    association.start(state.peerAddresses);
    if (packet.chunks.length > 1) association.handlePacket(packet, address, udpPort, 1);
    if (this.#incoming?.push(association) !== true) association.abort("Listener closed");
  }
}

/** The socket whose address shares the longest prefix with the destination, same family. */
function chooseSocket(
  sockets: readonly SharedUdpSocket[],
  destination: string,
): SharedUdpSocket | undefined {
  const family = ipAddressFamily(destination);
  let best: SharedUdpSocket | undefined;
  let bestScore = -1;
  for (const s of sockets) {
    if (ipAddressFamily(s.address) !== family && !(s.address === "::")) continue;
    const score = s.wildcard ? 0 : commonPrefix(s.address, destination);
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n + 1;
}

/**
 * Opens an SCTP-over-UDP endpoint that accepts associations.
 *
 * @example Echo server
 * ```ts ignore
 * import { listenSctp } from "@rserpool/rserpool/transport";
 * const listener = await listenSctp({ hostname: "127.0.0.1", port: 7000 });
 * for await (const association of listener) {
 *   (async () => {
 *     for await (const m of association) await association.send(m.data, { ppid: m.ppid });
 *   })();
 * }
 * ```
 */
export async function listenSctp(options: SctpEndpointOptions = {}): Promise<SctpEndpoint> {
  const endpoint = await SctpEndpoint.open(options);
  endpoint.listen();
  return endpoint;
}

/**
 * Opens an SCTP association over UDP to a peer, from an endpoint of its own that closes when
 * the association ends.
 *
 * @example
 * ```ts ignore
 * import { connectSctp } from "@rserpool/rserpool/transport";
 * const association = await connectSctp({ hostname: "127.0.0.1", port: 7000 });
 * await association.send(new TextEncoder().encode("ping"), { ppid: 0 });
 * console.log(await association.receive());
 * await association.close();
 * ```
 */
export async function connectSctp(options: SctpConnectOptions): Promise<SctpAssociation> {
  const peers = list(options.hostname, "127.0.0.1");
  const loopback = peers[0] === "::1" ? "::1" : peers[0].startsWith("127.") ? "127.0.0.1" : "";
  const wildcard = ipAddressFamily(peers[0]) === "ipv6" ? "::" : "0.0.0.0";
  const endpoint = await SctpEndpoint.open({
    ...options,
    hostname: options.localHostname ?? (loopback || wildcard),
    port: options.localPort ?? 0,
    udpPort: options.udpPort,
    sharedUdpPort: true,
  });
  try {
    const association = await endpoint.connect(options);
    endpoint.closeWhenIdle();
    return association;
  } catch (e) {
    // Nothing of the attempt is left behind: its socket is closed when this rejects.
    await endpoint.destroy();
    throw e;
  }
}
