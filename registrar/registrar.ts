/**
 * The registrar (RFC 5352, ASAP server side): keeps the handlespace, answers registrations,
 * deregistrations and handle resolutions, monitors its pool elements with keep-alives and
 * lifetimes, counts unreachability reports, and announces itself by multicast. With ENRP
 * endpoints it joins its peers (RFC 5353, `enrp/`): it replicates its PEs to them, holds theirs,
 * and takes over the PEs of a peer that dies.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage, encodeAsapMessage } from "../asap/codec.ts";
import { ASAP_PPID, connectEndpoint } from "../asap/connect.ts";
import type { AsapMessage, AsapRegistration } from "../asap/messages.ts";
import { verifyRegistration } from "../asap/registration_auth.ts";
import { Handlespace, type PoolElementEntry, poolHandleKey } from "../handlespace/mod.ts";
import { HandlespaceError } from "../handlespace/errors.ts";
import { ENRP_PPID, type EnrpPeerInfo, EnrpServer, type EnrpTuning } from "../enrp/server.ts";
import { MulticastReceiver, MulticastSender } from "../transport/multicast.ts";
import {
  type EndpointAddress,
  hostnamesOf,
  type MultiHomedAddress,
  openListener,
  type OpenOptions,
} from "../transport/open.ts";
import type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
import type { Association, AssociationListener } from "../transport/types.ts";
import { SctpEndpoint } from "../transport/sctp/endpoint.ts";
import { SctpStack } from "../transport/sctp/stack.ts";
import { ErrorCause, WireError } from "../wire/errors.ts";
import type { PoolElementParameter, TransportParameter } from "../wire/types.ts";
import { freezePoolElement } from "../wire/parameters.ts";
import { addressScope } from "../transport/sctp/scope.ts";
import { coalescedTime } from "../transport/timer_slack.ts";
import { type RateLimit, TokenBucket } from "./rate_limiter.ts";
import { KeepAlivePacer, LAG_PROBE_INTERVAL } from "./keep_alive_pacer.ts";
import {
  type RegistrarEvent,
  type RemovalReason,
  RESOLUTION_TIME_BUCKETS,
  type ResolutionTimes,
} from "./events.ts";

/**
 * Options of {@linkcode Registrar.start}. Times in milliseconds.
 *
 * @example A registrar on loopback that announces on loopback only
 * ```ts
 * import type { RegistrarOptions } from "@rserpool/rserpool/registrar";
 * const options: RegistrarOptions = {
 *   asap: [{ protocol: "sctp", hostname: "127.0.0.1", port: 3863 }],
 *   announce: { group: "239.0.0.50", port: 3863, interfaceAddress: "127.0.0.1" },
 * };
 * ```
 */
export interface RegistrarOptions extends SctpUdpPorts {
  /** Server ID (default: random, not 0). */
  serverId?: number;
  /** ASAP endpoints to listen on (default SCTP on 127.0.0.1:3863). */
  asap?: MultiHomedAddress[];
  /**
   * SERVER_ANNOUNCE by multicast, or false for none. Default: 239.0.0.50:3863 every second,
   * on the interface of the first ASAP address (the system's choice for a wildcard one).
   */
  announce?: false | {
    group?: string;
    port?: number;
    interfaceAddress?: string;
    ttl?: number;
    interval?: number;
  };
  /** Interval of ENDPOINT_KEEP_ALIVEs to each PE (default 5000). */
  keepAliveInterval?: number;
  /** Time a PE has to answer a keep-alive before it is removed (default 5000). */
  keepAliveTimeout?: number;
  /** ENDPOINT_UNREACHABLE reports after which a PE is removed (default 3). */
  maxBadPeReports?: number;
  /** Most PEs in a handle resolution response (default 3). */
  maxHandleResolutionItems?: number;
  /** How many selected PEs advance their position per resolution (default 1, 0 = all). */
  maxIncrement?: number;
  /** Handle resolutions per association (default 1000/s, burst 2000). */
  handleResolutionRate?: RateLimit;
  /** ENDPOINT_UNREACHABLE reports per association (default 10/s, burst 20). */
  unreachableRate?: RateLimit;
  /** Registrations per association (default 100/s, burst 200). */
  registrationRate?: RateLimit;
  /** Most pools (default 100,000). */
  maxPools?: number;
  /** Most PEs in one pool (default 10,000). */
  maxPoolElementsPerPool?: number;
  /** Most PEs in all (default 1,000,000). */
  maxPoolElements?: number;
  /** Longest pool handle in bytes (default 32, as RSPLIB). */
  maxPoolHandleLength?: number;
  /**
   * Most ASAP associations at once, SCTP and TCP together (default 100,000). At the limit a
   * new association takes the place of the one that has been idle longest among those that
   * registered no PE; with none such, the new one is refused. So a flood of idle
   * associations cannot lock PEs out.
   */
  maxAssociations?: number;
  /** Most ASAP associations from one IP address (default 1,000). */
  maxAssociationsPerAddress?: number;
  /**
   * An association that registered no PE and sent nothing for this long is closed (default
   * 120000; 0: never).
   */
  idleTimeout?: number;
  /**
   * Bytes of answers one association may leave unsent (default 256 KiB), each answer counted
   * with 256 bytes for its objects: past a quarter of it its requests are no longer read until
   * the answers drain; past all of it, it is cut off.
   */
  maxUnsentBytes?: number;
  /** Bytes of unsent answers over all associations (default 64 MiB); past it, senders with a
   * backlog are cut off. An association whose answers wait for room in its transport's send
   * buffer counts that buffer too (`maxUnsentBytes` for SCTP, 64 KiB for TCP): it is full of
   * answers its peer has not acknowledged. */
  maxTotalUnsentBytes?: number;
  /**
   * An association whose answers have waited this long for room in its transport's send
   * buffer is cut off (default 30000 ms; 0: never). Its peer does not take what it asked for:
   * over SCTP, a peer that never acknowledges DATA (and answers HEARTBEATs, so that the
   * association never fails) would otherwise hold a send buffer, a receive buffer and a
   * backlog of answers for as long as it likes.
   */
  sendStallTimeout?: number;
  /**
   * ENDPOINT_UNREACHABLE reports count once per association within this window (default
   * 30000 ms): `maxBadPeReports` distinct reporters in it make the registrar probe the PE.
   */
  unreachableWindow?: number;
  /** SCTP protocol parameters of the ASAP endpoints. */
  sctp?: SctpTuning;
  /**
   * Pools that only PEs knowing their secret may register into (RFC 5355, 3.1): pool handle
   * (as text) to secret. A REGISTRATION into such a pool must carry a Registration
   * Authentication signed with it (see `signRegistration`); otherwise it is refused with
   * Rejection due to security considerations. Other pools are open, as RSPLIB's are.
   */
  poolSecrets?: Record<string, Uint8Array | string>;
  /**
   * ENRP endpoints (SCTP with PPID 12, or TCP), where peers reach this registrar. Without them
   * the registrar runs alone (no ENRP).
   */
  enrp?: EndpointAddress[];
  /** ENRP peers to contact (a static peer list); more are learned from them and by multicast. */
  peers?: EndpointAddress[];
  /**
   * PRESENCE by multicast, to find peers and be found (default 239.0.0.51:9901 on the interface
   * of the first ENRP address, when ENRP is on), or false for none.
   */
  enrpAnnounce?: false | { group?: string; port?: number; interfaceAddress?: string; ttl?: number };
  /** ENRP timers and limits (RSPLIB's by default). */
  enrpTuning?: EnrpTuning;
  /**
   * ENRP peer authentication: the secret every registrar of the set is given. Then every ENRP
   * message this registrar sends is signed with it, and messages without a valid, fresh and
   * not replayed signature are dropped (see `EnrpAuthenticator`). Off by default, so that
   * RSPLIB registrars can peer; with it on, they cannot.
   */
  enrpSecret?: Uint8Array | string;
  /** How far an ENRP signature's time may be from this registrar's clock (default 60000 ms). */
  enrpMaxSkew?: number;
  /**
   * Mean event-loop lag (ms) over a second above which the registrar counts as overloaded
   * (default 20; 0: never), as it does when the kernel drops datagrams at its SCTP sockets
   * (Linux). Then it paces its keep-alives below what it managed to send, and a keep-alive
   * unanswered meanwhile does not remove its PE (its answer may have waited in, or been
   * dropped from, the registrar's own receive queue): see `keep_alive_pacer.ts`.
   */
  overloadLag?: number;
  /** Clock in ms (default `Date.now`). */
  clock?: () => number;
}

/**
 * Counters of a registrar.
 *
 * @example
 * ```ts
 * import type { RegistrarStats } from "@rserpool/rserpool/registrar";
 * const describe = (s: RegistrarStats) => `${s.registrations} registrations`;
 * ```
 */
export interface RegistrarStats {
  /** Registrations accepted (new and updates). */
  registrations: number;
  /** Registrations rejected. */
  registrationsRejected: number;
  /** Deregistrations accepted. */
  deregistrations: number;
  /** Handle resolutions answered. */
  handleResolutions: number;
  /** Requests dropped by a rate limit. */
  rateLimited: number;
  /** Messages that did not decode. */
  malformed: number;
  /** PEs removed after an unanswered keep-alive. */
  keepAliveTimeouts: number;
  /** PEs removed when their registration life ran out. */
  lifetimeExpiries: number;
  /** ENDPOINT_UNREACHABLE reports received (within the rate limit). */
  unreachableReports: number;
  /** Handle resolutions answered with Unknown Pool Handle (counted in `handleResolutions`). */
  handleResolutionsUnknown: number;
  /** ENDPOINT_KEEP_ALIVEs sent. */
  keepAlivesSent: number;
  /** ASAP ERRORs and rejections sent. */
  errorsSent: number;
  /** Associations aborted for not reading their answers (or to make room). */
  associationsCut: number;
  /** Associations refused over the limits (per address, in total). */
  associationsRefused: number;
  /** Associations closed for being idle without PEs. */
  associationsIdleClosed: number;
  /** Associations cut because their answers waited longer than `sendStallTimeout`. */
  associationsStalled: number;
  /** Service times of handle resolutions. */
  resolutionTimes: ResolutionTimes;
  /** PEs removed after too many unreachability reports. */
  unreachableRemovals: number;
  /** Keep-alives put off because the registrar was overloaded (each time one was). */
  keepAlivesDeferred: number;
  /** Unanswered keep-alives that did not remove their PE because the registrar was overloaded. */
  keepAliveTimeoutsExcused: number;
}

/**
 * How loaded a registrar is ({@linkcode Registrar.load}).
 *
 * @example
 * ```ts
 * import type { RegistrarLoad } from "@rserpool/rserpool/registrar";
 * const describe = (l: RegistrarLoad) => l.overloaded ? `${l.keepAliveBudget}/s` : "fine";
 * ```
 */
export interface RegistrarLoad {
  /** Its event loop lags more than `overloadLag`, or its keep-alives are still paced. */
  overloaded: boolean;
  /** Keep-alives per second it allows itself; `Infinity` while it keeps up. */
  keepAliveBudget: number;
  /** Mean lag (ms) of its event loop over the last second. */
  eventLoopLag: number;
  /**
   * Datagrams the kernel dropped at its SCTP sockets for want of room in the last second (0
   * where that cannot be read: over TCP, elsewhere than on Linux).
   */
  receiveDrops: number;
  /** The same since the registrar started. */
  receiveDropsTotal: number;
  /**
   * SCTP sockets of the process bound anew because their receive had stalled while the kernel
   * dropped their datagrams (see `DenoUdpSocket`).
   */
  receiveStalls: number;
}

/**
 * What the registrar keeps per PE beside the handlespace (the user data of its entries).
 *
 * @example
 * ```ts
 * import type { RegistrarPeState } from "@rserpool/rserpool/registrar";
 * const waiting = (s: RegistrarPeState) => s.awaitingAck;
 * ```
 */
export interface RegistrarPeState {
  /**
   * The ASAP association the PE registered on; none for a PE taken over from a dead peer that
   * could not be reached yet (it is kept until its registration life ends).
   */
  association?: Association;
  /** The address it registered from. */
  remoteAddress: string;
  /** When its registration life ends (ms, `Infinity` for never). */
  lifetimeEnd: number;
  /** True while a keep-alive waits for its answer. */
  awaitingAck: boolean;
  /** When it last answered a keep-alive (ms, the registrar's clock). */
  lastKeepAliveAnswer?: number;
  /** Distinct associations that reported it unreachable within the window. */
  badReports: number;
  /** When each of them reported it last (ms). */
  reporters?: Map<Association, number>;
  /** True while a keep-alive sent because of reports waits for its answer. */
  probing?: boolean;
}

/**
 * A new PE's state, with every field it may get later made now: an object given more
 * properties than it was made with puts them in a second array of its own.
 */
function newPeState(
  association: Association | undefined,
  remoteAddress: string,
  lifetimeEnd: number,
): RegistrarPeState {
  return {
    association,
    remoteAddress,
    lifetimeEnd,
    awaitingAck: false,
    lastKeepAliveAnswer: undefined,
    badReports: 0,
    reporters: undefined,
    probing: undefined,
  };
}

/** The rate limits of one association. */
type PeerLimit = "resolutions" | "unreachables" | "registrations" | "errors";

/** A PE registered on an association. */
interface PeRef {
  poolHandle: Uint8Array;
  identifier: number;
}

/**
 * An ASAP association. Every field is made with it (one added later would go to a second
 * array); most are PEs' associations with one PE each, held without a map (see `addPe`).
 */
interface Peer {
  association: Association;
  remoteAddress: string;
  protocol: "sctp" | "tcp";
  /** The pool handle of the first PE registered on this association, while it is. */
  peHandle: Uint8Array | undefined;
  /** Its identifier, as a signed 32-bit integer (a small integer, not a boxed number). */
  peId: number;
  /** The other PEs registered on this association, by `peKey` (made for a second one). */
  morePes: Map<string, PeRef> | undefined;
  /** The registration limit (made on first use, as the others). */
  registrationLimit: TokenBucket | undefined;
  /**
   * The other rate limits, made on first use (most associations, a PE's, only ever register):
   * `errors` limits the ASAP ERRORs sent back, so that a flood of bad input is not answered
   * message for message.
   */
  limits: Partial<Record<Exclude<PeerLimit, "registrations">, TokenBucket>> | undefined;
  /** Bytes handed to the association whose send has not completed. */
  unsentBytes: number;
  /** Since when `unsentBytes` has not been 0 (ms), while it is not. */
  unsentSince: number | undefined;
  /** Whether it is in the registrar's list of associations with answers waiting. */
  backlogged: boolean;
  /** Bytes its transport's send buffer holds when full (charged while its sends wait). */
  bufferBytes: number;
  /** When it last sent a message (ms). */
  lastActivity: number;
  /** Resumes reading its requests (set while paused for its backlog). */
  resume: (() => void) | undefined;
  /** When its going over a rate limit was last logged (ms). */
  limitedLogged: number | undefined;
}

/** Whether two pool handles have the same bytes. */
function sameHandle(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Notes a PE registered on `peer` (again: it stays there once). */
function addPe(peer: Peer, poolHandle: Uint8Array, identifier: number): void {
  const id = identifier | 0;
  const first = peer.peHandle;
  if (first !== undefined && peer.peId === id && sameHandle(first, poolHandle)) {
    peer.peHandle = poolHandle;
    return;
  }
  const more = peer.morePes;
  if (more !== undefined) {
    const key = peKey(poolHandle, identifier);
    if (more.has(key) || first !== undefined) {
      more.set(key, { poolHandle, identifier });
      return;
    }
  } else if (first !== undefined) {
    peer.morePes = new Map([[peKey(poolHandle, identifier), { poolHandle, identifier }]]);
    return;
  }
  peer.peHandle = poolHandle;
  peer.peId = id;
}

/** Forgets a PE registered on `peer`, if it is. */
function deletePe(peer: Peer, poolHandle: Uint8Array, identifier: number): void {
  const first = peer.peHandle;
  if (first !== undefined && peer.peId === (identifier | 0) && sameHandle(first, poolHandle)) {
    peer.peHandle = undefined;
    peer.peId = 0;
    return;
  }
  const more = peer.morePes;
  if (more === undefined) return;
  more.delete(peKey(poolHandle, identifier));
  if (more.size === 0) peer.morePes = undefined;
}

/** The number of PEs registered on `peer`. */
function peCount(peer: Peer): number {
  return (peer.peHandle === undefined ? 0 : 1) + (peer.morePes?.size ?? 0);
}

/** The PEs registered on `peer`. */
function pesOf(peer: Peer): PeRef[] {
  const pes = peer.morePes === undefined ? [] : [...peer.morePes.values()];
  if (peer.peHandle !== undefined) {
    pes.push({ poolHandle: peer.peHandle, identifier: peer.peId >>> 0 });
  }
  return pes;
}

const logger = getLogger(["rserpool", "registrar"]);

function randomServerId(): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint32Array(1))[0];
    if (id !== 0) return id;
  }
}

function handleText(handle: Uint8Array): string {
  return new TextDecoder().decode(handle);
}

/** A key of a PE: its pool handle and identifier. */
function peKey(poolHandle: Uint8Array, identifier: number): string {
  return `${identifier}:${poolHandleKey(poolHandle)}`;
}

/** Bytes an answer waiting to be sent counts beyond its own, for its objects. */
const ANSWER_OVERHEAD = 256;

/** Requests taken from one association before the others get a turn. */
const MESSAGES_PER_TURN = 16;

/** Most distinct address lists the registrar keeps to share among PEs. */
const MAX_SHARED_ADDRESS_LISTS = 4096;

/** IDs as logs, JSON and the status page print them: 8 hex digits. */
function hex8(id: number): string {
  return (id >>> 0).toString(16).padStart(8, "0");
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * A registrar serving ASAP over SCTP/UDP and TCP.
 *
 * @example
 * ```ts ignore
 * import { Registrar } from "@rserpool/rserpool/registrar";
 * await using registrar = await Registrar.start({
 *   asap: [{ protocol: "sctp", hostname: "127.0.0.1", port: 3863 }],
 *   announce: false,
 * });
 * console.log(registrar.serverId, registrar.addresses);
 * ```
 */
export class Registrar implements AsyncDisposable {
  /** The registrar's server ID. */
  readonly serverId: number;
  /** The handlespace (read it; do not change it behind the registrar's back). */
  readonly handlespace: Handlespace<RegistrarPeState>;
  /** Counters. */
  readonly stats: RegistrarStats = {
    registrations: 0,
    registrationsRejected: 0,
    deregistrations: 0,
    handleResolutions: 0,
    rateLimited: 0,
    malformed: 0,
    keepAliveTimeouts: 0,
    lifetimeExpiries: 0,
    unreachableReports: 0,
    unreachableRemovals: 0,
    handleResolutionsUnknown: 0,
    keepAlivesSent: 0,
    errorsSent: 0,
    associationsCut: 0,
    associationsRefused: 0,
    associationsIdleClosed: 0,
    associationsStalled: 0,
    keepAlivesDeferred: 0,
    keepAliveTimeoutsExcused: 0,
    resolutionTimes: {
      counts: new Array(RESOLUTION_TIME_BUCKETS.length + 1).fill(0),
      sum: 0,
      count: 0,
    },
  };
  #options: Required<
    Pick<
      RegistrarOptions,
      | "keepAliveInterval"
      | "keepAliveTimeout"
      | "maxBadPeReports"
      | "maxHandleResolutionItems"
      | "handleResolutionRate"
      | "unreachableRate"
      | "registrationRate"
    >
  >;
  #clock: () => number;
  /** ASAP listeners: their first address (with the bound port) and all their addresses. */
  #listeners: {
    address: EndpointAddress;
    listener: AssociationListener;
    hostnames?: string[];
  }[] = [];
  #peers = new Map<Association, Peer>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;
  /** The delay that sets the slack of the registrar's timers: its shortest keep-alive time. */
  #timerScale: number;
  #announcer: MulticastSender | undefined;
  #enrp: EnrpServer | undefined;
  #enrpListeners: { address: EndpointAddress; listener: AssociationListener }[] = [];
  #enrpSender: MulticastSender | undefined;
  #enrpReceiver: MulticastReceiver | undefined;
  #sctpPorts: SctpUdpPorts & { sctp?: SctpTuning };
  #announceTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Tasks running: accept loops, associations served, takeover reaches. */
  #running = 0;
  /** Resolved when `#running` drops to 0 (made by `close`). */
  #drained: PromiseWithResolvers<void> | undefined;
  /** Ends a task: one function for all, so that a task (an association) costs no closure. */
  readonly #taskDone = (): void => {
    if (--this.#running === 0) this.#drained?.resolve();
  };
  /** Ends a task that failed, passing its error on as `finally` would. */
  readonly #taskFailed = (error: unknown): never => {
    this.#taskDone();
    throw error;
  };
  /**
   * Address lists of PEs' transports (frozen, shared by the PEs that register the same ones:
   * most register one address, many the same), by the addresses joined by spaces.
   */
  #addressLists = new Map<string, string[]>();
  #watchers = new Set<(event: RegistrarEvent) => void>();
  #limits: {
    maxAssociations: number;
    maxAssociationsPerAddress: number;
    idleTimeout: number;
    maxUnsentBytes: number;
    maxTotalUnsentBytes: number;
    unreachableWindow: number;
    sendStallTimeout: number;
  };
  #perAddress = new Map<string, number>();
  #poolSecrets: Map<string, Uint8Array | string>;
  #unsentBytes = 0;
  /**
   * Associations that had answers waiting (`unsentBytes` > 0) since the last
   * `#checkBacklogs`, each once (`Peer.backlogged`); that check drops the ones whose answers
   * went. Not a set that each send adds to and each completed send removes from: with
   * thousands of keep-alives a second, its table was reallocated as it grew and shrank, and
   * the tables were much of what the registrar's young collections moved to the old
   * generation.
   */
  #backlogged: Peer[] = [];
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #stallTimer: ReturnType<typeof setInterval> | undefined;
  #startedAt: number;
  /** Keep-alives against the registrar's own overload, fed by `#lagTimer`. */
  #pacer: KeepAlivePacer;
  #lagTimer: ReturnType<typeof setInterval> | undefined;
  /** When `#lagTimer` should run next (ms, `performance.now`). */
  #lagExpected = 0;
  /** When the registrar was last found overloaded (ms, its clock). */
  #lastOverloaded = -Infinity;
  /** Lag probes so far; every tenth reads the kernel's drop count. */
  #lagProbes = 0;
  #readingDrops = false;

  private constructor(options: RegistrarOptions) {
    this.serverId = options.serverId ?? randomServerId();
    this.#clock = options.clock ?? Date.now;
    this.#startedAt = this.#clock();
    this.#poolSecrets = new Map(Object.entries(options.poolSecrets ?? {}));
    this.#limits = {
      maxAssociations: options.maxAssociations ?? 100_000,
      maxAssociationsPerAddress: options.maxAssociationsPerAddress ?? 1000,
      idleTimeout: options.idleTimeout ?? 120_000,
      maxUnsentBytes: options.maxUnsentBytes ?? 256 * 1024,
      maxTotalUnsentBytes: options.maxTotalUnsentBytes ?? 64 * 1024 * 1024,
      unreachableWindow: options.unreachableWindow ?? 30_000,
      sendStallTimeout: options.sendStallTimeout ?? 30_000,
    };
    this.#sctpPorts = {
      sctp: options.sctp,
      udpPort: options.udpPort,
      remoteUdpPort: options.remoteUdpPort,
    };
    this.#options = {
      keepAliveInterval: options.keepAliveInterval ?? 5000,
      keepAliveTimeout: options.keepAliveTimeout ?? 5000,
      maxBadPeReports: options.maxBadPeReports ?? 3,
      maxHandleResolutionItems: options.maxHandleResolutionItems ?? 3,
      handleResolutionRate: options.handleResolutionRate ?? { rate: 1000, burst: 2000 },
      unreachableRate: options.unreachableRate ?? { rate: 10, burst: 20 },
      registrationRate: options.registrationRate ?? { rate: 100, burst: 200 },
    };
    this.#timerScale = Math.min(this.#options.keepAliveInterval, this.#options.keepAliveTimeout);
    this.#pacer = new KeepAlivePacer({ overloadLag: options.overloadLag });
    this.handlespace = new Handlespace<RegistrarPeState>({
      clock: this.#clock,
      maxIncrement: options.maxIncrement ?? 1,
      maxPools: options.maxPools ?? 100_000,
      maxPoolElementsPerPool: options.maxPoolElementsPerPool ?? 10_000,
      maxPoolElements: options.maxPoolElements ?? 1_000_000,
      maxPoolHandleLength: options.maxPoolHandleLength ?? 32,
    });
  }

  /** Starts a registrar: opens its ASAP endpoints and starts announcing. */
  static async start(options: RegistrarOptions = {}): Promise<Registrar> {
    const registrar = new Registrar(options);
    const addresses = options.asap ?? [{ protocol: "sctp", hostname: "127.0.0.1", port: 3863 }];
    try {
      // ASAP messages are at most 64 KiB, and one peer gets a small share of the registrar's
      // memory: small buffers per association (the limits above bound what waits in them).
      const limits = registrar.#limits;
      for (const address of addresses) {
        const open: OpenOptions = address.protocol === "tcp"
          ? {
            framing: "rserpool",
            ppid: ASAP_PPID,
            maxMessageSize: 65_536,
            maxBufferedBytes: 64 * 1024,
          }
          : {
            sctp: {
              // RFC 9260's 30 s: keep-alives probe the PEs; 2 s would cost a packet per
              // association and second (DATA acknowledged on a path also postpones them).
              heartbeatInterval: 30_000,
              maxMessageSize: 65_536,
              receiveBufferSize: 256 * 1024,
              sendBufferSize: limits.maxUnsentBytes,
              // A peer that acknowledges nothing for as long (answering HEARTBEATs meanwhile)
              // is gone from the transport's side too, even when no send of ours waits.
              dataStallTimeout: limits.sendStallTimeout,
              ...options.sctp,
            },
            udpPort: options.udpPort,
            // The registrar decides (and makes room for PEs): the endpoint only backs it up.
            maxAssociations: limits.maxAssociations + 1024,
          };
        const listener = await openListener(address, open);
        const hostnames = hostnamesOf(address);
        const bound = {
          protocol: address.protocol,
          hostname: hostnames[0],
          port: listener.addresses[0]?.port ?? address.port,
        };
        registrar.#listeners.push({ address: bound, listener, hostnames });
        registrar.#track(registrar.#acceptLoop(listener, bound.protocol));
      }
      const stall = registrar.#limits.sendStallTimeout;
      registrar.#stallTimer = setInterval(
        () => registrar.#checkBacklogs(),
        Math.max(50, Math.min(stall > 0 ? stall / 4 : 1000, 1000)),
      );
      // Measured even with pacing off (`overloadLag` 0): the lag and the drops are shown.
      registrar.#lagExpected = performance.now() + LAG_PROBE_INTERVAL;
      registrar.#lagTimer = setInterval(() => registrar.#probeLag(), LAG_PROBE_INTERVAL);
      const idle = registrar.#limits.idleTimeout;
      if (idle > 0) {
        registrar.#idleTimer = setInterval(
          () => registrar.#closeIdle(),
          Math.max(50, Math.min(idle / 4, 10_000)),
        );
      }
      if (options.enrp !== undefined && options.enrp.length > 0) {
        // SERVER_ANNOUNCE only once the handlespace is synchronised from a mentor.
        await registrar.#startEnrp(options);
      } else if (options.announce !== false) {
        await registrar.#startAnnouncing(options.announce ?? {});
      }
    } catch (e) {
      await registrar.close();
      throw e;
    }
    logger.info("Registrar {serverId} listening on {addresses}", {
      serverId: hex8(registrar.serverId),
      addresses: registrar.addresses.map((a) => `${a.protocol}:${a.hostname}:${a.port}`),
    });
    return registrar;
  }

  /** Number of ASAP associations open (PEs and PUs). */
  get associationCount(): number {
    return this.#peers.size;
  }

  /** The ASAP endpoints, with the ports actually bound. */
  get addresses(): EndpointAddress[] {
    return this.#listeners.map((l) => l.address);
  }

  /** The limits and timers in force (the options with their defaults filled in). */
  get limits(): Readonly<Record<string, number | RateLimit>> {
    return { ...this.#options, ...this.#limits };
  }

  /** Bytes of answers handed to associations and not sent yet, over all of them. */
  get unsentBytes(): number {
    return this.#unsentBytes;
  }

  /** When the registrar started (ms, its clock). */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** Numbers of ASAP associations open, by transport. */
  get associationsByTransport(): { sctp: number; tcp: number } {
    let sctp = 0;
    for (const p of this.#peers.values()) if (p.protocol === "sctp") sctp++;
    return { sctp, tcp: this.#peers.size - sctp };
  }

  /**
   * Calls `listener` with every {@linkcode RegistrarEvent}; returns a function that stops it. A
   * listener that throws is left out of the registrar's work (the error is logged).
   */
  onEvent(listener: (event: RegistrarEvent) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #emit(event: RegistrarEvent): void {
    for (const w of this.#watchers) {
      try {
        w(event);
      } catch (e) {
        logger.error("Registrar event listener failed: {error}", { error: String(e) });
      }
    }
  }

  /** The ENRP endpoints, with the ports actually bound (none without ENRP). */
  get enrpAddresses(): EndpointAddress[] {
    return this.#enrpListeners.map((l) => l.address);
  }

  /** The ENRP peer table (empty without ENRP). */
  get peers(): EnrpPeerInfo[] {
    return this.#enrp?.peers ?? [];
  }

  /**
   * Whether the registrar keeps up with its work, from its event loop's lag and the datagrams
   * dropped at its SCTP sockets (see `RegistrarOptions.overloadLag`).
   */
  get load(): RegistrarLoad {
    const p = this.#pacer;
    return {
      overloaded: p.overloaded,
      keepAliveBudget: p.budget,
      eventLoopLag: p.meanLag,
      receiveDrops: p.drops,
      receiveDropsTotal: p.dropsTotal,
      receiveStalls: SctpStack.default.sockets.reduce((n, s) => n + s.rebinds, 0),
    };
  }

  #hasSctp(): boolean {
    return this.#listeners.some((l) => l.address.protocol === "sctp");
  }

  /** The ENRP server, for its counters and state (undefined without ENRP). */
  get enrp(): EnrpServer | undefined {
    return this.#enrp;
  }

  /** Stops: closes the endpoints and every association, stops the timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#announceTimer);
    clearInterval(this.#idleTimer);
    clearInterval(this.#stallTimer);
    clearInterval(this.#lagTimer);
    this.#announcer?.close();
    this.#enrpSender?.close();
    this.#enrpReceiver?.close();
    await this.#enrp?.close();
    for (const { listener } of this.#enrpListeners) await listener.close();
    for (const { listener } of this.#listeners) await listener.close();
    for (const peer of this.#peers.values()) peer.association.abort("Registrar shutting down");
    if (this.#running > 0) {
      this.#drained = Promise.withResolvers();
      await this.#drained.promise;
    }
  }

  /** Same as {@linkcode Registrar.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ------------------------------------------------------------------ associations

  #track(task: Promise<void>): void {
    this.#running++;
    task.then(this.#taskDone, this.#taskFailed);
  }

  /**
   * A frozen list of these addresses, shared with the PEs that have the same ones (and sized
   * exactly): a registrar holding many PEs holds few distinct address lists.
   */
  #addressList(addresses: string[]): string[] {
    const key = addresses.length === 1 ? addresses[0] : addresses.join(" ");
    let list = this.#addressLists.get(key);
    if (list === undefined) {
      // Bounded: PEs from many hosts share little, and each would stay here.
      if (this.#addressLists.size >= MAX_SHARED_ADDRESS_LISTS) this.#addressLists.clear();
      list = Object.freeze(addresses.slice()) as string[];
      this.#addressLists.set(key, list);
    }
    return list;
  }

  async #acceptLoop(listener: AssociationListener, protocol: "sctp" | "tcp"): Promise<void> {
    try {
      for await (const association of listener) {
        if (this.#closed) {
          association.abort("Registrar shutting down");
          continue;
        }
        if (!this.#admit(association)) continue;
        this.#serve(association, protocol);
      }
    } catch (e) {
      if (!this.#closed) logger.error("Listener failed: {error}", { error: String(e) });
    }
  }

  /**
   * Serves the ASAP requests of an association until it ends. Its messages come to a handler,
   * not to a loop awaiting `receive()`: a waiting receive per association (a promise, its
   * functions and the loop's frame, made anew after every message) lived from one keep-alive
   * answer to the next, long enough to be moved to the old generation of the heap. With
   * 100,000 PEs it was more than half of what each young-generation collection had to move
   * there (2.8 MB then, 1.3 MB now, at 3,000 keep-alives/s), and 0.5 KB of heap per PE.
   */
  #serve(association: Association, protocol: "sctp" | "tcp"): void {
    const remoteAddress = association.remoteAddresses[0]?.hostname ?? "";
    const peer: Peer = {
      association,
      remoteAddress,
      protocol,
      peHandle: undefined,
      peId: 0,
      morePes: undefined,
      registrationLimit: undefined,
      limits: undefined,
      unsentBytes: 0,
      unsentSince: undefined,
      backlogged: false,
      // What its transport buffers before a send waits (see `Registrar.start`).
      bufferBytes: protocol === "sctp"
        ? Math.max(this.#limits.maxUnsentBytes, 64 * 1024)
        : 64 * 1024,
      lastActivity: this.#clock(),
      resume: undefined,
      limitedLogged: undefined,
    };
    this.#peers.set(association, peer);
    this.#countAddress(remoteAddress, 1);
    this.#running++;
    let turn = 0;
    association.setMessageHandler((m) => {
      if (m === null) {
        this.#peers.delete(association);
        this.#countAddress(remoteAddress, -1);
        this.#lost(peer);
        this.#taskDone();
        return;
      }
      if (m.ppid === ASAP_PPID) {
        peer.lastActivity = this.#clock();
        try {
          this.#onMessage(peer, m.data);
        } catch (e) {
          // A fault of the registrar's, not the peer's: it loses this association, not more.
          logger.error("Failed on a message from {peer}: {error}", {
            peer: remoteAddress,
            error: String(e),
          });
          association.abort("Internal error");
          return;
        }
      }
      if (peer.unsentBytes > this.#limits.maxUnsentBytes / 4 && !association.closed) {
        // Its answers wait: no more of its requests until they drain (its transport pushes
        // back on the sender meanwhile).
        association.pause();
        peer.resume = () => association.resume();
      } else if (++turn === MESSAGES_PER_TURN) {
        // Requests are handed over in microtasks; after a few, let the other associations'
        // input in, so that one that sends thousands at once does not hold up the rest.
        turn = 0;
        association.pause();
        setImmediate(() => {
          if (peer.resume === undefined) association.resume();
        });
      }
    });
  }

  /** Takes a token of `peer`'s limit `kind`, making the bucket on first use. */
  #allow(peer: Peer, kind: PeerLimit): boolean {
    if (kind === "registrations") {
      const bucket = peer.registrationLimit ??= new TokenBucket(
        this.#options.registrationRate,
        this.#clock,
      );
      return bucket.take();
    }
    const limits = peer.limits ??= {};
    let bucket = limits[kind];
    if (bucket === undefined) {
      const rate = kind === "resolutions"
        ? this.#options.handleResolutionRate
        : kind === "unreachables"
        ? this.#options.unreachableRate
        : { rate: 10, burst: 20 };
      bucket = limits[kind] = new TokenBucket(rate, this.#clock);
    }
    return bucket.take();
  }

  #countAddress(address: string, delta: number): void {
    const n = (this.#perAddress.get(address) ?? 0) + delta;
    if (n <= 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, n);
  }

  /**
   * Whether a new association may stay: within the per-address limit, and within the total
   * after closing, if need be, the association idle longest among those without PEs.
   */
  #admit(association: Association): boolean {
    const address = association.remoteAddresses[0]?.hostname ?? "";
    if ((this.#perAddress.get(address) ?? 0) >= this.#limits.maxAssociationsPerAddress) {
      association.abort("Too many associations from this address");
      this.stats.associationsRefused++;
      logger.warn("Association from {address} refused: {n} already", {
        address,
        n: this.#perAddress.get(address),
      });
      return false;
    }
    if (this.#peers.size < this.#limits.maxAssociations) return true;
    let idlest: Peer | undefined;
    for (const p of this.#peers.values()) {
      if (peCount(p) > 0 || p.association.closed) continue;
      if (idlest === undefined || p.lastActivity < idlest.lastActivity) idlest = p;
    }
    if (idlest === undefined) {
      association.abort("Too many associations");
      this.stats.associationsRefused++;
      return false;
    }
    this.#cut(idlest, "closed for a new association: the registrar is full");
    return true;
  }

  /** Closes associations that registered no PE and have been silent for the idle timeout. */
  #closeIdle(): void {
    const timeout = this.#limits.idleTimeout;
    const now = this.#clock();
    for (const p of this.#peers.values()) {
      if (peCount(p) > 0 || p.association.closed || now - p.lastActivity <= timeout) continue;
      logger.debug("Closing the idle association of {peer}", { peer: p.remoteAddress });
      p.association.abort("Idle");
      this.stats.associationsIdleClosed++;
    }
  }

  /** A PE's association ended: its PEs go unless they answer on another one in time. */
  #lost(peer: Peer): void {
    if (this.#closed) return;
    const deadline = this.#clock() + this.#options.keepAliveTimeout;
    for (const { poolHandle, identifier } of pesOf(peer)) {
      const state = this.handlespace.getPoolElement(poolHandle, identifier)?.userData;
      if (state === undefined || state.association !== peer.association) continue;
      state.awaitingAck = true;
      this.handlespace.setExpiry(poolHandle, identifier, deadline);
    }
    this.#schedule();
  }

  #send(peer: Peer, message: AsapMessage): void {
    if (peer.association.closed) return;
    if (message.type === "error") this.stats.errorsSent++;
    let bytes: Uint8Array;
    try {
      bytes = encodeAsapMessage(message);
    } catch (e) {
      logger.error("Could not encode {type}: {error}", { type: message.type, error: String(e) });
      return;
    }
    this.#sendBytes(peer, bytes, true);
  }

  /** Sends encoded bytes; `transfer` when they were encoded for this send alone. */
  #sendBytes(peer: Peer, bytes: Uint8Array, transfer: boolean): void {
    if (peer.association.closed) return;
    // An answer waiting costs its objects too (the bytes' view, the send and its promise): a
    // flood of small answers is bounded by their number as well as their bytes.
    const size = bytes.length + ANSWER_OVERHEAD;
    if (
      peer.unsentBytes + size > this.#limits.maxUnsentBytes ||
      (peer.unsentBytes > 0 && this.#unsentBytes + size > this.#limits.maxTotalUnsentBytes)
    ) {
      // The peer does not read what it asks for: it gets no more of the registrar's memory.
      this.#cut(peer, `${peer.unsentBytes} bytes of answers not taken`);
      return;
    }
    if (peer.unsentBytes === 0) {
      peer.unsentSince = this.#clock();
      if (!peer.backlogged) {
        peer.backlogged = true;
        this.#backlogged.push(peer);
      }
    }
    peer.unsentBytes += size;
    this.#unsentBytes += size;
    // Bytes encoded for this send are handed over, not copied.
    const sent = () => {
      peer.unsentBytes -= size;
      this.#unsentBytes -= size;
      if (peer.unsentBytes === 0) peer.unsentSince = undefined;
      if (peer.resume !== undefined && peer.unsentBytes <= this.#limits.maxUnsentBytes / 8) {
        const resume = peer.resume;
        peer.resume = undefined;
        resume();
      }
    };
    peer.association.send(bytes, { ppid: ASAP_PPID, transfer }).then(sent, sent);
  }

  /**
   * Cuts off associations whose answers have waited too long for room in their transport's
   * send buffer, then, while the answers held over all associations (unsent ones, and the full
   * send buffers of associations whose sends wait) exceed `maxTotalUnsentBytes`, the ones
   * that have waited longest. A send that waits means a full send buffer, that is answers the
   * peer has not acknowledged: the transport holds them until it does.
   */
  #checkBacklogs(): void {
    if (this.#backlogged.length === 0) return;
    // Only those whose answers still wait stay listed.
    const listed = this.#backlogged;
    let kept = 0;
    for (const p of listed) {
      if (p.unsentBytes > 0 && !p.association.closed) listed[kept++] = p;
      else p.backlogged = false;
    }
    listed.length = kept;
    const now = this.#clock();
    const stall = this.#limits.sendStallTimeout;
    // Waiting since the last check or longer: blocked, not a send completing in this turn.
    const blockedAfter = Math.max(50, Math.min(stall > 0 ? stall / 4 : 1000, 1000));
    let held = this.#unsentBytes;
    const blocked: Peer[] = [];
    for (const p of this.#backlogged) {
      const waited = now - (p.unsentSince ?? now);
      if (p.association.closed) continue;
      if (stall > 0 && waited > stall) {
        this.stats.associationsStalled++;
        this.#cut(p, `answers waited ${Math.round(waited / 1000)} s for the peer to take them`);
        held -= p.unsentBytes;
        continue;
      }
      if (waited >= blockedAfter) {
        held += p.bufferBytes;
        blocked.push(p);
      }
    }
    // The longest waiting first.
    blocked.sort((a, b) => a.unsentSince! - b.unsentSince!);
    for (const p of blocked) {
      if (held <= this.#limits.maxTotalUnsentBytes) break;
      this.#cut(p, "the registrar holds too many answers not taken");
      held -= p.unsentBytes + p.bufferBytes;
    }
  }

  /** Aborts an association that abuses the registrar, and says so. */
  #cut(peer: Peer, reason: string): void {
    logger.warn("Aborting the association of {peer}: {reason}", {
      peer: peer.remoteAddress,
      reason,
    });
    peer.association.abort(reason);
    peer.resume?.();
    this.stats.associationsCut++;
    this.#emit({ type: "association-cut", time: this.#clock(), from: peer.remoteAddress, reason });
  }

  // ------------------------------------------------------------------ messages

  #onMessage(peer: Peer, data: Uint8Array): void {
    let message: AsapMessage;
    try {
      message = decodeAsapMessage(data);
    } catch (e) {
      this.stats.malformed++;
      if (!(e instanceof WireError)) throw e;
      logger.debug("Malformed ASAP message from {peer}: {error}", {
        peer: peer.remoteAddress,
        error: e.message,
      });
      if (!e.silent && this.#allow(peer, "errors")) {
        this.#send(peer, {
          type: "error",
          error: [{ code: e.errorCause, info: e.data ?? new Uint8Array() }],
        });
      }
      return;
    }
    if (message.unrecognized !== undefined && this.#allow(peer, "errors")) {
      this.#send(peer, {
        type: "error",
        error: message.unrecognized.map((info) => ({
          code: ErrorCause.UnrecognizedParameter,
          info,
        })),
      });
    }
    const received = performance.now();
    switch (message.type) {
      case "registration":
        if (!this.#allow(peer, "registrations")) {
          this.#rateLimited(peer, "registration");
          return;
        }
        if (!this.#authorized(message)) {
          this.#reject(
            peer,
            message.poolHandle,
            message.poolElement.identifier,
            ErrorCause.RejectedForSecurity,
            new Uint8Array(),
          );
          logger.warn("Registration into {pool} from {peer} without a valid signature: refused", {
            pool: handleText(message.poolHandle),
            peer: peer.remoteAddress,
          });
          return;
        }
        this.#onRegistration(peer, message.poolHandle, message.poolElement);
        break;
      case "deregistration":
        if (!this.#allow(peer, "registrations")) {
          this.#rateLimited(peer, "registration");
          return;
        }
        this.#onDeregistration(peer, message.poolHandle, message.identifier);
        break;
      case "handle-resolution":
        if (!this.#allow(peer, "resolutions")) {
          this.#rateLimited(peer, "handle-resolution");
          return;
        }
        this.#onHandleResolution(peer, message.poolHandle, message.items);
        this.#observeResolution(performance.now() - received);
        break;
      case "endpoint-keep-alive-ack":
        this.#onKeepAliveAck(peer, message.poolHandle, message.identifier);
        break;
      case "endpoint-unreachable":
        if (!this.#allow(peer, "unreachables")) {
          this.#rateLimited(peer, "unreachable");
          return;
        }
        this.#onUnreachable(peer, message.poolHandle, message.identifier);
        break;
      default:
        if (!this.#allow(peer, "errors")) return;
        // Messages a registrar does not take: an ASAP ERROR carries them back (Wireshark reads
        // the information of Unrecognized Message as the whole message).
        this.#send(peer, {
          type: "error",
          error: [{ code: ErrorCause.UnrecognizedMessage, info: data.slice() }],
        });
    }
  }

  /** Whether a registration may go on: its pool has no secret, or it is signed with it. */
  #authorized(message: AsapRegistration): boolean {
    const secret = this.#poolSecrets.get(handleText(message.poolHandle));
    if (secret === undefined) return true;
    return verifyRegistration(message, secret, { clock: this.#clock });
  }

  #rateLimited(peer: Peer, kind: "registration" | "handle-resolution" | "unreachable"): void {
    this.stats.rateLimited++;
    const now = this.#clock();
    if (peer.limitedLogged === undefined || now - peer.limitedLogged > 10_000) {
      // One line per association and 10 s, not one per dropped request.
      peer.limitedLogged = now;
      logger.info("{peer} is over its {kind} rate limit: requests dropped", {
        peer: peer.remoteAddress,
        kind,
      });
    }
    this.#emit({ type: "rate-limited", time: this.#clock(), kind, from: peer.remoteAddress });
  }

  #reject(
    peer: Peer,
    poolHandle: Uint8Array,
    identifier: number,
    cause: number,
    info: Uint8Array,
  ): void {
    this.stats.registrationsRejected++;
    this.stats.errorsSent++;
    this.#emit({
      type: "registration-rejected",
      time: this.#clock(),
      poolHandle,
      identifier,
      cause,
      from: peer.remoteAddress,
    });
    this.#send(peer, {
      type: "registration-response",
      rejected: true,
      poolHandle,
      identifier,
      error: [{ code: cause, info }],
    });
  }

  #onRegistration(peer: Peer, poolHandle: Uint8Array, pe: PoolElementParameter): void {
    const now = this.#clock();
    const life = pe.registrationLife;
    if (poolHandle.length === 0 || (life < 0 && life !== -1) || life === 0) {
      this.#reject(peer, poolHandle, pe.identifier, ErrorCause.InvalidValues, new Uint8Array());
      return;
    }
    // Addresses: a wildcard means "where I registered from"; others must be in the scope of
    // the association (a PE on loopback registers loopback addresses, and so on). Each address
    // is checked: one out of scope is left out (as RSPLIB filters them), and a registration
    // left with none is refused.
    const addresses: string[] = [];
    for (const a of pe.userTransport.addresses) {
      const address = isWildcard(a) ? peer.remoteAddress : a;
      if (addressScope(address) !== addressScope(peer.remoteAddress)) continue;
      if (!addresses.includes(address)) addresses.push(address);
    }
    if (addresses.length === 0 && pe.userTransport.addresses.length > 0) {
      this.#reject(
        peer,
        poolHandle,
        pe.identifier,
        ErrorCause.RejectedForSecurity,
        new Uint8Array(),
      );
      return;
    }
    const existing = this.handlespace.getPoolElement(poolHandle, pe.identifier);
    const previous = existing?.userData;
    if (
      previous?.association !== undefined && previous.association !== peer.association &&
      !previous.association.closed
    ) {
      // Another live association holds this PE ID (the same address is no proof: every process
      // of a host, everyone behind one NAT shares it). Once that association is gone, a new
      // one may take the ID over: a PE re-registering after a restart.
      this.#reject(
        peer,
        poolHandle,
        pe.identifier,
        ErrorCause.NonUniquePeIdentifier,
        new Uint8Array(),
      );
      return;
    }
    // The PE's ASAP address (where a registrar that takes it over reaches it). Data only:
    // RSPLIB refuses a PE whose ASAP transport says control ("invalid registrator").
    const asapTransport: TransportParameter = peer.protocol === "sctp"
      ? {
        protocol: "sctp",
        port: peer.association.remoteAddresses[0]?.port ?? 0,
        transportUse: "data",
        addresses: this.#addressList([peer.remoteAddress]),
      }
      : {
        protocol: "tcp",
        port: peer.association.remoteAddresses[0]?.port ?? 0,
        transportUse: "data",
        addresses: this.#addressList([peer.remoteAddress]),
      };
    // Frozen: the handlespace keeps it as it is, and its encoding is cached for resolutions.
    const stored = freezePoolElement({
      ...pe,
      homeRegistrarId: this.serverId,
      userTransport: { ...pe.userTransport, addresses: this.#addressList(addresses) },
      asapTransport,
    });
    const lifetimeEnd = life === -1 ? Infinity : now + life;
    const state = newPeState(peer.association, peer.remoteAddress, lifetimeEnd);
    let entry: PoolElementEntry<RegistrarPeState>;
    try {
      entry = this.handlespace.registerPoolElement(poolHandle, stored, {
        userData: state,
        expiresAt: Math.min(lifetimeEnd, this.#nextKeepAlive(now, 0.5)),
        // A PE that registered at a peer before and comes to us makes us its home.
        allowOwnerChange: true,
      }).entry;
    } catch (e) {
      if (!(e instanceof HandlespaceError)) throw e;
      this.#reject(peer, poolHandle, pe.identifier, e.errorCause, policyInfo(pe));
      logger.info("Registration of PE {id} in {pool} rejected: {reason}", {
        id: hex8(pe.identifier),
        pool: handleText(poolHandle),
        reason: e.message,
      });
      return;
    }
    if (previous?.association !== undefined) {
      const holder = this.#peers.get(previous.association);
      if (holder !== undefined) deletePe(holder, poolHandle, pe.identifier);
    }
    addPe(peer, entry.poolHandle, pe.identifier);
    this.stats.registrations++;
    this.#enrp?.localAdd(entry.poolHandle, entry.poolElement);
    this.#emit({
      type: "registered",
      time: now,
      poolHandle: entry.poolHandle,
      poolElement: entry.poolElement,
      renewal: existing !== undefined,
      from: peer.remoteAddress,
    });
    this.#send(peer, {
      type: "registration-response",
      rejected: false,
      poolHandle,
      identifier: pe.identifier,
    });
    if (existing === undefined) {
      // One line per association at info; per PE only at debug (registration churn must not
      // turn into a flood of log lines).
      const first = peCount(peer) === 1;
      logger[first ? "info" : "debug"](
        first
          ? "Association from {peer} registers PEs (first: {id} in {pool})"
          : "PE {id} registered in {pool} from {peer}",
        { id: hex8(pe.identifier), pool: handleText(poolHandle), peer: peer.remoteAddress },
      );
    }
    this.#schedule();
  }

  #onDeregistration(peer: Peer, poolHandle: Uint8Array, identifier: number): void {
    const entry = this.handlespace.getPoolElement(poolHandle, identifier);
    if (entry !== undefined && entry.userData?.association !== peer.association) {
      this.#send(peer, {
        type: "deregistration-response",
        poolHandle,
        identifier,
        error: [{ code: ErrorCause.RejectedForSecurity, info: new Uint8Array() }],
      });
      return;
    }
    if (entry !== undefined) {
      this.#remove(entry, "deregistered");
      this.stats.deregistrations++;
    }
    // Deregistering an unknown PE succeeds: it is not registered afterwards either way.
    this.#send(peer, { type: "deregistration-response", poolHandle, identifier });
  }

  #observeResolution(ms: number): void {
    const h = this.stats.resolutionTimes;
    const seconds = ms / 1000;
    let i = 0;
    while (i < RESOLUTION_TIME_BUCKETS.length && seconds > RESOLUTION_TIME_BUCKETS[i]) i++;
    h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  #onHandleResolution(peer: Peer, poolHandle: Uint8Array, items: number | undefined): void {
    const max = this.#options.maxHandleResolutionItems;
    const n = items === undefined ? max : Math.min(items, max);
    const selected = this.handlespace.selectPoolElements(poolHandle, Math.max(1, n));
    this.stats.handleResolutions++;
    if (selected.length === 0) {
      this.stats.handleResolutionsUnknown++;
      this.#send(peer, {
        type: "handle-resolution-response",
        acceptsUpdates: false,
        poolHandle,
        poolElements: [],
        error: [{ code: ErrorCause.UnknownPoolHandle, info: new Uint8Array() }],
      });
      return;
    }
    this.#send(peer, {
      type: "handle-resolution-response",
      acceptsUpdates: false,
      poolHandle,
      policy: selected[0].poolElement.policy,
      poolElements: selected.map((e) => e.poolElement),
    });
  }

  #onKeepAliveAck(peer: Peer, poolHandle: Uint8Array, identifier: number): void {
    const entry = this.handlespace.getPoolElement(poolHandle, identifier);
    const state = entry?.userData;
    if (entry === undefined || state === undefined || state.association !== peer.association) {
      return;
    }
    state.awaitingAck = false;
    state.lastKeepAliveAnswer = this.#clock();
    // It answers: reports about it start from nothing again.
    state.probing = false;
    state.reporters?.clear();
    state.badReports = 0;
    const next = Math.min(state.lifetimeEnd, this.#nextKeepAlive(this.#clock(), 0.8));
    this.handlespace.setExpiry(poolHandle, identifier, next);
    this.#schedule();
  }

  /**
   * When to send a PE its next keep-alive: at a random point in the last `1 - spread` of the
   * interval, so that PEs registered (or answering) together drift apart instead of being
   * probed in the same burst every interval, and none waits longer than the interval.
   */
  #nextKeepAlive(now: number, spread: number): number {
    return now + this.#options.keepAliveInterval * (spread + (1 - spread) * Math.random());
  }

  /**
   * An ENDPOINT_UNREACHABLE report. Reports count once per association within the window, so
   * that one client cannot evict a PE alone; at `maxBadPeReports` distinct reporters the PE is
   * probed with a keep-alive at once and removed only if it does not answer in time (at once
   * when its association is gone). An answer clears the reports.
   */
  #onUnreachable(peer: Peer, poolHandle: Uint8Array, identifier: number): void {
    this.stats.unreachableReports++;
    const entry = this.handlespace.getPoolElement(poolHandle, identifier);
    const state = entry?.userData;
    if (entry === undefined || state === undefined) return;
    if (state.probing) return; // being checked already
    const now = this.#clock();
    const reporters = state.reporters ??= new Map();
    for (const [a, t] of reporters) {
      if (now - t > this.#limits.unreachableWindow) reporters.delete(a);
    }
    reporters.set(peer.association, now);
    const reports = reporters.size;
    state.badReports = reports;
    logger.info("PE {id} of {pool} reported unreachable by {peer} ({n} of {max})", {
      id: hex8(identifier),
      pool: handleText(poolHandle),
      peer: peer.remoteAddress,
      n: reports,
      max: this.#options.maxBadPeReports,
    });
    this.#emit({
      type: "unreachable-reported",
      time: now,
      poolHandle,
      identifier,
      reports,
      from: peer.remoteAddress,
    });
    const home = state.association === undefined ? undefined : this.#peers.get(state.association);
    if (state.association !== undefined && home === undefined) {
      // Its association to the registrar is gone too (it waits out the keep-alive timeout to
      // register again): a PU that cannot reach it confirms what the registrar sees, so it goes
      // now instead of being handed to PUs until the timeout. A PE still associated needs
      // MAX-BAD-PE-REPORT reporters and its own silence, as before.
      this.stats.unreachableRemovals++;
      this.#remove(entry, "unreachable");
      return;
    }
    if (reports < this.#options.maxBadPeReports) return;
    if (home === undefined) {
      this.stats.unreachableRemovals++;
      this.#remove(entry, "unreachable");
      return;
    }
    // Ask the PE itself before believing the reports.
    state.probing = true;
    state.awaitingAck = true;
    this.stats.keepAlivesSent++;
    this.#send(home, {
      type: "endpoint-keep-alive",
      home: false,
      serverId: this.serverId,
      poolHandle: entry.poolHandle,
      identifier,
    });
    this.handlespace.setExpiry(
      entry.poolHandle,
      identifier,
      Math.min(state.lifetimeEnd, now + this.#probeTimeout()),
    );
    this.#schedule();
  }

  /** How long a PE reported unreachable has to answer the keep-alive that checks it. */
  #probeTimeout(): number {
    return Math.min(this.#options.keepAliveTimeout, 1000);
  }

  #remove(entry: PoolElementEntry<RegistrarPeState>, why: RemovalReason): void {
    this.handlespace.deregisterPoolElement(entry.poolHandle, entry.poolElement.identifier);
    if (entry.owner === this.serverId) this.#enrp?.localDelete(entry.poolHandle, entry.poolElement);
    const owner = entry.userData?.association;
    const holder = owner === undefined ? undefined : this.#peers.get(owner);
    if (holder !== undefined) deletePe(holder, entry.poolHandle, entry.poolElement.identifier);
    this.#emit({
      type: "removed",
      time: this.#clock(),
      poolHandle: entry.poolHandle,
      poolElement: entry.poolElement,
      reason: why,
    });
    logger[why === "deregistered" ? "debug" : "info"]("PE {id} removed from {pool}: {why}", {
      id: hex8(entry.poolElement.identifier),
      pool: handleText(entry.poolHandle),
      why,
    });
  }

  // ------------------------------------------------------------------ timers

  #schedule(): void {
    if (this.#closed) return;
    // Keep-alives, their timeouts and lifetimes due within a few ms of each other are handled
    // in one wake-up of the process (`transport/timer_slack.ts`), not each in its own.
    const due = coalescedTime(this.handlespace.nextExpiry(), this.#timerScale);
    if (due >= this.#timerDue && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    if (due === Infinity) return;
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#onTimers();
    }, Math.max(0, due - this.#clock()));
  }

  #onTimers(): void {
    if (this.#closed) return;
    const now = this.#clock();
    let wait: number;
    for (const entry of this.handlespace.takeDue()) {
      const state = entry.userData;
      if (state === undefined) continue;
      if (now >= state.lifetimeEnd) {
        this.stats.lifetimeExpiries++;
        this.#remove(entry, "lifetime");
      } else if (
        state.awaitingAck && now - this.#options.keepAliveTimeout <= this.#lastOverloaded &&
        state.association?.closed === false
      ) {
        // The registrar was overloaded while it waited: the answer may have waited in (or
        // been dropped from) the registrar's own receive queue. The keep-alive does not count;
        // the PE gets a new one, paced like the others (its association is still up, and a
        // registration life still ends).
        this.stats.keepAliveTimeoutsExcused++;
        state.awaitingAck = false;
        this.handlespace.setExpiry(
          entry.poolHandle,
          entry.poolElement.identifier,
          Math.min(state.lifetimeEnd, now + 1000 * Math.random()),
        );
      } else if (state.awaitingAck && state.probing) {
        this.stats.unreachableRemovals++;
        this.#remove(entry, "unreachable");
      } else if (state.awaitingAck) {
        this.stats.keepAliveTimeouts++;
        this.#remove(entry, "keep-alive");
      } else if (
        state.association !== undefined &&
        (wait = this.#pacer.delay(this.#options.keepAliveInterval)) > 0
      ) {
        // Overloaded: this keep-alive waits its place behind the others put off.
        this.stats.keepAlivesDeferred++;
        this.handlespace.setExpiry(
          entry.poolHandle,
          entry.poolElement.identifier,
          Math.min(state.lifetimeEnd, now + wait),
        );
      } else {
        state.awaitingAck = true;
        const peer = state.association && this.#peers.get(state.association);
        if (state.association === undefined) {
          // Taken over and not reached: kept until its registration life ends.
          this.handlespace.setExpiry(
            entry.poolHandle,
            entry.poolElement.identifier,
            state.lifetimeEnd,
          );
          continue;
        }
        if (peer !== undefined) {
          this.stats.keepAlivesSent++;
          // Encoded for each send (one per PE and interval): bytes kept per PE would cost
          // more heap than the PE's other state.
          this.#send(peer, {
            type: "endpoint-keep-alive",
            home: false,
            serverId: this.serverId,
            poolHandle: entry.poolHandle,
            identifier: entry.poolElement.identifier,
          });
        }
        this.handlespace.setExpiry(
          entry.poolHandle,
          entry.poolElement.identifier,
          Math.min(state.lifetimeEnd, now + this.#options.keepAliveTimeout),
        );
      }
    }
    this.#schedule();
  }

  /** Measures how late this timer runs (the event loop's lag) for the keep-alive pacer. */
  #probeLag(): void {
    const now = performance.now();
    const lag = now - this.#lagExpected;
    this.#lagExpected = now + LAG_PROBE_INTERVAL;
    if (this.#lagProbes % 10 === 0) {
      // What the PEs need: the budget stays at a tenth of it at least.
      const pes = this.handlespace.ownerSize(this.serverId);
      this.#pacer.setDemand(pes * 1000 / this.#options.keepAliveInterval);
    }
    if (++this.#lagProbes % 10 === 0 && !this.#readingDrops && this.#hasSctp()) {
      // What the kernel dropped at the SCTP sockets (a full queue shows there first).
      this.#readingDrops = true;
      SctpStack.default.receiveDrops().then((drops) => {
        this.#readingDrops = false;
        this.#pacer.recordDrops(drops);
      }, () => this.#readingDrops = false);
    }
    const was = this.#pacer.overloaded;
    this.#pacer.recordLag(lag);
    const is = this.#pacer.overloaded;
    if (is) this.#lastOverloaded = this.#clock();
    if (is && !was) {
      logger.warn(
        "Overloaded (event loop {lag} ms late on average, {drops} datagrams dropped in the last " +
          "second): keep-alives paced to {budget}/s, unanswered ones do not remove PEs",
        {
          lag: Math.round(this.#pacer.meanLag),
          drops: this.#pacer.drops,
          budget: Math.round(this.#pacer.budget),
        },
      );
    } else if (was && !is) {
      logger.warn("No longer overloaded: keep-alives at their interval again");
    }
  }

  // ------------------------------------------------------------------ ENRP

  async #startEnrp(options: RegistrarOptions): Promise<void> {
    for (const address of options.enrp ?? []) {
      const open: OpenOptions = address.protocol === "tcp"
        ? { framing: "rserpool", ppid: ENRP_PPID }
        : { sctp: options.sctp, udpPort: options.udpPort };
      const listener = await openListener(address, open);
      const bound = { ...address, port: listener.addresses[0]?.port ?? address.port };
      this.#enrpListeners.push({ address: bound, listener });
    }
    const endpoints = this.#enrpListeners.map((l) => l.address);
    const announce = options.enrpAnnounce;
    const first = endpoints[0];
    const interfaceAddress = (announce === false ? undefined : announce?.interfaceAddress) ??
      (first !== undefined && !isWildcard(first.hostname) ? first.hostname : undefined);
    // A wildcard endpoint is announced at the multicast interface's address.
    const advertised = endpoints.map((e) =>
      isWildcard(e.hostname) && interfaceAddress !== undefined
        ? { ...e, hostname: interfaceAddress }
        : e
    );
    const enrp = new EnrpServer({
      ...options.enrpTuning,
      serverId: this.serverId,
      handlespace: this.handlespace,
      endpoints: advertised,
      peers: options.peers,
      clock: this.#clock,
      auth: options.enrpSecret === undefined
        ? undefined
        : { secret: options.enrpSecret, maxSkew: options.enrpMaxSkew },
      host: {
        connect: (address, signal) =>
          connectEndpoint(address, {
            framing: "rserpool",
            ppid: ENRP_PPID,
            signal,
            timeout: options.enrpTuning?.requestTimeout ?? 3000,
            ...this.#sctpPorts,
            // From the ENRP endpoint itself: RSPLIB accepts a PRESENCE only from the address
            // and port its Server Information names.
            sctpEndpoint: address.protocol === "sctp" ? this.#enrpSctpEndpoint() : undefined,
          }),
        ready: () => {
          if (options.announce !== false && !this.#closed) {
            this.#startAnnouncing(options.announce ?? {}).catch((e) =>
              logger.error("Could not announce: {error}", { error: String(e) })
            );
          }
        },
        tookOver: (_target, entries) => this.#adopt(entries),
        lostOwnership: (entry) => this.#disown(entry as PoolElementEntry<RegistrarPeState>),
        supervises: (entry) => {
          const a = (entry as PoolElementEntry<RegistrarPeState>).userData?.association;
          return a !== undefined && !a.closed;
        },
        announce: (bytes) => this.#enrpSender?.send(bytes),
      },
    });
    this.#enrp = enrp;
    for (const { listener } of this.#enrpListeners) this.#track(this.#acceptEnrp(listener));
    if (announce !== false) {
      const group = { group: announce?.group ?? "239.0.0.51", port: announce?.port ?? 9901 };
      this.#enrpSender = await MulticastSender.open({
        ...group,
        interfaceAddress,
        ttl: announce?.ttl,
      });
      this.#enrpReceiver = await MulticastReceiver.open(
        { ...group, interfaceAddress },
        (bytes, from) => enrp.receiveAnnounce(bytes, from),
      );
    }
    enrp.start();
  }

  #enrpSctpEndpoint(): SctpEndpoint | undefined {
    for (const { listener } of this.#enrpListeners) {
      if (listener instanceof SctpEndpoint) return listener;
    }
    return undefined;
  }

  async #acceptEnrp(listener: AssociationListener): Promise<void> {
    try {
      for await (const association of listener) {
        if (this.#closed || this.#enrp === undefined) {
          association.abort("Registrar shutting down");
          continue;
        }
        this.#enrp.serve(association);
      }
    } catch (e) {
      if (!this.#closed) logger.error("ENRP listener failed: {error}", { error: String(e) });
    }
  }

  /**
   * PEs taken over from a dead peer: each is kept for its registration life and sent an
   * ENDPOINT_KEEP_ALIVE with the H flag at its ASAP address, so that it makes this registrar
   * its home; one that answers is supervised as if it had registered here.
   */
  #adopt(entries: PoolElementEntry<unknown>[]): void {
    const now = this.#clock();
    const queue: PoolElementEntry<RegistrarPeState>[] = [];
    for (const e of entries) {
      const life = e.poolElement.registrationLife;
      const lifetimeEnd = life < 0 ? Infinity : now + life;
      const state = newPeState(
        undefined,
        e.poolElement.asapTransport?.addresses[0] ?? "",
        lifetimeEnd,
      );
      const pe = freezePoolElement({ ...e.poolElement, homeRegistrarId: this.serverId });
      try {
        const r = this.handlespace.registerPoolElement(e.poolHandle, pe, {
          userData: state,
          expiresAt: lifetimeEnd,
        });
        queue.push(r.entry);
        this.#enrp?.localAdd(r.entry.poolHandle, r.entry.poolElement);
      } catch (error) {
        logger.warn("Taken-over PE {id} not kept: {error}", {
          id: hex8(e.poolElement.identifier),
          error: String(error),
        });
      }
    }
    this.#schedule();
    // A few connections at a time: a takeover of thousands of PEs must not open them at once.
    const next = async (): Promise<void> => {
      for (let e = queue.shift(); e !== undefined && !this.#closed; e = queue.shift()) {
        await this.#reach(e);
      }
    };
    for (let i = 0; i < 16; i++) this.#track(next());
  }

  /** Opens an ASAP association to a taken-over PE and sends it a keep-alive with the H flag. */
  async #reach(entry: PoolElementEntry<RegistrarPeState>): Promise<void> {
    const t = entry.poolElement.asapTransport;
    if (t === undefined || t.protocol !== "sctp" || t.addresses.length === 0) return;
    let association: Association;
    try {
      association = await connectEndpoint(
        { protocol: "sctp", hostname: t.addresses[0], port: t.port },
        {
          framing: "rserpool",
          ppid: ASAP_PPID,
          timeout: this.#options.keepAliveTimeout,
          ...this.#sctpPorts,
        },
      );
    } catch (e) {
      logger.debug("Taken-over PE {id} not reachable at its ASAP address: {error}", {
        id: hex8(entry.poolElement.identifier),
        error: String(e),
      });
      return;
    }
    const current = this.handlespace.getPoolElement(entry.poolHandle, entry.poolElement.identifier);
    const state = current?.userData;
    if (this.#closed || current === undefined || state === undefined || state.association) {
      association.abort("Not needed");
      return;
    }
    this.#serve(association, "sctp");
    const peer = this.#peers.get(association)!;
    state.association = association;
    state.awaitingAck = true;
    addPe(peer, current.poolHandle, current.poolElement.identifier);
    this.handlespace.setExpiry(
      current.poolHandle,
      current.poolElement.identifier,
      Math.min(state.lifetimeEnd, this.#clock() + this.#options.keepAliveTimeout),
    );
    this.stats.keepAlivesSent++;
    this.#send(peer, {
      type: "endpoint-keep-alive",
      home: true,
      serverId: this.serverId,
      poolHandle: current.poolHandle,
      identifier: current.poolElement.identifier,
    });
    this.#schedule();
  }

  /** A PE of ours registered at a peer: it is the peer's now; we stop supervising it. */
  #disown(entry: PoolElementEntry<RegistrarPeState>): void {
    const association = entry.userData?.association;
    const holder = association === undefined ? undefined : this.#peers.get(association);
    if (holder !== undefined) deletePe(holder, entry.poolHandle, entry.poolElement.identifier);
    logger.info("PE {id} of {pool} moved to another registrar", {
      id: hex8(entry.poolElement.identifier),
      pool: handleText(entry.poolHandle),
    });
  }

  // ------------------------------------------------------------------ announcements

  async #startAnnouncing(
    options: Exclude<RegistrarOptions["announce"], false | undefined>,
  ): Promise<void> {
    const first = this.#listeners[0]?.address;
    const interfaceAddress = options.interfaceAddress ??
      (first !== undefined && !isWildcard(first.hostname) ? first.hostname : undefined);
    this.#announcer = await MulticastSender.open({
      group: options.group ?? "239.0.0.50",
      port: options.port ?? 3863,
      interfaceAddress,
      ttl: options.ttl,
    });
    const transports: TransportParameter[] = this.#listeners.map(({ address, hostnames }) => {
      // A multi-homed SCTP endpoint is announced with all its addresses.
      const addresses = address.protocol === "sctp" && hostnames !== undefined &&
          hostnames.length > 1
        ? hostnames
        : [isWildcard(address.hostname) ? interfaceAddress ?? address.hostname : address.hostname];
      return address.protocol === "sctp"
        ? { protocol: "sctp", port: address.port, transportUse: "data", addresses }
        : { protocol: "tcp", port: address.port, transportUse: "data", addresses };
    });
    const bytes = encodeAsapMessage({
      type: "server-announce",
      serverId: this.serverId,
      transports,
    });
    const announce = () => this.#announcer?.send(bytes);
    announce();
    this.#announceTimer = setInterval(announce, options.interval ?? 1000);
  }
}

/** Information of an error cause about a policy: the PE's policy parameter. */
function policyInfo(pe: PoolElementParameter): Uint8Array {
  // Wireshark reads the information of causes 0x5 and 0x7 as a parameter; a registration
  // carrying just the PE's parameters fits that.
  try {
    const bytes = encodeAsapMessage({
      type: "registration",
      poolHandle: new Uint8Array(1),
      poolElement: pe,
    });
    return bytes.slice(12);
  } catch {
    return new Uint8Array();
  }
}
