/**
 * The RSerPool registrar (RFC 5352 server side) for embedding; `main.ts` is its command line.
 *
 * @example
 * ```ts ignore
 * import { Registrar } from "./mod.ts";
 * const registrar = await Registrar.start({
 *   asap: [{ protocol: "sctp", hostname: "127.0.0.1", port: 3863 }],
 *   announce: false,
 * });
 * await registrar.close();
 * ```
 *
 * @module
 */

export {
  Registrar,
  type RegistrarOptions,
  type RegistrarPeState,
  type RegistrarStats,
} from "./registrar.ts";
export { type RateLimit, TokenBucket } from "./rate_limiter.ts";
export {
  type RegistrarEvent,
  type RemovalReason,
  RESOLUTION_TIME_BUCKETS,
  type ResolutionTimes,
} from "./events.ts";
