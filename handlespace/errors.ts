/**
 * The error type of the handlespace layer.
 *
 * @module
 */

/**
 * The only error the handlespace throws: a registration it refuses, with the RFC 5354 error
 * cause code that the registrar sends back (see `ErrorCause` in `wire/errors.ts`).
 *
 * @example Telling a policy conflict apart
 * ```ts
 * import { Handlespace, HandlespaceError } from "@rserpool/rserpool/handlespace";
 * const hs = new Handlespace();
 * import type { PoolElementParameter } from "@rserpool/rserpool/handlespace";
 * const pe: PoolElementParameter = {
 *   identifier: 1,
 *   homeRegistrarId: 7,
 *   registrationLife: 30_000,
 *   userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 *   policy: { name: "round-robin" },
 * };
 * const handle = new TextEncoder().encode("EchoPool");
 * hs.registerPoolElement(handle, pe);
 * try {
 *   hs.registerPoolElement(handle, { ...pe, identifier: 2, policy: { name: "random" } });
 * } catch (e) {
 *   if (e instanceof HandlespaceError) console.log(e.errorCause); // 5: Inconsistent Pooling Policy
 * }
 * ```
 */
export class HandlespaceError extends Error {
  /** The RFC 5354 error cause code (`ErrorCause` of the `wire` module). */
  readonly errorCause: number;
  /** Creates an error with a cause code and a message in sentence case. */
  constructor(errorCause: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandlespaceError";
    this.errorCause = errorCause;
  }
}
