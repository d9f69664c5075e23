/**
 * The error type of the pool element and pool user side of ASAP.
 *
 * @module
 */

import { errorCauseName } from "../wire/errors.ts";

/**
 * Why a pool element or pool user operation failed.
 *
 * - `registration-rejected`: the registrar answered a REGISTRATION with the R flag;
 *   {@linkcode PoolError.errorCause} carries its RFC 5354 cause.
 * - `unknown-pool-handle`: a handle resolution found no such pool (cause 0x9).
 * - `resolution-failed`: a handle resolution was answered with another error cause.
 * - `no-registrar`: no registrar could be reached.
 * - `timeout`: a registrar request or a request to a PE was not answered in time, and its
 *   attempts are used up.
 * - `registrar-lost`: the association to the registrar ended while a request was waiting.
 * - `failover-failed`: a session could reach no pool element within its attempts.
 * - `invalid-cookie`: a state cookie did not verify (forged, altered, of another pool, too old).
 * - `closed`: the pool element, pool user or session is closed.
 * - `invalid`: an argument is out of range.
 * - `local`: this program failed (a socket could not be bound, resources ran out), not a PE
 *   or a registrar; nothing is reported about them.
 *
 * @example
 * ```ts
 * import type { PoolErrorCode } from "@rserpool/rserpool/asap";
 * const code: PoolErrorCode = "failover-failed";
 * ```
 */
export type PoolErrorCode =
  | "registration-rejected"
  | "unknown-pool-handle"
  | "resolution-failed"
  | "no-registrar"
  | "timeout"
  | "registrar-lost"
  | "failover-failed"
  | "invalid-cookie"
  | "closed"
  | "invalid"
  | "local";

/**
 * Options of a {@linkcode PoolError}.
 *
 * @example
 * ```ts
 * import type { PoolErrorOptions } from "@rserpool/rserpool/asap";
 * const options: PoolErrorOptions = { errorCause: 0x5 }; // Inconsistent Pooling Policy
 * ```
 */
export interface PoolErrorOptions extends ErrorOptions {
  /** The RFC 5354 error cause code the registrar sent, where one applies. */
  errorCause?: number;
}

/**
 * The one error class of the pool element and pool user API. (The name `AsapError` is taken by
 * the ASAP ERROR message type.)
 *
 * @example Telling a rejected registration apart
 * ```ts
 * import { PoolError } from "@rserpool/rserpool/asap";
 * const e = new PoolError("registration-rejected", "Registration rejected", { errorCause: 0x5 });
 * e.code; // "registration-rejected"
 * e.errorCauseName; // "Inconsistent Pooling Policy"
 * ```
 */
export class PoolError extends Error {
  /** What kind of failure it is. */
  readonly code: PoolErrorCode;
  /** The RFC 5354 error cause code, when the failure came with one. */
  readonly errorCause: number | undefined;

  /** Creates an error with a code and a message in sentence case. */
  constructor(code: PoolErrorCode, message: string, options: PoolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PoolError";
    this.code = code;
    this.errorCause = options.errorCause;
  }

  /** The RFC name of {@linkcode PoolError.errorCause}, or `undefined` without one. */
  get errorCauseName(): string | undefined {
    return this.errorCause === undefined ? undefined : errorCauseName(this.errorCause);
  }
}
