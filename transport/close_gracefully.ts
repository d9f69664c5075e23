/**
 * Closing something gracefully within a deadline, and aborting it when that takes too long.
 *
 * @module
 */

import { delay, type Timers } from "./delay.ts";

/**
 * What {@linkcode closeGracefully} closes: an association, a session, anything with a graceful
 * `close`, an `abort` and a `closed` flag.
 *
 * @example
 * ```ts
 * import type { Closable } from "./close_gracefully.ts";
 * import type { Association } from "./types.ts";
 * const asClosable = (a: Association): Closable => a;
 * ```
 */
export interface Closable {
  /** True once it has ended. */
  readonly closed: boolean;
  /** Closes gracefully; may take long or never settle. */
  close(): Promise<void>;
  /** Ends at once. */
  abort(reason?: string): void;
}

/**
 * Options of {@linkcode closeGracefully}.
 *
 * @example
 * ```ts
 * import type { CloseGracefullyOptions } from "./close_gracefully.ts";
 * const options: CloseGracefullyOptions = { timeout: 2000, reason: "Session closed" };
 * ```
 */
export interface CloseGracefullyOptions {
  /** How long the graceful close may take, in milliseconds. */
  timeout: number;
  /** The reason given to `abort` when it took too long (default: `abort`'s own). */
  reason?: string;
  /** Timers to use (default: the global ones). */
  timers?: Timers;
}

/**
 * Calls `target.close()` and waits for it at most `timeout` ms; then, unless `target.closed`,
 * aborts it with `reason`. Never rejects: a failing `close` counts as not closed. Resolves once
 * the target is closed or aborted.
 *
 * @example Close every session, none for longer than two seconds
 * ```ts ignore
 * import { closeGracefully } from "./close_gracefully.ts";
 * import type { Association } from "./types.ts";
 * declare const associations: Association[];
 * await Promise.all(
 *   associations.map((a) => closeGracefully(a, { timeout: 2000, reason: "Closing" })),
 * );
 * ```
 */
export async function closeGracefully(
  target: Closable,
  options: CloseGracefullyOptions,
): Promise<void> {
  const expiry = new AbortController();
  try {
    await Promise.race([
      target.close().catch(() => {}),
      delay(options.timeout, { signal: expiry.signal, timers: options.timers }),
    ]);
  } finally {
    expiry.abort();
  }
  if (!target.closed) target.abort(options.reason);
}
