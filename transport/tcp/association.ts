/**
 * An {@linkcode Association} over a byte stream (TCP or TLS): one reader loop that parses frames
 * out of one read buffer, one writer loop that drains a bounded send queue.
 *
 * @module
 */

import { AssociationEvents } from "../association_events.ts";
import { Channel } from "../channel.ts";
import { delay } from "../delay.ts";
import { TransportError } from "../errors.ts";
import type {
  Association,
  AssociationEvent,
  ReceivedMessage,
  SendOptions,
  TransportAddress,
} from "../types.ts";
import type { ByteStream } from "./byte_stream.ts";
import {
  encodeFrame,
  FLAG_ABORT,
  FLAG_UNORDERED,
  FRAME_HEADER_SIZE,
  parseFrame,
  rserpoolWireBytes,
} from "./framing.ts";
import type { ResolvedAssociationOptions } from "./options.ts";

/** Size of the read buffer while no large message is being received. */
const READ_BUFFER_SIZE = 64 * 1024;
/** First size of the read buffer: an idle association (a PE's keep-alives) needs no more. */
const READ_BUFFER_START = 512;

/** A larger read buffer is dropped again when it empties. */
const READ_BUFFER_KEEP = 256 * 1024;

/** How long an abort waits for a write in progress before it closes the connection anyway. */
const ABORT_WRITE_TIMEOUT = 1000;

/**
 * Bytes a message waiting in a queue costs beyond its data (its objects: the message, its
 * buffer view, and on the send side the promise of its `send`). Counted against
 * `maxBufferedBytes` on both sides, so that a flood of tiny messages is bounded in memory and
 * not only in bytes.
 */
const HELD_OVERHEAD = 256;

/** Several small frames queued together are written with one call, up to this size. */
const COALESCE_LIMIT = 64 * 1024;

interface SendWaiter {
  /** Cumulative queued bytes up to and including the message. */
  end: number;
  resolve: () => void;
  reject: (error: TransportError) => void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A TCP or TLS association. Made by {@linkcode connectTcp} and {@linkcode listenTcp}; see the
 * module documentation of `transport/tcp/mod.ts` for its behaviour.
 *
 * @example
 * ```ts ignore
 * import { connectTcp } from "@rserpool/rserpool/transport";
 * await using association = await connectTcp({ hostname: "127.0.0.1", port: 3863 });
 * await association.send(new Uint8Array([1, 2, 3]), { ppid: 11 });
 * ```
 */
export class TcpAssociation implements Association {
  /** The transport underneath. */
  readonly protocol: "tcp" | "tls";
  /** The local address. */
  readonly localAddresses: readonly TransportAddress[];
  /** The peer address. */
  readonly remoteAddresses: readonly TransportAddress[];

  #stream: ByteStream;
  #options: ResolvedAssociationOptions;
  #state: "open" | "closing" | "closed" = "open";
  #shutdown: Promise<void> | undefined;

  // Send side: frames waiting to be written, counted in cumulative bytes.
  #queue: Uint8Array[] = [];
  /** Bytes queued and written so far, each message with its HELD_OVERHEAD. */
  #enqueued = 0;
  #written = 0;
  #chunkFrames = 1;
  #sendWaiters: SendWaiter[] = [];
  #writing = false;
  #writeInFlight = false;
  #drainWaiters: (() => void)[] = [];

  // Receive side: messages waiting for `receive`, each costing its bytes plus its objects.
  #inbox: Channel<ReceivedMessage>;
  #inputEnded = false;
  #inputEndWaiters: (() => void)[] = [];

  #pendingAbort:
    | { frame: Uint8Array | undefined; timer: ReturnType<typeof setTimeout> }
    | undefined;

  // A faulty listener must not break the association: by default its exception is reported
  // like an uncaught error.
  #events = new AssociationEvents();

  /** Wraps a connected stream; the association is up at once. */
  constructor(stream: ByteStream, protocol: "tcp" | "tls", options: ResolvedAssociationOptions) {
    this.#stream = stream;
    this.protocol = protocol;
    this.#options = options;
    this.#inbox = new Channel({
      // A queued message costs its objects too: tiny ones must not be cheap to queue.
      size: (message) => message.data.length + HELD_OVERHEAD,
      highWaterMark: options.maxBufferedBytes,
    });
    this.#events.emit({ type: "communication-up" });
    this.localAddresses = Object.freeze([stream.localAddress]);
    this.remoteAddresses = Object.freeze([stream.remoteAddress]);
    void this.#readLoop();
  }

  /** True once the association has ended. */
  get closed(): boolean {
    return this.#isClosed();
  }

  #isClosed(): boolean {
    return this.#state === "closed";
  }

  /**
   * Queues a message; resolves at once while fewer than `maxBufferedBytes` wait to be written,
   * else when enough of them have been written. Rejects with a `TransportError`: `closed` once
   * the association is closing or ended, `limit` for a message above `maxMessageSize`,
   * `invalid` for bad options (and, with `rserpool` framing, for another PPID, a stream other
   * than 0, unordered, or bytes that are not one ASAP/ENRP message).
   */
  send(data: Uint8Array, options: SendOptions = {}): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(new TransportError("closed", "Association is closed"));
    }
    let frame: Uint8Array;
    try {
      frame = this.#frame(data, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#queue.push(frame);
    this.#enqueued += frame.length + HELD_OVERHEAD;
    const end = this.#enqueued;
    if (!this.#writing) void this.#writeLoop();
    if (end - this.#written <= this.#options.maxBufferedBytes) return Promise.resolve();
    return new Promise((resolve, reject) => this.#sendWaiters.push({ end, resolve, reject }));
  }

  #frame(data: Uint8Array, options: SendOptions): Uint8Array {
    if (!(data instanceof Uint8Array)) {
      throw new TransportError("invalid", "Message data must be a Uint8Array");
    }
    const { framing, maxMessageSize } = this.#options;
    if (data.length > maxMessageSize) {
      throw new TransportError(
        "limit",
        `Message of ${data.length} bytes exceeds the limit of ${maxMessageSize}`,
      );
    }
    const stream = options.stream ?? 0;
    const unordered = options.unordered ?? false;
    if (framing === "rserpool") {
      const ppid = options.ppid ?? this.#options.ppid;
      if (ppid !== this.#options.ppid || stream !== 0 || unordered) {
        throw new TransportError(
          "invalid",
          `This association carries PPID ${this.#options.ppid} on stream 0, ordered, only`,
        );
      }
      const bytes = rserpoolWireBytes(data);
      if (typeof bytes === "string") throw new TransportError("invalid", bytes);
      return bytes;
    }
    const ppid = options.ppid ?? 0;
    if (!Number.isInteger(ppid) || ppid < 0 || ppid > 0xffffffff) {
      throw new TransportError("invalid", "PPID must be a 32-bit unsigned integer");
    }
    if (!Number.isInteger(stream) || stream < 0 || stream > 0xffff) {
      throw new TransportError("invalid", "Stream must be a 16-bit unsigned integer");
    }
    return encodeFrame(data, ppid, stream, unordered ? FLAG_UNORDERED : 0);
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#isClosed()) {
        const chunk = this.#takeChunk();
        let offset = 0;
        while (offset < chunk.length) {
          this.#writeInFlight = true;
          try {
            offset += await this.#stream.write(offset === 0 ? chunk : chunk.subarray(offset));
          } finally {
            this.#writeInFlight = false;
          }
          if (this.#isClosed()) {
            this.#completeAbort(offset === chunk.length);
            return;
          }
        }
        this.#written += chunk.length + this.#chunkFrames * HELD_OVERHEAD;
        while (
          this.#sendWaiters.length > 0 &&
          this.#sendWaiters[0].end - this.#written <= this.#options.maxBufferedBytes
        ) {
          this.#sendWaiters.shift()!.resolve();
        }
      }
    } catch (error) {
      if (this.#isClosed()) this.#completeAbort(false);
      else this.#fail(`Write failed: ${errorText(error)}`);
    } finally {
      this.#writing = false;
      for (const wake of this.#drainWaiters.splice(0)) wake();
    }
  }

  /**
   * The next bytes to write: one frame, or with `framed` several small ones joined; how many
   * frames in `#chunkFrames`.
   */
  #takeChunk(): Uint8Array {
    const queue = this.#queue;
    this.#chunkFrames = 1;
    if (this.#options.framing === "rserpool" || queue.length === 1) return queue.shift()!;
    let count = 0;
    let size = 0;
    while (count < queue.length && size + queue[count].length <= COALESCE_LIMIT) {
      size += queue[count++].length;
    }
    if (count <= 1) return queue.shift()!;
    this.#chunkFrames = count;
    const chunk = new Uint8Array(size);
    let offset = 0;
    for (const frame of queue.splice(0, count)) {
      chunk.set(frame, offset);
      offset += frame.length;
    }
    return chunk;
  }

  /** Resolves when the send queue is empty or the association has ended. */
  #drained(): Promise<void> {
    if (!this.#writing && (this.#queue.length === 0 || this.#isClosed())) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  async #readLoop(): Promise<void> {
    const { maxMessageSize, maxBufferedBytes } = this.#options;
    // Small at first: most associations (an idle PE's, a PU's) carry little; it grows while
    // reads fill it, up to READ_BUFFER_SIZE.
    let buffer = new Uint8Array(READ_BUFFER_START);
    let view = new DataView(buffer.buffer);
    let start = 0;
    let end = 0;
    let frameTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (true) {
        // Deliver the complete frames in the buffer while the reader keeps up.
        while (true) {
          const result = parseFrame(buffer, view, start, end, this.#options);
          if (result.kind === "error") {
            this.abort(`Protocol violation: ${result.reason}`);
            return;
          }
          if (result.kind === "frame") {
            const frame = result.frame;
            start = result.next;
            if (frameTimer !== undefined) {
              clearTimeout(frameTimer);
              frameTimer = undefined;
            }
            if (frame.kind === "abort") {
              const reason = new TextDecoder().decode(buffer.subarray(frame.start, frame.end));
              this.#fail(`Peer aborted: ${reason}`);
              return;
            }
            if (this.#inbox.bufferedSize > maxBufferedBytes) {
              // The reader is behind: the rest stays bytes in the read buffer until it catches
              // up, instead of becoming thousands of held messages (a read buffer of small
              // requests would otherwise be parsed whole, far past maxBufferedBytes).
              await this.#inbox.ready();
              if (this.#isClosed()) return;
            }
            this.#deliver({
              data: buffer.slice(frame.start, frame.end),
              ppid: frame.ppid,
              stream: frame.stream,
              unordered: frame.unordered,
            });
            continue;
          }
          // Incomplete: make room for at least `needed` bytes from `start`.
          if (start === end) {
            start = end = 0;
            if (buffer.length > READ_BUFFER_KEEP) {
              buffer = new Uint8Array(READ_BUFFER_START);
              view = new DataView(buffer.buffer);
            }
          } else if (result.needed > buffer.length - start) {
            if (result.needed > buffer.length) {
              // `needed` is bounded by the header and maxMessageSize (checked by parseFrame).
              const size = Math.max(
                result.needed,
                Math.min(buffer.length * 2, FRAME_HEADER_SIZE + maxMessageSize),
              );
              const larger = new Uint8Array(size);
              larger.set(buffer.subarray(start, end));
              buffer = larger;
              view = new DataView(buffer.buffer);
            } else {
              buffer.copyWithin(0, start, end);
            }
            end -= start;
            start = 0;
          }
          break;
        }
        if (this.#inbox.bufferedSize > maxBufferedBytes) await this.#inbox.ready();
        if (this.#isClosed()) return;
        if (end > start && frameTimer === undefined) {
          // Part of a message is here: the rest has frameTimeout to arrive.
          frameTimer = setTimeout(
            () => this.abort("A message did not complete in time"),
            this.#options.frameTimeout,
          );
        }
        const n = await this.#stream.read(buffer.subarray(end));
        if (this.#isClosed()) return;
        if (n === null) {
          if (end > start) {
            this.#fail("Connection closed in the middle of a message");
          } else {
            this.#endInput();
            void this.#startShutdown();
          }
          return;
        }
        end += n;
        if (end === buffer.length && buffer.length < READ_BUFFER_SIZE) {
          const larger = new Uint8Array(Math.min(buffer.length * 4, READ_BUFFER_SIZE));
          larger.set(buffer.subarray(start, end));
          buffer = larger;
          view = new DataView(buffer.buffer);
          end -= start;
          start = 0;
        }
      }
    } catch (error) {
      if (!this.#isClosed()) this.#fail(`Connection lost: ${errorText(error)}`);
    } finally {
      clearTimeout(frameTimer);
    }
  }

  #deliver(message: ReceivedMessage): void {
    this.#inbox.push(message);
  }

  #endInput(): void {
    this.#inputEnded = true;
    this.#inbox.close();
    for (const wake of this.#inputEndWaiters.splice(0)) wake();
  }

  /** Receives the next message, or `null` once the association has ended. */
  receive(): Promise<ReceivedMessage | null> {
    return this.#inbox.receive();
  }

  /** Hands received messages to `handler` (see {@linkcode Association.setMessageHandler}). */
  setMessageHandler(handler: (message: ReceivedMessage | null) => void): void {
    this.#inbox.listen(handler);
  }

  /** Holds messages back from the handler (see {@linkcode Association.pause}). */
  pause(): void {
    this.#inbox.pause();
  }

  /** Hands held-back messages to the handler again. */
  resume(): void {
    this.#inbox.resume();
  }

  /** Yields received messages until the association ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    while (true) {
      const message = await this.receive();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * Registers a listener for association events and returns a function that removes it. A new
   * listener is told `communication-up` (in a microtask), and the final event if the association
   * has already ended, so that nothing is missed between connecting and registering.
   */
  onEvent(listener: (event: AssociationEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /**
   * Graceful close: writes what is queued, ends the write side, waits (up to `closeTimeout`)
   * for the peer to end its side, and emits `shutdown`.
   */
  close(): Promise<void> {
    return this.#startShutdown();
  }

  #startShutdown(): Promise<void> {
    if (this.#isClosed()) return Promise.resolve();
    this.#shutdown ??= this.#runShutdown();
    return this.#shutdown;
  }

  async #runShutdown(): Promise<void> {
    this.#state = "closing";
    const expiry = new AbortController();
    const deadline = delay(this.#options.closeTimeout, { signal: expiry.signal });
    try {
      await Promise.race([this.#drained(), deadline]);
      if (this.#isClosed()) return;
      let failure: unknown;
      await Promise.race([
        this.#stream.closeWrite().catch((error) => {
          failure = error;
        }),
        deadline,
      ]);
      if (this.#isClosed()) return;
      if (failure !== undefined) {
        this.#fail(`Close failed: ${errorText(failure)}`);
        return;
      }
      if (!this.#inputEnded) {
        await Promise.race([
          new Promise<void>((resolve) => this.#inputEndWaiters.push(resolve)),
          deadline,
        ]);
      }
      this.#finish({ type: "shutdown" });
    } finally {
      expiry.abort();
    }
  }

  /**
   * Ends the association at once: queued messages are dropped, the connection is closed, and
   * the event is `communication-lost` with `reason`. With `framed`, the peer is told the reason
   * by an abort frame, so it sees `communication-lost` too (if a write is in progress, after it
   * completes, waiting at most 1 s; a partly written frame gets no abort frame after it).
   */
  abort(reason = "Aborted"): void {
    if (this.#isClosed()) return;
    this.#inbox.drain();
    const frame = this.#options.framing === "framed"
      ? encodeFrame(new TextEncoder().encode(reason.slice(0, 1000)), 0, 0, FLAG_ABORT)
      : undefined;
    if (this.#writeInFlight) {
      // The abort frame may only follow a complete frame: the writer loop finishes it when its
      // write returns, or the timer closes the connection if that write is stuck.
      this.#pendingAbort = {
        frame,
        timer: setTimeout(() => this.#completeAbort(false), ABORT_WRITE_TIMEOUT),
      };
      this.#finish({ type: "communication-lost", reason }, false);
      return;
    }
    // The write starts at once (the kernel takes it); closing does not wait for it.
    if (frame !== undefined) this.#stream.write(frame).catch(() => {});
    this.#finish({ type: "communication-lost", reason });
  }

  /** Ends an abort that waited for a write in flight: abort frame if possible, then close. */
  #completeAbort(atFrameBoundary: boolean): void {
    const pending = this.#pendingAbort;
    if (pending === undefined) return;
    this.#pendingAbort = undefined;
    clearTimeout(pending.timer);
    if (atFrameBoundary && pending.frame !== undefined) {
      this.#stream.write(pending.frame).catch(() => {});
    }
    this.#stream.close();
  }

  #fail(reason: string): void {
    this.#finish({ type: "communication-lost", reason });
  }

  #finish(event: AssociationEvent, closeStream = true): void {
    if (this.#isClosed()) return;
    this.#state = "closed";
    if (closeStream) this.#stream.close();
    this.#queue = [];
    const closed = new TransportError("closed", "Association is closed");
    for (const waiter of this.#sendWaiters.splice(0)) waiter.reject(closed);
    for (const wake of this.#drainWaiters.splice(0)) wake();
    // Ends the inbox, which also wakes a read loop waiting for room in it.
    this.#endInput();
    this.#events.emit(event);
  }

  /** Same as {@linkcode TcpAssociation.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
