/**
 * The event listeners of an association, with the same replay for every transport: a listener
 * registered late still learns that the association came up, and how it ended.
 *
 * @module
 */

import type { AssociationEvent } from "./types.ts";

/**
 * Options of {@linkcode AssociationEvents}.
 *
 * @example Listener failures logged instead of thrown
 * ```ts
 * import type { AssociationEventsOptions } from "./association_events.ts";
 * const options: AssociationEventsOptions = {
 *   onListenerError: (error) => console.error("listener failed:", error),
 * };
 * ```
 */
export interface AssociationEventsOptions {
  /**
   * Runs the replay to a new listener right after the current work (default: the global
   * `queueMicrotask`; a simulated clock passes its own).
   */
  queueMicrotask?: (callback: () => void) => void;
  /**
   * Told of an exception thrown by a listener; the other listeners are called anyway. Default:
   * the exception is thrown again in a microtask, as an uncaught error, so that a faulty
   * listener is noticed without breaking the association.
   */
  onListenerError?: (error: unknown) => void;
}

interface ListenerRecord {
  listener: (event: AssociationEvent) => void;
  /** Whether it has been told `communication-up` (or the replay is no longer owed). */
  primed: boolean;
}

function throwLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * The listeners of one association and what it has told them. The association calls
 * {@linkcode AssociationEvents.emit} for each event; `communication-up` (once it came) and the
 * terminal event (`communication-lost` or `shutdown`) are remembered, so that:
 *
 * - every listener is told `communication-up` before any other event of an association that is
 *   up: one registered later than that event is told it in a microtask after registering
 *   ({@linkcode AssociationEvents.on}), or just before the next event if that comes first;
 * - a listener registered after the association ended is told the terminal event right after
 *   `communication-up` (or alone, when the association was never up);
 * - nothing is emitted after the terminal event.
 *
 * Listeners are called in the order they were registered, from a snapshot taken when the event
 * is emitted.
 *
 * @example
 * ```ts
 * import { AssociationEvents } from "./association_events.ts";
 * const events = new AssociationEvents();
 * events.emit({ type: "communication-up" });
 * events.emit({ type: "shutdown" });
 * // Registered after both: told communication-up, then shutdown, in a microtask.
 * events.on((e) => console.log(e.type));
 * ```
 */
export class AssociationEvents {
  /** The listeners (made when the first registers). */
  #records: ListenerRecord[] | undefined;
  #up = false;
  #terminal: AssociationEvent | undefined;
  #queueMicrotask: (callback: () => void) => void;
  #onListenerError: (error: unknown) => void;

  /** Creates the listeners of an association that is not up yet. */
  constructor(options: AssociationEventsOptions = {}) {
    this.#queueMicrotask = options.queueMicrotask ?? queueMicrotask;
    this.#onListenerError = options.onListenerError ?? throwLater;
  }

  /** Whether `communication-up` has been emitted. */
  get up(): boolean {
    return this.#up;
  }

  /** The terminal event, once one has been emitted. */
  get terminal(): AssociationEvent | undefined {
    return this.#terminal;
  }

  /** Registers a listener (see the class documentation); returns a function that removes it. */
  on(listener: (event: AssociationEvent) => void): () => void {
    const record: ListenerRecord = { listener, primed: false };
    (this.#records ??= []).push(record);
    this.#queueMicrotask(() => {
      if (record.primed || !this.#records!.includes(record)) return;
      record.primed = true;
      if (this.#up) this.#call(listener, { type: "communication-up" });
      if (this.#terminal !== undefined) this.#call(listener, this.#terminal);
    });
    return () => {
      const i = this.#records!.indexOf(record);
      if (i >= 0) this.#records!.splice(i, 1);
    };
  }

  /**
   * Tells every listener `event` (and `communication-up` first to one not told yet). Ignored
   * once a terminal event was emitted, and for a second `communication-up`.
   */
  emit(event: AssociationEvent): void {
    if (this.#terminal !== undefined) return;
    if (event.type === "communication-up") {
      if (this.#up) return;
      this.#up = true;
    } else if (event.type === "communication-lost" || event.type === "shutdown") {
      this.#terminal = event;
    }
    if (this.#records === undefined) return;
    for (const record of [...this.#records]) {
      if (!record.primed) {
        record.primed = true;
        if (this.#up && event.type !== "communication-up") {
          this.#call(record.listener, { type: "communication-up" });
        }
      }
      this.#call(record.listener, event);
    }
  }

  #call(listener: (event: AssociationEvent) => void, event: AssociationEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#onListenerError(error);
    }
  }
}
