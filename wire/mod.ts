/**
 * The RSerPool wire layer (RFC 5354): parameter types, the TLV writer and reader, addresses and
 * the {@linkcode WireError} that every decoding failure is.
 *
 * @example
 * ```ts
 * import { ErrorCause, WireError } from "@rserpool/rserpool/wire";
 * const e = new WireError(ErrorCause.InvalidValues, "Bad value", { offset: 4 });
 * e.errorCause; // 3
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./types.ts";
export { formatIpv4, formatIpv6, ipAddressFamily, writeIpAddress } from "./address.ts";
export { freezePoolElement, isPolicyName, policyFields, WIRE_LIMITS } from "./parameters.ts";
export {
  appendTrailingParameter,
  AUTH_TAG_SIZE,
  authenticationTag,
  splitTrailingParameter,
  verifyAuthenticationTag,
} from "./message_auth.ts";
