/**
 * The PE side of one PU's data association: application messages in both directions, and the
 * ASAP messages that ride along with PPID 11 (COOKIE, COOKIE_ECHO, BUSINESS_CARD).
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decodeAsapMessage, encodeAsapMessage } from "./codec.ts";
import type { AsapMessage } from "./messages.ts";
import { ASAP_PPID } from "./connect.ts";
import { PoolError } from "./errors.ts";
import { openStateCookie, sealStateCookie, SESSION_ID_SIZE } from "./state_cookie.ts";
import { CookieLedger } from "./cookie_ledger.ts";

/** Default maximum age of an echoed state cookie: one hour. */
const DEFAULT_COOKIE_MAX_AGE = 3_600_000;
import type { Association, TransportAddress } from "../transport/types.ts";
import type { PoolElementParameter } from "../wire/types.ts";

const logger = getLogger(["rserpool", "asap", "session"]);

/**
 * An application message of a session.
 *
 * @example
 * ```ts
 * import type { SessionMessage } from "@rserpool/rserpool/asap";
 * const text = (m: SessionMessage) => new TextDecoder().decode(m.data);
 * ```
 */
export interface SessionMessage {
  /** The bytes. */
  data: Uint8Array;
  /** Payload protocol identifier (never 11: ASAP messages are handled by the session). */
  ppid: number;
  /** Stream it arrived on. */
  stream: number;
}

/**
 * Something that happened on a {@linkcode PoolElementSession}.
 *
 * - `cookie-echo`: the PU echoed a cookie that verified; `state` is what the PE (this one or
 *   another of the pool) put into it. {@linkcode PoolElementSession.restoredState} holds it too.
 * - `cookie-rejected`: the PU echoed a cookie that did not verify; the state is not used.
 * - `business-card`: the PU sent a BUSINESS_CARD (a PU that is itself a PE of `poolHandle`
 *   names where it, or PEs standing in for it, can be reached);
 *   {@linkcode PoolElementSession.businessCard} keeps the last one.
 * - `closed`: the association ended.
 *
 * @example
 * ```ts
 * import type { PoolElementSessionEvent } from "@rserpool/rserpool/asap";
 * const describe = (e: PoolElementSessionEvent) => e.type;
 * ```
 */
export type PoolElementSessionEvent =
  | { type: "cookie-echo"; state: unknown; issuedAt: number }
  | { type: "cookie-rejected"; error: PoolError }
  | { type: "business-card"; poolHandle: Uint8Array; poolElements: PoolElementParameter[] }
  | { type: "closed" };

/**
 * Options of a {@linkcode PoolElementSession} (a {@linkcode PoolElement} fills them in from its
 * own options).
 *
 * @example
 * ```ts
 * import type { PoolElementSessionOptions } from "@rserpool/rserpool/asap";
 * const options: PoolElementSessionOptions = {
 *   poolHandle: new TextEncoder().encode("EchoPool"),
 *   cookieSecret: "shared by the pool",
 * };
 * ```
 */
export interface PoolElementSessionOptions {
  /** The pool; cookies are bound to it. */
  poolHandle: Uint8Array;
  /** The secret shared by all PEs of the pool; without it cookies can be neither made nor read. */
  cookieSecret?: Uint8Array | string;
  /** Echoed cookies older than this (ms) are rejected (default 3,600,000: one hour). */
  cookieMaxAge?: number;
  /**
   * The PE's memory of its sessions' cookies (shared by its sessions): an echoed cookie older
   * than one issued or accepted for the same session is rejected as a replay. Default: one of
   * the session's own.
   */
  cookieLedger?: CookieLedger;
  /**
   * What to do when an echoed cookie does not verify: `"abort"` the association (default; the
   * PU is not to be trusted) or `"ignore"` the cookie and go on without state.
   */
  invalidCookie?: "abort" | "ignore";
  /** PPID of {@linkcode PoolElementSession.send} when none is given (default 0). */
  ppid?: number;
  /** Clock in ms for cookie timestamps (default `Date.now`). */
  clock?: () => number;
  /** ASAP messages the session does not handle itself (keep-alives from a registrar). */
  onAsap?: (message: AsapMessage, association: Association) => void;
}

/**
 * Options of {@linkcode PoolElementSession.send}.
 *
 * @example
 * ```ts
 * import type { SessionSendOptions } from "@rserpool/rserpool/asap";
 * const options: SessionSendOptions = { ppid: 0 };
 * ```
 */
export interface SessionSendOptions {
  /** Payload protocol identifier (default: the session's). Not 11, which is ASAP's. */
  ppid?: number;
  /** Stream (default 0). */
  stream?: number;
}

/**
 * One PU's association to a PE. Iterate it (or call {@linkcode PoolElementSession.receive})
 * for the PU's messages and answer with {@linkcode PoolElementSession.send}. The session
 * handles the ASAP messages on the association while it is read: a COOKIE_ECHO is verified and
 * its state set in {@linkcode PoolElementSession.restoredState} before the messages the PU sent
 * after it are returned, so an application that looks at `restoredState` when it handles a
 * message sees the state the PU resumed with.
 *
 * @example An echo service that counts messages and keeps the count in a cookie
 * ```ts ignore
 * import type { PoolElementSession } from "@rserpool/rserpool/asap";
 * async function serve(session: PoolElementSession): Promise<void> {
 *   let count = 0;
 *   for await (const m of session) {
 *     count = (session.restoredState as { count: number } | undefined)?.count ?? count;
 *     count++;
 *     await session.sendCookie({ count });
 *     await session.send(m.data);
 *   }
 * }
 * ```
 */
export class PoolElementSession implements AsyncIterable<SessionMessage>, AsyncDisposable {
  /** The association to the PU. */
  readonly association: Association;
  #options: PoolElementSessionOptions;
  #restored: unknown = undefined;
  /** The session's identity in its cookies (adopted from an echoed cookie). */
  #session: Uint8Array = crypto.getRandomValues(new Uint8Array(SESSION_ID_SIZE));
  /** The number of the next cookie. */
  #sequence = 0;
  #ledger: CookieLedger;
  #listeners = new Set<(e: PoolElementSessionEvent) => void>();
  #ended = false;
  #businessCard: { poolHandle: Uint8Array; poolElements: PoolElementParameter[] } | undefined;

  /** Wraps an association from a PU. */
  constructor(association: Association, options: PoolElementSessionOptions) {
    this.association = association;
    this.#options = options;
    this.#ledger = options.cookieLedger ?? new CookieLedger(16);
  }

  /** The PU's address. */
  get remoteAddress(): TransportAddress | undefined {
    return this.association.remoteAddresses[0];
  }

  /**
   * The last BUSINESS_CARD the PU sent: the pool it serves in as a PE and its PEs in order of
   * preference, where the PE can reach it (or one standing in for it) back; `undefined` until
   * one came.
   */
  get businessCard():
    | { readonly poolHandle: Uint8Array; readonly poolElements: readonly PoolElementParameter[] }
    | undefined {
    return this.#businessCard;
  }

  /** The state of the last cookie the PU echoed that verified, or `undefined`. */
  get restoredState(): unknown {
    return this.#restored;
  }

  /** True once the association has ended. */
  get closed(): boolean {
    return this.association.closed;
  }

  /** Registers a listener for session events; returns a function that removes it. */
  onEvent(listener: (event: PoolElementSessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: PoolElementSessionEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch (e) {
        logger.error("Session event listener failed: {error}", { error: String(e) });
      }
    }
  }

  /** The next application message, or `null` once the association has ended. */
  async receive(): Promise<SessionMessage | null> {
    for (;;) {
      const m = await this.association.receive();
      if (m === null) {
        if (!this.#ended) {
          this.#ended = true;
          this.#emit({ type: "closed" });
        }
        return null;
      }
      if (m.ppid === ASAP_PPID) {
        this.#onAsap(m.data);
        continue;
      }
      return { data: m.data, ppid: m.ppid, stream: m.stream };
    }
  }

  /** Yields the application messages until the association ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<SessionMessage> {
    for (;;) {
      const m = await this.receive();
      if (m === null) return;
      yield m;
    }
  }

  #onAsap(data: Uint8Array): void {
    let message: AsapMessage;
    try {
      message = decodeAsapMessage(data);
    } catch (e) {
      logger.debug("Malformed ASAP message from a PU: {error}", { error: String(e) });
      return;
    }
    switch (message.type) {
      case "cookie-echo":
        this.#onCookieEcho(message.cookie);
        break;
      case "business-card":
        this.#businessCard = {
          poolHandle: message.poolHandle,
          poolElements: message.poolElements,
        };
        this.#emit({
          type: "business-card",
          poolHandle: message.poolHandle,
          poolElements: message.poolElements,
        });
        break;
      default:
        this.#options.onAsap?.(message, this.association);
    }
  }

  #onCookieEcho(cookie: Uint8Array): void {
    const secret = this.#options.cookieSecret;
    try {
      if (secret === undefined) {
        throw new PoolError("invalid-cookie", "No cookie secret to verify an echoed cookie with");
      }
      const opened = openStateCookie(cookie, {
        secret,
        poolHandle: this.#options.poolHandle,
        clock: this.#options.clock,
        maxAge: this.#options.cookieMaxAge ?? DEFAULT_COOKIE_MAX_AGE,
      });
      if (this.#ledger.isStale(opened.session, opened.sequence)) {
        throw new PoolError(
          "invalid-cookie",
          `State cookie ${opened.sequence} of its session is older than one already seen (replay)`,
        );
      }
      // The session goes on here: the next cookie continues its numbering.
      this.#ledger.note(opened.session, opened.sequence);
      this.#session = opened.session;
      this.#sequence = opened.sequence + 1;
      this.#restored = opened.state;
      this.#emit({ type: "cookie-echo", state: opened.state, issuedAt: opened.issuedAt });
    } catch (e) {
      const error = e instanceof PoolError
        ? e
        : new PoolError("invalid-cookie", `State cookie rejected: ${String(e)}`, { cause: e });
      logger.warn("Rejected a state cookie from {peer}: {error}", {
        peer: this.remoteAddress?.hostname,
        error: error.message,
      });
      this.#emit({ type: "cookie-rejected", error });
      if ((this.#options.invalidCookie ?? "abort") === "abort") {
        this.association.abort("Invalid state cookie");
      }
    }
  }

  /** Sends an application message to the PU. */
  send(data: Uint8Array, options: SessionSendOptions = {}): Promise<void> {
    const ppid = options.ppid ?? this.#options.ppid ?? 0;
    if (ppid === ASAP_PPID) {
      return Promise.reject(new PoolError("invalid", "PPID 11 is reserved for ASAP"));
    }
    return this.association.send(data, { ppid, stream: options.stream ?? 0 });
  }

  /**
   * Sends a state cookie (ASAP COOKIE): `state` encoded with CBOR and authenticated with the
   * pool's secret. The PU keeps the last one and echoes it to the PE it fails over to. Rejects
   * with {@linkcode PoolError} `invalid` without a secret or for a state too large.
   */
  async sendCookie(state: unknown): Promise<void> {
    const secret = this.#options.cookieSecret;
    if (secret === undefined) {
      throw new PoolError("invalid", "A cookie secret is needed to send state cookies");
    }
    const sequence = this.#sequence++;
    const cookie = sealStateCookie(state, {
      secret,
      poolHandle: this.#options.poolHandle,
      clock: this.#options.clock,
      session: this.#session,
      sequence,
    });
    this.#ledger.note(this.#session, sequence);
    await this.association.send(encodeAsapMessage({ type: "cookie", cookie }), {
      ppid: ASAP_PPID,
    });
  }

  /**
   * Sends a BUSINESS_CARD (RFC 5352): this PE's pool handle and the PEs the PU should fail over
   * to, in order of preference (for instance those that share this session's state). The PU
   * tries them, in that order, before it asks a registrar.
   */
  async sendBusinessCard(poolElements: PoolElementParameter[]): Promise<void> {
    await this.association.send(
      encodeAsapMessage({
        type: "business-card",
        poolHandle: this.#options.poolHandle,
        poolElements,
      }),
      { ppid: ASAP_PPID },
    );
  }

  /** Closes the association gracefully. */
  close(): Promise<void> {
    return this.association.close();
  }

  /** Ends the association at once. */
  abort(reason?: string): void {
    this.association.abort(reason);
  }

  /** Same as {@linkcode PoolElementSession.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
