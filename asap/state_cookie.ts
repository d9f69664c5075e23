/**
 * State cookies of a pool: application state a PE hands its PU in an ASAP COOKIE, which the PU
 * echoes to the PE it fails over to. The state is encoded with CBOR (cbor-x) and authenticated
 * with HMAC-SHA256 under a secret that all PEs of the pool share, so that a PU can neither forge
 * a cookie nor alter one.
 *
 * Layout (all integers big-endian):
 *
 * ```text
 * version (u8, 2) | issued at (u64, ms since the epoch) | session (8 bytes) | sequence (u32) |
 * CBOR state | HMAC-SHA256 (32 bytes)
 *
 * The session and its sequence number let a PE refuse a cookie older than one it has already
 * issued or accepted for the same session (a replay that would roll the session's state back).
 * ```
 *
 * The HMAC covers a fixed label, the pool handle (length-prefixed; it is not sent) and every
 * byte before the tag, so a cookie of another pool, or one with any bit changed, does not
 * verify. Tags are compared in constant time, and the CBOR is decoded only after the tag
 * verified.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { decode, encode } from "cbor-x";
import { PoolError } from "./errors.ts";

const VERSION = 2;
const HEADER_SIZE = 21;
/** Bytes of a session identifier. */
export const SESSION_ID_SIZE = 8;
const TAG_SIZE = 32;
const LABEL = new TextEncoder().encode("RSerPool state cookie v2\0");

/**
 * The largest cookie: an ASAP COOKIE message (4-byte header, 4-byte parameter header) must fit
 * in 65535 bytes.
 *
 * @example
 * ```ts
 * import { MAX_COOKIE_SIZE } from "@rserpool/rserpool/asap";
 * MAX_COOKIE_SIZE; // 65524
 * ```
 */
export const MAX_COOKIE_SIZE = 65524;

/**
 * Options of {@linkcode sealStateCookie} and {@linkcode openStateCookie}.
 *
 * @example
 * ```ts
 * import type { StateCookieOptions } from "@rserpool/rserpool/asap";
 * const options: StateCookieOptions = {
 *   secret: "shared by all PEs of the pool",
 *   poolHandle: new TextEncoder().encode("EchoPool"),
 * };
 * ```
 */
export interface StateCookieOptions {
  /** The pool's secret (at least 16 bytes of entropy are advisable); strings are UTF-8. */
  secret: Uint8Array | string;
  /** The pool handle; a cookie verifies only under the pool it was made for. */
  poolHandle: Uint8Array;
  /** Clock in ms (default `Date.now`). */
  clock?: () => number;
  /** Opening: reject cookies older than this many ms (default: no limit). */
  maxAge?: number;
  /** Sealing: the session the cookie belongs to (8 bytes; default: zeros). */
  session?: Uint8Array;
  /** Sealing: the cookie's number within its session (default 0). */
  sequence?: number;
}

/**
 * A verified cookie.
 *
 * @example
 * ```ts
 * import type { OpenedCookie } from "@rserpool/rserpool/asap";
 * const describe = (c: OpenedCookie) => `issued at ${c.issuedAt}`;
 * ```
 */
export interface OpenedCookie {
  /** The state, as CBOR decoded it. */
  state: unknown;
  /** When the cookie was made (ms since the epoch, by the issuer's clock). */
  issuedAt: number;
  /** The session it belongs to (8 bytes). */
  session: Uint8Array;
  /** Its number within the session. */
  sequence: number;
}

function secretBytes(secret: Uint8Array | string): Uint8Array {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (bytes.length === 0) throw new PoolError("invalid", "The cookie secret is empty");
  return bytes;
}

function tag(secret: Uint8Array, poolHandle: Uint8Array, body: Uint8Array): Uint8Array {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, poolHandle.length);
  const hmac = createHmac("sha256", secretBytes(secret));
  hmac.update(LABEL);
  hmac.update(length);
  hmac.update(poolHandle);
  hmac.update(body);
  return new Uint8Array(hmac.digest());
}

/**
 * Encodes `state` with CBOR and authenticates it. Throws {@linkcode PoolError} `invalid` when
 * the state does not encode or the cookie would be larger than {@linkcode MAX_COOKIE_SIZE}.
 *
 * @example
 * ```ts
 * import { openStateCookie, sealStateCookie } from "@rserpool/rserpool/asap";
 * const options = { secret: "pool secret", poolHandle: new TextEncoder().encode("Pool") };
 * const cookie = sealStateCookie({ counter: 7 }, options);
 * openStateCookie(cookie, options).state; // { counter: 7 }
 * ```
 */
export function sealStateCookie(state: unknown, options: StateCookieOptions): Uint8Array {
  let cbor: Uint8Array;
  try {
    cbor = encode(state);
  } catch (e) {
    throw new PoolError("invalid", `State does not encode as CBOR: ${String(e)}`, { cause: e });
  }
  const size = HEADER_SIZE + cbor.length + TAG_SIZE;
  if (size > MAX_COOKIE_SIZE) {
    throw new PoolError("invalid", `State cookie of ${size} bytes exceeds ${MAX_COOKIE_SIZE}`);
  }
  const cookie = new Uint8Array(size);
  const view = new DataView(cookie.buffer);
  cookie[0] = VERSION;
  view.setBigUint64(1, BigInt(Math.max(0, Math.floor((options.clock ?? Date.now)()))));
  if (options.session !== undefined) {
    if (options.session.length !== SESSION_ID_SIZE) {
      throw new PoolError("invalid", `A cookie session is ${SESSION_ID_SIZE} bytes`);
    }
    cookie.set(options.session, 9);
  }
  view.setUint32(17, (options.sequence ?? 0) >>> 0);
  cookie.set(cbor, HEADER_SIZE);
  const body = cookie.subarray(0, size - TAG_SIZE);
  cookie.set(tag(secretBytes(options.secret), options.poolHandle, body), size - TAG_SIZE);
  return cookie;
}

/**
 * Verifies a cookie and decodes its state. Throws {@linkcode PoolError} `invalid-cookie` for a
 * cookie that is malformed, forged, altered, made for another pool or older than `maxAge`.
 *
 * @example
 * ```ts
 * import { openStateCookie, sealStateCookie } from "@rserpool/rserpool/asap";
 * const handle = new TextEncoder().encode("Pool");
 * const cookie = sealStateCookie("state", { secret: "s3cret", poolHandle: handle });
 * cookie[12] ^= 1; // altered
 * try {
 *   openStateCookie(cookie, { secret: "s3cret", poolHandle: handle });
 * } catch (e) {
 *   console.log((e as Error).message); // "State cookie does not verify"
 * }
 * ```
 */
export function openStateCookie(cookie: Uint8Array, options: StateCookieOptions): OpenedCookie {
  if (cookie.length < HEADER_SIZE + 1 + TAG_SIZE || cookie[0] !== VERSION) {
    throw new PoolError("invalid-cookie", "State cookie is malformed");
  }
  const body = cookie.subarray(0, cookie.length - TAG_SIZE);
  const expected = tag(secretBytes(options.secret), options.poolHandle, body);
  const got = cookie.subarray(cookie.length - TAG_SIZE);
  if (!timingSafeEqual(expected, got)) {
    throw new PoolError("invalid-cookie", "State cookie does not verify");
  }
  const view = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength);
  const issuedAt = Number(view.getBigUint64(1));
  if (options.maxAge !== undefined) {
    const age = (options.clock ?? Date.now)() - issuedAt;
    if (age > options.maxAge) {
      throw new PoolError("invalid-cookie", `State cookie is ${age} ms old`);
    }
  }
  let state: unknown;
  try {
    // A copy: cbor-x may keep views into the buffer it decodes.
    state = decode(cookie.slice(HEADER_SIZE, cookie.length - TAG_SIZE));
  } catch (e) {
    throw new PoolError("invalid-cookie", "State cookie does not decode", { cause: e });
  }
  return {
    state,
    issuedAt,
    session: cookie.slice(9, 9 + SESSION_ID_SIZE),
    sequence: view.getUint32(17),
  };
}
