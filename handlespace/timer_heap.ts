/**
 * The timer set of the handlespace: an indexed binary min-heap of slots ordered by due time
 * (ties by slot), O(log n) to set, change or remove a timer, O(1) to read the next one.
 *
 * Internal to the handlespace.
 *
 * @module
 */

/** An indexed min-heap of slots by due time. */
export class TimerHeap {
  #heap: Int32Array;
  #pos: Int32Array; // 1-based position in #heap, 0 = no timer
  #due: Float64Array;
  #size = 0;

  /** Creates storage for `capacity` slots. */
  constructor(capacity: number) {
    this.#heap = new Int32Array(capacity + 1);
    this.#pos = new Int32Array(capacity);
    this.#due = new Float64Array(capacity);
  }

  /** Grows the storage to `capacity` slots. */
  grow(capacity: number): void {
    const heap = new Int32Array(capacity + 1);
    heap.set(this.#heap);
    this.#heap = heap;
    const pos = new Int32Array(capacity);
    pos.set(this.#pos);
    this.#pos = pos;
    const due = new Float64Array(capacity);
    due.set(this.#due);
    this.#due = due;
  }

  /** The number of timers running. */
  get size(): number {
    return this.#size;
  }

  /** The due time of a slot's timer, `Infinity` when it has none. */
  due(slot: number): number {
    return this.#pos[slot] === 0 ? Infinity : this.#due[slot];
  }

  /** The slot of the earliest timer, 0 when there is none. */
  peek(): number {
    return this.#size === 0 ? 0 : this.#heap[1];
  }

  /** Sets (or moves) the timer of a slot; a due time of `Infinity` removes it. */
  set(slot: number, due: number): void {
    if (due === Infinity) {
      this.remove(slot);
      return;
    }
    const pos = this.#pos;
    if (pos[slot] === 0) {
      const i = ++this.#size;
      this.#heap[i] = slot;
      pos[slot] = i;
      this.#due[slot] = due;
      this.#up(i);
    } else {
      const old = this.#due[slot];
      this.#due[slot] = due;
      if (due < old) this.#up(pos[slot]);
      else if (due > old) this.#down(pos[slot]);
    }
  }

  /** Removes the timer of a slot, if it has one. */
  remove(slot: number): void {
    const pos = this.#pos;
    const i = pos[slot];
    if (i === 0) return;
    pos[slot] = 0;
    const last = this.#heap[this.#size--];
    if (i <= this.#size) {
      this.#heap[i] = last;
      pos[last] = i;
      this.#up(i);
      this.#down(pos[last]);
    }
  }

  #less(a: number, b: number): boolean {
    const due = this.#due;
    return due[a] < due[b] || (due[a] === due[b] && a < b);
  }

  #up(i: number): void {
    const heap = this.#heap, pos = this.#pos;
    const slot = heap[i];
    while (i > 1) {
      const p = i >> 1;
      const ps = heap[p];
      if (!this.#less(slot, ps)) break;
      heap[i] = ps;
      pos[ps] = i;
      i = p;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  #down(i: number): void {
    const heap = this.#heap, pos = this.#pos, n = this.#size;
    const slot = heap[i];
    for (;;) {
      let c = i << 1;
      if (c > n) break;
      if (c + 1 <= n && this.#less(heap[c + 1], heap[c])) c++;
      if (!this.#less(heap[c], slot)) break;
      heap[i] = heap[c];
      pos[heap[i]] = i;
      i = c;
    }
    heap[i] = slot;
    pos[slot] = i;
  }
}
