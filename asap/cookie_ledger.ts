/**
 * What a PE remembers of the state cookies of its sessions: per session, the highest cookie
 * number it issued or accepted. A PU that echoes an older cookie of a session than one the PE
 * has seen would roll the session's state back (a replay): the PE refuses it.
 *
 * A PE knows only the sessions it has served; a replay to a PE that never saw the session is
 * bounded by the cookies' maximum age instead. The ledger holds at most `capacity` sessions and
 * forgets the least recently used.
 *
 * @module
 */

/**
 * Highest cookie numbers per session, bounded.
 *
 * @example
 * ```ts
 * import { CookieLedger } from "@rserpool/rserpool/asap";
 * const ledger = new CookieLedger();
 * const session = new Uint8Array(8).fill(7);
 * ledger.note(session, 3);
 * ledger.isStale(session, 2); // true: cookie 3 of this session was seen already
 * ledger.isStale(session, 3); // false
 * ```
 */
export class CookieLedger {
  /** Most sessions remembered. */
  readonly capacity: number;
  #highest = new Map<string, number>();

  /** A ledger of at most `capacity` sessions (default 100,000). */
  constructor(capacity = 100_000) {
    this.capacity = Math.max(1, capacity);
  }

  /** Sessions remembered. */
  get size(): number {
    return this.#highest.size;
  }

  /** Whether cookie `sequence` of `session` is older than one seen for it. */
  isStale(session: Uint8Array, sequence: number): boolean {
    const highest = this.#highest.get(keyOf(session));
    return highest !== undefined && sequence < highest;
  }

  /** Records that cookie `sequence` of `session` was issued or accepted. */
  note(session: Uint8Array, sequence: number): void {
    const key = keyOf(session);
    const highest = this.#highest.get(key);
    this.#highest.delete(key); // most recently used last
    this.#highest.set(key, highest === undefined ? sequence : Math.max(highest, sequence));
    if (this.#highest.size > this.capacity) {
      this.#highest.delete(this.#highest.keys().next().value!);
    }
  }
}

function keyOf(session: Uint8Array): string {
  let s = "";
  for (const b of session) s += b.toString(16).padStart(2, "0");
  return s;
}
