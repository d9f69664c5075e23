/**
 * The registrar's events as the HTTP layer keeps them: the recent ones, numbered, for the page's
 * event list and server-sent events, and the counts the registrar's counters lack
 * (re-registrations, rate-limit drops by kind).
 *
 * @module
 */

import type { RegistrarEvent } from "../events.ts";
import type { Registrar } from "../registrar.ts";
import { formatId, poolHandleText } from "./status.ts";

/**
 * One event as the API and the page show it. Rate-limit drops are summed per kind over a second
 * (`count`), so that a flood of them is one record a second.
 *
 * @example
 * ```ts
 * import type { FeedRecord } from "@rserpool/rserpool/registrar";
 * const line = (r: FeedRecord) => `${r.time} ${r.type} ${r.pool ?? ""} ${r.pe ?? ""}`;
 * ```
 */
export interface FeedRecord {
  /** Sequence number, from 1 (the server-sent event ID). */
  id: number;
  /** When it happened (ISO 8601, the registrar's clock). */
  time: string;
  /** The event type (as the registrar's events name them). */
  type:
    | "registered"
    | "registration-rejected"
    | "removed"
    | "unreachable-reported"
    | "rate-limited"
    | "association-cut";
  /** The pool handle as text. */
  pool?: string;
  /** The PE identifier, 8 hex digits. */
  pe?: string;
  /** Registrations: true for a re-registration. */
  renewal?: boolean;
  /** Removals: why; cut associations: why. */
  reason?: string;
  /** Unreachable reports: reports so far. */
  reports?: number;
  /** Rejected registrations: the RFC 5354 error cause. */
  cause?: number;
  /** Rate-limit drops: which limit. */
  kind?: string;
  /** Rate-limit drops: how many in the second. */
  count?: number;
  /** The remote address of the association concerned. */
  from?: string;
}

/**
 * Counts of events the registrar's counters do not hold, since the feed started.
 *
 * @example
 * ```ts
 * import type { FeedCounts } from "@rserpool/rserpool/registrar";
 * const drops = (c: FeedCounts) => c.rateLimited.registration;
 * ```
 */
export interface FeedCounts {
  /** Accepted registrations of a PE already registered. */
  reregistrations: number;
  /** Requests dropped by a rate limit, by limit. */
  rateLimited: { registration: number; "handle-resolution": number; unreachable: number };
}

/**
 * Options of {@linkcode EventFeed}.
 *
 * @example
 * ```ts
 * import type { EventFeedOptions } from "@rserpool/rserpool/registrar";
 * const options: EventFeedOptions = { capacity: 500 };
 * ```
 */
export interface EventFeedOptions {
  /** Recent records kept (default 200). */
  capacity?: number;
  /** Window over which rate-limit drops are summed into one record (ms, default 1000). */
  rateLimitWindow?: number;
  /** The registrar's clock (ms, default `Date.now`), for the summed drops. */
  clock?: () => number;
}

type RateLimitKind = keyof FeedCounts["rateLimited"];

/**
 * Watches a registrar's events: keeps the recent ones as {@linkcode FeedRecord}s and hands new
 * ones to subscribers. Records are made lazily: an event costs a push to a ring buffer until
 * someone reads it.
 *
 * @example
 * ```ts ignore
 * import { EventFeed } from "@rserpool/rserpool/registrar";
 * using feed = new EventFeed(registrar);
 * const stop = feed.subscribe((record) => console.log(record.type, record.pe));
 * ```
 */
export class EventFeed implements Disposable {
  /** Counts the registrar's counters lack. */
  readonly counts: FeedCounts = {
    reregistrations: 0,
    rateLimited: { registration: 0, "handle-resolution": 0, unreachable: 0 },
  };
  #capacity: number;
  #window: number;
  #clock: () => number;
  /** Ring buffer of events or records; `#next` is the ID the next one gets. */
  #ring: (RegistrarEvent | FeedRecord | undefined)[];
  #next = 1;
  #subscribers = new Set<(record: FeedRecord) => void>();
  #off: () => void;
  #drops = new Map<RateLimitKind, { count: number; from: string }>();
  #dropTimer: ReturnType<typeof setTimeout> | undefined;

  /** Starts watching `registrar`'s events. */
  constructor(registrar: Registrar, options: EventFeedOptions = {}) {
    this.#capacity = Math.max(1, options.capacity ?? 200);
    this.#window = options.rateLimitWindow ?? 1000;
    this.#clock = options.clock ?? Date.now;
    this.#ring = new Array(this.#capacity);
    this.#off = registrar.onEvent((event) => this.#onEvent(event));
  }

  /** The ID of the newest record (0 before the first). */
  get lastId(): number {
    return this.#next - 1;
  }

  /** The records kept with an ID above `afterId` (default: all kept), oldest first. */
  recent(afterId = 0): FeedRecord[] {
    const first = Math.max(afterId + 1, this.#next - this.#capacity, 1);
    const records: FeedRecord[] = [];
    for (let id = first; id < this.#next; id++) records.push(this.#record(id));
    return records;
  }

  /** Calls `listener` with every new record; returns a function that stops it. */
  subscribe(listener: (record: FeedRecord) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Stops watching the registrar. */
  close(): void {
    this.#off();
    clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    this.#subscribers.clear();
  }

  /** Same as {@linkcode EventFeed.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #onEvent(event: RegistrarEvent): void {
    if (event.type === "registered" && event.renewal) this.counts.reregistrations++;
    if (event.type === "rate-limited") {
      this.counts.rateLimited[event.kind]++;
      const drop = this.#drops.get(event.kind);
      if (drop === undefined) this.#drops.set(event.kind, { count: 1, from: event.from });
      else {
        drop.count++;
        drop.from = event.from;
      }
      if (this.#dropTimer === undefined) {
        this.#dropTimer = setTimeout(() => this.#flushDrops(), this.#window);
      }
      return;
    }
    this.#push(event);
  }

  #flushDrops(): void {
    this.#dropTimer = undefined;
    const time = new Date(this.#clock()).toISOString();
    for (const [kind, { count, from }] of this.#drops) {
      this.#push({ id: 0, time, type: "rate-limited", kind, count, from });
    }
    this.#drops.clear();
  }

  #push(item: RegistrarEvent | FeedRecord): void {
    const id = this.#next++;
    this.#ring[id % this.#capacity] = item;
    if (this.#subscribers.size === 0) return;
    const record = this.#record(id);
    for (const s of this.#subscribers) s(record);
  }

  #record(id: number): FeedRecord {
    const slot = id % this.#capacity;
    const item = this.#ring[slot]!;
    if ("id" in item) return item.id === 0 ? (this.#ring[slot] = { ...item, id }) : item;
    const record = toRecord(id, item);
    this.#ring[slot] = record;
    return record;
  }
}

function toRecord(id: number, e: RegistrarEvent): FeedRecord {
  const time = new Date(e.time).toISOString();
  switch (e.type) {
    case "registered":
      return {
        id,
        time,
        type: e.type,
        pool: poolHandleText(e.poolHandle),
        pe: formatId(e.poolElement.identifier),
        renewal: e.renewal,
        from: e.from,
      };
    case "registration-rejected":
      return {
        id,
        time,
        type: e.type,
        pool: poolHandleText(e.poolHandle),
        pe: formatId(e.identifier),
        cause: e.cause,
        from: e.from,
      };
    case "removed":
      return {
        id,
        time,
        type: e.type,
        pool: poolHandleText(e.poolHandle),
        pe: formatId(e.poolElement.identifier),
        reason: e.reason,
      };
    case "unreachable-reported":
      return {
        id,
        time,
        type: e.type,
        pool: poolHandleText(e.poolHandle),
        pe: formatId(e.identifier),
        reports: e.reports,
        from: e.from,
      };
    case "rate-limited":
      return { id, time, type: e.type, kind: e.kind, count: 1, from: e.from };
    case "association-cut":
      return { id, time, type: e.type, reason: e.reason, from: e.from };
  }
}
