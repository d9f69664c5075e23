/**
 * Registration authorization (RFC 5355, section 3.1): a registrar that knows a pool's secret
 * accepts a REGISTRATION into that pool only when it carries a signature made with it.
 *
 * The signature travels in this project's Registration Authentication parameter (type
 * 0x8040; its high bits `10` tell implementations that do not know it, RSPLIB among them, to
 * skip it). Its value: the signing time (u64, ms since the epoch) and an HMAC-SHA256 with the
 * pool's secret over a label, that time and the REGISTRATION without the parameter (its pool
 * handle and the whole Pool Element parameter: ID, policy, addresses). A registrar accepts it
 * within `maxSkew` of its own clock, so a captured registration cannot be replayed for long.
 *
 * @module
 */

import { AUTH_TAG_SIZE, authenticationTag, verifyAuthenticationTag } from "../wire/message_auth.ts";
import { encodeAsapMessage } from "./codec.ts";
import type { AsapRegistration } from "./messages.ts";

const LABEL = "RSerPool registration v1";
const TIME_SIZE = 8;

/** The REGISTRATION as signed: encoded without its authentication. */
function signedBytes(message: AsapRegistration): Uint8Array {
  return encodeAsapMessage({
    type: "registration",
    poolHandle: message.poolHandle,
    poolElement: message.poolElement,
  });
}

/**
 * The Registration Authentication value for a REGISTRATION, signed with its pool's secret.
 *
 * @example
 * ```ts
 * import { signRegistration, verifyRegistration } from "@rserpool/rserpool/asap";
 * import type { AsapRegistration } from "@rserpool/rserpool/asap";
 * const registration: AsapRegistration = {
 *   type: "registration",
 *   poolHandle: new TextEncoder().encode("SecurePool"),
 *   poolElement: {
 *     identifier: 7,
 *     homeRegistrarId: 0,
 *     registrationLife: 30_000,
 *     userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 *     policy: { name: "round-robin" },
 *   },
 * };
 * registration.authentication = signRegistration(registration, "pool secret");
 * verifyRegistration(registration, "pool secret"); // true
 * ```
 */
export function signRegistration(
  message: AsapRegistration,
  secret: Uint8Array | string,
  now: number = Date.now(),
): Uint8Array {
  const value = new Uint8Array(TIME_SIZE + AUTH_TAG_SIZE);
  new DataView(value.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(now))));
  const stamp = value.subarray(0, TIME_SIZE);
  value.set(authenticationTag(secret, LABEL, stamp, signedBytes(message)), TIME_SIZE);
  return value;
}

/**
 * Options of {@linkcode verifyRegistration}.
 *
 * @example
 * ```ts
 * import type { VerifyRegistrationOptions } from "@rserpool/rserpool/asap";
 * const options: VerifyRegistrationOptions = { maxSkew: 300_000 };
 * ```
 */
export interface VerifyRegistrationOptions {
  /** The verifier's clock in ms (default `Date.now`). */
  clock?: () => number;
  /** How far the signing time may be from the clock, in ms (default 600,000). */
  maxSkew?: number;
}

/**
 * Whether a REGISTRATION carries a valid signature of `secret`, made within `maxSkew`.
 *
 * @example
 * ```ts ignore
 * import { verifyRegistration } from "@rserpool/rserpool/asap";
 * if (!verifyRegistration(message, secret)) reject(0xa); // Rejection due to security
 * ```
 */
export function verifyRegistration(
  message: AsapRegistration,
  secret: Uint8Array | string,
  options: VerifyRegistrationOptions = {},
): boolean {
  const value = message.authentication;
  if (value === undefined || value.length !== TIME_SIZE + AUTH_TAG_SIZE) return false;
  const time = Number(new DataView(value.buffer, value.byteOffset, TIME_SIZE).getBigUint64(0));
  const now = (options.clock ?? Date.now)();
  if (Math.abs(now - time) > (options.maxSkew ?? 600_000)) return false;
  return verifyAuthenticationTag(
    secret,
    LABEL,
    value.subarray(0, TIME_SIZE),
    signedBytes(message),
    value.subarray(TIME_SIZE),
  );
}
