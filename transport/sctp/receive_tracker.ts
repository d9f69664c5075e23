/**
 * The receiving side's view of the peer's TSNs (RFC 9260, 6.2 and 6.7): the cumulative TSN,
 * the chunks held above it for reordering, the duplicates to report, and the SACK built from
 * them, with the delayed SACK rule (a SACK for every second packet, at once for gaps and
 * duplicates, else within the delay).
 *
 * @module
 */

import { encodeSack } from "./chunks.ts";
import { tsnLe, tsnLt } from "./tsn.ts";

/** A DATA chunk held above the cumulative TSN until the chunks before it arrive. */
export interface HeldChunk {
  /** DATA flags (B, E, U). */
  flags: number;
  /** Stream identifier. */
  stream: number;
  /** Stream sequence number. */
  ssn: number;
  /** Payload protocol identifier. */
  ppid: number;
  /** User data (owned by the tracker). */
  payload: Uint8Array;
}

/** What an arriving TSN is to the tracker. */
export type TsnClass =
  /** At or below the cumulative TSN, or held already: to be reported as a duplicate. */
  | "duplicate"
  /** cumTsn + 1: it advances the cumulative TSN. */
  | "next"
  /** Above cumTsn + 1: held for reordering. */
  | "ahead"
  /** More than 2^16 beyond the cumulative TSN: beyond any window, dropped. */
  | "far";

/** Most duplicate TSNs one SACK reports. */
const MAX_DUPLICATES = 64;
/** Most gap ack blocks one SACK reports. */
const MAX_GAPS = 100;

/**
 * Scratch space for the offsets of the held TSNs, sorted natively when SACKs are built: one for
 * all trackers (building a SACK is synchronous), not 64 entries per association.
 */
let scratch = new Uint32Array(64);

/** No chunk held (most trackers, most of the time): shared, never written to. */
const NO_HELD: ReadonlyMap<number, HeldChunk> = new Map();
/** No duplicate to report: shared, never written to. */
const NO_DUPLICATES: readonly number[] = [];

/**
 * Receive tracking and SACK building.
 *
 * @example
 * ```ts
 * import { ReceiveTracker } from "./receive_tracker.ts";
 * const tracker = new ReceiveTracker(100, 256); // the peer's initial TSN is 100
 * tracker.classify(100); // "next"
 * tracker.advance(100);
 * tracker.classify(102); // "ahead": 101 is missing
 * tracker.hold(102, { flags: 3, stream: 0, ssn: 1, ppid: 0, payload: new Uint8Array(1) });
 * tracker.gaps(); // [[2, 2]]: TSN 102 is cumTsn + 2
 * ```
 */
export class ReceiveTracker {
  #cumTsn: number;
  /** Chunks held above the cumulative TSN (`NO_HELD` until the first one). */
  #held: Map<number, HeldChunk> = NO_HELD as Map<number, HeldChunk>;
  #heldBytes = 0;
  /** Duplicates to report (`NO_DUPLICATES` when none). */
  #duplicates: number[] = NO_DUPLICATES as number[];
  /** A SACK is owed. */
  needed = false;
  /** It is owed now, not after the delayed SACK time. */
  urgent = false;
  #packetsSinceSack = 0;
  #overhead: number;
  /** Average payload of the DATA chunks received lately (bytes). */
  #averagePayload: number;

  /**
   * A tracker for a peer whose first TSN is `initialTsn`; a held chunk costs its payload plus
   * `overhead` bytes. `typicalPayload` is the payload size assumed before any DATA arrived.
   */
  constructor(initialTsn: number, overhead = 0, typicalPayload = 1172) {
    this.#cumTsn = (initialTsn - 1) >>> 0;
    this.#overhead = overhead;
    this.#averagePayload = typicalPayload;
  }

  /** Takes note of the payload size of a DATA chunk received, for the window. */
  observe(payloadLength: number): void {
    this.#averagePayload += (payloadLength - this.#averagePayload) / 8;
  }

  /**
   * The window to advertise (a_rwnd) when `free` bytes of the receive buffer are free.
   *
   * A peer subtracts only the payload of the chunks it sends from our window (RFC 9260, 6.2.1),
   * but each chunk held here costs its payload plus the overhead. So the window is the payload
   * that fits in `free` bytes in chunks of the average size received lately: a sender of small
   * messages does not overrun the buffer and have its chunks dropped.
   */
  window(free: number): number {
    if (free <= 0) return 0;
    const average = Math.max(1, this.#averagePayload);
    return Math.floor(free * average / (average + this.#overhead));
  }

  /** The cumulative TSN: every TSN up to it has arrived. */
  get cumTsn(): number {
    return this.#cumTsn;
  }

  /** Chunks held above the cumulative TSN. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** What the held chunks cost: their payload plus the overhead of each. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Duplicate TSNs waiting to be reported. */
  get duplicateCount(): number {
    return this.#duplicates.length;
  }

  /** Classifies an arriving TSN; a duplicate is recorded for the next SACK. */
  classify(tsn: number): TsnClass {
    if (tsnLe(tsn, this.#cumTsn) || this.#held.has(tsn)) {
      if (this.#duplicates === NO_DUPLICATES) this.#duplicates = [];
      if (this.#duplicates.length < MAX_DUPLICATES) this.#duplicates.push(tsn);
      return "duplicate";
    }
    const ahead = (tsn - this.#cumTsn) >>> 0;
    if (ahead === 1) return "next";
    return ahead > 0x10000 ? "far" : "ahead";
  }

  /** Holds a chunk above cumTsn + 1. */
  hold(tsn: number, chunk: HeldChunk): void {
    if (this.#held === NO_HELD) this.#held = new Map();
    this.#held.set(tsn, chunk);
    this.#heldBytes += chunk.payload.length + this.#overhead;
  }

  /** Takes TSN `tsn`, which must be cumTsn + 1. */
  advance(tsn: number): void {
    this.#cumTsn = tsn;
  }

  /** The held chunk at cumTsn + 1, taken and the cumulative TSN advanced; else undefined. */
  takeNext(): HeldChunk | undefined {
    if (this.#held.size === 0) return undefined;
    const next = (this.#cumTsn + 1) >>> 0;
    const chunk = this.#held.get(next);
    if (chunk === undefined) return undefined;
    this.#release(next);
    this.#cumTsn = next;
    return chunk;
  }

  /**
   * Drops the highest TSN held when it is above `tsn` (RFC 9260, 6.2: a full receiver takes a
   * lower TSN in place of the highest held); returns the cost freed, 0 when nothing was.
   */
  dropHighestAbove(tsn: number): number {
    let highest: number | undefined;
    for (const t of this.#held.keys()) {
      if (highest === undefined || tsnLt(highest, t)) highest = t;
    }
    if (highest === undefined || !tsnLt(tsn, highest)) return 0;
    return this.#release(highest);
  }

  /** Gap ack blocks as offsets from the cumulative TSN, at most 100, in order. */
  gaps(): [number, number][] {
    const gaps: [number, number][] = [];
    if (this.#held.size === 0) return gaps;
    const n = this.#held.size;
    if (scratch.length < n) scratch = new Uint32Array(Math.max(n, 2 * scratch.length));
    const offsets = scratch.subarray(0, n);
    let k = 0;
    for (const t of this.#held.keys()) offsets[k++] = (t - this.#cumTsn) >>> 0;
    offsets.sort();
    let start = offsets[0];
    let prev = start;
    for (let i = 1; i <= n; i++) {
      if (i < n && offsets[i] === prev + 1) {
        prev = offsets[i];
        continue;
      }
      if (start <= 0xffff) gaps.push([start, Math.min(prev, 0xffff)]);
      if (gaps.length >= MAX_GAPS || i === n) break;
      start = offsets[i];
      prev = start;
    }
    return gaps;
  }

  /** A packet with DATA arrived: a SACK is owed, at once for gaps, duplicates, every second. */
  onDataPacket(): void {
    this.#packetsSinceSack++;
    if (this.#held.size > 0 || this.#duplicates.length > 0 || this.#packetsSinceSack >= 2) {
      this.urgent = true;
    }
    this.needed = true;
  }

  /** Whether the SACK owed now reports no gap and no duplicate (its value is 12 bytes). */
  get plain(): boolean {
    return this.#held.size === 0 && this.#duplicates.length === 0;
  }

  /**
   * Pays the owed SACK, a {@linkcode ReceiveTracker.plain} one that the caller writes itself
   * (with `PacketBuilder.sack`); returns the cumulative TSN it acknowledges.
   */
  paid(): number {
    this.needed = false;
    this.urgent = false;
    this.#packetsSinceSack = 0;
    return this.#cumTsn;
  }

  /** Builds the SACK chunk's value with `window` as a_rwnd; the owed SACK is then paid. */
  sack(window: number): Uint8Array {
    const value = encodeSack({
      cumulativeTsn: this.#cumTsn,
      advertisedWindow: window,
      gaps: this.gaps(),
      duplicates: this.#duplicates,
    });
    if (this.#duplicates.length > 0) this.#duplicates = NO_DUPLICATES as number[];
    this.needed = false;
    this.urgent = false;
    this.#packetsSinceSack = 0;
    return value;
  }

  #release(tsn: number): number {
    const chunk = this.#held.get(tsn);
    if (chunk === undefined) return 0;
    this.#held.delete(tsn);
    const cost = chunk.payload.length + this.#overhead;
    this.#heldBytes -= cost;
    return cost;
  }
}
