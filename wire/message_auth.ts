/**
 * Message authentication shared by ASAP registration authorization and ENRP peer
 * authentication: an HMAC-SHA256 with a shared secret over a label (which says what is
 * signed, so that a tag made for one purpose is worthless for another), a stamp (signing time
 * and whatever else makes a signature unique) and the message bytes; and the placing of such a
 * signature in a vendor parameter at the end of an encoded message.
 *
 * The parameter types used (0x8040, 0x8041) have the high bits `10`: implementations that do
 * not know them, RSPLIB among them, skip them silently.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { WireError } from "./errors.ts";
import { ErrorCause } from "./errors.ts";

/** Bytes of an authentication tag (HMAC-SHA256). */
export const AUTH_TAG_SIZE = 32;

function secretBytes(secret: Uint8Array | string): Uint8Array {
  return typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
}

/**
 * The HMAC-SHA256 with `secret` over `label`, `stamp` and `message`, in that order.
 *
 * @example
 * ```ts
 * import { authenticationTag } from "@rserpool/rserpool/wire";
 * const tag = authenticationTag("secret", "example v1", new Uint8Array(8), new Uint8Array([1]));
 * tag.length; // 32
 * ```
 */
export function authenticationTag(
  secret: Uint8Array | string,
  label: string,
  stamp: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  const hmac = createHmac("sha256", secretBytes(secret));
  hmac.update(new TextEncoder().encode(`${label}\0`));
  hmac.update(stamp);
  hmac.update(message);
  return new Uint8Array(hmac.digest());
}

/**
 * Whether `tag` is the {@linkcode authenticationTag} of `label`, `stamp` and `message`,
 * compared in constant time.
 *
 * @example
 * ```ts
 * import { authenticationTag, verifyAuthenticationTag } from "@rserpool/rserpool/wire";
 * const stamp = new Uint8Array(8);
 * const m = new Uint8Array([1, 2, 3]);
 * const tag = authenticationTag("k", "example v1", stamp, m);
 * verifyAuthenticationTag("k", "example v1", stamp, m, tag); // true
 * ```
 */
export function verifyAuthenticationTag(
  secret: Uint8Array | string,
  label: string,
  stamp: Uint8Array,
  message: Uint8Array,
  tag: Uint8Array,
): boolean {
  if (tag.length !== AUTH_TAG_SIZE) return false;
  return timingSafeEqual(authenticationTag(secret, label, stamp, message), tag);
}

/**
 * An encoded message (4-byte header, parameters) with one more parameter of `type` and
 * `value` at its end. The message length then counts every byte before the new parameter,
 * padding included. Pass the result of an encoder: `message` is not changed.
 *
 * @throws {WireError} when the result would exceed 65,535 bytes.
 *
 * @example
 * ```ts
 * import { appendTrailingParameter } from "@rserpool/rserpool/wire";
 * const m = appendTrailingParameter(new Uint8Array([5, 0, 0, 4]), 0x8041, new Uint8Array(4));
 * m.length; // 12
 * ```
 */
export function appendTrailingParameter(
  message: Uint8Array,
  type: number,
  value: Uint8Array,
): Uint8Array {
  const head = (message.length + 3) & ~3;
  const total = head + 4 + value.length;
  if (total > 0xffff) {
    throw new WireError(ErrorCause.InvalidValues, "Message too long for its authentication");
  }
  const out = new Uint8Array((total + 3) & ~3);
  out.set(message);
  const view = new DataView(out.buffer);
  view.setUint16(2, total);
  view.setUint16(head, type);
  view.setUint16(head + 2, 4 + value.length);
  out.set(value, head + 4);
  return out;
}

/**
 * Splits an encoded message that ends with a parameter of `type` whose value is `size` bytes:
 * the message without it (its length set to the bytes before the parameter) and the value.
 * Undefined when the message does not end so. The parts are views of `bytes`.
 *
 * @example
 * ```ts
 * import { appendTrailingParameter, splitTrailingParameter } from "@rserpool/rserpool/wire";
 * const m = appendTrailingParameter(new Uint8Array([5, 0, 0, 4]), 0x8041, new Uint8Array(4));
 * splitTrailingParameter(m, 0x8041, 4)?.message.length; // 4
 * ```
 */
export function splitTrailingParameter(
  bytes: Uint8Array,
  type: number,
  size: number,
): { message: Uint8Array; value: Uint8Array } | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(2);
  const head = length - 4 - size;
  if (length > bytes.length || head < 4 || (head & 3) !== 0) return undefined;
  if (view.getUint16(head) !== type || view.getUint16(head + 2) !== 4 + size) return undefined;
  const message = bytes.slice(0, head);
  new DataView(message.buffer).setUint16(2, head);
  return { message, value: bytes.subarray(head + 4, head + 4 + size) };
}
