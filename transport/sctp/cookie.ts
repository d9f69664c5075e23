/**
 * The SCTP state cookie (RFC 9260, section 5.1.3): everything the listening side needs to set up
 * an association, signed with HMAC-SHA256 under the endpoint's secret, so that no state is kept
 * for a peer before it echoes a valid cookie.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { formatIpv4, formatIpv6, writeIpAddress } from "../../wire/address.ts";

/** The association parameters a state cookie carries. */
export interface CookieState {
  /** When the cookie was made (ms on the endpoint's clock). */
  created: number;
  /** How long it is valid (ms). */
  lifetime: number;
  /** Our verification tag (the peer puts it in its packets). */
  localTag: number;
  /** The peer's verification tag. */
  peerTag: number;
  /** Our initial TSN. */
  localInitialTsn: number;
  /** The peer's initial TSN. */
  peerInitialTsn: number;
  /** The peer's advertised receiver window. */
  peerWindow: number;
  /** Outbound streams we use (negotiated). */
  outboundStreams: number;
  /** Inbound streams we accept (negotiated). */
  inboundStreams: number;
  /** The peer's SCTP port. */
  peerPort: number;
  /** The peer addresses listed in its INIT (empty: its source address only). */
  peerAddresses: string[];
}

const FIXED = 40;
const MAC = 32;

/**
 * Serializes and signs a cookie.
 *
 * @example
 * ```ts
 * import { makeCookie, readCookie } from "./cookie.ts";
 * const secret = new Uint8Array(32);
 * const state = {
 *   created: Date.now(), lifetime: 60_000, localTag: 1, peerTag: 2, localInitialTsn: 3,
 *   peerInitialTsn: 4, peerWindow: 65536, outboundStreams: 10, inboundStreams: 10,
 *   peerPort: 5000, peerAddresses: ["127.0.0.1"],
 * };
 * readCookie(makeCookie(state, secret), secret)?.peerTag; // 2
 * ```
 */
export function makeCookie(state: CookieState, secret: Uint8Array): Uint8Array {
  const addresses = state.peerAddresses.slice(0, 32);
  const out = new Uint8Array(FIXED + 17 * addresses.length + MAC);
  const view = new DataView(out.buffer);
  view.setFloat64(0, state.created);
  view.setUint32(8, state.lifetime);
  view.setUint32(12, state.localTag);
  view.setUint32(16, state.peerTag);
  view.setUint32(20, state.localInitialTsn);
  view.setUint32(24, state.peerInitialTsn);
  view.setUint32(28, state.peerWindow);
  view.setUint16(32, state.outboundStreams);
  view.setUint16(34, state.inboundStreams);
  view.setUint16(36, state.peerPort);
  view.setUint16(38, addresses.length);
  let pos = FIXED;
  for (const a of addresses) {
    out[pos] = writeIpAddress(a, out, pos + 1);
    pos += 17;
  }
  out.set(mac(out.subarray(0, pos), secret), pos);
  return out;
}

/**
 * Verifies a cookie's signature and reads it; undefined when it is malformed or forged.
 * Expiry is the caller's check (a stale cookie has its own error cause).
 *
 * @example
 * ```ts
 * import { readCookie } from "./cookie.ts";
 * readCookie(new Uint8Array(10), new Uint8Array(32)); // undefined
 * ```
 */
export function readCookie(cookie: Uint8Array, secret: Uint8Array): CookieState | undefined {
  if (cookie.length < FIXED + MAC) return undefined;
  const view = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength);
  const count = view.getUint16(38);
  const end = FIXED + 17 * count;
  if (cookie.length !== end + MAC) return undefined;
  const expected = mac(cookie.subarray(0, end), secret);
  if (!timingSafeEqual(expected, cookie.subarray(end))) return undefined;
  const peerAddresses: string[] = [];
  for (let pos = FIXED; pos < end; pos += 17) {
    const n = cookie[pos];
    if (n !== 4 && n !== 16) return undefined;
    peerAddresses.push(n === 4 ? formatIpv4(cookie, pos + 1) : formatIpv6(cookie, pos + 1));
  }
  return {
    created: view.getFloat64(0),
    lifetime: view.getUint32(8),
    localTag: view.getUint32(12),
    peerTag: view.getUint32(16),
    localInitialTsn: view.getUint32(20),
    peerInitialTsn: view.getUint32(24),
    peerWindow: view.getUint32(28),
    outboundStreams: view.getUint16(32),
    inboundStreams: view.getUint16(34),
    peerPort: view.getUint16(36),
    peerAddresses,
  };
}

function mac(data: Uint8Array, secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", secret).update(data).digest());
}
