/**
 * A virtual clock for simulations: time stands still while callbacks run and jumps to the next
 * timer when nothing is left to do in the current instant.
 *
 * @module
 */

import type { SctpClock, SctpTimerHandle } from "../clock.ts";

interface Entry {
  time: number;
  seq: number;
  callback: (() => void) | undefined;
}

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
  #seq = 0;
  #heap: Entry[] = [];
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
  setTimeout(callback: () => void, delay: number): SctpTimerHandle {
    const entry: Entry = {
      time: this.#now + (delay > 0 ? delay : 0),
      seq: this.#seq++,
      callback,
    };
    this.#push(entry);
    return entry;
  }

  /** Cancels a timer. */
  clearTimeout(handle: SctpTimerHandle): void {
    if (handle !== null && typeof handle === "object" && "callback" in handle) {
      (handle as Entry).callback = undefined;
    }
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
    this.#dropCancelled();
    return this.#heap.length === 0 ? Infinity : this.#heap[0].time;
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
    while (this.#heap.length > 0 && this.#heap[0].time <= this.#now) {
      const entry = this.#pop();
      const callback = entry.callback;
      if (callback === undefined) continue;
      entry.callback = undefined;
      callback();
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

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].callback === undefined) this.#pop();
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r], heap[l]) ? r : l;
        if (!before(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
