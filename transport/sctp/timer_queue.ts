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
  /** Whether it is in the heap (a cancelled timer stays there until it comes up). */
  readonly queued: boolean;
}

/** A timer's fields as the queue writes them. */
interface Entry {
  time: number;
  seq: number;
  callback: (() => void) | undefined;
  queued: boolean;
}

/**
 * `handle` when it is a {@linkcode TimerQueue}'s timer (a clock's opaque handle), else
 * `undefined`.
 *
 * @example
 * ```ts
 * import { queuedTimer, TimerQueue } from "./timer_queue.ts";
 * const queue = new TimerQueue();
 * queuedTimer(queue.add(10, () => {})); // the timer
 * queuedTimer(undefined); // undefined
 * ```
 */
export function queuedTimer(handle: unknown): QueuedTimer | undefined {
  return handle instanceof Object && "seq" in handle ? handle as QueuedTimer : undefined;
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
  /**
   * The heap, as parallel arrays: the timers, and their due times and sequence numbers in typed
   * arrays, so that the comparisons of a push or pop read contiguous numbers instead of one
   * timer object each, scattered over the JS heap (tens of thousands of timers).
   */
  #timers: (QueuedTimer | undefined)[] = [];
  #times = new Float64Array(64);
  #seqs = new Float64Array(64);
  #length = 0;
  #seq = 0;
  #cancelled = 0;

  /** Timers added and neither run nor cancelled. */
  get size(): number {
    return this.#length - this.#cancelled;
  }

  /** When the earliest timer is due (`Infinity`: none). */
  get next(): number {
    this.#dropCancelled();
    return this.#length === 0 ? Infinity : this.#times[0];
  }

  /**
   * Adds a timer due at `time`; returns its handle. `reuse`, a handle of this queue's that is
   * no longer queued (it ran), is used again for the new timer instead of a new object.
   */
  add(time: number, callback: () => void, reuse?: QueuedTimer): QueuedTimer {
    let timer: Entry;
    if (reuse !== undefined && !reuse.queued) {
      // A timer that has run (or was cancelled and dropped) carries the new one: a stack that
      // re-arms a heartbeat or retransmission timer per association and interval makes no
      // garbage for it.
      timer = reuse as Entry;
      timer.time = time;
      timer.seq = this.#seq++;
      timer.callback = callback;
    } else {
      timer = { time, seq: this.#seq++, callback, queued: false };
    }
    this.#push(timer);
    return timer;
  }

  /** Cancels a timer (one that ran or was cancelled already is ignored). */
  cancel(timer: QueuedTimer): void {
    if (timer.callback === undefined) return;
    timer.callback = undefined;
    this.#cancelled++;
    // Cancelled timers wait in the heap for their time; many of them are dropped at once.
    if (this.#cancelled > MIN_COMPACT && this.#cancelled * 2 > this.#length) this.#compact();
  }

  /**
   * Takes the earliest timer if it is due at `now` or before, and returns its callback (the
   * timer counts as run); `undefined` when none is due.
   */
  takeDue(now: number): (() => void) | undefined {
    this.#dropCancelled();
    if (this.#length === 0 || this.#times[0] > now) return undefined;
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
    while (this.#length > 0 && this.#timers[0]!.callback === undefined) {
      this.#pop();
      this.#cancelled--;
    }
  }

  #compact(): void {
    const live: QueuedTimer[] = [];
    for (let i = 0; i < this.#length; i++) {
      const t = this.#timers[i]!;
      if (t.callback !== undefined) live.push(t);
      else (t as Entry).queued = false;
    }
    this.#cancelled = 0;
    live.sort((a, b) => a.time - b.time || a.seq - b.seq);
    // A sorted array is a heap.
    const n = live.length;
    const capacity = Math.max(64, n);
    this.#times = new Float64Array(capacity);
    this.#seqs = new Float64Array(capacity);
    for (let i = 0; i < n; i++) {
      this.#times[i] = live[i].time;
      this.#seqs[i] = live[i].seq;
    }
    this.#timers = live;
    this.#length = n;
  }

  #push(timer: QueuedTimer): void {
    let i = this.#length;
    if (i === this.#times.length) this.#growTo(2 * i);
    const timers = this.#timers;
    const times = this.#times;
    const seqs = this.#seqs;
    const time = timer.time;
    const seq = timer.seq;
    this.#length = i + 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent];
      if (time > pt || (time === pt && seq > seqs[parent])) break;
      timers[i] = timers[parent];
      times[i] = pt;
      seqs[i] = seqs[parent];
      i = parent;
    }
    timers[i] = timer;
    times[i] = time;
    seqs[i] = seq;
    (timer as Entry).queued = true;
  }

  #pop(): QueuedTimer {
    const timers = this.#timers;
    const times = this.#times;
    const seqs = this.#seqs;
    const top = timers[0]!;
    (top as Entry).queued = false;
    const n = --this.#length;
    const last = timers[n]!;
    timers[n] = undefined;
    if (n > 0) {
      const time = times[n];
      const seq = seqs[n];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        let ct = times[l];
        if (r < n) {
          const rt = times[r];
          if (rt < ct || (rt === ct && seqs[r] < seqs[l])) {
            c = r;
            ct = rt;
          }
        }
        if (ct > time || (ct === time && seqs[c] > seq)) break;
        timers[i] = timers[c];
        times[i] = ct;
        seqs[i] = seqs[c];
        i = c;
      }
      timers[i] = last;
      times[i] = time;
      seqs[i] = seq;
    }
    return top;
  }

  #growTo(capacity: number): void {
    const times = new Float64Array(capacity);
    times.set(this.#times);
    this.#times = times;
    const seqs = new Float64Array(capacity);
    seqs.set(this.#seqs);
    this.#seqs = seqs;
  }
}
