/**
 * The sending side's chunks (RFC 9260, 6.1): messages queued as DATA chunks without a TSN,
 * and the chunks outstanding, in TSN order, until the peer acknowledges them. A chunk gets
 * its TSN when it first goes on the wire, so that TSNs follow the order of transmission and
 * a queued chunk can still be dropped or reordered (by stream priority, say) without a hole.
 *
 * @module
 */

import type { SctpPath } from "./path.ts";
import { tsnLe } from "./tsn.ts";

/** A DATA chunk of ours, queued or outstanding. */
export interface OutChunk {
  /** Its TSN, once sent (0 before). */
  tsn: number;
  /** DATA flags (B, E, U). */
  flags: number;
  /** Stream identifier. */
  stream: number;
  /** Stream sequence number. */
  ssn: number;
  /** Payload protocol identifier. */
  ppid: number;
  /** User data. */
  payload: Uint8Array;
  /** When it was last sent (ms). */
  sentAt: number;
  /** When it was first sent (ms). */
  firstSentAt: number;
  /** Times sent. */
  transmissions: number;
  /** The destination it was last sent to. */
  path: SctpPath | undefined;
  /** Acknowledged by a gap ack block (may be reneged). */
  acked: boolean;
  /** Counted in its path's flight. */
  inFlight: boolean;
  /** Miss indications (7.2.4). */
  missing: number;
  /** Marked for retransmission. */
  retransmit: boolean;
  /** Fast-retransmitted once already (never again, 7.2.4). */
  fastRetransmitted: boolean;
  /** Marked by a T3 expiry: it goes to another path if there is one (6.4). */
  timedOut: boolean;
}

/**
 * Queued and outstanding DATA chunks.
 *
 * @example
 * ```ts
 * import { SendQueue } from "./send_queue.ts";
 * const q = new SendQueue(1000);
 * q.enqueue(3, 0, 0, 0, new Uint8Array(10));
 * const c = q.takePending()!; // goes on the wire now: TSN 1000
 * q.ackCumulative(1000, () => {}); // the peer acknowledged it
 * q.empty; // true
 * ```
 */
export class SendQueue {
  #nextTsn: number;
  #pending: OutChunk[] = [];
  #pendingHead = 0;
  #outstanding: OutChunk[] = [];
  #outstandingHead = 0;
  #bufferedBytes = 0;

  /** A queue whose first chunk sent gets TSN `initialTsn`. */
  constructor(initialTsn: number) {
    this.#nextTsn = initialTsn >>> 0;
  }

  /** The TSN the next chunk sent gets. */
  get nextTsn(): number {
    return this.#nextTsn;
  }

  /** The highest TSN sent so far (initial TSN - 1 before the first). */
  get highestSent(): number {
    return (this.#nextTsn - 1) >>> 0;
  }

  /** Payload bytes queued or outstanding. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Nothing queued and nothing outstanding. */
  get empty(): boolean {
    return this.#pendingHead === this.#pending.length &&
      this.#outstandingHead === this.#outstanding.length;
  }

  /** Chunks outstanding: `outstanding[i]` for `head <= i < outstanding.length`, in TSN order. */
  get outstanding(): readonly OutChunk[] {
    return this.#outstanding;
  }

  /** Index of the oldest outstanding chunk in {@linkcode SendQueue.outstanding}. */
  get head(): number {
    return this.#outstandingHead;
  }

  /** The oldest outstanding chunk. */
  get oldest(): OutChunk | undefined {
    return this.#outstanding[this.#outstandingHead];
  }

  /** Queues a chunk (its bytes count as buffered from now). */
  enqueue(flags: number, stream: number, ssn: number, ppid: number, payload: Uint8Array): void {
    this.#pending.push({
      tsn: 0,
      flags,
      stream,
      ssn,
      ppid,
      payload,
      sentAt: 0,
      firstSentAt: 0,
      transmissions: 0,
      path: undefined,
      acked: false,
      inFlight: false,
      missing: 0,
      retransmit: false,
      fastRetransmitted: false,
      timedOut: false,
    });
    this.#bufferedBytes += payload.length;
  }

  /** The next queued chunk, not yet sent. */
  peekPending(): OutChunk | undefined {
    return this.#pending[this.#pendingHead];
  }

  /** Takes the next queued chunk to send it: it gets the next TSN and is outstanding. */
  takePending(): OutChunk | undefined {
    const c = this.#pending[this.#pendingHead];
    if (c === undefined) return undefined;
    this.#pendingHead++;
    if (this.#pendingHead > 256 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
    c.tsn = this.#nextTsn;
    this.#nextTsn = (this.#nextTsn + 1) >>> 0;
    this.#outstanding.push(c);
    return c;
  }

  /**
   * Removes the outstanding chunks up to TSN `cum` (a cumulative ack), calling `acked` for each
   * in TSN order.
   */
  ackCumulative(cum: number, acked: (c: OutChunk) => void): void {
    const out = this.#outstanding;
    while (this.#outstandingHead < out.length) {
      const c = out[this.#outstandingHead];
      if (!tsnLe(c.tsn, cum)) break;
      this.#outstandingHead++;
      this.#bufferedBytes -= c.payload.length;
      acked(c);
    }
    if (this.#outstandingHead > 512 && this.#outstandingHead * 2 > out.length) {
      this.#outstanding = out.slice(this.#outstandingHead);
      this.#outstandingHead = 0;
    }
  }
}
