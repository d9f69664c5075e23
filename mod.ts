/**
 * Reliable Server Pooling (RSerPool, RFC 5351-5356) for Deno.
 *
 * This module exports the wire codec of ASAP (RFC 5352) and ENRP (RFC 5353) messages with the
 * RFC 5354 parameters, as plain typed objects; the pool member selection policies of RFC 5356
 * and RSPLIB; the handlespace, the registrar's table of pools and pool elements; the two ends of
 * ASAP: `PoolElement` (registers into a pool, serves PU sessions, sends HMAC-authenticated state
 * cookies) and `PoolUser` (resolves pools with a cache, opens sessions that fail over and resume
 * from the last cookie); the `Registrar`; and the transports behind one `Association`
 * interface: SCTP over UDP (RFC 6951), TCP and TLS.
 *
 * @example Encode and decode a handle resolution
 * ```ts
 * import { decodeAsapMessage, encodeAsapMessage } from "@rserpool/rserpool";
 *
 * const bytes = encodeAsapMessage({
 *   type: "handle-resolution",
 *   wantsUpdates: false,
 *   poolHandle: new TextEncoder().encode("EchoPool1"),
 * });
 * const message = decodeAsapMessage(bytes);
 * console.log(message.type); // "handle-resolution"
 * ```
 *
 * @module
 */

export * from "./wire/mod.ts";
export * from "./asap/mod.ts";
export * from "./enrp/mod.ts";
export {
  MAX_LOAD,
  policyNameOf,
  type PolicyOf,
  type RandomSource,
  samePolicy,
  seededRandom,
  type SelectionKind,
  selectionPolicies,
  type SelectionPolicy,
  selectionPolicy,
  type SelectionState,
} from "./policy/mod.ts";
export {
  type ChecksumItem,
  finishChecksum,
  Handlespace,
  HandlespaceError,
  type HandlespaceOptions,
  peChecksum,
  peChecksumTerm,
  type PoolElementEntry,
  poolHandleKey,
  type PoolInfo,
  type RegisterOptions,
  type RegistrationResult,
  type SelectOptions,
  wordSum,
} from "./handlespace/mod.ts";
export * from "./transport/mod.ts";
export {
  type RateLimit,
  Registrar,
  type RegistrarEvent,
  type RegistrarOptions,
  type RegistrarPeState,
  type RegistrarStats,
  type RemovalReason,
  RESOLUTION_TIME_BUCKETS,
  type ResolutionTimes,
  TokenBucket,
} from "./registrar/mod.ts";
