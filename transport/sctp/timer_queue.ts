/**
 * One-shot timers in a binary min-heap ordered by due time (ties in the order they were added),
 * with cancellation by handle. It holds the timers of a whole SCTP stack: the runtime's clock
 * ({@linkcode systemClock} in `clock.ts`) drives it with a single runtime timer, and the
 * simulation's `VirtualClock` steps through it.
 *
 * Tens of thousands of associations each start a retransmission and a delayed-SACK timer per
 * message exchanged: one runtime timer each costs a timer object and two runtime calls, an
 * entry here one small object and a few comparisons.
 *
 * @module
 */

/** A timer of a {@linkcode TimerQueue}; its handle for {@linkcode TimerQueue.cancel}. */
export interface QueuedTimer {
  /** When it is due (ms, on the queue's clock). */
  readonly time: number;
  /** Its place among timers due at the same time. */
  readonly seq: number;
  /** What runs when it is due; `undefined` once it has run or was cancelled. */
  callback: (() => void) | undefined;
}

/** Cancelled timers kept before the heap is rebuilt without them. */
const MIN_COMPACT = 1024;

/**
 * A set of one-shot timers: add, cancel, and take those that are due in order.
 *
 * @example
 * ```ts
 * import { TimerQueue } from "./timer_queue.ts";
 * const queue = new TimerQueue();
 * const fired: string[] = [];
 * queue.add(20, () => fired.push("b"));
 * const a = queue.add(10, () => fired.push("a"));
 * queue.add(10, () => fired.push("c"));
 * queue.cancel(a);
 * queue.runDue(15); // runs "c"
 * queue.next; // 20
 * ```
 */
export class TimerQueue {
  #heap: QueuedTimer[] = [];
  #seq = 0;
  #cancelled = 0;

  /** Timers added and neither run nor cancelled. */
  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  /** When the earliest timer is due (`Infinity`: none). */
  get next(): number {
    this.#dropCancelled();
    return this.#heap.length === 0 ? Infinity : this.#heap[0].time;
  }

  /** Adds a timer due at `time`; returns its handle. */
  add(time: number, callback: () => void): QueuedTimer {
    const timer: QueuedTimer = { time, seq: this.#seq++, callback };
    this.#push(timer);
    return timer;
  }

  /** Cancels a timer (one that ran or was cancelled already is ignored). */
  cancel(timer: QueuedTimer): void {
    if (timer.callback === undefined) return;
    timer.callback = undefined;
    this.#cancelled++;
    // Cancelled timers wait in the heap for their time; many of them are dropped at once.
    if (this.#cancelled > MIN_COMPACT && this.#cancelled * 2 > this.#heap.length) this.#compact();
  }

  /**
   * Takes the earliest timer if it is due at `now` or before, and returns its callback (the
   * timer counts as run); `undefined` when none is due.
   */
  takeDue(now: number): (() => void) | undefined {
    this.#dropCancelled();
    const heap = this.#heap;
    if (heap.length === 0 || heap[0].time > now) return undefined;
    const timer = this.#pop();
    const callback = timer.callback;
    timer.callback = undefined;
    return callback;
  }

  /**
   * Runs every timer due at `now` or before, in order, including those that the callbacks add
   * for then; returns how many ran. A callback that throws does not keep the others from
   * running: the first error is thrown once they have.
   */
  runDue(now: number): number {
    let ran = 0;
    let failure: { error: unknown } | undefined;
    for (let callback = this.takeDue(now); callback !== undefined; callback = this.takeDue(now)) {
      ran++;
      try {
        callback();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
    return ran;
  }

  #dropCancelled(): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].callback === undefined) {
      this.#pop();
      this.#cancelled--;
    }
  }

  #compact(): void {
    const live = this.#heap.filter((t) => t.callback !== undefined);
    this.#cancelled = 0;
    live.sort((a, b) => a.time - b.time || a.seq - b.seq);
    // A sorted array is a heap.
    this.#heap = live;
  }

  #push(timer: QueuedTimer): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): QueuedTimer {
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

function before(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
