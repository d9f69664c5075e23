/**
 * Time and timers of the SCTP stack, injected so that protocol behaviour can be tested in
 * simulated time ({@linkcode VirtualClock} in `sim/`) instead of with sleeps.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** An opaque handle of a timer of an {@linkcode SctpClock}. */
export type SctpTimerHandle = unknown;

/**
 * What the SCTP stack knows of time: a monotonic `now()` in milliseconds, one-shot timers and
 * the two ways of running work later in the same instant (`queueMicrotask` before
 * `setImmediate`). {@linkcode systemClock} is the runtime's; a simulation supplies its own.
 *
 * @example A clock that starts at zero
 * ```ts
 * import { type SctpClock, systemClock } from "./clock.ts";
 * const start = systemClock.now();
 * const clock: SctpClock = { ...systemClock, now: () => systemClock.now() - start };
 * clock.now();
 * ```
 */
export interface SctpClock {
  /** Milliseconds since an arbitrary origin, never decreasing. */
  now(): number;
  /** Runs `callback` once after `delay` milliseconds. */
  setTimeout(callback: () => void, delay: number): SctpTimerHandle;
  /** Cancels a timer; `undefined` and expired timers are ignored. */
  clearTimeout(handle: SctpTimerHandle): void;
  /** Runs `callback` once the work of the current instant (I/O callbacks) is done. */
  setImmediate(callback: () => void): void;
  /** Runs `callback` as soon as the current callback returns. */
  queueMicrotask(callback: () => void): void;
}

/**
 * The runtime's clock: `performance.now()` and the global timers.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const handle = systemClock.setTimeout(() => console.log("late"), 1000);
 * systemClock.clearTimeout(handle);
 * ```
 */
export const systemClock: SctpClock = {
  now: () => performance.now(),
  setTimeout: (callback, delay) => setTimeout(callback, delay),
  clearTimeout: (handle) => clearTimeout(handle as number | undefined),
  setImmediate: (callback) => {
    setImmediate(callback);
  },
  queueMicrotask: (callback) => queueMicrotask(callback),
};
