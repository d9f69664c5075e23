/**
 * Reassembly and ordered delivery (RFC 9260, 6.5 and 6.9): fragments taken in TSN order become
 * messages, and ordered messages are delivered in stream sequence order, each stream on its
 * own; unordered ones at once.
 *
 * @module
 */

import type { ReceivedMessage } from "../types.ts";
import { DataFlag } from "./chunks.ts";

/** Why a chunk could not be taken. */
export type ReassemblyFault =
  /** The message grew beyond the largest message size. */
  | "too-large"
  /** The stream is outside the inbound streams negotiated. */
  | "invalid-stream";

interface Partial {
  parts: Uint8Array[];
  bytes: number;
  stream: number;
  ssn: number;
  ppid: number;
  unordered: boolean;
}

/**
 * Reassembly of one association's inbound messages.
 *
 * @example
 * ```ts
 * import { Reassembly } from "./reassembly.ts";
 * import { DataFlag } from "./chunks.ts";
 * const got: Uint8Array[] = [];
 * const r = new Reassembly({ inboundStreams: 1, maxMessageSize: 1 << 20, deliver: (m) => got.push(m.data) });
 * r.push(DataFlag.Begin, 0, 0, 0, new Uint8Array([1]));
 * r.push(DataFlag.End, 0, 0, 0, new Uint8Array([2]));
 * got; // [Uint8Array [1, 2]]
 * ```
 */
export class Reassembly {
  #partial: Partial | undefined;
  #nextSsn: Uint16Array;
  /** Ordered messages held back per inbound stream, made when a stream first needs one. */
  #stashed: (Map<number, ReceivedMessage> | undefined)[];
  #stashedBytes = 0;
  #maxMessageSize: number;
  #overhead: number;
  #deliver: (m: ReceivedMessage) => void;

  /**
   * Reassembly for `inboundStreams` streams, handing complete messages to `deliver`; a message
   * held back for ordering costs its length plus `overhead` bytes.
   */
  constructor(options: {
    inboundStreams: number;
    maxMessageSize: number;
    deliver: (m: ReceivedMessage) => void;
    overhead?: number;
  }) {
    this.#nextSsn = new Uint16Array(options.inboundStreams);
    this.#stashed = new Array(options.inboundStreams);
    this.#maxMessageSize = options.maxMessageSize;
    this.#overhead = options.overhead ?? 0;
    this.#deliver = options.deliver;
  }

  /** Bytes held: fragments of the message being reassembled and messages held back. */
  get heldBytes(): number {
    return this.#stashedBytes + (this.#partial?.bytes ?? 0);
  }

  /**
   * Takes the next chunk in TSN order; returns a fault when the association must act on it.
   * A fragment without its beginning is dropped.
   */
  push(
    flags: number,
    stream: number,
    ssn: number,
    ppid: number,
    payload: Uint8Array,
  ): ReassemblyFault | undefined {
    const begin = (flags & DataFlag.Begin) !== 0;
    const end = (flags & DataFlag.End) !== 0;
    const unordered = (flags & DataFlag.Unordered) !== 0;
    if (begin && end) {
      return this.#complete({ data: payload.slice(), ppid, stream, unordered }, ssn);
    }
    if (begin) {
      this.#partial = {
        parts: [payload.slice()],
        bytes: payload.length,
        stream,
        ssn,
        ppid,
        unordered,
      };
      return undefined;
    }
    const p = this.#partial;
    if (p === undefined || p.stream !== stream || (!unordered && p.ssn !== ssn)) {
      this.#partial = undefined;
      return undefined; // a fragment without its beginning: nothing to deliver
    }
    p.parts.push(payload.slice());
    p.bytes += payload.length;
    if (p.bytes > this.#maxMessageSize) {
      this.#partial = undefined;
      return "too-large";
    }
    if (!end) return undefined;
    this.#partial = undefined;
    return this.#complete(
      { data: concat(p.parts, p.bytes), ppid: p.ppid, stream, unordered },
      p.ssn,
    );
  }

  #complete(m: ReceivedMessage, ssn: number): ReassemblyFault | undefined {
    if (m.stream >= this.#nextSsn.length) return "invalid-stream";
    if (m.unordered) {
      this.#deliver(m);
      return undefined;
    }
    const stash = this.#stashed[m.stream];
    if (ssn !== this.#nextSsn[m.stream]) {
      (stash ?? (this.#stashed[m.stream] = new Map())).set(ssn, m);
      this.#stashedBytes += m.data.length + this.#overhead;
      return undefined;
    }
    this.#deliver(m);
    let next = (ssn + 1) & 0xffff;
    while (stash !== undefined && stash.size > 0) {
      const s = stash.get(next);
      if (s === undefined) break;
      stash.delete(next);
      this.#stashedBytes -= s.data.length + this.#overhead;
      this.#deliver(s);
      next = (next + 1) & 0xffff;
    }
    this.#nextSsn[m.stream] = next;
    return undefined;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
