/**
 * The pool user (RFC 5352, PU side): resolves pool handles through a registrar it hunts for,
 * caches the answers, and opens sessions that select PEs by the pool's policy and fail over.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { AsapHandleResolutionResponse } from "./messages.ts";
import { PoolError } from "./errors.ts";
import { samePoolHandle, toPoolHandle } from "./pool_handle.ts";
import type { HuntTuning } from "./pool_element.ts";
import { PoolUserSession, type PoolUserSessionOptions } from "./pool_user_session.ts";
import { RegistrarChannel } from "./registrar_channel.ts";
import { RegistrarHunt } from "./registrar_hunt.ts";
import { Handlespace } from "../handlespace/handlespace.ts";
import { HandlespaceError } from "../handlespace/errors.ts";
import type { MulticastOptions } from "../transport/multicast.ts";
import type { EndpointAddress } from "../transport/open.ts";
import type { SctpTuning } from "../transport/sctp/config.ts";
import { ErrorCause, errorCauseName } from "../wire/errors.ts";
import type { PoolElementParameter } from "../wire/types.ts";

const logger = getLogger(["rserpool", "asap", "pu"]);

/**
 * Options of a {@linkcode PoolUser}. Times in milliseconds. The session options are the
 * defaults of every {@linkcode PoolUser.connect}.
 *
 * @example
 * ```ts
 * import type { PoolUserOptions } from "@rserpool/rserpool/asap";
 * const options: PoolUserOptions = {
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 *   cacheLifetime: 5000,
 *   requestTimeout: 3000,
 * };
 * ```
 */
export interface PoolUserOptions extends PoolUserSessionOptions {
  /** Registrars to ask (tried in parallel; announced ones come first). */
  registrars?: EndpointAddress[];
  /** Also find registrars by SERVER_ANNOUNCE on this multicast group. */
  announce?: MulticastOptions;
  /** Registrar hunt tuning. */
  hunt?: HuntTuning;
  /**
   * The stale-cache value: how long a handle resolution answer is used before the registrar is
   * asked again (default 5000; 0 asks every time).
   */
  cacheLifetime?: number;
  /** Time a registrar has to answer a HANDLE_RESOLUTION (default 3000, as RSPLIB). */
  registrarTimeout?: number;
  /**
   * HANDLE_RESOLUTIONs re-sent after a timeout, each after dropping the registrar and hunting
   * again (MAX-REQUEST-RETRANSMIT, default 2).
   */
  maxRequestRetransmits?: number;
  /**
   * Bound of {@linkcode PoolUser.resolve} and {@linkcode PoolUser.reportUnreachable} including
   * the registrar hunt (default 15000); then they reject with `no-registrar`.
   */
  resolveTimeout?: number;
  /** PEs asked for per resolution (Handle Resolution Option; default: the registrar's). */
  maxHandleResolutionItems?: number;
  /** SCTP protocol parameters (ASAP and data associations). */
  sctp?: SctpTuning;
  /** Clock in ms of the cache and the hunt (default `Date.now`). */
  clock?: () => number;
}

/**
 * Counters of a {@linkcode PoolUser}, over all its sessions.
 *
 * @example
 * ```ts
 * import type { PoolUserStats } from "@rserpool/rserpool/asap";
 * const describe = (s: PoolUserStats) => `${s.failovers} failovers, ${s.pathSwitches} path switches`;
 * ```
 */
export interface PoolUserStats {
  /** Sessions opened. */
  sessions: number;
  /** Failovers: a session moved to another PE. */
  failovers: number;
  /**
   * Path switches: a session's data association moved to another address of the same PE (SCTP
   * multi-homing), which is not a failover.
   */
  pathSwitches: number;
}

/**
 * Options of {@linkcode PoolUser.resolve}.
 *
 * @example
 * ```ts
 * import type { ResolveOptions } from "@rserpool/rserpool/asap";
 * const options: ResolveOptions = { refresh: true };
 * ```
 */
export interface ResolveOptions {
  /** Ask the registrar even when the cache has PEs of the pool. */
  refresh?: boolean;
}

/**
 * A pool user: resolves pool handles and opens sessions with pools.
 *
 * The PU's cache is a {@linkcode Handlespace}: each resolution answer is merged into it and
 * kept for `cacheLifetime`; sessions select from it with the pool's own policy (round robin
 * turns, least load, weights), and PEs reported unreachable leave it at once.
 *
 * @example
 * ```ts ignore
 * import { PoolUser } from "@rserpool/rserpool/asap";
 * await using pu = new PoolUser({
 *   registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 3863 }],
 * });
 * const pes = await pu.resolve("EchoPool");
 * await using session = await pu.connect("EchoPool");
 * const reply = await session.request(new TextEncoder().encode("ping"));
 * ```
 */
export class PoolUser implements AsyncDisposable {
  /** Counters. */
  readonly stats: PoolUserStats = { sessions: 0, failovers: 0, pathSwitches: 0 };
  #options: PoolUserOptions;
  #hunt: RegistrarHunt;
  #channel: RegistrarChannel;
  #cache: Handlespace<undefined>;
  #clock: () => number;
  #sessions = new Set<PoolUserSession>();
  #closed = false;

  /** Creates a pool user (it hunts for a registrar when it first needs one). */
  constructor(options: PoolUserOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#cache = new Handlespace<undefined>({
      clock: this.#clock,
      maxPoolHandleLength: 0xffff,
      maxPoolElementsPerPool: 0xffff,
    });
    this.#hunt = new RegistrarHunt({
      // A pool user does not wait for registrars that refuse or do not answer: a round in
      // which none connects ends the request with `no-registrar` and the reason.
      maxRounds: 1,
      ...options.hunt,
      registrars: options.registrars,
      announce: options.announce,
      sctp: options.sctp,
      udpPort: options.udpPort,
      remoteUdpPort: options.remoteUdpPort,
      clock: options.clock,
    });
    this.#channel = new RegistrarChannel(this.#hunt, {});
  }

  /**
   * The PEs of a pool in the cache (fresh or not yet expired), in the order of the pool's
   * selection set, without resolving and without advancing the selection.
   */
  cachedPoolElements(poolHandle: string | Uint8Array): PoolElementParameter[] {
    return [...this.#cache.selectionOrder(toPoolHandle(poolHandle))].map((e) => e.poolElement);
  }

  /** The current registrar's ASAP address, when an association is up. */
  get registrar(): EndpointAddress | undefined {
    return this.#channel.connected ? this.#channel.address : undefined;
  }

  #bounded<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new PoolError("closed", "Pool user is closed"));
    const controller = new AbortController();
    const timeout = this.#options.resolveTimeout ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        const why = this.#hunt.lastFailure;
        reject(
          new PoolError(
            "no-registrar",
            `No registrar answered within ${timeout} ms${why === undefined ? "" : ` (${why})`}`,
          ),
        );
      }, timeout);
    });
    const working = work(controller.signal);
    working.catch(() => {}); // settled after the timeout: nobody waits for it any more
    return Promise.race([working, expired]).finally(() => clearTimeout(timer));
  }

  /**
   * The PEs of a pool: from the cache while it is fresh, else from a registrar (whose answer is
   * cached). Rejects with {@linkcode PoolError} `unknown-pool-handle` for a pool without PEs,
   * `resolution-failed` for another error cause, `timeout` or `no-registrar`.
   */
  async resolve(
    poolHandle: string | Uint8Array,
    options: ResolveOptions = {},
  ): Promise<PoolElementParameter[]> {
    const handle = toPoolHandle(poolHandle);
    this.#cache.expire();
    if (options.refresh !== true) {
      const cached = [...this.#cache.poolElements(handle)].map((e) => e.poolElement);
      if (cached.length > 0) return cached;
    }
    const answer = await this.#bounded((signal) => this.#ask(handle, signal));
    if (answer.poolElements.length === 0) {
      this.#forget(handle);
      const cause = answer.error?.[0]?.code ?? ErrorCause.UnknownPoolHandle;
      const name = new TextDecoder().decode(handle);
      if (cause === ErrorCause.UnknownPoolHandle) {
        throw new PoolError("unknown-pool-handle", `Unknown pool handle '${name}'`, {
          errorCause: cause,
        });
      }
      throw new PoolError(
        "resolution-failed",
        `Resolution of '${name}': ${errorCauseName(cause)}`,
        {
          errorCause: cause,
        },
      );
    }
    const expiresAt = this.#clock() + (this.#options.cacheLifetime ?? 5000);
    for (const pe of answer.poolElements) {
      try {
        this.#cache.registerPoolElement(handle, pe, { expiresAt, allowOwnerChange: true });
      } catch (e) {
        if (!(e instanceof HandlespaceError)) throw e;
        // The pool changed its policy or transport since it was cached: start it anew.
        this.#forget(handle);
        try {
          this.#cache.registerPoolElement(handle, pe, { expiresAt, allowOwnerChange: true });
        } catch {
          // A PE the cache cannot hold is still returned; it is just not cached.
        }
      }
    }
    return answer.poolElements;
  }

  async #ask(handle: Uint8Array, signal: AbortSignal): Promise<AsapHandleResolutionResponse> {
    const attempts = 1 + Math.max(0, this.#options.maxRequestRetransmits ?? 2);
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.#channel.request(
          {
            type: "handle-resolution",
            wantsUpdates: false,
            poolHandle: handle,
            items: this.#options.maxHandleResolutionItems,
          },
          (m): m is AsapHandleResolutionResponse =>
            m.type === "handle-resolution-response" && samePoolHandle(m.poolHandle, handle),
          this.#options.registrarTimeout ?? 3000,
          signal,
        );
      } catch (e) {
        last = e;
        if (!(e instanceof PoolError) || signal.aborted || this.#closed) throw e;
        if (e.code === "timeout") this.#channel.drop("Handle resolution not answered");
        else if (e.code !== "registrar-lost") throw e;
        logger.debug("Handle resolution attempt {n} failed: {error}", {
          n: i + 1,
          error: e.message,
        });
      }
    }
    throw last;
  }

  #forget(handle: Uint8Array): void {
    for (const e of [...this.#cache.poolElements(handle)]) {
      this.#cache.deregisterPoolElement(handle, e.poolElement.identifier);
    }
  }

  /**
   * Reports a PE as unreachable: it leaves the cache, and the registrar gets an
   * ENDPOINT_UNREACHABLE (it removes the PE after several reports).
   */
  async reportUnreachable(poolHandle: string | Uint8Array, identifier: number): Promise<void> {
    const handle = toPoolHandle(poolHandle);
    this.#cache.deregisterPoolElement(handle, identifier);
    await this.#bounded((signal) =>
      this.#channel.send({ type: "endpoint-unreachable", poolHandle: handle, identifier }, signal)
    );
  }

  /** A PE of the pool by its policy, not one of `excluded` (used by sessions). */
  async #select(
    handle: Uint8Array,
    excluded: ReadonlySet<number>,
  ): Promise<PoolElementParameter | undefined> {
    let list = await this.resolve(handle);
    if (list.every((pe) => excluded.has(pe.identifier))) {
      list = await this.resolve(handle, { refresh: true });
    }
    const pool = this.#cache.getPool(handle);
    if (pool !== undefined) {
      const chosen = this.#cache.selectPoolElements(handle, pool.size)
        .find((e) => !excluded.has(e.poolElement.identifier));
      if (chosen !== undefined) return chosen.poolElement;
    }
    return list.find((pe) => !excluded.has(pe.identifier));
  }

  /**
   * Opens a session with a pool: resolves the pool, selects a PE and connects to it. Rejects
   * with {@linkcode PoolError}:
   *
   * - `no-registrar` when no registrar could be reached: as soon as each registrar given
   *   refused the connection or did not connect within `hunt.connectTimeout` (default 7.5 s),
   *   and at the latest after `resolveTimeout` (default 15 s); the message names each
   *   registrar and its error;
   * - `timeout` when a registrar was connected but did not answer the resolution;
   * - `unknown-pool-handle` when the pool has no PEs;
   * - `failover-failed` when none of the pool's PEs could be reached.
   */
  async connect(
    poolHandle: string | Uint8Array,
    options: PoolUserSessionOptions = {},
  ): Promise<PoolUserSession> {
    if (this.#closed) throw new PoolError("closed", "Pool user is closed");
    const handle = toPoolHandle(poolHandle);
    // Resolve first, so that an unreachable registrar or an unknown pool is reported as such
    // (and at once), not as PEs that could not be reached.
    await this.resolve(handle);
    const o = this.#options;
    const session = new PoolUserSession(handle, {
      select: (h, excluded) => this.#select(h, excluded),
      reportUnreachable: (h, id) => this.reportUnreachable(h, id),
      count: (what) => {
        if (what === "failover") this.stats.failovers++;
        else this.stats.pathSwitches++;
      },
    }, {
      requestTimeout: o.requestTimeout,
      connectTimeout: o.connectTimeout,
      maxFailoverAttempts: o.maxFailoverAttempts,
      failoverDelay: o.failoverDelay,
      maxRequestAttempts: o.maxRequestAttempts,
      ppid: o.ppid,
      sctp: o.sctp,
      localAddresses: o.localAddresses,
      udpPort: o.udpPort,
      remoteUdpPort: o.remoteUdpPort,
      ...options,
    });
    this.stats.sessions++;
    this.#sessions.add(session);
    session.onEvent((e) => {
      if (e.type === "closed") this.#sessions.delete(session);
    });
    try {
      await session.open();
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  /** Closes every session and the registrar association. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#sessions].map((s) => s.close()));
    await this.#channel.close();
  }

  /** Same as {@linkcode PoolUser.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
