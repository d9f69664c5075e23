/**
 * Association events: every listener learns `communication-up` first and the end, however late
 * it registers, the same for every transport.
 */

import assert from "node:assert/strict";
import { AssociationEvents } from "../../transport/association_events.ts";
import type { AssociationEvent } from "../../transport/types.ts";
import { within } from "../support/deadline.ts";

/** Lets queued microtasks run. */
function microtasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function recorder(): { seen: string[]; listener: (e: AssociationEvent) => void } {
  const seen: string[] = [];
  return { seen, listener: (e) => seen.push(e.type) };
}

Deno.test("a listener registered before the association is up sees every event once", async () => {
  const events = new AssociationEvents();
  const { seen, listener } = recorder();
  events.on(listener);
  await microtasks();
  assert.deepEqual(seen, []);
  events.emit({ type: "communication-up" });
  events.emit({ type: "communication-up" }); // A second one is not passed on.
  events.emit({ type: "path-down", address: { hostname: "10.0.0.1", port: 1 } });
  events.emit({ type: "communication-lost", reason: "Gone" });
  events.emit({ type: "shutdown" }); // Nothing after the end.
  await microtasks();
  assert.deepEqual(seen, ["communication-up", "path-down", "communication-lost"]);
  assert.equal(events.up, true);
  assert.deepEqual(events.terminal, { type: "communication-lost", reason: "Gone" });
});

Deno.test("a listener registered after communication-up is told it in a microtask", async () => {
  const events = new AssociationEvents();
  events.emit({ type: "communication-up" });
  const { seen, listener } = recorder();
  events.on(listener);
  assert.deepEqual(seen, [], "not synchronously");
  await microtasks();
  assert.deepEqual(seen, ["communication-up"]);
  events.emit({ type: "shutdown" });
  assert.deepEqual(seen, ["communication-up", "shutdown"]);
});

Deno.test("an event before the replay comes after communication-up, without repeats", async () => {
  const events = new AssociationEvents();
  events.emit({ type: "communication-up" });
  const { seen, listener } = recorder();
  events.on(listener);
  events.emit({ type: "primary-changed", address: { hostname: "10.0.0.2", port: 1 } });
  events.emit({ type: "communication-lost", reason: "Reset" });
  await microtasks();
  assert.deepEqual(seen, ["communication-up", "primary-changed", "communication-lost"]);
});

Deno.test("a listener registered after the end is told communication-up, then the end", async () => {
  const events = new AssociationEvents();
  events.emit({ type: "communication-up" });
  events.emit({ type: "shutdown" });
  const received: AssociationEvent[] = [];
  events.on((e) => received.push(e));
  await microtasks();
  assert.deepEqual(received, [{ type: "communication-up" }, { type: "shutdown" }]);
});

Deno.test("an association that ended without coming up replays the end alone", async () => {
  const events = new AssociationEvents();
  events.emit({ type: "communication-lost", reason: "No answer" });
  const { seen, listener } = recorder();
  events.on(listener);
  await microtasks();
  assert.deepEqual(seen, ["communication-lost"]);
});

Deno.test("a removed listener is told nothing, not even the replay", async () => {
  const events = new AssociationEvents();
  events.emit({ type: "communication-up" });
  const { seen, listener } = recorder();
  const off = events.on(listener);
  off();
  off(); // Twice is harmless.
  events.emit({ type: "shutdown" });
  await microtasks();
  assert.deepEqual(seen, []);
});

Deno.test("listeners are called in order of registration, from a snapshot", async () => {
  const events = new AssociationEvents();
  const order: string[] = [];
  let offSecond = (): void => {};
  events.on((e) => {
    order.push(`first ${e.type}`);
    if (e.type === "shutdown") {
      offSecond();
      events.on((late) => order.push(`late ${late.type}`));
    }
  });
  offSecond = events.on((e) => order.push(`second ${e.type}`));
  events.emit({ type: "communication-up" });
  events.emit({ type: "shutdown" });
  await microtasks();
  assert.deepEqual(order, [
    "first communication-up",
    "second communication-up",
    "first shutdown",
    "second shutdown",
    "late communication-up",
    "late shutdown",
  ]);
});

Deno.test("a throwing listener does not keep the others from their events", async () => {
  const errors: unknown[] = [];
  const events = new AssociationEvents({ onListenerError: (e) => errors.push(e) });
  const { seen, listener } = recorder();
  events.on(() => {
    throw new Error("Faulty");
  });
  events.on(listener);
  events.emit({ type: "communication-up" });
  events.emit({ type: "shutdown" });
  await microtasks();
  assert.deepEqual(seen, ["communication-up", "shutdown"]);
  assert.equal(errors.length, 2);
});

Deno.test("by default a listener's exception is reported as an uncaught error", async () => {
  const events = new AssociationEvents();
  const reported = Promise.withResolvers<unknown>();
  const onError = (e: ErrorEvent): void => {
    e.preventDefault();
    reported.resolve(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    events.on(() => {
      throw new Error("Faulty");
    });
    events.emit({ type: "communication-up" });
    const error = await within(reported.promise, "uncaught error");
    assert.equal((error as Error).message, "Faulty");
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("the replay runs on the injected microtask queue", () => {
  const queued: (() => void)[] = [];
  const events = new AssociationEvents({ queueMicrotask: (callback) => queued.push(callback) });
  events.emit({ type: "communication-up" });
  const { seen, listener } = recorder();
  events.on(listener);
  assert.equal(queued.length, 1);
  queued.shift()!();
  assert.deepEqual(seen, ["communication-up"]);
});
