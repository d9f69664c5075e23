/**
 * One SCTP association (RFC 9260): the handshake's client side, DATA with streams, ordering,
 * fragmentation and reassembly, SACK with gap blocks and duplicate TSNs, delayed SACK,
 * retransmission with the RFC's RTO computation, fast retransmit, congestion control, receiver
 * window flow control, multi-homing with HEARTBEATs and path failover, SHUTDOWN and ABORT.
 *
 * @module
 */

import { AssociationEvents } from "../association_events.ts";
import { Channel } from "../channel.ts";
import { TransportError } from "../errors.ts";
import type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../types.ts";
import {
  ChunkType,
  DataFlag,
  decodeData,
  decodeInit,
  decodeSack,
  encodeInit,
  errorCause,
  firstErrorCause,
  InitParameter,
  PacketBuilder,
  parameter,
  type RawChunk,
  type SackChunk,
  SctpErrorCause,
  type SctpPacket,
} from "./chunks.ts";
import { type SctpClock, systemClock } from "./clock.ts";
import type { SctpConfig } from "./config.ts";
import { SctpPath } from "./path.ts";
import { RtoEstimator } from "./rto.ts";
import { scopedPeerAddresses } from "./scope.ts";
import { SctpTimer } from "./timer.ts";
import { tsnLe, tsnLt } from "./tsn.ts";
import { ReceiveTracker } from "./receive_tracker.ts";
import { Reassembly } from "./reassembly.ts";
import { type OutChunk, SendQueue } from "./send_queue.ts";

/** What an association needs from the endpoint that carries it. */
export interface AssociationHost {
  /** The local SCTP port. */
  readonly localPort: number;
  /** The local addresses the endpoint is bound to. */
  readonly localAddresses: readonly string[];
  /** Sends one packet to a peer address and UDP port. */
  transmit(packet: Uint8Array, address: string, udpPort: number): void;
  /**
   * Forgets the association (it has ended); a promise when that closes the endpoint's sockets,
   * resolved once they are closed.
   */
  detach(association: SctpAssociation): void | Promise<void>;
  /** Registers the association under its local tag once known. */
  attach(association: SctpAssociation): void;
  /** A random unsigned 32-bit integer. */
  random(): number;
  /** Time and timers (default {@linkcode systemClock}). */
  readonly clock?: SctpClock;
}

/** Association states (RFC 9260, section 4). */
export type SctpState =
  | "closed"
  | "cookie-wait"
  | "cookie-echoed"
  | "established"
  | "shutdown-pending"
  | "shutdown-sent"
  | "shutdown-received"
  | "shutdown-ack-sent";

type Path = SctpPath;

/** Parameters of an association that a handshake has agreed on. */
export interface EstablishedParameters {
  /** Our verification tag. */
  localTag: number;
  /** The peer's verification tag. */
  peerTag: number;
  /** Our initial TSN. */
  localInitialTsn: number;
  /** The peer's initial TSN. */
  peerInitialTsn: number;
  /** The peer's advertised window. */
  peerWindow: number;
  /** Outbound streams. */
  outboundStreams: number;
  /** Inbound streams. */
  inboundStreams: number;
}

/** How an association starts. */
export interface AssociationStart {
  /** The peer's SCTP port. */
  peerPort: number;
  /** Peer addresses, the primary first. */
  peerAddresses: string[];
  /** The peer's UDP encapsulation port. */
  peerUdpPort: number;
  /** Set when a COOKIE ECHO established it (server side). */
  established?: EstablishedParameters;
}

/**
 * Bytes a message or chunk held for the application costs beyond its payload (its objects),
 * counted against the receive buffer: a flood of tiny messages fills the window as fast as
 * the memory it takes, not 20 bytes at a time.
 */
const HELD_OVERHEAD = 256;
const EMPTY = new Uint8Array(0);
type Expiry = (owner: unknown, timer: SctpTimer) => void;
let onInitExpiry: Expiry;
let onShutdownExpiry: Expiry;
let onSackExpiry: Expiry;
let onT3Expiry: Expiry;
let onHeartbeatExpiry: Expiry;

/** What a message held for the application costs of the receive buffer. */
function heldSize(m: ReceivedMessage): number {
  return m.data.length + HELD_OVERHEAD;
}

/**
 * A copy of a per-stream table with room for `stream`, new streams at 0: exactly as long as
 * needed (an array grown by `push` would keep room for 17).
 */
function grownTable(table: readonly number[], stream: number): number[] {
  const grown = new Array<number>(stream + 1).fill(0);
  for (let i = 0; i < table.length; i++) grown[i] = table[i];
  return grown;
}

/**
 * The SACK most SACKs are, without gap ack blocks and duplicate TSNs: decoded into this one
 * object, whose arrays stay empty. A SACK is handled synchronously and never kept.
 */
const plainSack: SackChunk = { cumulativeTsn: 0, advertisedWindow: 0, gaps: [], duplicates: [] };

/** Decodes a SACK chunk's value, a plain one into {@linkcode plainSack}. */
function readSack(v: Uint8Array): SackChunk | undefined {
  if (v.length < 12 || (v[8] | v[9] | v[10] | v[11]) !== 0) return decodeSack(v);
  plainSack.cumulativeTsn = ((v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]) >>> 0;
  plainSack.advertisedWindow = ((v[4] << 24) | (v[5] << 16) | (v[6] << 8) | v[7]) >>> 0;
  return plainSack;
}

/** A stream table before any stream was used: never written to. */
const NO_STREAMS: number[] = [];
/** What `close()` returns once nothing is left to wait for. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Packet builders shared by every association of the process, one per MTU: a packet is built
 * and copied out synchronously, with no other code running in between, so one buffer serves
 * all associations instead of one each.
 */
const builders = new Map<number, PacketBuilder>();

function builderFor(mtu: number): PacketBuilder {
  let b = builders.get(mtu);
  if (b === undefined) builders.set(mtu, b = new PacketBuilder(mtu));
  return b;
}

/**
 * An SCTP association over UDP. Created by the endpoint (`connectSctp`, `listenSctp`), never
 * directly.
 *
 * @example
 * ```ts ignore
 * import { connectSctp } from "@rserpool/rserpool/transport";
 * const association = await connectSctp({ hostname: "127.0.0.1", port: 7 });
 * await association.send(new TextEncoder().encode("hello"), { ppid: 0 });
 * ```
 */
export class SctpAssociation implements Association {
  /** The transport underneath. */
  readonly protocol = "sctp" as const;
  /** Protocol parameters. */
  readonly config: SctpConfig;
  #host: AssociationHost;
  #clock: SctpClock;
  #state: SctpState = "closed";
  #peerPort: number;
  #paths: Path[] = [];
  /** The address a packet last came from, and its path (what `#pathOf` found last). */
  #lastFrom = "";
  #lastFromPath: Path | undefined;
  #primary: Path;
  #current: Path;
  #localTag = 0;
  #peerTag = 0;
  #outboundStreams = 0;
  #inboundStreams = 0;
  #errors = 0;
  // Sending
  /** The next SSN per outbound stream, grown to the highest stream used (none used: empty). */
  #ssn: number[] = NO_STREAMS;
  #queue = new SendQueue(0);
  #peerWindow = 0;
  #highestAcked = 0;
  #lastCumAck = 0;
  #fastRecovery = false;
  #fastRecoveryExit = 0;
  /** Chunks above the cumulative ack that a SACK's gap blocks acknowledged. */
  #gapAcked = 0;
  /** A fast retransmit may send one packet regardless of cwnd (RFC 9260, 7.2.4 step 3). */
  #fastRetransmitPacket = false;
  #retransmitCount = 0;
  #timeouts = 0;
  #fastRetransmits = 0;
  /** Senders waiting for room in the send buffer (made when first needed). */
  #sendWaiters: (() => void)[] | undefined;
  #flushScheduled = false;
  #urgentFlushScheduled = false;
  /** SACKs handled since the last flush: each is one Max.Burst opportunity. */
  #sacksSinceFlush = 0;
  /** A packet of the flush running is open in the (shared) builder. */
  #packetOpen = false;
  /** Packets the flush running has shipped. */
  #shipped = 0;
  /** The clock's time when the flush running began (what its chunks are sent at). */
  #flushTime = 0;
  // Receiving
  #tracker = new ReceiveTracker(0, HELD_OVERHEAD);
  #reassembly: Reassembly;
  /**
   * Messages the application has not read yet, each costing its bytes plus its objects. No
   * high-water mark: the receive window (which counts them) holds the peer back; taking one out
   * may reopen it.
   */
  #inbox: Channel<ReceivedMessage> = new Channel({
    size: heldSize,
    onTake: () => this.#onInboxTake(),
  });
  #sackTimer: SctpTimer;
  /** Where SACKs go: the source of the latest DATA (RFC 9260, 6.4); undefined: the current path. */
  #sackPath: Path | undefined;
  #lastAdvertised = 0;
  // Handshake and shutdown
  /** T1-init: INIT, then COOKIE ECHO (made when first needed: an accepted association never). */
  #t1: SctpTimer | undefined;
  #initRetransmits = 0;
  #initPacket: { chunk: number; value: Uint8Array; tag: number } | undefined;
  /** T2-shutdown: SHUTDOWN or SHUTDOWN ACK (made when first needed). */
  #t2: SctpTimer | undefined;
  /** Callers of `close()` waiting for the end (made when first needed). */
  #closeWaiters: (() => void)[] | undefined;

  get #initTimer(): SctpTimer {
    return this.#t1 ??= new SctpTimer(this.#clock, onInitExpiry, undefined, this);
  }

  get #shutdownTimer(): SctpTimer {
    return this.#t2 ??= new SctpTimer(this.#clock, onShutdownExpiry, undefined, this);
  }
  #connectSettle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /**
   * Listeners, with the replay of `communication-up` and of the end to late ones. A listener's
   * exception is thrown again as an uncaught error (as for TCP), not swallowed.
   */
  #events: AssociationEvents;
  #builder: PacketBuilder;
  #localInitialTsn = 0;
  #done = false;
  /** Resolves once what the end released (the endpoint's sockets, if it was the last) closed. */
  #released: Promise<void> = RESOLVED;

  static {
    // The timers' expiry functions, one for all associations (not a closure per timer): each
    // timer's owner is its association; a path's timers are found among its paths.
    onInitExpiry = (a) => (a as SctpAssociation).#onInitTimeout();
    onShutdownExpiry = (a) => (a as SctpAssociation).#onShutdownTimeout();
    onSackExpiry = (a) => (a as SctpAssociation).#onSackTimeout();
    onT3Expiry = (a, timer) => {
      const paths = (a as SctpAssociation).#paths;
      for (let i = 0; i < paths.length; i++) {
        if (paths[i].t3 === timer) return (a as SctpAssociation).#onT3(paths[i]);
      }
    };
    onHeartbeatExpiry = (a, timer) => {
      const paths = (a as SctpAssociation).#paths;
      for (let i = 0; i < paths.length; i++) {
        if (paths[i].heartbeat === timer) return (a as SctpAssociation).#heartbeat(paths[i]);
      }
    };
  }

  /** Creates an association; the endpoint starts it. */
  constructor(host: AssociationHost, config: SctpConfig, start: AssociationStart) {
    this.#host = host;
    this.#clock = host.clock ?? systemClock;
    const clock = this.#clock;
    // The runtime's clock queues microtasks as the events' default does: no closure for it.
    this.#events = clock === systemClock
      ? new AssociationEvents()
      : new AssociationEvents({ queueMicrotask: (callback) => clock.queueMicrotask(callback) });
    this.config = config;
    this.#peerPort = start.peerPort;
    this.#builder = builderFor(config.mtu);
    this.#sackTimer = new SctpTimer(this.#clock, onSackExpiry, undefined, this);
    this.#reassembly = this.#newReassembly();
    for (const a of start.peerAddresses) this.#addPath(a, start.peerUdpPort, false);
    this.#primary = this.#paths[0];
    this.#current = this.#primary;
    if (start.established !== undefined) {
      this.#primary.confirmed = true;
      this.#establish(start.established);
    }
  }

  // ---------------------------------------------------------------- public surface

  /** The association's state. */
  get state(): SctpState {
    return this.#state;
  }

  /** Our verification tag (what the peer puts in its packets). */
  get localTag(): number {
    return this.#localTag;
  }

  /** The peer's verification tag. */
  get peerTag(): number {
    return this.#peerTag;
  }

  /** The peer's SCTP port. */
  get peerPort(): number {
    return this.#peerPort;
  }

  /** Local addresses. */
  get localAddresses(): readonly TransportAddress[] {
    return this.#host.localAddresses.map((hostname) => ({ hostname, port: this.#host.localPort }));
  }

  /** Peer addresses, the primary first. */
  get remoteAddresses(): readonly TransportAddress[] {
    return this.#paths.map((p) => ({ hostname: p.address, port: this.#peerPort }));
  }

  /** True once the association has ended. */
  get closed(): boolean {
    return this.#done;
  }

  /** The peer address new data goes to now. */
  get currentPath(): TransportAddress {
    return { hostname: this.#current.address, port: this.#peerPort };
  }

  /**
   * Per-path state, for tests and diagnostics: `dataSent` counts DATA chunks sent on it,
   * `flight` the bytes outstanding on it, `rttSamples` the round-trip measurements taken.
   */
  get paths(): {
    address: string;
    active: boolean;
    rto: number;
    srtt: number;
    cwnd: number;
    ssthresh: number;
    flight: number;
    errors: number;
    dataSent: number;
    rttSamples: number;
  }[] {
    return this.#paths.map((p) => ({
      address: p.address,
      active: p.active,
      rto: p.rto.rto,
      srtt: p.rto.srtt,
      cwnd: p.cwnd,
      ssthresh: p.ssthresh,
      flight: p.flight,
      errors: p.errors,
      dataSent: p.dataSent,
      rttSamples: p.rto.samples,
    }));
  }

  /** The association's error counter (RFC 9260, 8.1), for tests and diagnostics. */
  get errorCount(): number {
    return this.#errors;
  }

  /** Bytes queued or in flight, not yet acknowledged. */
  get bufferedAmount(): number {
    return this.#queue.bufferedBytes;
  }

  /** Number of retransmitted DATA chunks so far (T3 and fast retransmit). */
  get retransmissions(): number {
    return this.#retransmitCount;
  }

  /** Counters for diagnostics: retransmitted chunks, T3 expiries, fast retransmits. */
  get stats(): { retransmissions: number; timeouts: number; fastRetransmits: number } {
    return {
      retransmissions: this.#retransmitCount,
      timeouts: this.#timeouts,
      fastRetransmits: this.#fastRetransmits,
    };
  }

  /** Queues a message; waits while the send buffer is full. */
  send(data: Uint8Array, options: SendOptions = {}): Promise<void> {
    // Not an async function: a message queued at once (nearly all) costs no promise of its
    // own, and a refused one (or any error) rejects as an async function's would.
    try {
      const refused = this.#refusal(data, options);
      if (refused !== undefined) return Promise.reject(refused);
      if (this.#mustWait(data)) return this.#sendWhenRoom(data, options);
      this.#enqueue(data, options);
      return RESOLVED;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Why `send` refuses a message, or undefined when it takes it. */
  #refusal(data: Uint8Array, options: SendOptions): TransportError | undefined {
    if (!(data instanceof Uint8Array)) return new TransportError("invalid", "Data must be bytes");
    const stream = options.stream ?? 0;
    const ppid = options.ppid ?? 0;
    if (!this.#canSend()) return new TransportError("closed", "Association is closed");
    if (data.length === 0) return new TransportError("invalid", "An SCTP message cannot be empty");
    if (data.length > this.config.maxMessageSize) {
      return new TransportError(
        "limit",
        `Message of ${data.length} bytes exceeds the limit of ${this.config.maxMessageSize}`,
      );
    }
    if (!Number.isInteger(stream) || stream < 0 || stream >= this.#outboundStreams) {
      return new TransportError(
        "invalid",
        `Stream ${stream} outside the ${this.#outboundStreams} negotiated`,
      );
    }
    if ((ppid >>> 0) !== ppid) return new TransportError("invalid", `Invalid PPID ${ppid}`);
    return undefined;
  }

  /** Whether the send buffer is too full for `data` now. */
  #mustWait(data: Uint8Array): boolean {
    const buffered = this.#queue.bufferedBytes;
    return buffered > 0 && buffered + data.length > this.config.sendBufferSize;
  }

  /** `send` of a message that waits for room in the send buffer. */
  async #sendWhenRoom(data: Uint8Array, options: SendOptions): Promise<void> {
    while (this.#mustWait(data)) {
      await new Promise<void>((resolve) => (this.#sendWaiters ??= []).push(resolve));
      if (!this.#canSend()) throw new TransportError("closed", "Association is closed");
    }
    this.#enqueue(data, options);
  }

  /** Queues a message that `send` took as DATA chunks, and schedules their flush. */
  #enqueue(data: Uint8Array, options: SendOptions): void {
    const stream = options.stream ?? 0;
    const ppid = options.ppid ?? 0;
    const unordered = options.unordered === true;
    let ssn = 0;
    if (!unordered) {
      const ssns = stream < this.#ssn.length ? this.#ssn : this.#growSsn(stream);
      ssn = ssns[stream];
      ssns[stream] = (ssn + 1) & 0xffff;
    }
    const max = this.config.mtu - 12 - 16;
    const last = Math.max(1, Math.ceil(data.length / max));
    for (let i = 0; i < last; i++) {
      let flags = unordered ? DataFlag.Unordered : 0;
      if (i === 0) flags |= DataFlag.Begin;
      if (i === last - 1) flags |= DataFlag.End;
      const payload = options.transfer === true
        ? (last === 1 ? data : data.subarray(i * max, (i + 1) * max))
        : (last === 1 ? data.slice() : data.slice(i * max, (i + 1) * max));
      this.#queue.enqueue(flags, stream, ssn, ppid, payload);
    }
    // Nothing in flight and nothing else queued: there is nothing to bundle with, so the
    // message goes out in this turn (a request/response exchange pays no extra event-loop
    // turn); otherwise it waits for the turn's other messages to share its packets.
    if (this.#queue.bufferedBytes === data.length) this.#scheduleUrgentFlush();
    else this.#scheduleFlush();
  }

  /** Makes room in the SSN table for `stream` (each stream starts at SSN 0). */
  #growSsn(stream: number): number[] {
    return this.#ssn = grownTable(this.#ssn, stream);
  }

  /** The next message, or null once the association has ended. */
  receive(): Promise<ReceivedMessage | null> {
    return this.#inbox.receive();
  }

  /** Hands received messages to `handler` (see {@linkcode Association.setMessageHandler}). */
  setMessageHandler(handler: (message: ReceivedMessage | null) => void): void {
    this.#inbox.listen(handler);
  }

  /** Holds messages back from the handler (see {@linkcode Association.pause}). */
  pause(): void {
    this.#inbox.pause();
  }

  /** Hands held-back messages to the handler again. */
  resume(): void {
    this.#inbox.resume();
  }

  /** Async iteration over received messages. */
  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    while (true) {
      const m = await this.receive();
      if (m === null) return;
      yield m;
    }
  }

  /**
   * Registers an event listener; returns its remover. A listener registered after the
   * association came up is told `communication-up` in a microtask, and one registered after
   * it ended the way it ended.
   */
  onEvent(listener: (event: AssociationEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /**
   * Graceful shutdown: sends what is queued, then SHUTDOWN; resolves when closed (and, for the
   * endpoint of `connectSctp`, its socket with it).
   */
  close(): Promise<void> {
    if (this.#ended()) return this.#released;
    const done = new Promise<void>((resolve) => (this.#closeWaiters ??= []).push(resolve));
    if (this.#state === "cookie-wait" || this.#state === "cookie-echoed") {
      this.abort("Closed before the association was up");
    } else if (this.#state === "established") {
      this.#state = "shutdown-pending";
      this.#maybeShutdown();
    }
    return done;
  }

  /** Sends ABORT and ends the association at once. */
  abort(reason = "Aborted by the application"): void {
    if (this.#ended()) return;
    if (this.#peerTag !== 0 || this.#state === "cookie-wait") {
      const cause = errorCause(SctpErrorCause.UserInitiatedAbort, new TextEncoder().encode(reason));
      this.#sendControl(ChunkType.Abort, 0, cause, this.#current);
    }
    // An abort drops what the application has not read yet, as it drops what is queued to send.
    this.#inbox.drain();
    this.#terminate({ type: "communication-lost", reason });
  }

  /** Closes gracefully. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------- handshake

  /** Client side: sends INIT; resolves when the association is established. */
  connect(localTag: number, initialTsn: number): Promise<void> {
    this.#localTag = localTag;
    this.#localInitialTsn = initialTsn;
    this.#host.attach(this);
    this.#state = "cookie-wait";
    const init = encodeInit({
      initiateTag: localTag,
      advertisedWindow: this.config.receiveBufferSize,
      outboundStreams: this.config.streams,
      inboundStreams: this.config.streams,
      initialTsn,
      addresses: this.#host.localAddresses.length > 1 ? [...this.#host.localAddresses] : [],
      unrecognized: [],
      stop: false,
    });
    this.#initPacket = { chunk: ChunkType.Init, value: init, tag: 0 };
    this.#initRetransmits = 0;
    this.#initTimer.rto = new RtoEstimator(this.config);
    this.#sendInitPacket();
    return new Promise((resolve, reject) => {
      this.#connectSettle = { resolve, reject };
    });
  }

  #sendInitPacket(): void {
    const p = this.#initPacket;
    if (p === undefined) return;
    // Rotate among the peer's addresses when retransmitting INIT.
    const path = this.#paths[this.#initRetransmits % this.#paths.length];
    this.#sendControl(p.chunk, 0, p.value, path, p.tag);
    this.#initTimer.start();
  }

  #onInitTimeout(): void {
    if (this.#ended() || this.#initPacket === undefined) return;
    if (++this.#initRetransmits > this.config.maxInitRetransmits) {
      this.#terminate({ type: "communication-lost", reason: "No answer to INIT or COOKIE ECHO" });
      return;
    }
    this.#initTimer.backoff();
    this.#sendInitPacket();
  }

  #onInitAck(chunk: RawChunk, from: Path | undefined): void {
    if (this.#state !== "cookie-wait") return;
    const init = decodeInit(chunk.value);
    if (init === undefined || init.cookie === undefined || init.stop || init.initiateTag === 0) {
      this.abort("Invalid INIT ACK");
      return;
    }
    const contacted = from ?? this.#primary;
    const families = familiesOf(this.#host.localAddresses);
    for (const a of scopedPeerAddresses(contacted.address, init.addresses, families)) {
      if (this.#pathOf(a) === undefined) this.#addPath(a, contacted.udpPort, false);
    }
    contacted.confirmed = true;
    this.#establishParameters({
      localTag: this.#localTag,
      peerTag: init.initiateTag,
      localInitialTsn: this.#localInitialTsn,
      peerInitialTsn: init.initialTsn,
      peerWindow: init.advertisedWindow,
      outboundStreams: Math.min(this.config.streams, init.inboundStreams),
      inboundStreams: Math.min(this.config.streams, init.outboundStreams),
    });
    this.#state = "cookie-echoed";
    this.#initPacket = { chunk: ChunkType.CookieEcho, value: init.cookie, tag: this.#peerTag };
    this.#initRetransmits = 0;
    this.#initTimer.rto = new RtoEstimator(this.config);
    this.#sendInitPacket();
  }

  #onCookieAck(): void {
    if (this.#state !== "cookie-echoed") return;
    this.#t1?.stop();
    this.#initPacket = undefined;
    this.#state = "established";
    this.#startHeartbeats();
    this.#emit({ type: "communication-up" });
    const settle = this.#connectSettle;
    this.#connectSettle = undefined;
    settle?.resolve();
    this.#scheduleFlush();
  }

  #establishParameters(p: EstablishedParameters): void {
    this.#localTag = p.localTag;
    this.#peerTag = p.peerTag;
    this.#queue = new SendQueue(p.localInitialTsn);
    this.#lastCumAck = (p.localInitialTsn - 1) >>> 0;
    this.#highestAcked = this.#lastCumAck;
    this.#tracker = new ReceiveTracker(p.peerInitialTsn, HELD_OVERHEAD, this.config.mtu - 28);
    this.#peerWindow = p.peerWindow;
    this.#outboundStreams = Math.max(1, p.outboundStreams);
    this.#inboundStreams = Math.max(1, p.inboundStreams);
    this.#ssn = NO_STREAMS;
    this.#reassembly = this.#newReassembly();
    this.#lastAdvertised = this.#window();
  }

  /** Server side: the association was made from a valid COOKIE ECHO. */
  #establish(p: EstablishedParameters): void {
    this.#establishParameters(p);
    this.#state = "established";
  }

  /** Server side: starts timers and announces communication-up (after COOKIE ACK is queued). */
  start(peerAddresses: readonly string[]): void {
    const contacted = this.#primary;
    const families = familiesOf(this.#host.localAddresses);
    for (const a of scopedPeerAddresses(contacted.address, peerAddresses, families)) {
      if (this.#pathOf(a) === undefined) this.#addPath(a, contacted.udpPort, false);
    }
    this.#startHeartbeats();
    this.#emit({ type: "communication-up" });
  }

  /** Server side: answers a (possibly repeated) COOKIE ECHO. */
  sendCookieAck(): void {
    this.#sendControl(ChunkType.CookieAck, 0, EMPTY, this.#primary);
  }

  // ---------------------------------------------------------------- packet input

  /** Handles a packet addressed to this association. */
  handlePacket(packet: SctpPacket, address: string, udpPort: number, skip = 0): void {
    if (this.#ended()) return;
    const from = this.#pathOf(address);
    if (from !== undefined && from.udpPort !== udpPort) from.udpPort = udpPort;
    const chunks = packet.chunks;
    let hadData = false;
    let errorReport: Uint8Array[] | undefined;
    for (let i = skip; i < chunks.length; i++) {
      const c = chunks[i];
      // The verification tag rule (RFC 9260, section 8.5).
      const tagged = packet.verificationTag === this.#localTag;
      const reflected = (c.flags & 1) === 1 && packet.verificationTag === this.#peerTag;
      if (c.type === ChunkType.Abort || c.type === ChunkType.ShutdownComplete) {
        if (!tagged && !reflected) return;
      } else if (c.type !== ChunkType.Init && !tagged) {
        return;
      }
      switch (c.type) {
        case ChunkType.Data:
          if (this.#onData(c)) hadData = true;
          break;
        case ChunkType.Sack:
          this.#onSack(c);
          break;
        case ChunkType.Heartbeat:
          // RFC 9260 8.3: to the source address of the HEARTBEAT, even one we do not know.
          this.#sendControlTo(ChunkType.HeartbeatAck, 0, c.value, address, udpPort);
          break;
        case ChunkType.HeartbeatAck:
          this.#onHeartbeatAck(c);
          break;
        case ChunkType.InitAck:
          this.#onInitAck(c, from);
          break;
        case ChunkType.CookieAck:
          this.#onCookieAck();
          break;
        case ChunkType.Abort: {
          const cause = firstErrorCause(c.value);
          this.#terminate({
            type: "communication-lost",
            reason: `Peer aborted${cause === undefined ? "" : ` (cause ${cause})`}`,
          });
          return;
        }
        case ChunkType.Shutdown: {
          // Handled after the application has answered what was delivered before it: reads
          // come in bursts (a Deno.listenDatagram read completes at once when a datagram is
          // waiting), and a SHUTDOWN read in the same burst as the last DATA would otherwise
          // refuse the application's answers to that DATA before its code could run.
          const value = c.value.slice();
          this.#clock.setImmediate(() => {
            if (!this.#ended()) this.#onShutdown({ type: c.type, flags: c.flags, value });
          });
          break;
        }
        case ChunkType.ShutdownAck:
          this.#onShutdownAck(from);
          break;
        case ChunkType.ShutdownComplete:
          if (this.#state === "shutdown-ack-sent") this.#terminate({ type: "shutdown" });
          return;
        case ChunkType.CookieEcho:
          // A repeated COOKIE ECHO (our COOKIE ACK was lost): the endpoint verified it.
          this.sendCookieAck();
          break;
        case ChunkType.Init:
        case ChunkType.Error:
          break;
        default: {
          const action = c.type >>> 6;
          if ((action & 1) === 1) {
            const raw = new Uint8Array(4 + c.value.length);
            raw[0] = c.type;
            raw[1] = c.flags;
            raw[2] = raw.length >> 8;
            raw[3] = raw.length & 0xff;
            raw.set(c.value, 4);
            (errorReport ??= []).push(errorCause(SctpErrorCause.UnrecognizedChunkType, raw));
          }
          if (action < 2) i = chunks.length;
        }
      }
      if (this.#ended()) return;
    }
    if (errorReport !== undefined) {
      this.#sendControl(ChunkType.Error, 0, joinCauses(errorReport), from ?? this.#primary);
    }
    if (hadData) {
      // RFC 9260 6.4: the SACK goes to where the DATA came from.
      if (from !== undefined) this.#sackPath = from;
      this.#tracker.onDataPacket();
      // An urgent SACK (gaps, duplicates, every second packet) goes out right after this
      // packet; otherwise it waits to be bundled with the application's answer.
      if (this.#tracker.urgent) this.#scheduleUrgentFlush();
      else this.#armSackTimer();
    }
  }

  // ---------------------------------------------------------------- receiving DATA

  /** Returns true when the chunk counts as DATA received (it must be acknowledged). */
  #onData(c: RawChunk): boolean {
    if (
      this.#state !== "established" && this.#state !== "shutdown-pending" &&
      this.#state !== "shutdown-sent"
    ) {
      return false;
    }
    const d = decodeData(c);
    if (d === undefined) {
      this.abort("Protocol violation: DATA chunk without user data");
      return false;
    }
    const tsn = d.tsn;
    const tracker = this.#tracker;
    const kind = tracker.classify(tsn);
    if (kind === "duplicate") return true;
    if (kind === "far") return true; // beyond any window
    tracker.observe(d.payload.length);
    // What a held chunk costs beyond its payload: a tiny message must not be cheap to queue.
    if (!this.#makeRoom(tsn, d.payload.length + HELD_OVERHEAD)) return true; // dropped
    if (kind === "ahead") {
      tracker.hold(tsn, {
        flags: d.flags,
        stream: d.stream,
        ssn: d.ssn,
        ppid: d.ppid,
        payload: d.payload.slice(),
      });
      return true;
    }
    tracker.advance(tsn);
    this.#consume(d.flags, d.stream, d.ssn, d.ppid, d.payload);
    for (let o = tracker.takeNext(); o !== undefined; o = tracker.takeNext()) {
      if (this.#ended()) break;
      this.#consume(o.flags, o.stream, o.ssn, o.ppid, o.payload);
    }
    return true;
  }

  /**
   * Whether a chunk of `size` bytes fits in the receive buffer. When it does not, RFC 9260 6.2:
   * a chunk above every TSN held is dropped; a lower one is taken in place of the highest
   * TSNs held for reordering (which the peer sends again once no SACK reports them).
   */
  #makeRoom(tsn: number, size: number): boolean {
    const limit = this.config.receiveBufferSize;
    while (this.#used() + size > limit) {
      if (this.#tracker.dropHighestAbove(tsn) === 0) return false;
    }
    return true;
  }

  /** Receive buffer in use: read by nobody yet, held for reordering or reassembly. */
  #used(): number {
    return this.#inbox.bufferedSize + this.#tracker.heldBytes + this.#reassembly.heldBytes;
  }

  #newReassembly(): Reassembly {
    return new Reassembly({
      inboundStreams: this.#inboundStreams,
      maxMessageSize: this.config.maxMessageSize,
      overhead: HELD_OVERHEAD,
      sink: this.#inbox,
    });
  }

  /** Hands a chunk taken in TSN order to reassembly, and acts on what it finds wrong. */
  #consume(flags: number, stream: number, ssn: number, ppid: number, payload: Uint8Array): void {
    const fault = this.#reassembly.push(flags, stream, ssn, ppid, payload);
    if (fault === "too-large") {
      this.abort("Message exceeds the largest message size");
    } else if (fault === "invalid-stream") {
      const info = new Uint8Array(4);
      info[0] = stream >> 8;
      info[1] = stream & 0xff;
      this.#sendControl(
        ChunkType.Error,
        0,
        errorCause(SctpErrorCause.InvalidStreamIdentifier, info),
        this.#current,
      );
    }
  }

  /** The application read a buffered message: tell the peer if that reopened the window. */
  #onInboxTake(): void {
    if (this.#lastAdvertised >= 2 * this.config.mtu) return;
    if (this.#window() >= 4 * this.config.mtu) {
      this.#tracker.needed = true;
      this.#tracker.urgent = true;
      this.#scheduleFlush();
    }
  }

  /** The window to advertise: what fits in the free receive buffer, overhead included. */
  #window(): number {
    return this.#tracker.window(this.config.receiveBufferSize - this.#used());
  }

  /** Sends the owed SACK on its own to `path`. */
  #sendSack(path: Path): void {
    if (!this.#tracker.plain) {
      this.#sendControl(ChunkType.Sack, 0, this.#sackValue(), path);
      return;
    }
    // The usual SACK, written into the packet in place (no value built for it).
    const window = this.#window();
    this.#lastAdvertised = window;
    const b = this.#builder;
    b.start(this.#host.localPort, this.#peerPort, this.#peerTag);
    b.sack(this.#tracker.paid(), window);
    this.#host.transmit(b.packet(), path.address, path.udpPort);
  }

  #sackValue(): Uint8Array {
    const window = this.#window();
    this.#lastAdvertised = window;
    return this.#tracker.sack(window);
  }

  // ---------------------------------------------------------------- sending DATA

  /**
   * Runs a scheduled flush, urgent (a microtask) or not (an immediate): one function for both.
   * Microtasks run before immediates, so while an urgent flush is scheduled it is the one
   * running (were it not, both flushes would still run, each after it was asked for).
   */
  #flushTask: () => void = this.#runFlushTask.bind(this);

  #runFlushTask(): void {
    if (this.#urgentFlushScheduled) this.#urgentFlushScheduled = false;
    else this.#flushScheduled = false;
    this.#flush();
  }

  #scheduleUrgentFlush(): void {
    if (this.#urgentFlushScheduled) return;
    this.#urgentFlushScheduled = true;
    this.#clock.queueMicrotask(this.#flushTask);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the current I/O callbacks and their promise chains, not in the next microtask:
    // an application that answers each message with `await send()` in a loop then has all its
    // messages bundled into a few packets instead of one packet (and one syscall) each.
    this.#clock.setImmediate(this.#flushTask);
  }

  /** Sends what congestion and flow control allow, bundling a pending SACK. */
  #flush(): void {
    if (this.#ended() || this.#peerTag === 0 || this.#state === "cookie-echoed") return;
    const b = this.#builder;
    let path = this.#current;
    // The state of the packet being built lives in fields, not in closures made per flush.
    this.#packetOpen = false;
    this.#shipped = 0;
    this.#flushTime = this.#clock.now();
    // 1. Retransmissions, oldest first, to the path chosen for them, within cwnd; but when a
    // fast retransmit has just been decided, one packet of them goes regardless of cwnd
    // (RFC 9260, 7.2.4 step 3).
    const oneFree = this.#fastRetransmitPacket;
    this.#fastRetransmitPacket = false;
    for (let i = this.#queue.head; i < this.#queue.end; i++) {
      const c = this.#queue.outstanding[i];
      if (!c.retransmit) continue;
      const target = this.#retransmitPath(c);
      if (target !== path) {
        this.#ship(path);
        path = target;
      }
      if (target.flight >= target.cwnd) {
        const free = oneFree && this.#shipped === 0 &&
          (!this.#packetOpen || ((16 + c.payload.length + 3) & ~3) <= b.room);
        if (!free) break;
      }
      this.#put(c, target);
    }
    this.#ship(path);
    path = this.#current;
    // 2. New data within cwnd, the peer's window and Max.Burst. Max.Burst limits the packets
    // sent in answer to one SACK (RFC 9260, 6.1 D); a burst of datagrams read at once is
    // answered by one flush, so the limit is Max.Burst per SACK handled since the last flush.
    const burst = this.config.maxBurst * Math.max(1, this.#sacksSinceFlush);
    this.#sacksSinceFlush = 0;
    let packets = 0;
    const queue = this.#queue;
    for (let c = queue.peekPending(); c !== undefined; c = queue.peekPending()) {
      const size = c.payload.length;
      if (path.flight >= path.cwnd) break;
      if (size > this.#peerWindow && this.#flightTotal() > 0) break;
      if (this.#packetOpen && ((16 + size + 3) & ~3) > b.room) {
        this.#ship(path);
        if (++packets >= burst) break;
      }
      queue.takePending(); // its TSN is assigned now, as it goes on the wire
      this.#put(c, path);
    }
    this.#ship(path);
    // 3. A SACK on its own when it cannot wait for data to carry it.
    if (this.#tracker.needed) {
      if (this.#tracker.urgent || this.#state !== "established") {
        this.#sendSack(this.#sackPath ?? this.#current);
      } else {
        this.#armSackTimer();
      }
    }
    this.#maybeShutdown();
  }

  /** Puts a DATA chunk in the packet being built for `target`, shipping a full one first. */
  #put(c: OutChunk, target: Path): void {
    const b = this.#builder;
    const need = (16 + c.payload.length + 3) & ~3;
    if (this.#packetOpen && need > b.room) this.#ship(target);
    if (!this.#packetOpen) {
      if (this.#tracker.needed) {
        const apart = this.#sackPath !== undefined && this.#sackPath !== target;
        if (!apart && this.#tracker.plain && 16 + need <= this.config.mtu - 12) {
          // The usual SACK, written into the packet in place (no value built for it).
          const window = this.#window();
          this.#lastAdvertised = window;
          b.start(this.#host.localPort, this.#peerPort, this.#peerTag);
          this.#packetOpen = true;
          b.sack(this.#tracker.paid(), window);
        } else {
          const sack = this.#sackValue();
          if (apart || 4 + sack.length + need > this.config.mtu - 12) {
            this.#sendControl(ChunkType.Sack, 0, sack, this.#sackPath ?? this.#current);
          } else {
            b.start(this.#host.localPort, this.#peerPort, this.#peerTag);
            this.#packetOpen = true;
            b.chunk(ChunkType.Sack, 0, sack);
          }
        }
      }
      if (!this.#packetOpen) {
        b.start(this.#host.localPort, this.#peerPort, this.#peerTag);
        this.#packetOpen = true;
      }
    }
    b.data(c.flags, c.tsn, c.stream, c.ssn, c.ppid, c.payload);
    const t = this.#flushTime;
    if (c.transmissions > 0) {
      this.#retransmitCount++;
      c.missing = 0;
      // Karn: a retransmitted chunk's round trip is ambiguous.
      if (c.path !== undefined && c.path.rttChunk === c) c.path.rttChunk = undefined;
    } else {
      c.firstSentAt = t;
      // One measurement per round trip and destination (RFC 9260, 6.3.1 C4).
      if (target.rttChunk === undefined) target.rttChunk = c;
    }
    c.transmissions++;
    c.sentAt = t;
    c.path = target;
    c.inFlight = true;
    c.retransmit = false;
    c.timedOut = false;
    target.flight += c.payload.length;
    target.dataSent++;
    this.#peerWindow = Math.max(0, this.#peerWindow - c.payload.length);
  }

  /** Sends the packet being built, if any, to `target`, and starts its T3-rtx. */
  #ship(target: Path): void {
    if (!this.#packetOpen) return;
    this.#host.transmit(this.#builder.packet(), target.address, target.udpPort);
    this.#packetOpen = false;
    this.#shipped++;
    target.t3.startIfStopped();
  }

  /**
   * The delayed SACK (RFC 9260, 6.2): sent after `delayedAckTime` unless it left bundled with
   * data first. The timer is left running when it does (a no-op when it fires then): arming
   * it once per window is cheaper than clearing it on every packet.
   */
  #armSackTimer(): void {
    this.#sackTimer.startIfStopped(this.config.delayedAckTime);
  }

  #onSackTimeout(): void {
    if (this.#tracker.needed && !this.#ended()) {
      this.#sendSack(this.#sackPath ?? this.#current);
    }
  }

  #retransmitPath(c: OutChunk): Path {
    // After a timeout, retransmit to another active path if there is one (RFC 9260, 6.4).
    if (c.path !== undefined && c.timedOut) {
      const alternate = this.#paths.find((p) => p !== c.path && p.active && p.confirmed);
      if (alternate !== undefined) return alternate;
    }
    return this.#current;
  }

  #flightTotal(): number {
    let f = 0;
    for (const p of this.#paths) f += p.flight;
    return f;
  }

  #onSack(c: RawChunk): void {
    const sack = readSack(c.value);
    if (sack === undefined) return;
    this.#sacksSinceFlush++;
    const cum = sack.cumulativeTsn;
    if (tsnLt(cum, this.#lastCumAck)) return; // an old SACK
    if (tsnLe(this.#queue.nextTsn, cum)) {
      this.abort("Protocol violation: SACK of a TSN never sent");
      return;
    }
    const t = this.#clock.now();
    const cumAdvanced = tsnLt(this.#lastCumAck, cum);
    const wasInFastRecovery = this.#fastRecovery;
    // Bytes newly acknowledged per destination (the one each chunk was last sent to), and
    // each destination's flight before this SACK, for cwnd growth (RFC 9260, 7.2.1, 7.2.2).
    const paths = this.#paths;
    for (let i = 0; i < paths.length; i++) paths[i].beginSack();
    // Cumulative acknowledgement.
    const queue = this.#queue;
    for (let o = queue.takeAcked(cum); o !== undefined; o = queue.takeAcked(cum)) {
      if (o.inFlight && o.path !== undefined) o.path.flight -= o.payload.length;
      if (!o.acked) this.#newlyAcked(o, t);
      else this.#gapAcked--;
      if (o.path !== undefined) {
        o.path.errors = 0;
        o.path.lastAcked = t;
        if (o.path.rttChunk === o) o.path.rttChunk = undefined;
      }
    }
    // Gap acknowledgements; a chunk gap-acked before and left out now was reneged on.
    let highestNewlyAcked = cum;
    let highestReported = cum;
    let g = 0;
    let ackedAhead = this.#gapAcked;
    for (let i = this.#queue.head; i < this.#queue.end; i++) {
      const o = this.#queue.outstanding[i];
      const offset = (o.tsn - cum) >>> 0;
      while (g < sack.gaps.length && sack.gaps[g][1] < offset) g++;
      if (g >= sack.gaps.length && ackedAhead === 0) break;
      if (o.acked) ackedAhead--;
      const covered = g < sack.gaps.length && sack.gaps[g][0] <= offset;
      if (covered) {
        highestReported = o.tsn;
        if (o.acked) continue;
        o.acked = true;
        this.#gapAcked++;
        if (o.inFlight && o.path !== undefined) o.path.flight -= o.payload.length;
        o.inFlight = false;
        o.retransmit = false;
        highestNewlyAcked = o.tsn;
        this.#newlyAcked(o, t);
      } else if (o.acked) {
        // Reneged (RFC 9260, 6.2 lets a full receiver drop held chunks): send it again.
        o.acked = false;
        this.#gapAcked--;
        o.retransmit = true;
        o.missing = 0;
      }
    }
    if (tsnLt(this.#highestAcked, highestNewlyAcked)) this.#highestAcked = highestNewlyAcked;
    // Congestion window growth, before any fast retransmit adjustment (RFC 9260, 7.2.4 note),
    // per destination by the bytes acknowledged that were sent to it (7.2.1, 7.2.2).
    if (cumAdvanced && !wasInFastRecovery) {
      for (const p of this.#paths) p.growCwnd();
    }
    // Missing reports and fast retransmit (RFC 9260, 7.2.4). HTNA: a TSN is reported missing
    // only below the highest TSN newly acknowledged, or, in Fast Recovery when the cumulative
    // ack advanced, below the highest TSN this SACK reports.
    const missingBelow = wasInFastRecovery && cumAdvanced ? highestReported : highestNewlyAcked;
    let fastRetransmit = false;
    if (sack.gaps.length > 0) {
      for (let i = this.#queue.head; i < this.#queue.end; i++) {
        const o = this.#queue.outstanding[i];
        if (!tsnLt(o.tsn, missingBelow)) break;
        if (o.acked || !o.inFlight) continue;
        if (++o.missing >= 3 && !o.fastRetransmitted) {
          o.fastRetransmitted = true;
          o.retransmit = true;
          this.#fastRetransmits++;
          o.inFlight = false;
          if (o.path !== undefined) {
            o.path.flight -= o.payload.length;
            if (!this.#fastRecovery) o.path.lossThisSack = true;
          }
          fastRetransmit = true;
        }
      }
    }
    if (fastRetransmit && !this.#fastRecovery) {
      // Only the destinations the lost chunks were last sent to (7.2.4 step 2); the exit
      // point is the highest TSN outstanding (step 6).
      this.#fastRecovery = true;
      this.#fastRecoveryExit = this.#queue.highestSent;
      this.#fastRetransmitPacket = true;
      for (const p of this.#paths) {
        if (!p.lossThisSack) continue;
        p.lossThisSack = false;
        p.reduceOnLoss();
      }
    }
    if (this.#fastRecovery && tsnLe(this.#fastRecoveryExit, cum)) this.#fastRecovery = false;
    if (cumAdvanced) {
      this.#lastCumAck = cum;
      this.#errors = 0;
    }
    // The peer's window less what is still in flight.
    this.#peerWindow = Math.max(0, sack.advertisedWindow - this.#flightTotal());
    // Retransmission timers.
    for (const p of this.#paths) {
      if (p.flight <= 0) {
        p.flight = 0;
        this.#stopT3(p);
      } else if (cumAdvanced) {
        this.#startT3(p);
      }
    }
    const waiters = this.#sendWaiters;
    if (
      waiters !== undefined && waiters.length > 0 &&
      this.#queue.bufferedBytes < this.config.sendBufferSize
    ) {
      for (const w of waiters.splice(0)) w();
    }
    if (this.#flushWouldAct()) {
      this.#scheduleFlush();
    } else if (!this.#flushScheduled && !this.#urgentFlushScheduled) {
      // The flush would have sent nothing; what it would have done is to start the count of
      // SACKs for Max.Burst over.
      this.#sacksSinceFlush = 0;
    }
  }

  /**
   * Whether a flush would do anything after a SACK: send new or retransmitted DATA, a SACK,
   * or go on with a shutdown. Most SACKs acknowledge all there was (a request answered, an
   * answer acknowledged): a flush for them, an immediate each, would do nothing.
   */
  #flushWouldAct(): boolean {
    const queue = this.#queue;
    if (this.#state !== "established" || this.#tracker.needed) return true;
    if (queue.peekPending() !== undefined) return true;
    const outstanding = queue.outstanding;
    for (let i = queue.head; i < queue.end; i++) if (outstanding[i].retransmit) return true;
    return false;
  }

  /** A chunk newly acknowledged at `t`: counted for cwnd growth, and timed if it was. */
  #newlyAcked(o: OutChunk, t: number): void {
    const p = o.path;
    if (p === undefined) return;
    p.bytesAcked += o.payload.length;
    // Karn (RFC 9260, 6.3.1 C5): only the chunk being timed, only if it was sent once.
    if (p.rttChunk === o) {
      p.rttChunk = undefined;
      if (o.transmissions === 1) p.rto.measure(t - o.sentAt);
    }
  }

  #startT3(p: Path): void {
    p.t3.start();
  }

  #stopT3(p: Path): void {
    p.t3.stop();
  }

  #onT3(p: Path): void {
    if (this.#ended() || this.#stalled()) return;
    this.#timeouts++;
    p.reduceOnTimeout();
    let marked = 0;
    for (let i = this.#queue.head; i < this.#queue.end; i++) {
      const o = this.#queue.outstanding[i];
      if (o.path !== p || !o.inFlight) continue;
      o.inFlight = false;
      o.retransmit = true;
      // Miss indications start over; a chunk fast-retransmitted once never is again (7.2.4).
      o.missing = 0;
      o.timedOut = true;
      p.flight -= o.payload.length;
      marked++;
    }
    p.flight = Math.max(0, p.flight);
    p.rttChunk = undefined;
    this.#fastRecovery = false;
    if (this.#pathFailure(p)) return;
    if (marked > 0 || this.#state === "shutdown-sent" || this.#state === "shutdown-ack-sent") {
      this.#flush();
    }
    // The retransmissions may have gone to another path: T3 runs here only for what is
    // still outstanding here (RFC 9260, 6.3.2 R1).
    if (p.flight > 0) p.t3.startIfStopped();
  }

  /**
   * Counts an unanswered transmission on a path; returns true if the association failed. An
   * unanswered HEARTBEAT counts against the association only on the path used for data
   * (RFC 9260, 8.1): an idle other path that is down must not end an association that works.
   */
  #pathFailure(p: Path, heartbeat = false): boolean {
    const wentDown = p.countError();
    if (!heartbeat || p === this.#current) this.#errors++;
    if (this.#errors > this.config.associationMaxRetransmits) {
      this.#terminate({
        type: "communication-lost",
        reason: "Peer unreachable: too many retransmissions",
      });
      return true;
    }
    if (wentDown) {
      this.#emit({ type: "path-down", address: { hostname: p.address, port: this.#peerPort } });
      if (this.#current === p) this.#choosePath();
    }
    return false;
  }

  #choosePath(): void {
    const next = this.#primary.active
      ? this.#primary
      : this.#paths.find((q) => q.active && q.confirmed) ?? this.#current;
    if (next !== this.#current) {
      // Data not yet acknowledged on the old path goes to the new one after its T3.
      next.openForSwitch();
      this.#current = next;
      this.#emit({
        type: "primary-changed",
        address: { hostname: next.address, port: this.#peerPort },
      });
      // Move what is waiting for retransmission on the failed path to the new one now.
      for (let i = this.#queue.head; i < this.#queue.end; i++) {
        const o = this.#queue.outstanding[i];
        if (!o.acked && o.inFlight && o.path !== undefined && !o.path.active) {
          o.path.flight -= o.payload.length;
          o.inFlight = false;
          o.retransmit = true;
        }
      }
      this.#scheduleFlush();
    }
  }

  /**
   * Aborts the association when the oldest unacknowledged chunk has waited longer than
   * `dataStallTimeout` (a peer that answers HEARTBEATs and never SACKs); true if it did.
   */
  #stalled(): boolean {
    const limit = this.config.dataStallTimeout;
    if (limit <= 0) return false;
    const oldest = this.#queue.oldest;
    if (oldest === undefined || oldest.transmissions === 0) return false;
    if (this.#clock.now() - oldest.firstSentAt <= limit) return false;
    this.abort(`No acknowledgement of DATA for ${limit} ms`);
    return true;
  }

  // ---------------------------------------------------------------- heartbeats

  #startHeartbeats(): void {
    for (const p of this.#paths) this.#scheduleHeartbeat(p, p.confirmed ? undefined : 0);
  }

  #scheduleHeartbeat(p: Path, delay?: number): void {
    if (delay !== undefined) {
      p.heartbeat.start(delay);
      return;
    }
    const rto = p.rto.rto;
    // The jitter's random number is drawn only when it is used (a HEARTBEAT put off because
    // of data acknowledged lately has an exact delay).
    const jitter = p.active ? 1 + (this.#host.random() / 0x100000000 - 0.5) * 0.2 : 1;
    p.heartbeat.start(p.active ? this.config.heartbeatInterval * jitter + rto : rto);
  }

  #heartbeat(p: Path): void {
    if (this.#ended() || this.#stalled()) return;
    if (p.heartbeatPending) {
      // The previous HEARTBEAT went unanswered.
      p.heartbeatPending = false;
      p.heartbeat.backoff();
      if (this.#pathFailure(p, true)) return;
    } else if (p.active && p.confirmed) {
      const now = this.#clock.now();
      if (now - p.lastAcked < this.config.heartbeatInterval) {
        // RFC 9260 8.3: only idle paths are probed; DATA acknowledged on it lately proved it.
        this.#scheduleHeartbeat(p, p.lastAcked + this.config.heartbeatInterval - now + p.rto.rto);
        return;
      }
    }
    p.heartbeatNonce = this.#host.random();
    p.heartbeatPending = true;
    const info = new Uint8Array(16);
    const view = new DataView(info.buffer);
    // The time it was sent travels in the HEARTBEAT and comes back in its ACK.
    view.setFloat64(0, this.#clock.now());
    view.setUint32(8, this.#paths.indexOf(p));
    view.setUint32(12, p.heartbeatNonce);
    this.#sendControl(ChunkType.Heartbeat, 0, parameter(InitParameter.HeartbeatInfo, info), p);
    // Wait one RTO for the answer, then count a failure at the next heartbeat.
    p.heartbeat.start();
  }

  #onHeartbeatAck(c: RawChunk): void {
    if (c.value.length < 20) return;
    const view = new DataView(c.value.buffer, c.value.byteOffset + 4, 16);
    const index = view.getUint32(8);
    const p = this.#paths[index];
    if (p === undefined || !p.heartbeatPending || view.getUint32(12) !== p.heartbeatNonce) return;
    p.heartbeatPending = false;
    p.rto.measure(this.#clock.now() - view.getFloat64(0));
    p.errors = 0;
    this.#errors = 0;
    const wasDown = !p.active;
    p.active = true;
    p.confirmed = true;
    if (wasDown) {
      this.#emit({ type: "path-up", address: { hostname: p.address, port: this.#peerPort } });
      if (p === this.#primary && this.#current !== p) this.#choosePath();
    }
    this.#scheduleHeartbeat(p);
  }

  // ---------------------------------------------------------------- shutdown

  #maybeShutdown(): void {
    if (!this.#queue.empty) return;
    if (this.#state === "shutdown-pending") {
      this.#state = "shutdown-sent";
      this.#sendShutdown();
    } else if (this.#state === "shutdown-received") {
      this.#state = "shutdown-ack-sent";
      this.#sendShutdownAck();
    }
  }

  #sendShutdown(): void {
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, this.#tracker.cumTsn);
    this.#sendControl(ChunkType.Shutdown, 0, value, this.#current);
    this.#shutdownTimer.rto = this.#current.rto;
    this.#shutdownTimer.start();
  }

  #sendShutdownAck(): void {
    this.#sendControl(ChunkType.ShutdownAck, 0, EMPTY, this.#current);
    this.#shutdownTimer.rto = this.#current.rto;
    this.#shutdownTimer.start();
  }

  /** T2-shutdown expired: counts an error, backs the RTO off and sends again (RFC 9260, 9.2). */
  #onShutdownTimeout(): void {
    if (this.#ended()) return;
    if (this.#state !== "shutdown-sent" && this.#state !== "shutdown-ack-sent") return;
    if (this.#pathFailure(this.#current)) return;
    this.#shutdownTimer.backoff();
    if (this.#state === "shutdown-sent") this.#sendShutdown();
    else this.#sendShutdownAck();
  }

  #onShutdown(c: RawChunk): void {
    if (c.value.length >= 4) {
      // SHUTDOWN carries a cumulative TSN ack: treat it as a SACK without gaps.
      const sack = new Uint8Array(12);
      sack.set(c.value.subarray(0, 4));
      new DataView(sack.buffer).setUint32(4, this.#peerWindow + this.#flightTotal());
      this.#onSack({ type: ChunkType.Sack, flags: 0, value: sack });
    }
    if (this.#state === "established" || this.#state === "shutdown-pending") {
      this.#state = "shutdown-received";
      this.#maybeShutdown();
    } else if (this.#state === "shutdown-sent") {
      this.#t2?.stop();
      this.#state = "shutdown-ack-sent";
      this.#sendShutdownAck();
    }
  }

  #onShutdownAck(from: Path | undefined): void {
    if (this.#state !== "shutdown-sent" && this.#state !== "shutdown-ack-sent") return;
    this.#sendControl(ChunkType.ShutdownComplete, 0, EMPTY, from ?? this.#current);
    this.#terminate({ type: "shutdown" });
  }

  // ---------------------------------------------------------------- plumbing

  #canSend(): boolean {
    return this.#state === "established";
  }

  #ended(): boolean {
    return this.#done;
  }

  #addPath(address: string, udpPort: number, confirmed: boolean): Path {
    const p = new SctpPath(address, udpPort, this.config, confirmed);
    p.t3 = new SctpTimer(this.#clock, onT3Expiry, p.rto, this);
    p.heartbeat = new SctpTimer(this.#clock, onHeartbeatExpiry, p.rto, this);
    // A new array of the exact length (`push` would leave room for 17): paths are few, and
    // added rarely.
    const paths = new Array<Path>(this.#paths.length + 1);
    for (let i = 0; i < this.#paths.length; i++) paths[i] = this.#paths[i];
    paths[this.#paths.length] = p;
    this.#paths = paths;
    return p;
  }

  #pathOf(address: string): Path | undefined {
    // The socket hands the same peer's address over as the same string: compared to the last
    // one found, it is found by pointer (paths are never removed, so the pair stays true).
    if (address === this.#lastFrom) return this.#lastFromPath;
    const paths = this.#paths;
    for (let i = 0; i < paths.length; i++) {
      if (paths[i].address === address) {
        this.#lastFrom = address;
        this.#lastFromPath = paths[i];
        return paths[i];
      }
    }
    return undefined;
  }

  #sendControl(type: number, flags: number, value: Uint8Array, path: Path, tag?: number): void {
    this.#sendControlTo(type, flags, value, path.address, path.udpPort, tag);
  }

  #sendControlTo(
    type: number,
    flags: number,
    value: Uint8Array,
    address: string,
    udpPort: number,
    tag?: number,
  ): void {
    const b = this.#builder;
    b.start(this.#host.localPort, this.#peerPort, tag ?? this.#peerTag);
    b.chunk(type, flags, value);
    this.#host.transmit(b.packet(), address, udpPort);
  }

  #emit(event: AssociationEvent): void {
    this.#events.emit(event);
  }

  #terminate(event: AssociationEvent): void {
    if (this.#ended()) return;
    const wasConnecting = this.#connectSettle;
    this.#connectSettle = undefined;
    this.#state = "closed";
    this.#done = true;
    this.#t1?.dispose();
    this.#sackTimer.dispose();
    this.#t2?.dispose();
    for (const p of this.#paths) {
      p.t3.dispose();
      p.heartbeat.dispose();
    }
    const released = this.#host.detach(this);
    if (wasConnecting !== undefined) {
      const reason = event.type === "communication-lost" ? event.reason : "Closed";
      wasConnecting.reject(new TransportError("refused", `Could not connect: ${reason}`));
    }
    // Remembered for listeners registered later (nobody listens to a failed connect).
    this.#emit(event);
    this.#inbox.close();
    if (this.#sendWaiters !== undefined) { for (const w of this.#sendWaiters.splice(0)) w(); }
    // close() resolves once the endpoint's sockets are closed too, when this ended its last
    // association (the endpoint of connectSctp): nothing of it is left pending then.
    const closeWaiters = this.#closeWaiters?.splice(0) ?? [];
    const wake = () => {
      for (const w of closeWaiters) w();
    };
    if (released === undefined) {
      wake();
    } else {
      this.#released = released;
      released.then(wake, wake);
    }
  }
}

function familiesOf(addresses: readonly string[]): ("ipv4" | "ipv6")[] {
  const out: ("ipv4" | "ipv6")[] = [];
  for (const a of addresses) {
    const f = a.includes(":") ? "ipv6" : "ipv4";
    if (!out.includes(f)) out.push(f);
    if (a === "0.0.0.0") out.push("ipv4");
    if (a === "::") out.push("ipv6", "ipv4");
  }
  return out;
}

/** Error causes one after another, each padded to 4 bytes but the last. */
function joinCauses(causes: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of causes) size += (c.length + 3) & ~3;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of causes) {
    out.set(c, pos);
    pos += (c.length + 3) & ~3;
  }
  return out.subarray(
    0,
    pos - (((causes.at(-1)?.length ?? 0) + 3 & ~3) - (causes.at(-1)?.length ?? 0)),
  );
}
