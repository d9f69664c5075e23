/**
 * A small async queue: what an association's receive side, a listener's accept side and a
 * session's receive side each need ("waiters + buffer + closed"), written once.
 *
 * @module
 */

/** The buffer of a channel with nothing buffered: shared, never written to. */
const NO_ITEMS: unknown[] = [];

/** Above this many taken items at the head, the buffer is compacted (when half is taken). */
const COMPACT_AFTER = 1024;

interface Receiver<T> {
  resolve: (item: T | null) => void;
  reject: (error: unknown) => void;
}

/**
 * Options of a {@linkcode Channel}.
 *
 * @example Count bytes, not items, for backpressure
 * ```ts
 * import type { ChannelOptions } from "./channel.ts";
 * const options: ChannelOptions<Uint8Array> = {
 *   size: (bytes) => bytes.length,
 *   highWaterMark: 64 * 1024,
 * };
 * ```
 */
export interface ChannelOptions<T> {
  /** What one buffered item counts in {@linkcode Channel.bufferedSize} (default 1). */
  size?: (item: T) => number;
  /**
   * {@linkcode Channel.ready} waits while more than this is buffered (default `Infinity`).
   * Pushing never fails for it: the producer asks `ready()` and pauses itself.
   */
  highWaterMark?: number;
  /**
   * Called when {@linkcode Channel.receive} takes an item out of the buffer (not for an item
   * handed straight to a waiting receiver, nor for items dropped by
   * {@linkcode Channel.drain}), after `bufferedSize` went down; for example to tell a peer
   * that the receive window opened again.
   */
  onTake?: (item: T) => void;
}

/**
 * An unbounded first-in first-out queue with async receivers: {@linkcode Channel.push} hands an
 * item to the longest-waiting {@linkcode Channel.receive}, or buffers it. Once
 * {@linkcode Channel.close}d, buffered items can still be received; then `receive` resolves with
 * `null` (or rejects with the error given to `close`). {@linkcode Channel.drain} drops what is
 * buffered (an abort). `null` and `undefined` are not items: `null` means the end.
 *
 * Optional backpressure: with `size` and `highWaterMark`, {@linkcode Channel.ready} resolves
 * once no more than `highWaterMark` is buffered, so that a producer can stop reading meanwhile.
 *
 * Instead of receivers, a channel can have one handler ({@linkcode Channel.listen}) that is
 * handed each item: no promise per item and none waiting between items, which for a consumer
 * of many channels that each see an item now and then (a registrar's thousands of PEs) is most
 * of what receiving costs.
 *
 * @example
 * ```ts
 * import { Channel } from "./channel.ts";
 * const channel = new Channel<string>();
 * channel.push("a");
 * channel.push("b");
 * channel.close();
 * for await (const item of channel) console.log(item); // "a", then "b"
 * console.log(await channel.receive()); // null
 * ```
 */
export class Channel<T extends NonNullable<unknown>> implements AsyncIterable<T> {
  /** Buffered items from `#head` on (`NO_ITEMS` while empty). */
  #items: T[] = NO_ITEMS as T[];
  #head = 0;
  #bufferedSize = 0;
  /** The longest-waiting receiver (most channels have one at most): its promise's functions. */
  #resolve: ((item: T | null) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  /** The receivers waiting after it, made when first needed. */
  #receivers: Receiver<T>[] | undefined;
  /** Producers waiting in {@linkcode Channel.ready}, made when first needed. */
  #readyWaiters: (() => void)[] | undefined;
  #closed = false;
  #error: { error: unknown } | undefined;
  #size: ((item: T) => number) | undefined;
  #highWaterMark: number;
  #onTake: ((item: T) => void) | undefined;
  /** The handler given to {@linkcode Channel.listen}, if any. */
  #handler: ((item: T | null) => void) | undefined;
  /** Hands buffered items to the handler; made by `listen`. */
  #deliverTask: (() => void) | undefined;
  #deliveryQueued = false;
  #paused = false;
  /** The handler has been given `null`. */
  #ended = false;

  /** Creates an open, empty channel. */
  constructor(options: ChannelOptions<T> = {}) {
    this.#size = options.size;
    this.#highWaterMark = options.highWaterMark ?? Infinity;
    this.#onTake = options.onTake;
  }

  /** True once {@linkcode Channel.close} was called (buffered items may still be received). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of buffered items. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The buffered items' sizes summed (their number without a `size` option). */
  get bufferedSize(): number {
    return this.#bufferedSize;
  }

  /**
   * Hands `item` to the longest-waiting receiver, or buffers it. Returns false, and does not
   * take the item, once the channel is closed: the caller disposes of it.
   */
  push(item: T): boolean {
    if (this.#closed) return false;
    const resolve = this.#resolve;
    if (resolve !== undefined) {
      this.#nextReceiver();
      resolve(item);
      return true;
    }
    if ((this.#items as unknown[]) === NO_ITEMS) this.#items = [item];
    else this.#items.push(item);
    this.#bufferedSize += this.#size === undefined ? 1 : this.#size(item);
    if (this.#handler !== undefined) this.#queueDelivery();
    return true;
  }

  /**
   * Hands every item, oldest first, to `handler` instead of to {@linkcode Channel.receive}
   * (which then rejects), and `null` once the channel is closed and all items before were
   * handed over (without the error given to `close`). Items are handed over in a microtask after
   * they were pushed, never inside `push`: the producer finishes what it was doing first.
   * Until then, and while {@linkcode Channel.pause}d, they stay buffered: they count in
   * `bufferedSize` and `onTake` is called as they are taken, as with `receive`. The end is
   * handed over even while paused once nothing is buffered (after {@linkcode Channel.drain}).
   * The handler is set once for the channel's life.
   *
   * @example
   * ```ts
   * import { Channel } from "./channel.ts";
   * const channel = new Channel<string>();
   * channel.listen((item) => console.log(item)); // "a", then null
   * channel.push("a");
   * channel.close();
   * ```
   */
  listen(handler: (item: T | null) => void): void {
    if (this.#handler !== undefined) throw new TypeError("The channel already has a handler");
    if (this.#resolve !== undefined) throw new TypeError("The channel has receivers waiting");
    this.#handler = handler;
    this.#deliverTask = () => this.#deliver();
    this.#queueDelivery();
  }

  /** Holds items back from the {@linkcode Channel.listen} handler (they stay buffered). */
  pause(): void {
    this.#paused = true;
  }

  /** Hands held-back items to the {@linkcode Channel.listen} handler again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#queueDelivery();
  }

  /** Whether the {@linkcode Channel.listen} handler is held back. */
  get paused(): boolean {
    return this.#paused;
  }

  #queueDelivery(): void {
    if (this.#deliveryQueued || this.#ended || this.#deliverTask === undefined) return;
    // The end is told even while paused, once nothing is left to hand over before it.
    if (this.#paused && !(this.#closed && this.#head >= this.#items.length)) return;
    this.#deliveryQueued = true;
    queueMicrotask(this.#deliverTask);
  }

  #deliver(): void {
    this.#deliveryQueued = false;
    const handler = this.#handler!;
    // The handler may pause the channel (or close it) as it goes.
    while (!this.#paused && this.#head < this.#items.length) handler(this.#take());
    if (this.#closed && !this.#ended && this.#head >= this.#items.length) {
      this.#ended = true;
      handler(null);
    }
  }

  /**
   * The next item: a buffered one at once, else the next one pushed. Once the channel is closed
   * and empty, `null`, or a rejection with the error given to {@linkcode Channel.close}.
   */
  receive(): Promise<T | null> {
    if (this.#handler !== undefined) {
      return Promise.reject(new TypeError("The channel hands its items to a handler"));
    }
    if (this.#head < this.#items.length) return Promise.resolve(this.#take());
    if (this.#closed) {
      return this.#error === undefined ? Promise.resolve(null) : Promise.reject(this.#error.error);
    }
    return new Promise((resolve, reject) => {
      if (this.#resolve === undefined) {
        this.#resolve = resolve;
        this.#reject = reject;
      } else {
        (this.#receivers ??= []).push({ resolve, reject });
      }
    });
  }

  /** The longest-waiting receiver was served: the next one takes its place. */
  #nextReceiver(): void {
    const next = this.#receivers?.shift();
    this.#resolve = next?.resolve;
    this.#reject = next?.reject;
  }

  /** The next buffered item without waiting, or `undefined` when none is buffered. */
  poll(): T | undefined {
    return this.#head < this.#items.length ? this.#take() : undefined;
  }

  #take(): T {
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = NO_ITEMS as T[];
      this.#head = 0;
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#bufferedSize -= this.#size === undefined ? 1 : this.#size(item);
    if (this.#bufferedSize <= this.#highWaterMark) this.#wakeReady();
    this.#onTake?.(item);
    return item;
  }

  /**
   * Ends the channel: no more pushes; receivers waiting now get `null`, or are rejected with
   * `error`; buffered items stay to be received first. Later calls do nothing.
   */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#error = { error };
    while (this.#resolve !== undefined) {
      const resolve = this.#resolve;
      const reject = this.#reject!;
      this.#nextReceiver();
      if (error === undefined) resolve(null);
      else reject(error);
    }
    this.#wakeReady();
    this.#queueDelivery();
  }

  /** Removes every buffered item and returns them, oldest first (to drop or dispose of them). */
  drain(): T[] {
    const items = this.#head === 0 && (this.#items as unknown[]) !== NO_ITEMS
      ? this.#items
      : this.#items.slice(this.#head);
    this.#items = NO_ITEMS as T[];
    this.#head = 0;
    this.#bufferedSize = 0;
    this.#wakeReady();
    if (this.#closed) this.#queueDelivery();
    return items;
  }

  /**
   * Resolves once no more than `highWaterMark` is buffered (at once if so now), or once the
   * channel is closed: a producer awaits it before it reads more.
   */
  ready(): Promise<void> {
    if (this.#closed || this.#bufferedSize <= this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve) => (this.#readyWaiters ??= []).push(resolve));
  }

  #wakeReady(): void {
    if (this.#readyWaiters === undefined || this.#readyWaiters.length === 0) return;
    for (const wake of this.#readyWaiters.splice(0)) wake();
  }

  /** Yields items until the channel is closed and empty (throws the error it was closed with). */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const item = await this.receive();
      if (item === null) return;
      yield item;
    }
  }
}
