/**
 * ENRP peer authentication (RFC 5353 section 11 leaves the means open; RFC 5355 asks that
 * registrars authenticate each other): the registrars of a set share a secret, and every ENRP
 * message one sends carries, in this project's ENRP Authentication parameter (type 0x8041,
 * high bits `10`: RSPLIB and other implementations skip it), a stamp and an HMAC-SHA256 with
 * the secret over the stamp and the whole message (the same mechanism as registration
 * authorization, `wire/message_auth.ts`).
 *
 * The value (44 bytes): signing time (u64, ms since the epoch), a sequence number (u32, per
 * sender, increasing), the tag (32 bytes). A receiver accepts a message when its tag is right,
 * its time is within `maxSkew` of its own clock and it has not seen the same sender, time and
 * sequence within that window: a captured PRESENCE or HANDLE_UPDATE cannot be replayed, neither
 * on the association it was sent on, nor on another one, nor by multicast; older ones fail the
 * time check. Messages of one sender may arrive out of order (multicast and several
 * associations): each is taken once, in whatever order.
 *
 * What it does not do: every holder of the secret can sign as any server ID (it is a group
 * secret), and messages are not encrypted.
 *
 * @module
 */

import {
  appendTrailingParameter,
  AUTH_TAG_SIZE,
  authenticationTag,
  splitTrailingParameter,
  verifyAuthenticationTag,
} from "../wire/message_auth.ts";

/** Parameter type of ENRP Authentication. */
export const ENRP_AUTHENTICATION_PARAMETER = 0x8041;

const LABEL = "RSerPool ENRP v1";
const STAMP_SIZE = 12;
const VALUE_SIZE = STAMP_SIZE + AUTH_TAG_SIZE;
/** Most (sender, stamp) pairs remembered; past it the oldest half is forgotten. */
const MAX_REMEMBERED = 200_000;

/**
 * Options of {@linkcode EnrpAuthenticator}.
 *
 * @example
 * ```ts
 * import type { EnrpAuthOptions } from "@rserpool/rserpool/enrp";
 * const auth: EnrpAuthOptions = { secret: "shared by the registrars", maxSkew: 60_000 };
 * ```
 */
export interface EnrpAuthOptions {
  /** The secret every registrar of the set has. */
  secret: Uint8Array | string;
  /** How far a message's signing time may be from the receiver's clock (ms, default 60000). */
  maxSkew?: number;
}

/** Why {@linkcode EnrpAuthenticator.open} refused a message. */
export type EnrpAuthFailure = "missing" | "invalid" | "stale" | "replayed";

/**
 * Signs ENRP messages and checks those received (see the module comment).
 *
 * @example
 * ```ts
 * import { EnrpAuthenticator, encodeEnrpMessage } from "@rserpool/rserpool/enrp";
 * const a = new EnrpAuthenticator({ secret: "s" });
 * const b = new EnrpAuthenticator({ secret: "s" });
 * const signed = a.sign(encodeEnrpMessage({ type: "list-request", senderId: 1, receiverId: 0 }));
 * b.open(signed).ok; // true
 * b.open(signed).ok; // false: a replay
 * ```
 */
export class EnrpAuthenticator {
  #secret: Uint8Array | string;
  #maxSkew: number;
  #clock: () => number;
  #sequence = 0;
  /** `sender:time:sequence` of messages taken, in the order taken, with their time. */
  #seen = new Map<string, number>();
  /** Messages signed at or before this time are refused (after forgetting some). */
  #floor = -Infinity;
  #pruned = 0;

  /** An authenticator with `options.secret`; `clock` in ms (default `Date.now`). */
  constructor(options: EnrpAuthOptions, clock: () => number = Date.now) {
    this.#secret = options.secret;
    this.#maxSkew = options.maxSkew ?? 60_000;
    this.#clock = clock;
  }

  /** `message` (an encoded ENRP message) with its ENRP Authentication appended. */
  sign(message: Uint8Array): Uint8Array {
    const head = (message.length + 3) & ~3;
    const unsigned = new Uint8Array(head);
    unsigned.set(message);
    new DataView(unsigned.buffer).setUint16(2, head);
    const value = new Uint8Array(VALUE_SIZE);
    const view = new DataView(value.buffer);
    view.setBigUint64(0, BigInt(Math.max(0, Math.floor(this.#clock()))));
    this.#sequence = (this.#sequence + 1) >>> 0;
    view.setUint32(8, this.#sequence);
    const stamp = value.subarray(0, STAMP_SIZE);
    value.set(authenticationTag(this.#secret, LABEL, stamp, unsigned), STAMP_SIZE);
    return appendTrailingParameter(unsigned, ENRP_AUTHENTICATION_PARAMETER, value);
  }

  /**
   * Checks a received message: on success the message without its authentication (to be
   * decoded), and it is remembered so that it is refused when it comes again.
   */
  open(bytes: Uint8Array): { ok: true; message: Uint8Array } | { ok: false; why: EnrpAuthFailure } {
    const split = splitTrailingParameter(bytes, ENRP_AUTHENTICATION_PARAMETER, VALUE_SIZE);
    if (split === undefined) return { ok: false, why: "missing" };
    const { message, value } = split;
    const stamp = value.subarray(0, STAMP_SIZE);
    if (
      !verifyAuthenticationTag(this.#secret, LABEL, stamp, message, value.subarray(STAMP_SIZE))
    ) {
      return { ok: false, why: "invalid" };
    }
    const view = new DataView(value.buffer, value.byteOffset, STAMP_SIZE);
    const time = Number(view.getBigUint64(0));
    const now = this.#clock();
    if (Math.abs(now - time) > this.#maxSkew || time <= this.#floor) {
      return { ok: false, why: "stale" };
    }
    const sender = message.length >= 8 ? new DataView(message.buffer).getUint32(4) : 0;
    const key = `${sender}:${time}:${view.getUint32(8)}`;
    if (this.#seen.has(key)) return { ok: false, why: "replayed" };
    this.#seen.set(key, time);
    this.#prune(now);
    return { ok: true, message };
  }

  /** Forgets what has fallen out of the time window (and the oldest half at the size limit). */
  #prune(now: number): void {
    if (this.#seen.size > MAX_REMEMBERED) {
      let drop = this.#seen.size / 2;
      for (const [key, time] of this.#seen) {
        if (drop-- <= 0) break;
        this.#seen.delete(key);
        if (time > this.#floor) this.#floor = time;
      }
      return;
    }
    if (now - this.#pruned < this.#maxSkew / 4) return;
    this.#pruned = now;
    for (const [key, time] of this.#seen) {
      if (now - time > this.#maxSkew) this.#seen.delete(key);
    }
  }
}
