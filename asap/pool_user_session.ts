/**
 * The PU side of a session with a pool: one data association to a PE at a time, requests and
 * responses, failure detection and failover with the last state cookie.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
import type { AsapMessage } from "./messages.ts";
import { ASAP_PPID, connectEndpoint } from "./connect.ts";
import { PoolError } from "./errors.ts";
import { toPoolHandle } from "./pool_handle.ts";
import type { SessionMessage } from "./pool_element_session.ts";
import { Channel } from "../transport/channel.ts";
import { closeGracefully } from "../transport/close_gracefully.ts";
import { delay } from "../transport/delay.ts";
import type { EndpointAddress, MultiHomedAddress } from "../transport/open.ts";
import { TransportError } from "../transport/errors.ts";
import type { SctpTuning, SctpUdpPorts } from "../transport/sctp/config.ts";
import { addressScope } from "../transport/sctp/scope.ts";
import type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  TransportAddress,
} from "../transport/types.ts";
import { ipAddressFamily } from "../wire/address.ts";
import type { PoolElementParameter } from "../wire/types.ts";

const logger = getLogger(["rserpool", "asap", "pu"]);

/**
 * Options of a session ({@linkcode PoolUser.connect}); the PU's options give the defaults.
 * Times in milliseconds.
 *
 * @example
 * ```ts
 * import type { PoolUserSessionOptions } from "@rserpool/rserpool/asap";
 * const options: PoolUserSessionOptions = { requestTimeout: 2000, maxFailoverAttempts: 4 };
 * ```
 */
export interface PoolUserSessionOptions extends SctpUdpPorts {
  /** Time a request waits for its response before the PE counts as failed (default 10000). */
  requestTimeout?: number;
  /** Bound of connecting to one PE (default 5000). */
  connectTimeout?: number;
  /**
   * PEs tried (connect attempts and rounds without any PE) before a failover gives up and the
   * session ends with {@linkcode PoolError} `failover-failed` (default 8).
   */
  maxFailoverAttempts?: number;
  /** Pause before a PE that already failed is tried again, when no other is left (default 500). */
  failoverDelay?: number;
  /**
   * Times one request is sent (first send plus re-sends after failovers) before it is rejected
   * with {@linkcode PoolError} `timeout` (default 3); keeps a request that breaks every PE from
   * going round the pool.
   */
  maxRequestAttempts?: number;
  /** PPID of application messages sent without one (default 0). */
  ppid?: number;
  /**
   * SCTP protocol parameters of the data associations. Defaults: {@linkcode FAST_FAILOVER_SCTP},
   * so that a PE that dies without a word (a killed process sends no ABORT over UDP) is noticed
   * within about half a second while a request waits, and within about a second when idle.
   * A PE with several addresses gets {@linkcode MULTI_HOMED_SCTP} on top of them.
   */
  sctp?: SctpTuning;
  /**
   * This end's addresses for an SCTP association to a PE with several addresses, listed in the
   * INIT so that the PE can answer over each path. Default: the addresses of this host's
   * network interfaces in the scope and family of the PE's primary address (when the `sys`
   * permission allows listing them and there are several), else the wildcard address.
   */
  localAddresses?: string[];
}

/** Whether a connect failed on this side (bind, resources, limits of our own endpoint). */
function isLocalFailure(e: unknown): boolean {
  return e instanceof TransportError && (e.code === "local" || e.code === "limit");
}

/**
 * SCTP settings of a PU's data associations unless the session says otherwise: short
 * retransmission timeouts and few retransmissions before the association counts as failed,
 * which suits a LAN where a round trip takes well under a millisecond. A PE that stays silent
 * through RTO.Min, 2 x, 4 x and 4 x again (50, 100, 200, 200 ms) is failed over.
 *
 * @example
 * ```ts
 * import { FAST_FAILOVER_SCTP } from "@rserpool/rserpool/asap";
 * FAST_FAILOVER_SCTP.associationMaxRetransmits; // 3
 * ```
 */
export const FAST_FAILOVER_SCTP: Readonly<SctpTuning> = {
  rtoInitial: 200,
  rtoMin: 50,
  rtoMax: 200,
  heartbeatInterval: 500,
  pathMaxRetransmits: 3,
  associationMaxRetransmits: 3,
  maxInitRetransmits: 3,
};

/**
 * What a session adds to its SCTP settings for a PE with several addresses. A path goes down
 * after two unanswered retransmissions or heartbeats (RTO.Min and 2 x: 150 ms), so a cut link
 * moves the association to the next path long before a request times out; the association
 * itself tolerates more (the path switch comes first), and the session fails over when every
 * path is down, which a PE that died reaches in about the time {@linkcode FAST_FAILOVER_SCTP}
 * takes with one path.
 *
 * @example
 * ```ts
 * import { MULTI_HOMED_SCTP } from "@rserpool/rserpool/asap";
 * MULTI_HOMED_SCTP.pathMaxRetransmits; // 1
 * ```
 */
export const MULTI_HOMED_SCTP: Readonly<SctpTuning> = {
  pathMaxRetransmits: 1,
  associationMaxRetransmits: 8,
};

/**
 * What a session needs from its pool user: PE selection and failure reports. A
 * {@linkcode PoolUser} provides it.
 *
 * @example
 * ```ts
 * import type { PoolUserSessionHost } from "@rserpool/rserpool/asap";
 * const fixed = (pe: import("../wire/types.ts").PoolElementParameter): PoolUserSessionHost => ({
 *   select: () => Promise.resolve(pe),
 *   reportUnreachable: () => Promise.resolve(),
 * });
 * ```
 */
export interface PoolUserSessionHost {
  /** A PE of the pool by its policy, not one of `excluded`, or `undefined` when none is left. */
  select(
    poolHandle: Uint8Array,
    excluded: ReadonlySet<number>,
  ): Promise<PoolElementParameter | undefined>;
  /** Reports a PE as unreachable (ENDPOINT_UNREACHABLE) and forgets it. */
  reportUnreachable(poolHandle: Uint8Array, identifier: number): Promise<void>;
  /** Told of every failover and path switch of the session (for the PU's counters). */
  count?(what: "failover" | "path-switch"): void;
}

/**
 * Something that happened to a {@linkcode PoolUserSession}.
 *
 * - `connected`: the first PE was reached.
 * - `failover`: the session moved from one PE to another: `reason` is what failed; `resent`
 *   requests were sent again to the new PE, after a COOKIE_ECHO if `cookieEchoed`.
 * - `path-changed`: the data association to the same PE moved from one of its addresses to
 *   another (a path failed, or the primary came back); no failover, nothing re-sent.
 * - `cookie`: the PE sent a state cookie (the session echoes the last one after a failover).
 * - `business-card`: the PE sent a BUSINESS_CARD: its pool and the PEs to fail over to, in
 *   order; the next failover tries them first.
 * - `closed`: the session ended; `error` is set when it ended because no PE could be reached.
 *
 * @example
 * ```ts
 * import type { PoolUserSessionEvent } from "@rserpool/rserpool/asap";
 * const log = (e: PoolUserSessionEvent) => {
 *   if (e.type === "failover") console.log(`${e.from?.identifier} -> ${e.to.identifier}`);
 * };
 * ```
 */
export type PoolUserSessionEvent =
  | { type: "connected"; poolElement: PoolElementParameter }
  | {
    type: "failover";
    from: PoolElementParameter | undefined;
    to: PoolElementParameter;
    reason: string;
    resent: number;
    cookieEchoed: boolean;
  }
  | {
    type: "path-changed";
    poolElement: PoolElementParameter;
    from: TransportAddress | undefined;
    to: TransportAddress;
  }
  | { type: "cookie"; cookie: Uint8Array }
  | { type: "business-card"; poolHandle: Uint8Array; poolElements: PoolElementParameter[] }
  | { type: "closed"; error?: PoolError };

/**
 * Options of {@linkcode PoolUserSession.request}.
 *
 * @example
 * ```ts
 * import type { RequestOptions } from "@rserpool/rserpool/asap";
 * const options: RequestOptions = { timeout: 1000 };
 * ```
 */
export interface RequestOptions {
  /** Time to wait for the response (default: the session's `requestTimeout`). */
  timeout?: number;
  /** PPID of the request (default: the session's). */
  ppid?: number;
  /** Stream (default 0). */
  stream?: number;
}

interface Request {
  data: Uint8Array;
  ppid: number;
  stream: number;
  timeout: number;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (data: Uint8Array) => void;
  reject: (e: Error) => void;
}

/**
 * Where a PE takes data associations (its first address), or `undefined` for a transport we
 * cannot open.
 *
 * @example
 * ```ts
 * import { poolElementAddress } from "@rserpool/rserpool/asap";
 * poolElementAddress({
 *   identifier: 1,
 *   homeRegistrarId: 0,
 *   registrationLife: 30000,
 *   policy: { name: "round-robin" },
 *   userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 * }); // { protocol: "tcp", hostname: "10.0.0.1", port: 7 }
 * ```
 */
export function poolElementAddress(pe: PoolElementParameter): EndpointAddress | undefined {
  const t = pe.userTransport;
  if ((t.protocol !== "tcp" && t.protocol !== "sctp") || t.addresses.length === 0) {
    return undefined;
  }
  return { protocol: t.protocol, hostname: t.addresses[0], port: t.port };
}

/**
 * Every address a PE registered for data associations (the first is the primary), or
 * `undefined` for a transport we cannot open.
 *
 * @example
 * ```ts
 * import { poolElementAddresses } from "@rserpool/rserpool/asap";
 * poolElementAddresses({
 *   identifier: 1,
 *   homeRegistrarId: 0,
 *   registrationLife: 30000,
 *   policy: { name: "round-robin" },
 *   userTransport: {
 *     protocol: "sctp",
 *     port: 7,
 *     transportUse: "data",
 *     addresses: ["10.211.0.2", "10.212.0.2"],
 *   },
 * }); // { protocol: "sctp", hostname: ["10.211.0.2", "10.212.0.2"], port: 7 }
 * ```
 */
export function poolElementAddresses(pe: PoolElementParameter): MultiHomedAddress | undefined {
  const t = pe.userTransport;
  if ((t.protocol !== "tcp" && t.protocol !== "sctp") || t.addresses.length === 0) {
    return undefined;
  }
  const hostname = t.addresses.length === 1 ? t.addresses[0] : [...t.addresses];
  return { protocol: t.protocol, hostname, port: t.port };
}

/**
 * This host's addresses to reach a multi-homed peer from: those of its interfaces with the
 * family and scope of the peer's primary address, when there are several; `undefined` (the
 * wildcard address) otherwise, or when listing interfaces is not permitted.
 */
function localAddressesFor(peer: string): string[] | undefined {
  const scope = addressScope(peer);
  const family = ipAddressFamily(peer);
  if (scope === "loopback" || scope === "link-local" || family === undefined) return undefined;
  try {
    const sys = Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" });
    if (sys.state !== "granted") return undefined;
    const out: string[] = [];
    for (const i of Deno.networkInterfaces()) {
      if (ipAddressFamily(i.address) !== family || addressScope(i.address) !== scope) continue;
      if (!out.includes(i.address)) out.push(i.address);
    }
    return out.length > 1 ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A PU's session with a pool. It talks to one PE at a time over a data association (TCP with
 * framing `"framed"`, or SCTP, as the PE registered). Messages in both directions keep their
 * boundaries; ASAP messages (PPID 11) on the association carry state cookies.
 *
 * Requests: {@linkcode PoolUserSession.request} sends a message and resolves with the next
 * application message from the PE: one response per request, in order (FIFO). Application
 * messages that arrive while no request is waiting go to {@linkcode PoolUserSession.receive}
 * and async iteration. Do not mix requests with messages the PE sends on its own.
 *
 * Failover: when the association is lost or a request times out, the session reports the PE
 * (ENDPOINT_UNREACHABLE; not for a graceful close by the PE), selects another PE of the pool by
 * its policy (from the PU's cache, resolving again when none is left), connects, sends a
 * COOKIE_ECHO with the last cookie received, re-sends every request still waiting in its
 * original order, and emits `failover`. The session fails over at once even when no request is
 * waiting. When no PE can be reached within `maxFailoverAttempts`, every waiting request is
 * rejected with {@linkcode PoolError} `failover-failed` and the session ends: a request is never
 * dropped silently. Messages of {@linkcode PoolUserSession.send} are not tracked: one sent just
 * before a failure may be lost.
 *
 * @example
 * ```ts ignore
 * import { PoolUser } from "@rserpool/rserpool/asap";
 * await using pu = new PoolUser({
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 * });
 * await using session = await pu.connect("EchoPool");
 * session.onEvent((e) => e.type === "failover" && console.log("failed over:", e.reason));
 * const answer = await session.request(new TextEncoder().encode("hello"));
 * ```
 */
export class PoolUserSession implements AsyncIterable<SessionMessage>, AsyncDisposable {
  /** The pool. */
  readonly poolHandle: Uint8Array;
  #host: PoolUserSessionHost;
  #requestTimeout: number;
  #connectTimeout: number;
  #maxFailoverAttempts: number;
  #failoverDelay: number;
  #maxRequestAttempts: number;
  #ppid: number;
  #sctp: SctpTuning | undefined;
  #localAddresses: string[] | undefined;
  #udpPorts: SctpUdpPorts;
  #path: TransportAddress | undefined;
  #pathsDown = new Set<string>();
  #allDown: ReturnType<typeof setTimeout> | undefined;
  #lastHeard = 0;
  #pathSwitches = 0;
  #businessCard: PoolElementParameter[] = [];
  #association: Association | undefined;
  #current: PoolElementParameter | undefined;
  #generation = 0;
  #outstanding: Request[] = [];
  /** Application messages that answer no request, for `receive`; closed when the session ends. */
  #unsolicited = new Channel<SessionMessage>();
  #cookie: Uint8Array | undefined;
  #failing: Promise<void> | undefined;
  #failAgain: { generation: number; reason: string; report: boolean } | undefined;
  #excluded = new Set<number>();
  #closed = false;
  #controller = new AbortController();
  #listeners = new Set<(e: PoolUserSessionEvent) => void>();
  #readers = new Set<Promise<void>>();
  #failovers = 0;

  /** Creates a session; {@linkcode PoolUserSession.open} connects it. */
  constructor(
    poolHandle: Uint8Array,
    host: PoolUserSessionHost,
    options: PoolUserSessionOptions = {},
  ) {
    this.poolHandle = poolHandle;
    this.#host = host;
    this.#requestTimeout = options.requestTimeout ?? 10_000;
    this.#connectTimeout = options.connectTimeout ?? 5000;
    this.#maxFailoverAttempts = Math.max(1, options.maxFailoverAttempts ?? 8);
    this.#failoverDelay = options.failoverDelay ?? 500;
    this.#maxRequestAttempts = Math.max(1, options.maxRequestAttempts ?? 3);
    this.#ppid = options.ppid ?? 0;
    this.#sctp = options.sctp;
    this.#localAddresses = options.localAddresses;
    this.#udpPorts = { udpPort: options.udpPort, remoteUdpPort: options.remoteUdpPort };
  }

  /**
   * Connects to a first PE. Rejects with {@linkcode PoolError} `unknown-pool-handle` when the
   * pool does not exist, `failover-failed` when none of its PEs could be reached.
   */
  async open(): Promise<void> {
    await this.#connectLoop(undefined, "", true);
  }

  /** The PE the session talks to now (`undefined` during a failover). */
  get poolElement(): PoolElementParameter | undefined {
    return this.#association === undefined ? undefined : this.#current;
  }

  /** The last state cookie the PE sent, which a failover echoes. */
  get cookie(): Uint8Array | undefined {
    return this.#cookie;
  }

  /** Failovers so far. */
  get failovers(): number {
    return this.#failovers;
  }

  /** Path switches so far: moves of the data association from one address of a PE to another. */
  get pathSwitches(): number {
    return this.#pathSwitches;
  }

  /** The PE address the data association sends to now (`undefined` during a failover). */
  get path(): TransportAddress | undefined {
    return this.#association === undefined ? undefined : this.#path;
  }

  /**
   * The PEs of the last BUSINESS_CARD from a PE, in its order: the next failover tries those not
   * failed yet before it asks the PU's cache and the registrar.
   */
  get businessCard(): readonly PoolElementParameter[] {
    return this.#businessCard;
  }

  /** Requests waiting for their response. */
  get outstanding(): number {
    return this.#outstanding.length;
  }

  /** True once the session has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Registers a listener for session events; returns a function that removes it. */
  onEvent(listener: (event: PoolUserSessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: PoolUserSessionEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        logger.error("Session event listener failed: {error}", { error: String(e) });
      }
    }
  }

  // ------------------------------------------------------------------ sending

  /**
   * Sends a request and resolves with its response (the next application message from the PE
   * after the responses to earlier requests). Survives failovers: see the class documentation.
   */
  request(data: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new PoolError("closed", "Session is closed"));
    const ppid = options.ppid ?? this.#ppid;
    if (ppid === ASAP_PPID) {
      return Promise.reject(new PoolError("invalid", "PPID 11 is reserved for ASAP"));
    }
    return new Promise((resolve, reject) => {
      const r: Request = {
        data,
        ppid,
        stream: options.stream ?? 0,
        timeout: options.timeout ?? this.#requestTimeout,
        attempts: 0,
        timer: undefined,
        resolve,
        reject,
      };
      this.#outstanding.push(r);
      if (this.#association !== undefined && this.#failing === undefined) this.#transmit(r);
    });
  }

  /**
   * Sends a message without waiting for an answer; during a failover it waits for the new PE.
   * Not tracked: a message sent just before a failure may be lost.
   */
  async send(data: Uint8Array, options: RequestOptions = {}): Promise<void> {
    const ppid = options.ppid ?? this.#ppid;
    if (ppid === ASAP_PPID) throw new PoolError("invalid", "PPID 11 is reserved for ASAP");
    for (;;) {
      if (this.#closed) throw new PoolError("closed", "Session is closed");
      if (this.#failing !== undefined) {
        await this.#failing;
        continue;
      }
      const a = this.#association;
      if (a === undefined) throw new PoolError("closed", "Session is not connected");
      await a.send(data, { ppid, stream: options.stream ?? 0 });
      return;
    }
  }

  /**
   * Sends this PU's own BUSINESS_CARD to the PE (RFC 5352, a PU that is itself a PE of a pool):
   * the pool it serves in and the PEs that stand in for it, in order, so that the PE can reach
   * it, or another of them, back. During a failover it waits for the new PE.
   */
  async sendBusinessCard(
    poolHandle: string | Uint8Array,
    poolElements: PoolElementParameter[],
  ): Promise<void> {
    const data = encodeAsapMessage({
      type: "business-card",
      poolHandle: toPoolHandle(poolHandle),
      poolElements,
    });
    for (;;) {
      if (this.#closed) throw new PoolError("closed", "Session is closed");
      if (this.#failing !== undefined) {
        await this.#failing;
        continue;
      }
      const a = this.#association;
      if (a === undefined) throw new PoolError("closed", "Session is not connected");
      await a.send(data, { ppid: ASAP_PPID });
      return;
    }
  }

  #transmit(r: Request): void {
    const a = this.#association;
    if (a === undefined) return;
    if (r.attempts >= this.#maxRequestAttempts) {
      this.#remove(r);
      r.reject(new PoolError("timeout", `Request not answered after ${r.attempts} attempts`));
      return;
    }
    r.attempts++;
    const generation = this.#generation;
    clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (generation !== this.#generation || !this.#outstanding.includes(r)) return;
      this.#fail(`Request timed out after ${r.timeout} ms`, generation, true);
    }, r.timeout);
    a.send(r.data, { ppid: r.ppid, stream: r.stream }).catch(() => {
      // The read loop sees the association end and fails over.
    });
  }

  #remove(r: Request): void {
    const i = this.#outstanding.indexOf(r);
    if (i >= 0) this.#outstanding.splice(i, 1);
    clearTimeout(r.timer);
    r.timer = undefined;
  }

  // ------------------------------------------------------------------ receiving

  /** The next application message that answers no request, or `null` once the session ends. */
  receive(): Promise<SessionMessage | null> {
    return this.#unsolicited.receive();
  }

  /** Yields application messages that answer no request, until the session ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<SessionMessage> {
    for (;;) {
      const m = await this.receive();
      if (m === null) return;
      yield m;
    }
  }

  #onMessage(m: ReceivedMessage): void {
    if (m.ppid === ASAP_PPID) {
      let message: AsapMessage;
      try {
        message = decodeAsapMessage(m.data);
      } catch (e) {
        logger.debug("Malformed ASAP message from a PE: {error}", { error: String(e) });
        return;
      }
      if (message.type === "cookie") {
        this.#cookie = message.cookie;
        this.#emit({ type: "cookie", cookie: message.cookie });
      } else if (message.type === "business-card") {
        const from = this.#current?.identifier;
        this.#businessCard = message.poolElements.filter((pe) => pe.identifier !== from);
        logger.debug("PE {id} sent a business card: {pes}", {
          id: from?.toString(16),
          pes: this.#businessCard.map((pe) => pe.identifier.toString(16)).join(", "),
        });
        this.#emit({
          type: "business-card",
          poolHandle: message.poolHandle,
          poolElements: message.poolElements,
        });
      }
      return;
    }
    const head = this.#outstanding[0];
    if (head !== undefined && head.attempts > 0) {
      this.#remove(head);
      head.resolve(m.data);
      return;
    }
    this.#unsolicited.push({ data: m.data, ppid: m.ppid, stream: m.stream });
  }

  async #read(association: Association, generation: number): Promise<void> {
    let reason = "Association ended";
    let report = true;
    const off = association.onEvent((e) => {
      if (e.type === "communication-lost") {
        reason = `Association lost: ${e.reason}`;
      } else if (e.type === "shutdown") {
        reason = "The PE closed the association";
        report = false;
      } else if (generation === this.#generation) {
        this.#onPathEvent(association, generation, e);
      }
    });
    try {
      for await (const m of association) {
        if (generation !== this.#generation) break;
        this.#lastHeard = performance.now();
        this.#onMessage(m);
      }
    } catch (e) {
      reason = String(e);
    }
    // Let the terminal event arrive (it is delivered in a microtask).
    await Promise.resolve();
    off();
    if (generation === this.#generation && !this.#closed) this.#fail(reason, generation, report);
  }

  #onPathEvent(association: Association, generation: number, e: AssociationEvent): void {
    const pe = this.#current;
    if (pe === undefined) return;
    if (e.type === "path-down") {
      this.#pathsDown.add(e.address.hostname);
      logger.debug("Session with PE {id}: path to {address} down", {
        id: pe.identifier.toString(16),
        address: e.address.hostname,
      });
      if (
        this.#allDown === undefined &&
        association.remoteAddresses.every((p) => this.#pathsDown.has(p.hostname))
      ) {
        // Only the loss of every path fails the PE over. A path can be marked down by
        // retransmissions whose acknowledgements the PE sent to a path that had just failed;
        // then the PE still answers (its own retransmissions come over the other path) and the
        // path comes back with its next heartbeat. So: fail over after RTO.Max + 100 ms unless
        // something came from the PE meanwhile; if it did, wait for a heartbeat to bring a path
        // back up.
        const since = performance.now();
        const rtoMax = this.#sctp?.rtoMax ?? FAST_FAILOVER_SCTP.rtoMax ?? 200;
        const heartbeat = this.#sctp?.heartbeatInterval ?? FAST_FAILOVER_SCTP.heartbeatInterval ??
          500;
        const fail = () => {
          this.#allDown = undefined;
          this.#fail("Every path to the PE is down", generation, true);
        };
        this.#allDown = setTimeout(() => {
          if (this.#lastHeard <= since) return fail();
          this.#allDown = setTimeout(fail, heartbeat + 2 * rtoMax);
        }, rtoMax + 100);
      }
    } else if (e.type === "path-up") {
      this.#pathsDown.delete(e.address.hostname);
      clearTimeout(this.#allDown);
      this.#allDown = undefined;
      logger.debug("Session with PE {id}: path to {address} up", {
        id: pe.identifier.toString(16),
        address: e.address.hostname,
      });
    } else if (e.type === "primary-changed") {
      const from = this.#path;
      if (from?.hostname === e.address.hostname) return;
      this.#path = e.address;
      this.#pathSwitches++;
      this.#host.count?.("path-switch");
      logger.debug("Session with PE {id} switched paths from {from} to {to}", {
        id: pe.identifier.toString(16),
        from: from?.hostname,
        to: e.address.hostname,
      });
      this.#emit({ type: "path-changed", poolElement: pe, from, to: e.address });
    }
  }

  // ------------------------------------------------------------------ failover

  #fail(reason: string, generation: number, report: boolean): void {
    if (generation !== this.#generation || this.#closed) return;
    if (this.#failing !== undefined) {
      this.#failAgain = { generation, reason, report };
      return;
    }
    const from = this.#current;
    const old = this.#association;
    clearTimeout(this.#allDown);
    this.#allDown = undefined;
    this.#generation++;
    this.#association = undefined;
    for (const r of this.#outstanding) {
      clearTimeout(r.timer);
      r.timer = undefined;
    }
    if (old !== undefined && !old.closed) old.abort(reason);
    logger.info("Session with PE {id} failed: {reason}", {
      id: from?.identifier.toString(16),
      reason,
    });
    if (from !== undefined) {
      this.#excluded.add(from.identifier);
      if (report) {
        this.#host.reportUnreachable(this.poolHandle, from.identifier).catch(() => {});
      }
    }
    this.#failing = this.#connectLoop(from, reason, false)
      .catch((e) => {
        this.#terminate(
          e instanceof PoolError ? e : new PoolError("failover-failed", String(e), { cause: e }),
        );
      })
      .finally(() => {
        this.#failing = undefined;
        const again = this.#failAgain;
        this.#failAgain = undefined;
        if (again !== undefined) this.#fail(again.reason, again.generation, again.report);
      });
  }

  async #connectLoop(
    from: PoolElementParameter | undefined,
    reason: string,
    initial: boolean,
  ): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.#maxFailoverAttempts; attempt++) {
      if (this.#closed) throw new PoolError("closed", "Session is closed");
      // A BUSINESS_CARD's PEs come first, in its order; then the pool's policy.
      let candidate = this.#businessCard.find((pe) => !this.#excluded.has(pe.identifier));
      if (candidate === undefined) {
        try {
          candidate = await this.#host.select(this.poolHandle, this.#excluded);
        } catch (e) {
          if (initial && e instanceof PoolError && e.code === "unknown-pool-handle") throw e;
          lastError = e;
        }
      }
      if (this.#closed) throw new PoolError("closed", "Session is closed");
      if (candidate === undefined) {
        // Nothing untried is left: wait, then give the failed PEs another chance.
        await delay(this.#failoverDelay, { signal: this.#controller.signal });
        this.#excluded.clear();
        continue;
      }
      const address = poolElementAddresses(candidate);
      if (address === undefined) {
        this.#excluded.add(candidate.identifier);
        lastError = new PoolError("invalid", `PE transport ${candidate.userTransport.protocol}`);
        continue;
      }
      let association: Association;
      try {
        const hostnames = Array.isArray(address.hostname) ? address.hostname : [address.hostname];
        const multiHomed = hostnames.length > 1;
        association = await connectEndpoint(address, {
          framing: "framed",
          timeout: this.#connectTimeout,
          signal: this.#controller.signal,
          sctp: {
            ...FAST_FAILOVER_SCTP,
            ...(multiHomed ? MULTI_HOMED_SCTP : {}),
            ...this.#sctp,
          },
          localHostname: multiHomed && address.protocol === "sctp"
            ? this.#localAddresses ?? localAddressesFor(hostnames[0])
            : undefined,
          ...this.#udpPorts,
        });
      } catch (e) {
        lastError = e;
        if (this.#closed) throw new PoolError("closed", "Session is closed");
        if (isLocalFailure(e)) {
          // Our own failure (a socket that cannot be bound, no resources) says nothing about
          // the PE: it is neither reported nor skipped, and the caller learns the real cause.
          throw new PoolError("local", `Could not open an association: ${String(e)}`, {
            cause: e,
          });
        }
        logger.debug("PE {id} not reachable: {error}", {
          id: candidate.identifier.toString(16),
          error: String(e),
        });
        this.#excluded.add(candidate.identifier);
        this.#host.reportUnreachable(this.poolHandle, candidate.identifier).catch(() => {});
        continue;
      }
      if (this.#closed) {
        association.abort("Session closed");
        throw new PoolError("closed", "Session is closed");
      }
      this.#install(association, candidate);
      let cookieEchoed = false;
      if (!initial && this.#cookie !== undefined) {
        cookieEchoed = true;
        association.send(encodeAsapMessage({ type: "cookie-echo", cookie: this.#cookie }), {
          ppid: ASAP_PPID,
        }).catch(() => {});
      }
      const waiting = [...this.#outstanding];
      for (const r of waiting) this.#transmit(r);
      if (initial) {
        this.#emit({ type: "connected", poolElement: candidate });
      } else {
        this.#failovers++;
        this.#host.count?.("failover");
        logger.info("Session failed over from PE {from} to {to}", {
          from: from?.identifier.toString(16),
          to: candidate.identifier.toString(16),
        });
        this.#emit({
          type: "failover",
          from,
          to: candidate,
          reason,
          resent: waiting.length,
          cookieEchoed,
        });
      }
      return;
    }
    throw new PoolError(
      "failover-failed",
      `No PE of pool ${
        new TextDecoder().decode(this.poolHandle)
      } reachable in ${this.#maxFailoverAttempts} attempts`,
      { cause: lastError },
    );
  }

  #install(association: Association, pe: PoolElementParameter): void {
    this.#generation++;
    this.#association = association;
    this.#current = pe;
    this.#path = association.remoteAddresses[0];
    this.#pathsDown.clear();
    clearTimeout(this.#allDown);
    this.#allDown = undefined;
    const reader = this.#read(association, this.#generation);
    this.#readers.add(reader);
    reader.finally(() => this.#readers.delete(reader));
  }

  #terminate(error: PoolError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    clearTimeout(this.#allDown);
    this.#allDown = undefined;
    this.#controller.abort();
    for (const r of this.#outstanding.splice(0)) {
      clearTimeout(r.timer);
      r.reject(error ?? new PoolError("closed", "Session closed before the response"));
    }
    this.#unsolicited.close();
    if (error !== undefined) {
      logger.warn("Session with pool {pool} ended: {error}", {
        pool: new TextDecoder().decode(this.poolHandle),
        error: error.message,
      });
    }
    this.#emit(error === undefined ? { type: "closed" } : { type: "closed", error });
  }

  /**
   * Ends the session: waiting requests are rejected with {@linkcode PoolError} `closed`, and the
   * association is closed gracefully (aborted when that takes more than 2 s).
   */
  async close(): Promise<void> {
    const a = this.#association;
    this.#association = undefined;
    this.#terminate(undefined);
    await this.#failing;
    if (a !== undefined && !a.closed) {
      await closeGracefully(a, { timeout: 2000, reason: "Session closed" });
    }
    await Promise.allSettled([...this.#readers]);
  }

  /** Same as {@linkcode PoolUserSession.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
