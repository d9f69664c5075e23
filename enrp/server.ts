/**
 * The ENRP side of a registrar (RFC 5353): the peer table, start-up from a mentor, handle
 * table transfer in parts, HANDLE_UPDATEs of local changes to every peer, the PE checksum
 * audit, and the takeover of a registrar that stopped answering.
 *
 * It works on the registrar's handlespace, in which every PE's owner is its home registrar: the
 * registrar's own PEs have its server ID, a peer's PEs the peer's. It opens and accepts
 * associations through its host (the registrar), which knows the transports; messages travel
 * with PPID 12.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Handlespace, PoolElementEntry } from "../handlespace/handlespace.ts";
import { HandlespaceError } from "../handlespace/errors.ts";
import { TokenBucket } from "../registrar/rate_limiter.ts";
import type { EndpointAddress } from "../transport/open.ts";
import type { Association } from "../transport/types.ts";
import { ErrorCause, WireError } from "../wire/errors.ts";
import type {
  OperationErrorCause,
  PoolElementParameter,
  ServerInformation,
  TransportParameter,
} from "../wire/types.ts";
import { EnrpAuthenticator, type EnrpAuthFailure, type EnrpAuthOptions } from "./auth.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "./codec.ts";
import { HandleTableExtract } from "./handle_table.ts";
import type {
  EnrpHandleTableResponse,
  EnrpHandleUpdate,
  EnrpMessage,
  EnrpPresence,
} from "./messages.ts";

/** Payload protocol identifier of ENRP. */
export const ENRP_PPID = 12;

const logger = getLogger(["rserpool", "enrp"]);

/**
 * Timers and limits of ENRP, in milliseconds. Defaults are RSPLIB's.
 *
 * @example
 * ```ts
 * import type { EnrpTuning } from "@rserpool/rserpool/enrp";
 * const fast: EnrpTuning = { heartbeatCycle: 500, maxTimeLastHeard: 1000 };
 * ```
 */
export interface EnrpTuning {
  /** Interval of PRESENCE to every peer (PEER-HEARTBEAT-CYCLE, default 2444, +-12.5 %). */
  heartbeatCycle?: number;
  /** A peer not heard for this long is asked for a PRESENCE (default 5000). */
  maxTimeLastHeard?: number;
  /** A peer that then stays silent this long is taken over (default 5000). */
  maxTimeNoResponse?: number;
  /** A takeover without every INIT_TAKEOVER_ACK after this long is abandoned (default 5000). */
  takeoverExpiry?: number;
  /**
   * Start-up: the first peer heard becomes the mentor; with none heard within this time the
   * registrar starts alone (default 5000, RSPLIB's mentor discovery timeout).
   */
  mentorHuntTimeout?: number;
  /** Time a peer has to answer a request (T1-ENRPrequest, default 3000). */
  requestTimeout?: number;
  /** Most PEs in one HANDLE_TABLE_RESPONSE (default 128). */
  maxElementsPerHandleTableResponse?: number;
  /** Most peers in the peer table (default 64). */
  maxPeers?: number;
  /** Most PEs a peer may own in this handlespace (default 1,000,000). */
  maxPoolElementsPerPeer?: number;
}

/**
 * What the ENRP server needs from the registrar that runs it.
 *
 * @example
 * ```ts ignore
 * import type { EnrpHost } from "@rserpool/rserpool/enrp";
 * const host: EnrpHost = {
 *   connect: (address) => openAssociation(address, { framing: "rserpool", ppid: 12 }),
 *   ready: () => console.log("synchronised"),
 *   tookOver: (target, entries) => console.log(target, entries.length),
 *   lostOwnership: () => {},
 * };
 * ```
 */
export interface EnrpHost {
  /** Opens an association to a peer's ENRP endpoint; `signal` gives the attempt up. */
  connect(address: EndpointAddress, signal: AbortSignal): Promise<Association>;
  /** Start-up is over (synchronised from a mentor, or alone). */
  ready(): void;
  /** This registrar took over `target`: `entries` are now its own PEs. */
  tookOver(target: number, entries: PoolElementEntry<unknown>[]): void;
  /** A PE this registrar owned is now owned by a peer (it registered there). */
  lostOwnership(entry: PoolElementEntry<unknown>): void;
  /**
   * Whether this registrar supervises one of its PEs over a live association: then a peer's
   * claim to it is refused (after a partition, both sides may claim the same PEs; the one the
   * PE talks to keeps it).
   */
  supervises(entry: PoolElementEntry<unknown>): boolean;
  /** Multicasts a PRESENCE (every heartbeat cycle), when the registrar announces. */
  announce?(bytes: Uint8Array): void;
}

/**
 * Options of an {@linkcode EnrpServer}.
 *
 * @example
 * ```ts ignore
 * import type { EnrpServerOptions } from "@rserpool/rserpool/enrp";
 * const options: EnrpServerOptions = {
 *   serverId: 0x1234,
 *   handlespace,
 *   host,
 *   endpoints: [{ protocol: "sctp", hostname: "127.0.0.1", port: 9901 }],
 *   peers: [{ protocol: "sctp", hostname: "127.0.0.1", port: 9902 }],
 * };
 * ```
 */
export interface EnrpServerOptions extends EnrpTuning {
  /** This registrar's server ID. */
  serverId: number;
  /** The registrar's handlespace. */
  handlespace: Handlespace<unknown>;
  /** The registrar. */
  host: EnrpHost;
  /** This registrar's ENRP endpoints (the first goes into its Server Information). */
  endpoints: EndpointAddress[];
  /** Peers to contact at start-up and whenever no association to them is up. */
  peers?: EndpointAddress[];
  /** Clock in ms (default `Date.now`). */
  clock?: () => number;
  /** Random fraction in [0, 1) for the heartbeat jitter (default `Math.random`). */
  random?: () => number;
  /**
   * Peer authentication (off by default, as in RSPLIB): every message sent is signed with the
   * secret, and messages without a valid, fresh, not yet seen signature are dropped (see
   * {@linkcode EnrpAuthenticator}).
   */
  auth?: EnrpAuthOptions;
}

/**
 * A peer as the peer table holds it.
 *
 * @example
 * ```ts
 * import type { EnrpPeerInfo } from "@rserpool/rserpool/enrp";
 * const describe = (p: EnrpPeerInfo) => `${p.serverId.toString(16)}: ${p.ownedPoolElements} PEs`;
 * ```
 */
export interface EnrpPeerInfo {
  /** The peer's server ID. */
  serverId: number;
  /** Its ENRP endpoint, when known. */
  address?: EndpointAddress;
  /** When it was last heard from (ms, the server's clock). */
  lastHeard: number;
  /** The PE checksum it announced last (of the PEs it owns). */
  announcedChecksum?: number;
  /** The PE checksum of the PEs this registrar holds for it. */
  checksum: number;
  /** PEs it owns in this registrar's handlespace. */
  ownedPoolElements: number;
  /** Associations up with it. */
  associations: number;
  /** `up`, `probing` (asked for a PRESENCE, no answer yet) or `taking-over`. */
  state: "up" | "probing" | "taking-over";
}

/**
 * Counters of an ENRP server.
 *
 * @example
 * ```ts
 * import type { EnrpStats } from "@rserpool/rserpool/enrp";
 * const ok = (s: EnrpStats) => s.malformed === 0;
 * ```
 */
export interface EnrpStats {
  /** ENRP messages received. */
  received: number;
  /** Messages that did not decode. */
  malformed: number;
  /** Messages from a server not in the peer table (answered with an ERROR). */
  fromUnknown: number;
  /** HANDLE_UPDATEs applied. */
  updatesApplied: number;
  /** HANDLE_UPDATEs and table entries refused (conflict, inconsistency, limits). */
  updatesRejected: number;
  /** HANDLE_UPDATEs sent. */
  updatesSent: number;
  /** Audits started after a checksum mismatch. */
  audits: number;
  /** Takeovers completed by this registrar. */
  takeovers: number;
  /** Takeovers abandoned. */
  takeoversAbandoned: number;
  /** Messages dropped for a missing, wrong or stale signature (with authentication on). */
  unauthenticated: number;
  /** Messages dropped because their signature had been seen before: replays. */
  replayed: number;
}

interface Link {
  association: Association;
  peer?: PeerState;
  /** Where it was opened to (outgoing links). */
  address?: EndpointAddress;
  errors: TokenBucket;
}

interface PeerState {
  serverId: number;
  address?: EndpointAddress;
  links: Set<Link>;
  lastHeard: number;
  announcedChecksum?: number;
  probeSince?: number;
  connecting: boolean;
  queue: EnrpMessage[];
  /** Handle table being sent to it, part by part. */
  extract?: { table: HandleTableExtract; ownOnly: boolean; touched: number };
  /** Audit of its PEs in progress (W request sent): the PEs seen so far. */
  audit?: { seen: Set<string>; sentAt: number };
  /** Another registrar is taking it over. */
  takenOverBy?: number;
}

interface Takeover {
  target: number;
  pending: Set<number>;
  started: number;
}

const MAX_QUEUE = 4096;

function keyOf(poolHandle: Uint8Array, identifier: number): string {
  let s = `${identifier}:`;
  for (const b of poolHandle) s += b.toString(16).padStart(2, "0");
  return s;
}

function sameTransport(a: TransportParameter, b: TransportParameter): boolean {
  return a.protocol === b.protocol && a.port === b.port &&
    a.addresses.length === b.addresses.length && a.addresses.every((x, i) => x === b.addresses[i]);
}

function hex(id: number): string {
  return (id >>> 0).toString(16).padStart(8, "0");
}

/**
 * The ENRP protocol engine of a registrar.
 *
 * @example
 * ```ts ignore
 * import { EnrpServer } from "@rserpool/rserpool/enrp";
 * const enrp = new EnrpServer({ serverId, handlespace, host, endpoints, peers });
 * enrp.start();
 * for await (const a of enrpListener) enrp.serve(a);
 * ```
 */
export class EnrpServer {
  /** This registrar's server ID. */
  readonly serverId: number;
  /** Counters. */
  readonly stats: EnrpStats = {
    received: 0,
    malformed: 0,
    fromUnknown: 0,
    updatesApplied: 0,
    updatesRejected: 0,
    updatesSent: 0,
    audits: 0,
    takeovers: 0,
    takeoversAbandoned: 0,
    unauthenticated: 0,
    replayed: 0,
  };
  #hs: Handlespace<unknown>;
  #host: EnrpHost;
  #endpoints: EndpointAddress[];
  #static: EndpointAddress[];
  #clock: () => number;
  #random: () => number;
  #t: Required<EnrpTuning>;
  #peers = new Map<number, PeerState>();
  #links = new Map<Association, Link>();
  /** Static peers whose server ID is not known yet, with their pending connect. */
  #candidates = new Map<string, { address: EndpointAddress; link?: Link; connecting: boolean }>();
  #takeovers = new Map<number, Takeover>();
  #state: "hunting" | "synchronizing" | "ready" | "closed" = "hunting";
  #mentor?: { peer: PeerState; sentAt: number };
  #heartbeatTimer?: ReturnType<typeof setTimeout>;
  #checkTimer?: ReturnType<typeof setInterval>;
  #huntTimer?: ReturnType<typeof setTimeout>;
  #tasks = new Set<Promise<void>>();
  #stop = new AbortController();
  #auth: EnrpAuthenticator | undefined;
  /** Refusals not logged yet, and when a refusal was logged last (one line per 10 s). */
  #refusals = { count: 0, loggedAt: -Infinity };

  /** Creates the server; {@linkcode EnrpServer.start} starts it. */
  constructor(options: EnrpServerOptions) {
    this.serverId = options.serverId;
    this.#hs = options.handlespace;
    this.#host = options.host;
    this.#endpoints = options.endpoints;
    this.#static = options.peers ?? [];
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    if (options.auth !== undefined) this.#auth = new EnrpAuthenticator(options.auth, this.#clock);
    this.#t = {
      heartbeatCycle: options.heartbeatCycle ?? 2444,
      maxTimeLastHeard: options.maxTimeLastHeard ?? 5000,
      maxTimeNoResponse: options.maxTimeNoResponse ?? 5000,
      takeoverExpiry: options.takeoverExpiry ?? 5000,
      mentorHuntTimeout: options.mentorHuntTimeout ?? 5000,
      requestTimeout: options.requestTimeout ?? 3000,
      maxElementsPerHandleTableResponse: options.maxElementsPerHandleTableResponse ?? 128,
      maxPeers: options.maxPeers ?? 64,
      maxPoolElementsPerPeer: options.maxPoolElementsPerPeer ?? 1_000_000,
    };
  }

  /** Whether start-up is over. */
  get ready(): boolean {
    return this.#state === "ready";
  }

  /** The peer table. */
  get peers(): EnrpPeerInfo[] {
    return [...this.#peers.values()].map((p) => ({
      serverId: p.serverId,
      address: p.address,
      lastHeard: p.lastHeard,
      announcedChecksum: p.announcedChecksum,
      checksum: this.#hs.ownerChecksum(p.serverId),
      ownedPoolElements: this.#hs.ownerSize(p.serverId),
      associations: [...p.links].filter((l) => !l.association.closed).length,
      state: this.#takeovers.has(p.serverId)
        ? "taking-over"
        : p.probeSince !== undefined
        ? "probing"
        : "up",
    }));
  }

  /** Contacts the static peers, starts the timers and the hunt for a mentor. */
  start(): void {
    for (const address of this.#static) {
      const key = addressKey(address);
      this.#candidates.set(key, { address, connecting: false });
    }
    this.#contactCandidates();
    this.#huntTimer = setTimeout(() => {
      if (this.#state === "hunting") this.#becomeReady("no mentor heard: starting alone");
    }, this.#t.mentorHuntTimeout);
    this.#scheduleHeartbeat();
    const check = Math.max(20, Math.min(250, this.#t.maxTimeLastHeard / 10));
    this.#checkTimer = setInterval(() => this.#check(), check);
  }

  /** Stops the timers and aborts every ENRP association. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#huntTimer);
    clearInterval(this.#checkTimer);
    this.#stop.abort();
    for (const link of this.#links.values()) link.association.abort("Registrar shutting down");
    await Promise.allSettled([...this.#tasks]);
  }

  /** Serves an ENRP association (accepted by the registrar, or opened by this server). */
  serve(association: Association, address?: EndpointAddress): void {
    this.#serve(association, address);
  }

  #serve(association: Association, address?: EndpointAddress): Link {
    const link: Link = {
      association,
      address,
      errors: new TokenBucket({ rate: 10, burst: 20 }, this.#clock),
    };
    this.#links.set(association, link);
    const task = (async () => {
      try {
        for await (const m of association) {
          if (m.ppid !== ENRP_PPID) continue;
          this.#onBytes(link, m.data);
        }
      } catch (e) {
        logger.debug("ENRP association ended: {error}", { error: String(e) });
      } finally {
        this.#links.delete(association);
        link.peer?.links.delete(link);
      }
    })();
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
    return link;
  }

  /**
   * Handles a PRESENCE received by multicast (ENRP announce): a way to learn peers. `from` is
   * the datagram's source address, used when the Server Information names a wildcard address.
   */
  receiveAnnounce(bytes: Uint8Array, from: string): void {
    const opened = this.#open(bytes, from);
    if (opened === undefined) return;
    let message: EnrpMessage;
    try {
      message = decodeEnrpMessage(opened);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (message.type !== "presence" || message.senderId === this.serverId) return;
    this.#onPresence(undefined, message, from);
  }

  /** The PRESENCE that is multicast every heartbeat cycle. */
  presence(replyRequired = false, receiverId = 0): Uint8Array {
    const bytes = encodeEnrpMessage(this.#presenceMessage(replyRequired, receiverId));
    return this.#auth === undefined ? bytes : this.#auth.sign(bytes);
  }

  /**
   * A received message as it is to be decoded: with authentication on, without its signature,
   * or undefined when that is missing, wrong, stale or replayed (counted and logged).
   */
  #open(bytes: Uint8Array, from: string | undefined): Uint8Array | undefined {
    if (this.#auth === undefined) return bytes;
    const result = this.#auth.open(bytes);
    if (result.ok) return result.message;
    if (result.why === "replayed") this.stats.replayed++;
    else this.stats.unauthenticated++;
    this.#logRefusal(result.why, bytes, from);
    return undefined;
  }

  #logRefusal(why: EnrpAuthFailure, bytes: Uint8Array, from: string | undefined): void {
    this.#refusals.count++;
    const now = this.#clock();
    if (now - this.#refusals.loggedAt < 10_000) return;
    const sender = bytes.length >= 8
      ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4)
      : 0;
    logger.warn(
      "ENRP message type {type} claiming to be from {id} ({from}) dropped: signature {why} " +
        "({count} dropped since the last such line)",
      {
        type: bytes[0],
        id: hex(sender),
        from: from ?? "?",
        why,
        count: this.#refusals.count,
      },
    );
    this.#refusals = { count: 0, loggedAt: now };
  }

  /** Tells every peer about a registration (new or updated) of one of this registrar's PEs. */
  localAdd(poolHandle: Uint8Array, poolElement: PoolElementParameter): void {
    this.#updateAll("add", poolHandle, poolElement);
  }

  /** Tells every peer that one of this registrar's PEs left. */
  localDelete(poolHandle: Uint8Array, poolElement: PoolElementParameter): void {
    this.#updateAll("delete", poolHandle, poolElement);
  }

  // ------------------------------------------------------------------ sending

  #updateAll(action: "add" | "delete", poolHandle: Uint8Array, pe: PoolElementParameter): void {
    if (this.#state === "closed") return;
    for (const peer of this.#peers.values()) {
      if (this.#takeovers.has(peer.serverId)) continue;
      this.stats.updatesSent++;
      this.#sendTo(peer, {
        type: "handle-update",
        senderId: this.serverId,
        receiverId: peer.serverId,
        takeoverSuggested: false,
        action,
        poolHandle,
        poolElement: pe,
      });
    }
  }

  #presenceMessage(replyRequired: boolean, receiverId: number): EnrpPresence {
    return {
      type: "presence",
      senderId: this.serverId,
      receiverId,
      replyRequired,
      checksum: this.#hs.ownerChecksum(this.serverId),
      serverInfo: this.#serverInfo(),
    };
  }

  #serverInfo(): ServerInformation | undefined {
    const e = this.#endpoints.find((x) => x.protocol === "sctp") ?? this.#endpoints[0];
    if (e === undefined) return undefined;
    return {
      serverId: this.serverId,
      transport: e.protocol === "sctp"
        ? { protocol: "sctp", port: e.port, transportUse: "data", addresses: [e.hostname] }
        : { protocol: "tcp", port: e.port, transportUse: "data", addresses: [e.hostname] },
    };
  }

  #sendOn(link: Link, message: EnrpMessage): boolean {
    if (link.association.closed) return false;
    let bytes: Uint8Array;
    try {
      bytes = encodeEnrpMessage(message);
    } catch (e) {
      logger.error("Could not encode ENRP {type}: {error}", {
        type: message.type,
        error: String(e),
      });
      return true;
    }
    if (this.#auth !== undefined) bytes = this.#auth.sign(bytes);
    link.association.send(bytes, { ppid: ENRP_PPID, transfer: true }).catch(() => {});
    return true;
  }

  #sendTo(peer: PeerState, message: EnrpMessage): void {
    for (const link of peer.links) if (this.#sendOn(link, message)) return;
    if (peer.queue.length >= MAX_QUEUE) peer.queue.shift();
    peer.queue.push(message);
    this.#connect(peer);
  }

  #connect(peer: PeerState): void {
    if (peer.connecting || peer.address === undefined || this.#state === "closed") return;
    peer.connecting = true;
    const address = peer.address;
    const task = this.#host.connect(address, this.#stop.signal).then((association) => {
      peer.connecting = false;
      if (this.#state === "closed" || this.#peers.get(peer.serverId) !== peer) {
        association.abort("Not needed");
        return;
      }
      const link = this.#serve(association, address);
      this.#bind(link, peer);
      this.#sendOn(link, this.#presenceMessage(false, peer.serverId));
      for (const m of peer.queue.splice(0)) this.#sendOn(link, m);
    }, (e) => {
      peer.connecting = false;
      logger.debug("Could not reach peer {id} at {address}: {error}", {
        id: hex(peer.serverId),
        address: `${address.hostname}:${address.port}`,
        error: String(e),
      });
    });
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #contactCandidates(): void {
    for (const c of this.#candidates.values()) {
      if (c.connecting || (c.link !== undefined && !c.link.association.closed)) continue;
      // The peer may have come to us first: one association per peer is enough (a second
      // one to the same address and port collides with the first).
      if (this.#linkedTo(c.address)) continue;
      c.connecting = true;
      const task = this.#host.connect(c.address, this.#stop.signal).then((association) => {
        c.connecting = false;
        if (this.#state === "closed") {
          association.abort("Registrar shutting down");
          return;
        }
        c.link = this.#serve(association, c.address);
        this.#sendOn(c.link, this.#presenceMessage(true, 0));
      }, (e) => {
        c.connecting = false;
        logger.debug("Peer {address} did not answer: {error}", {
          address: `${c.address.hostname}:${c.address.port}`,
          error: String(e),
        });
      });
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  #linkedTo(address: EndpointAddress): boolean {
    for (const l of this.#links.values()) {
      if (l.association.closed) continue;
      for (const a of l.association.remoteAddresses) {
        if (a.hostname === address.hostname && a.port === address.port) return true;
      }
    }
    return false;
  }

  #bind(link: Link, peer: PeerState): void {
    if (link.peer === peer) return;
    link.peer?.links.delete(link);
    link.peer = peer;
    peer.links.add(link);
    if (peer.address === undefined && link.address !== undefined) peer.address = link.address;
  }

  #error(link: Link, receiverId: number, causes: OperationErrorCause[]): void {
    if (!link.errors.take()) return;
    this.#sendOn(link, { type: "error", senderId: this.serverId, receiverId, error: causes });
  }

  // ------------------------------------------------------------------ receiving

  #onBytes(link: Link, received: Uint8Array): void {
    this.stats.received++;
    const bytes = this.#open(received, link.association.remoteAddresses[0]?.hostname);
    if (bytes === undefined) {
      // RFC 5353 has no cause of its own for it: Rejection due to security considerations (the
      // one RFC 5354 gives). Never for an ERROR: two registrars with different secrets would
      // answer each other's refusals for ever.
      if (received[0] !== 0x0a) {
        this.#error(link, 0, [{ code: ErrorCause.RejectedForSecurity, info: new Uint8Array() }]);
      }
      return;
    }
    let message: EnrpMessage;
    try {
      message = decodeEnrpMessage(bytes);
    } catch (e) {
      this.stats.malformed++;
      if (!(e instanceof WireError)) throw e;
      logger.debug("Malformed ENRP message: {error}", { error: e.message });
      if (!e.silent) {
        this.#error(link, 0, [{ code: e.errorCause, info: e.data ?? new Uint8Array() }]);
      }
      return;
    }
    if (message.senderId === this.serverId) return;
    if (message.receiverId !== 0 && message.receiverId !== this.serverId) {
      logger.debug("ENRP {type} for {to} ignored", {
        type: message.type,
        to: hex(message.receiverId),
      });
      return;
    }
    if (message.type === "presence") {
      this.#onPresence(link, message, link.association.remoteAddresses[0]?.hostname);
      return;
    }
    const peer = this.#peers.get(message.senderId);
    if (peer === undefined && message.type === "handle-table-request") {
      this.stats.fromUnknown++;
      this.#sendOn(link, {
        type: "handle-table-response",
        senderId: this.serverId,
        receiverId: message.senderId,
        rejected: true,
        more: false,
        pools: [],
      });
      return;
    }
    if (peer === undefined) {
      this.stats.fromUnknown++;
      logger.warn("ENRP {type} from {id}, which is not a peer: rejected", {
        type: message.type,
        id: hex(message.senderId),
      });
      this.#error(link, message.senderId, [{
        code: ErrorCause.RejectedForSecurity,
        info: new Uint8Array(),
      }]);
      return;
    }
    this.#bind(link, peer);
    peer.lastHeard = this.#clock();
    switch (message.type) {
      case "handle-update":
        this.#onHandleUpdate(link, peer, message);
        break;
      case "handle-table-request":
        this.#onHandleTableRequest(peer, message.ownChildrenOnly);
        break;
      case "handle-table-response":
        this.#onHandleTableResponse(link, peer, message);
        break;
      case "list-request":
        this.#sendTo(peer, {
          type: "list-response",
          senderId: this.serverId,
          receiverId: peer.serverId,
          rejected: false,
          servers: this.#serverList(peer.serverId),
        });
        break;
      case "list-response":
        if (!message.rejected) {
          for (const s of message.servers) {
            if (this.#peers.has(s.serverId)) continue;
            const learned = this.#learn(s, undefined);
            if (learned !== undefined) {
              this.#sendTo(learned, this.#presenceMessage(true, learned.serverId));
            }
          }
        }
        break;
      case "init-takeover":
        this.#onInitTakeover(peer, message.targetId);
        break;
      case "init-takeover-ack":
        this.#onInitTakeoverAck(peer, message.targetId);
        break;
      case "takeover-server":
        this.#onTakeoverServer(peer, message.targetId);
        break;
      case "error":
        logger.warn("ENRP ERROR from {id}: causes {causes}", {
          id: hex(peer.serverId),
          causes: message.error.map((c) => `0x${c.code.toString(16)}`).join(", "),
        });
        break;
    }
  }

  #serverList(except: number): ServerInformation[] {
    const out: ServerInformation[] = [];
    const own = this.#serverInfo();
    if (own !== undefined) out.push(own);
    for (const p of this.#peers.values()) {
      if (p.serverId === except || p.address === undefined || this.#takeovers.has(p.serverId)) {
        continue;
      }
      out.push({
        serverId: p.serverId,
        transport: {
          protocol: p.address.protocol,
          port: p.address.port,
          transportUse: "data",
          addresses: [p.address.hostname],
        },
      });
    }
    return out;
  }

  /** A server learned from a PRESENCE or a LIST_RESPONSE; undefined when over the limit. */
  #learn(info: ServerInformation, from: string | undefined): PeerState | undefined {
    if (info.serverId === this.serverId || info.serverId === 0) return undefined;
    let peer = this.#peers.get(info.serverId);
    const t = info.transport;
    let address: EndpointAddress | undefined;
    if ((t.protocol === "sctp" || t.protocol === "tcp") && t.addresses.length > 0) {
      let hostname = t.addresses[0];
      if ((hostname === "0.0.0.0" || hostname === "::") && from !== undefined) hostname = from;
      address = { protocol: t.protocol, hostname, port: t.port };
    }
    if (peer === undefined) {
      if (this.#peers.size >= this.#t.maxPeers) {
        logger.warn("Peer table full: {id} not added", { id: hex(info.serverId) });
        return undefined;
      }
      peer = {
        serverId: info.serverId,
        address,
        links: new Set(),
        lastHeard: this.#clock(),
        connecting: false,
        queue: [],
      };
      this.#peers.set(info.serverId, peer);
      logger.info("ENRP peer {id} at {address}", {
        id: hex(info.serverId),
        address: address === undefined ? "?" : `${address.hostname}:${address.port}`,
      });
    } else if (peer.address === undefined && address !== undefined) {
      peer.address = address;
    }
    return peer;
  }

  #onPresence(link: Link | undefined, message: EnrpPresence, from: string | undefined): void {
    let peer = this.#peers.get(message.senderId);
    const isNew = peer === undefined;
    if (peer === undefined) {
      const info = message.serverInfo ?? (link?.address === undefined ? undefined : {
        serverId: message.senderId,
        transport: {
          protocol: link.address.protocol,
          port: link.address.port,
          transportUse: "data" as const,
          addresses: [link.address.hostname],
        },
      });
      if (info === undefined || info.serverId !== message.senderId) {
        // A peer that connected to us without saying where it listens: reachable over this
        // association only.
        if (link === undefined) return;
        peer = this.#learn({
          serverId: message.senderId,
          transport: { protocol: "sctp", port: 0, transportUse: "data", addresses: [] },
        }, from);
      } else {
        peer = this.#learn(info, from);
      }
      if (peer === undefined) {
        if (link !== undefined) {
          this.#error(link, message.senderId, [{
            code: ErrorCause.LackOfResources,
            info: new Uint8Array(),
          }]);
        }
        return;
      }
    }
    if (link !== undefined) this.#bind(link, peer);
    peer.lastHeard = this.#clock();
    peer.probeSince = undefined;
    peer.announcedChecksum = message.checksum;
    if (this.#takeovers.has(peer.serverId)) {
      // It is alive after all.
      this.#takeovers.delete(peer.serverId);
      logger.info("Takeover of {id} called off: it answered", { id: hex(peer.serverId) });
    }
    peer.takenOverBy = undefined;
    if (message.replyRequired || isNew) {
      // A new peer is asked for a PRESENCE of its own (RSPLIB does so): it learns us too.
      this.#sendTo(peer, this.#presenceMessage(isNew && !message.replyRequired, peer.serverId));
    }
    if (this.#state === "hunting") this.#chooseMentor(peer);
    this.#audit(peer);
  }

  /** Compares a peer's announced checksum with ours for it; asks for its PEs on a mismatch. */
  #audit(peer: PeerState): void {
    if (this.#state !== "ready" || peer.announcedChecksum === undefined) return;
    if (peer.audit !== undefined) {
      if (this.#clock() - peer.audit.sentAt < this.#t.requestTimeout) return;
      peer.audit = undefined; // no answer: ask again
    }
    if (peer.announcedChecksum === this.#hs.ownerChecksum(peer.serverId)) return;
    this.stats.audits++;
    logger.info("Checksum of {id} differs (announced {a}, held {b}): asking for its PEs", {
      id: hex(peer.serverId),
      a: peer.announcedChecksum.toString(16),
      b: this.#hs.ownerChecksum(peer.serverId).toString(16),
    });
    peer.audit = { seen: new Set(), sentAt: this.#clock() };
    this.#sendTo(peer, {
      type: "handle-table-request",
      senderId: this.serverId,
      receiverId: peer.serverId,
      ownChildrenOnly: true,
    });
  }

  #onHandleTableRequest(peer: PeerState, ownOnly: boolean): void {
    const now = this.#clock();
    let extract = peer.extract;
    if (
      extract === undefined || extract.ownOnly !== ownOnly || extract.table.remaining === 0 ||
      now - extract.touched > 10 * this.#t.requestTimeout
    ) {
      const table = HandleTableExtract.of(this.#hs, ownOnly ? this.serverId : undefined);
      extract = { table, ownOnly, touched: now };
      peer.extract = extract;
    }
    extract.touched = now;
    const part = extract.table.next(this.#t.maxElementsPerHandleTableResponse);
    if (!part.more) peer.extract = undefined;
    this.#sendTo(peer, {
      type: "handle-table-response",
      senderId: this.serverId,
      receiverId: peer.serverId,
      rejected: false,
      more: part.more,
      pools: part.pools,
    });
  }

  #onHandleTableResponse(link: Link, peer: PeerState, message: EnrpHandleTableResponse): void {
    const mentor = this.#mentor?.peer === peer && this.#state === "synchronizing";
    const audit = peer.audit;
    if (!mentor && audit === undefined) {
      logger.debug("Unasked HANDLE_TABLE_RESPONSE from {id} ignored", { id: hex(peer.serverId) });
      return;
    }
    if (message.rejected) {
      logger.warn("Peer {id} rejected our HANDLE_TABLE_REQUEST", { id: hex(peer.serverId) });
      if (mentor) this.#mentorFailed();
      else peer.audit = undefined;
      return;
    }
    const causes: OperationErrorCause[] = [];
    for (const pool of message.pools) {
      for (const pe of pool.poolElements) {
        // From the mentor, every PE with its own home; in an audit, only the peer's own PEs.
        const owner = mentor ? pe.homeRegistrarId : peer.serverId;
        if (owner === this.serverId) continue;
        if (!mentor && pe.homeRegistrarId !== peer.serverId) {
          this.stats.updatesRejected++;
          continue;
        }
        const cause = this.#apply(owner, pool.poolHandle, pe);
        if (cause !== undefined) causes.push({ code: cause, info: new Uint8Array() });
        else audit?.seen.add(keyOf(pool.poolHandle, pe.identifier));
      }
    }
    if (causes.length > 0) this.#error(link, peer.serverId, causes.slice(0, 8));
    if (mentor) this.#mentor!.sentAt = this.#clock();
    if (audit !== undefined) audit.sentAt = this.#clock();
    if (message.more) {
      this.#sendTo(peer, {
        type: "handle-table-request",
        senderId: this.serverId,
        receiverId: peer.serverId,
        ownChildrenOnly: !mentor,
      });
      return;
    }
    if (mentor) {
      this.#becomeReady(`synchronised from mentor ${hex(peer.serverId)}`);
    } else if (audit !== undefined) {
      // What the peer no longer owns goes.
      let removed = 0;
      for (const e of [...this.#hs.poolElementsOfOwner(peer.serverId)]) {
        if (!audit.seen.has(keyOf(e.poolHandle, e.poolElement.identifier))) {
          this.#hs.deregisterPoolElement(e.poolHandle, e.poolElement.identifier);
          removed++;
        }
      }
      peer.audit = undefined;
      logger.info("Audit of {id}: {n} PEs held, {removed} removed", {
        id: hex(peer.serverId),
        n: audit.seen.size,
        removed,
      });
    }
  }

  #onHandleUpdate(link: Link, peer: PeerState, message: EnrpHandleUpdate): void {
    const { poolHandle, poolElement } = message;
    if (message.action === "delete") {
      const entry = this.#hs.getPoolElement(poolHandle, poolElement.identifier);
      if (entry !== undefined && entry.owner === peer.serverId) {
        this.#hs.deregisterPoolElement(poolHandle, poolElement.identifier);
        this.stats.updatesApplied++;
      }
      return;
    }
    if (poolElement.homeRegistrarId !== peer.serverId) {
      this.stats.updatesRejected++;
      logger.warn("HANDLE_UPDATE from {id} for PE {pe} whose home is {home}: rejected", {
        id: hex(peer.serverId),
        pe: hex(poolElement.identifier),
        home: hex(poolElement.homeRegistrarId),
      });
      this.#error(link, peer.serverId, [{
        code: ErrorCause.InvalidValues,
        info: new Uint8Array(),
      }]);
      return;
    }
    const cause = this.#apply(peer.serverId, poolHandle, poolElement);
    if (cause !== undefined) {
      this.#error(link, peer.serverId, [{ code: cause, info: new Uint8Array() }]);
    }
  }

  /**
   * Puts a peer's PE into the handlespace, through the same checks as a local registration.
   * Returns the RFC error cause when it is refused.
   */
  #apply(owner: number, poolHandle: Uint8Array, pe: PoolElementParameter): number | undefined {
    const existing = this.#hs.getPoolElement(poolHandle, pe.identifier);
    if (
      existing !== undefined && existing.owner === this.serverId && owner !== this.serverId &&
      this.#host.supervises(existing)
    ) {
      this.stats.updatesRejected++;
      logger.warn("PE {pe} of {pool} claimed by {claimer}, but it is ours and answers: refused", {
        pe: hex(pe.identifier),
        pool: new TextDecoder().decode(poolHandle),
        claimer: hex(owner),
      });
      return ErrorCause.NonUniquePeIdentifier;
    }
    if (existing !== undefined && existing.owner !== owner) {
      const current = this.#peers.get(existing.owner);
      const alive = existing.owner === this.serverId ||
        (current !== undefined && current.probeSince === undefined &&
          !this.#takeovers.has(existing.owner) && current.takenOverBy === undefined);
      if (
        alive && !sameTransport(existing.poolElement.userTransport, pe.userTransport)
      ) {
        // Another live registrar's PE claimed with another address: not the same PE moving.
        this.stats.updatesRejected++;
        logger.warn(
          "PE {pe} of {pool} claimed by {claimer} but owned by live {owner} at another address: rejected",
          {
            pe: hex(pe.identifier),
            pool: new TextDecoder().decode(poolHandle),
            claimer: hex(owner),
            owner: hex(existing.owner),
          },
        );
        return ErrorCause.NonUniquePeIdentifier;
      }
      // The PE moved its home (it registered at the peer): it is the peer's now.
      this.#hs.deregisterPoolElement(poolHandle, pe.identifier);
      if (existing.owner === this.serverId) this.#host.lostOwnership(existing);
    } else if (
      existing === undefined && this.#hs.ownerSize(owner) >= this.#t.maxPoolElementsPerPeer
    ) {
      this.stats.updatesRejected++;
      return ErrorCause.LackOfResources;
    }
    try {
      this.#hs.registerPoolElement(poolHandle, pe, { expiresAt: Infinity });
      this.stats.updatesApplied++;
      return undefined;
    } catch (e) {
      if (!(e instanceof HandlespaceError)) throw e;
      this.stats.updatesRejected++;
      logger.warn("PE {pe} of {pool} from {owner} refused: {reason}", {
        pe: hex(pe.identifier),
        pool: new TextDecoder().decode(poolHandle),
        owner: hex(owner),
        reason: e.message,
      });
      return e.errorCause;
    }
  }

  // ------------------------------------------------------------------ start-up

  /** Start-up: `peer` (heard just now) becomes the mentor. */
  #chooseMentor(peer: PeerState): void {
    if (this.#state !== "hunting") return;
    this.#state = "synchronizing";
    this.#mentor = { peer, sentAt: this.#clock() };
    logger.info("Mentor {id}: asking for its peer list and handle table", {
      id: hex(peer.serverId),
    });
    this.#sendTo(peer, {
      type: "list-request",
      senderId: this.serverId,
      receiverId: peer.serverId,
    });
    this.#sendTo(peer, {
      type: "handle-table-request",
      senderId: this.serverId,
      receiverId: peer.serverId,
      ownChildrenOnly: false,
    });
  }

  #mentorFailed(): void {
    const failed = this.#mentor?.peer;
    this.#mentor = undefined;
    this.#state = "hunting";
    logger.warn("Mentor {id} did not answer in time", { id: hex(failed?.serverId ?? 0) });
    if (failed !== undefined) failed.probeSince ??= this.#clock();
    // Another peer heard and up becomes the mentor; none: alone.
    const next = [...this.#peers.values()].find((p) =>
      p !== failed && p.links.size > 0 && p.probeSince === undefined
    );
    if (next !== undefined) this.#chooseMentor(next);
    else this.#becomeReady("mentor failed and no other peer: starting alone");
  }

  #becomeReady(why: string): void {
    if (this.#state === "ready" || this.#state === "closed") return;
    this.#state = "ready";
    this.#mentor = undefined;
    logger.info("ENRP ready: {why}", { why });
    this.#host.ready();
    for (const p of this.#peers.values()) this.#audit(p);
  }

  // ------------------------------------------------------------------ timers

  #scheduleHeartbeat(): void {
    if (this.#state === "closed") return;
    const jitter = 1 + (this.#random() - 0.5) * 0.25;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeat();
      this.#scheduleHeartbeat();
    }, this.#t.heartbeatCycle * jitter);
  }

  #heartbeat(): void {
    this.#host.announce?.(this.presence());
    for (const peer of this.#peers.values()) {
      if (this.#takeovers.has(peer.serverId) || peer.takenOverBy !== undefined) continue;
      this.#sendTo(peer, this.#presenceMessage(false, peer.serverId));
    }
    this.#contactCandidates();
  }

  #check(): void {
    if (this.#state === "closed") return;
    const now = this.#clock();
    if (
      this.#state === "synchronizing" && this.#mentor !== undefined &&
      now - this.#mentor.sentAt > this.#t.requestTimeout
    ) {
      this.#mentorFailed();
    }
    for (const peer of [...this.#peers.values()]) {
      if (peer.takenOverBy !== undefined) {
        if (now - peer.lastHeard > this.#t.maxTimeLastHeard + 2 * this.#t.takeoverExpiry) {
          // The takeover we acknowledged never finished: look at the peer ourselves again.
          peer.takenOverBy = undefined;
        }
        continue;
      }
      const takeover = this.#takeovers.get(peer.serverId);
      if (takeover !== undefined) {
        if (now - takeover.started > this.#t.takeoverExpiry) {
          this.#takeovers.delete(peer.serverId);
          this.stats.takeoversAbandoned++;
          peer.probeSince = now; // try again after another max-time-no-response
          logger.warn("Takeover of {id} abandoned: not acknowledged by {pending}", {
            id: hex(peer.serverId),
            pending: [...takeover.pending].map(hex).join(", "),
          });
        }
        continue;
      }
      if (peer.probeSince !== undefined) {
        if (now - peer.probeSince > this.#t.maxTimeNoResponse) this.#peerFailed(peer);
      } else if (now - peer.lastHeard > this.#t.maxTimeLastHeard) {
        peer.probeSince = now;
        logger.info("Peer {id} not heard for {ms} ms: asking for a PRESENCE", {
          id: hex(peer.serverId),
          ms: now - peer.lastHeard,
        });
        this.#sendTo(peer, this.#presenceMessage(true, peer.serverId));
      }
    }
  }

  // ------------------------------------------------------------------ takeover

  #peerFailed(peer: PeerState): void {
    if (this.#hs.ownerSize(peer.serverId) === 0) {
      logger.info("Peer {id} is gone (it owned no PEs)", { id: hex(peer.serverId) });
      this.#forget(peer);
      return;
    }
    const pending = new Set<number>();
    for (const p of this.#peers.values()) {
      if (p === peer || p.probeSince !== undefined || p.takenOverBy !== undefined) continue;
      pending.add(p.serverId);
    }
    this.#takeovers.set(peer.serverId, {
      target: peer.serverId,
      pending,
      started: this.#clock(),
    });
    logger.info("Peer {id} is gone: taking over its {n} PEs (waiting for {pending})", {
      id: hex(peer.serverId),
      n: this.#hs.ownerSize(peer.serverId),
      pending: [...pending].map(hex).join(", ") || "nobody",
    });
    for (const id of pending) {
      this.#sendTo(this.#peers.get(id)!, {
        type: "init-takeover",
        senderId: this.serverId,
        receiverId: id,
        targetId: peer.serverId,
      });
    }
    if (pending.size === 0) this.#finishTakeover(peer.serverId);
  }

  #onInitTakeover(from: PeerState, target: number): void {
    if (target === this.serverId) {
      // We are alive: say so to everyone.
      logger.warn("Peer {id} wants to take us over: announcing ourselves", {
        id: hex(from.serverId),
      });
      for (const p of this.#peers.values()) {
        this.#sendTo(p, this.#presenceMessage(false, p.serverId));
      }
      return;
    }
    const own = this.#takeovers.get(target);
    if (own !== undefined) {
      // Two registrars take over the same target: the one with the higher server ID goes on.
      if (this.serverId > from.serverId) {
        logger.info("Takeover race for {target} with {id}: ours goes on", {
          target: hex(target),
          id: hex(from.serverId),
        });
        return;
      }
      this.#takeovers.delete(target);
      logger.info("Takeover race for {target} with {id}: leaving it to them", {
        target: hex(target),
        id: hex(from.serverId),
      });
    }
    const targetPeer = this.#peers.get(target);
    if (targetPeer !== undefined) targetPeer.takenOverBy = from.serverId;
    this.#sendTo(from, {
      type: "init-takeover-ack",
      senderId: this.serverId,
      receiverId: from.serverId,
      targetId: target,
    });
  }

  #onInitTakeoverAck(from: PeerState, target: number): void {
    const takeover = this.#takeovers.get(target);
    if (takeover === undefined) return;
    takeover.pending.delete(from.serverId);
    if (takeover.pending.size === 0) this.#finishTakeover(target);
  }

  #finishTakeover(target: number): void {
    this.#takeovers.delete(target);
    for (const p of this.#peers.values()) {
      if (p.serverId === target) continue;
      this.#sendTo(p, {
        type: "takeover-server",
        senderId: this.serverId,
        receiverId: p.serverId,
        targetId: target,
      });
    }
    this.#hs.changeOwner(target, this.serverId);
    const entries = [...this.#hs.poolElementsOfOwner(this.serverId)].filter((e) =>
      e.userData === undefined
    );
    this.stats.takeovers++;
    logger.info("Took over {id}: {n} PEs are ours now", { id: hex(target), n: entries.length });
    const peer = this.#peers.get(target);
    if (peer !== undefined) this.#forget(peer);
    this.#host.tookOver(target, entries);
    // Our checksum changed: tell the peers at once.
    for (const p of this.#peers.values()) this.#sendTo(p, this.#presenceMessage(false, p.serverId));
  }

  #onTakeoverServer(from: PeerState, target: number): void {
    if (target === this.serverId) return;
    const moved = this.#hs.changeOwner(target, from.serverId);
    this.#takeovers.delete(target);
    logger.info("Peer {id} took over {target} ({n} PEs)", {
      id: hex(from.serverId),
      target: hex(target),
      n: moved,
    });
    const peer = this.#peers.get(target);
    if (peer !== undefined) this.#forget(peer);
  }

  #forget(peer: PeerState): void {
    this.#peers.delete(peer.serverId);
    for (const link of peer.links) link.association.abort("Peer is gone");
    peer.links.clear();
  }
}

function addressKey(a: EndpointAddress): string {
  return `${a.protocol}:${a.hostname}:${a.port}`;
}
