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

/** Where a {@linkcode Reassembly} hands complete messages: a queue, or an array in tests. */
export interface MessageSink {
  /** Takes one complete message, in delivery order. */
  push(m: ReceivedMessage): unknown;
}

/** A stream table before any ordered message arrived: never written to. */
const NO_STREAMS: number[] = [];

/**
 * Reassembly of one association's inbound messages.
 *
 * @example
 * ```ts
 * import { Reassembly } from "./reassembly.ts";
 * import { DataFlag } from "./chunks.ts";
 * import type { ReceivedMessage } from "../types.ts";
 * const got: ReceivedMessage[] = [];
 * const r = new Reassembly({ inboundStreams: 1, maxMessageSize: 1 << 20, sink: got });
 * r.push(DataFlag.Begin, 0, 0, 0, new Uint8Array([1]));
 * r.push(DataFlag.End, 0, 0, 0, new Uint8Array([2]));
 * got[0].data; // Uint8Array [1, 2]
 * ```
 */
export class Reassembly {
  #partial: Partial | undefined;
  #streams: number;
  /** The next SSN per inbound stream, grown to the highest stream used. */
  #nextSsn: number[] = NO_STREAMS;
  /** Ordered messages held back per inbound stream, made when a stream first needs one. */
  #stashed: (Map<number, ReceivedMessage> | undefined)[] | undefined;
  #stashedBytes = 0;
  #maxMessageSize: number;
  #overhead: number;
  #sink: MessageSink;

  /**
   * Reassembly for `inboundStreams` streams, handing complete messages to `sink`; a message
   * held back for ordering costs its length plus `overhead` bytes.
   */
  constructor(options: {
    inboundStreams: number;
    maxMessageSize: number;
    sink: MessageSink;
    overhead?: number;
  }) {
    this.#streams = options.inboundStreams;
    this.#maxMessageSize = options.maxMessageSize;
    this.#overhead = options.overhead ?? 0;
    this.#sink = options.sink;
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
    const stream = m.stream;
    if (stream >= this.#streams) return "invalid-stream";
    if (m.unordered) {
      this.#sink.push(m);
      return undefined;
    }
    const nextSsn = stream < this.#nextSsn.length ? this.#nextSsn : this.#grow(stream);
    const stash = this.#stashed?.[stream];
    if (ssn !== nextSsn[stream]) {
      const stashed = this.#stashed ??= [];
      (stash ?? (stashed[stream] = new Map())).set(ssn, m);
      this.#stashedBytes += m.data.length + this.#overhead;
      return undefined;
    }
    this.#sink.push(m);
    let next = (ssn + 1) & 0xffff;
    while (stash !== undefined && stash.size > 0) {
      const s = stash.get(next);
      if (s === undefined) break;
      stash.delete(next);
      this.#stashedBytes -= s.data.length + this.#overhead;
      this.#sink.push(s);
      next = (next + 1) & 0xffff;
    }
    nextSsn[stream] = next;
    return undefined;
  }

  /** Makes room in the SSN table for `stream` (each stream starts at SSN 0). */
  #grow(stream: number): number[] {
    const old = this.#nextSsn;
    const table = new Array<number>(stream + 1).fill(0);
    for (let i = 0; i < old.length; i++) table[i] = old[i];
    return this.#nextSsn = table;
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
