/**
 * An abortable delay on an injectable timer.
 *
 * @module
 */

/**
 * One-shot timers: the global `setTimeout`/`clearTimeout` by default, or a simulated clock's
 * (an SCTP stack's `SctpClock` fits).
 *
 * @example Timers that count what they start
 * ```ts
 * import type { Timers } from "./delay.ts";
 * let started = 0;
 * const timers: Timers = {
 *   setTimeout: (callback, ms) => {
 *     started++;
 *     return setTimeout(callback, ms);
 *   },
 *   clearTimeout: (handle) => clearTimeout(handle as number),
 * };
 * ```
 */
export interface Timers {
  /** Runs `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer; expired ones and `undefined` are ignored. */
  clearTimeout(handle: unknown): void;
}

/** The runtime's timers. */
const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number | undefined),
};

/**
 * Options of {@linkcode delay}.
 *
 * @example
 * ```ts
 * import type { DelayOptions } from "./delay.ts";
 * const options: DelayOptions = { signal: AbortSignal.timeout(100) };
 * ```
 */
export interface DelayOptions {
  /** Ends the delay early when it aborts. */
  signal?: AbortSignal;
  /** Timers to use (default: the global ones). */
  timers?: Timers;
}

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (at once if it already has).
 * It never rejects, unlike `@std/async`'s `delay`: its callers go on either way and look at
 * their own state (closed, woken) afterwards. The timer is cleared and the abort listener
 * removed when it ends, so an aborted delay keeps nothing alive.
 *
 * @example A pause that closing cuts short
 * ```ts
 * import { delay } from "./delay.ts";
 * const closing = new AbortController();
 * const paused = delay(60_000, { signal: closing.signal });
 * closing.abort();
 * await paused; // at once
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve();
  const timers = options.timers ?? globalTimers;
  return new Promise((resolve) => {
    const done = (): void => {
      timers.clearTimeout(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = timers.setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
