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

/** Above this many slots, an array emptied by acknowledgements is let go rather than reused. */
const KEEP_SLOTS = 64;

/**
 * Queued and outstanding DATA chunks.
 *
 * Both live in one array, in the order they were queued, which is also the order they are sent
 * and of their TSNs: `[head, end)` is outstanding, `[end, queued)` waits to be sent. A slot is
 * cleared once its chunk is acknowledged, and the array is reused from its start once it is
 * empty, so that an idle association holds no chunk it sent and no new array per message.
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
  /** Outstanding chunks, then queued ones; cleared slots below `#head`. */
  #chunks: (OutChunk | undefined)[] = [];
  /** The oldest outstanding chunk. */
  #head = 0;
  /** The first chunk not yet sent. */
  #end = 0;
  /** One past the last chunk queued. */
  #queued = 0;
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
    return this.#head === this.#queued;
  }

  /**
   * Chunks outstanding: `outstanding[i]` for `head <= i < end`, in TSN order (the array holds
   * other entries outside that range).
   */
  get outstanding(): readonly OutChunk[] {
    return this.#chunks as readonly OutChunk[];
  }

  /** Index of the oldest outstanding chunk in {@linkcode SendQueue.outstanding}. */
  get head(): number {
    return this.#head;
  }

  /** One past the index of the newest outstanding chunk in {@linkcode SendQueue.outstanding}. */
  get end(): number {
    return this.#end;
  }

  /** The oldest outstanding chunk. */
  get oldest(): OutChunk | undefined {
    return this.#head < this.#end ? this.#chunks[this.#head] : undefined;
  }

  /** Queues a chunk (its bytes count as buffered from now). */
  enqueue(flags: number, stream: number, ssn: number, ppid: number, payload: Uint8Array): void {
    const c: OutChunk = {
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
    };
    if (this.#queued < this.#chunks.length) this.#chunks[this.#queued] = c;
    // One slot, reused, is all that an association sending a message at a time needs.
    else if (this.#queued === 0) this.#chunks = [c];
    else this.#chunks.push(c);
    this.#queued++;
    this.#bufferedBytes += payload.length;
  }

  /** The next queued chunk, not yet sent. */
  peekPending(): OutChunk | undefined {
    return this.#end < this.#queued ? this.#chunks[this.#end] : undefined;
  }

  /** Takes the next queued chunk to send it: it gets the next TSN and is outstanding. */
  takePending(): OutChunk | undefined {
    if (this.#end === this.#queued) return undefined;
    const c = this.#chunks[this.#end++]!;
    c.tsn = this.#nextTsn;
    this.#nextTsn = (this.#nextTsn + 1) >>> 0;
    return c;
  }

  /**
   * Removes the outstanding chunks up to TSN `cum` (a cumulative ack), calling `acked` for each
   * in TSN order.
   */
  ackCumulative(cum: number, acked: (c: OutChunk) => void): void {
    for (let c = this.takeAcked(cum); c !== undefined; c = this.takeAcked(cum)) acked(c);
  }

  /**
   * Removes and returns the oldest outstanding chunk if its TSN is at or below `cum` (a
   * cumulative ack); `undefined` when none is left to remove. Called until it returns
   * `undefined` (the queue tidies up then), it is {@linkcode SendQueue.ackCumulative} without a
   * callback to allocate.
   */
  takeAcked(cum: number): OutChunk | undefined {
    const chunks = this.#chunks;
    if (this.#head < this.#end) {
      const c = chunks[this.#head]!;
      if (tsnLe(c.tsn, cum)) {
        chunks[this.#head++] = undefined;
        this.#bufferedBytes -= c.payload.length;
        return c;
      }
    }
    if (this.#head === this.#queued) {
      // Empty: start over at the front of the array (a large one is let go).
      this.#head = this.#end = this.#queued = 0;
      if (chunks.length > KEEP_SLOTS) this.#chunks = [];
    } else if (this.#head > 512 && this.#head * 2 > this.#queued) {
      this.#chunks = chunks.slice(this.#head, this.#queued);
      this.#end -= this.#head;
      this.#queued -= this.#head;
      this.#head = 0;
    }
    return undefined;
  }
}
