/**
 * The error type of the transport layer.
 *
 * @module
 */

/**
 * Why a transport operation failed.
 *
 * - `closed`: the association or listener has ended.
 * - `timeout`: the peer did not answer in time (connect, handshake).
 * - `refused`: the peer refused or aborted.
 * - `limit`: a configured limit (associations, buffered bytes, message size) was reached.
 * - `invalid`: an argument was out of range.
 * - `io`: the socket underneath failed.
 * - `local`: this side could not do it (a socket could not be bound, local resources ran
 *   out): never a sign that the peer failed.
 *
 * @example
 * ```ts
 * import type { TransportErrorCode } from "@rserpool/rserpool/transport";
 * const code: TransportErrorCode = "timeout";
 * ```
 */
export type TransportErrorCode =
  | "closed"
  | "timeout"
  | "refused"
  | "limit"
  | "invalid"
  | "io"
  | "local";

/**
 * The only error the transports throw or reject with.
 *
 * @example
 * ```ts
 * import { TransportError } from "@rserpool/rserpool/transport";
 * const e = new TransportError("closed", "Association is closed");
 * e.code; // "closed"
 * ```
 */
export class TransportError extends Error {
  /** What kind of failure it is. */
  readonly code: TransportErrorCode;

  /** Creates an error with a code and a message in sentence case. */
  constructor(code: TransportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportError";
    this.code = code;
  }
}
