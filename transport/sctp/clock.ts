/**
 * Time and timers of the SCTP stack, injected so that protocol behaviour can be tested in
 * simulated time ({@linkcode VirtualClock} in `sim/`) instead of with sleeps.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { type QueuedTimer, queuedTimer, TimerQueue } from "./timer_queue.ts";
import { coalescedTime } from "../timer_slack.ts";

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
  /**
   * Runs `callback` once after `delay` milliseconds. `reuse`, the handle of a timer of this
   * clock that has fired, may carry the new timer instead of a new object (a clock may ignore
   * it); the handle returned is the one to clear.
   */
  setTimeout(callback: () => void, delay: number, reuse?: SctpTimerHandle): SctpTimerHandle;
  /** Cancels a timer; `undefined` and expired timers are ignored. */
  clearTimeout(handle: SctpTimerHandle): void;
  /** Runs `callback` once the work of the current instant (I/O callbacks) is done. */
  setImmediate(callback: () => void): void;
  /** Runs `callback` as soon as the current callback returns. */
  queueMicrotask(callback: () => void): void;
}

/** How early (ms) a timer may run: the runtime's timers count whole milliseconds. */
const EARLY = 0.5;

/**
 * The timers of every SCTP stack on the runtime's clock, in one {@linkcode TimerQueue} under one
 * runtime timer armed for the earliest of them.
 */
class RuntimeTimers {
  #queue = new TimerQueue();
  #handle: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  setTimeout(callback: () => void, delay: number, reuse?: SctpTimerHandle): QueuedTimer {
    const wait = delay > 0 ? delay : 0;
    // Timers of long delays due near each other fire in one wake-up (a few ms late at most).
    const time = coalescedTime(performance.now() + wait, wait);
    const timer = this.#queue.add(time, callback, queuedTimer(reuse));
    if (time < this.#armedFor) this.#arm(time);
    return timer;
  }

  clearTimeout(handle: SctpTimerHandle): void {
    const timer = queuedTimer(handle);
    if (timer === undefined) return;
    this.#queue.cancel(timer);
    // No runtime timer is left pending for timers that no longer exist.
    if (this.#queue.size === 0 && this.#handle !== undefined) {
      clearTimeout(this.#handle);
      this.#handle = undefined;
      this.#armedFor = Infinity;
    }
  }

  #arm(time: number): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#armedFor = time;
    this.#handle = setTimeout(this.#fire, Math.max(0, time - performance.now()));
  }

  #fire = (): void => {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    try {
      this.#queue.runDue(performance.now() + EARLY);
    } finally {
      const next = this.#queue.next;
      if (next !== Infinity && this.#handle === undefined) this.#arm(next);
    }
  };
}

const runtimeTimers = new RuntimeTimers();

/**
 * The runtime's clock: `performance.now()`, and timers kept in one {@linkcode TimerQueue} for
 * all SCTP stacks of the process under a single runtime timer. A timer of a long delay may fire
 * up to a sixteenth of it late (8 ms at most, `transport/timer_slack.ts`), so that timers due
 * near each other share a wake-up of the process.
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
  setTimeout: (callback, delay, reuse) => runtimeTimers.setTimeout(callback, delay, reuse),
  clearTimeout: (handle) => runtimeTimers.clearTimeout(handle),
  setImmediate: (callback) => {
    setImmediate(callback);
  },
  queueMicrotask: (callback) => queueMicrotask(callback),
};
