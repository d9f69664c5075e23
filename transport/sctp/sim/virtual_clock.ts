/**
 * A virtual clock for simulations: time stands still while callbacks run and jumps to the next
 * timer when nothing is left to do in the current instant.
 *
 * @module
 */

import type { SctpClock, SctpTimerHandle } from "../clock.ts";
import { queuedTimer, TimerQueue } from "../timer_queue.ts";

/**
 * An {@linkcode SctpClock} whose time only moves when it is told to: {@linkcode VirtualClock.step}
 * jumps to the earliest timer and runs every timer due then. Microtasks and immediates queued
 * through the clock run at the current instant, microtasks first ({@linkcode VirtualClock.runNow}).
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./virtual_clock.ts";
 * const clock = new VirtualClock();
 * let fired = 0;
 * clock.setTimeout(() => fired = clock.now(), 250);
 * while (clock.step()) { /* run every timer *\/ }
 * fired; // 250
 * ```
 */
export class VirtualClock implements SctpClock {
  #now: number;
  #timers = new TimerQueue();
  #micro: (() => void)[] = [];
  #immediate: (() => void)[] = [];

  /** A clock that starts at `start` milliseconds (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The virtual time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Runs `callback` at `now() + delay` (a negative or invalid delay counts as 0). */
  setTimeout(callback: () => void, delay: number, reuse?: SctpTimerHandle): SctpTimerHandle {
    return this.#timers.add(this.#now + (delay > 0 ? delay : 0), callback, queuedTimer(reuse));
  }

  /** Cancels a timer. */
  clearTimeout(handle: SctpTimerHandle): void {
    const timer = queuedTimer(handle);
    if (timer !== undefined) this.#timers.cancel(timer);
  }

  /** Runs `callback` in the current instant, after the microtasks queued before it. */
  setImmediate(callback: () => void): void {
    this.#immediate.push(callback);
  }

  /** Runs `callback` in the current instant, before the immediates. */
  queueMicrotask(callback: () => void): void {
    this.#micro.push(callback);
  }

  /** Whether callbacks are waiting to run in the current instant. */
  get busy(): boolean {
    return this.#micro.length > 0 || this.#immediate.length > 0;
  }

  /** When the earliest live timer is due (`Infinity`: none). */
  get next(): number {
    return this.#timers.next;
  }

  /** Runs the microtasks and immediates of the current instant; returns how many ran. */
  runNow(): number {
    let ran = 0;
    for (;;) {
      ran += this.#runMicrotasks();
      if (this.#immediate.length === 0) return ran;
      // Immediates queued while these run wait for the next round, as in the runtime.
      const batch = this.#immediate;
      this.#immediate = [];
      for (const callback of batch) {
        callback();
        ran++;
        ran += this.#runMicrotasks();
      }
    }
  }

  /**
   * Runs the current instant's work, then jumps to the earliest timer if it is due no later
   * than `limit` and runs every timer due then (with their microtasks and immediates).
   * Returns false, leaving the time at `limit` when that is finite, when no timer was due.
   */
  step(limit = Infinity): boolean {
    this.runNow();
    const next = this.next;
    // Nothing left to run (no timer at all) ends the stepping, whatever the limit.
    if (next > limit || next === Infinity) {
      if (limit !== Infinity && limit > this.#now) this.#now = limit;
      return false;
    }
    if (next > this.#now) this.#now = next;
    const now = this.#now;
    for (let due = this.#timers.takeDue(now); due !== undefined; due = this.#timers.takeDue(now)) {
      due();
      this.runNow();
    }
    return true;
  }

  #runMicrotasks(): number {
    let i = 0;
    try {
      for (; i < this.#micro.length; i++) this.#micro[i]();
    } finally {
      // A callback that throws is dropped with those before it; the rest still run later.
      this.#micro.splice(0, Math.min(i + 1, this.#micro.length));
    }
    return i;
  }
}
