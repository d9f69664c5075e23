// The timer heap shared by the runtime clock and the virtual clock, and the runtime clock that
// drives it with one runtime timer.

import assert from "node:assert/strict";
import { TimerQueue } from "../../transport/sctp/timer_queue.ts";
import { systemClock } from "../../transport/sctp/clock.ts";
import { within } from "../support/deadline.ts";

const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test("timer queue: runs due timers by time, ties in the order added", sanitized, () => {
  const queue = new TimerQueue();
  const fired: string[] = [];
  queue.add(30, () => fired.push("c"));
  queue.add(10, () => fired.push("a1"));
  queue.add(20, () => fired.push("b"));
  queue.add(10, () => fired.push("a2"));
  assert.equal(queue.size, 4);
  assert.equal(queue.next, 10);
  assert.equal(queue.runDue(20), 3);
  assert.deepEqual(fired, ["a1", "a2", "b"]);
  assert.equal(queue.next, 30);
  assert.equal(queue.runDue(29), 0);
  assert.equal(queue.runDue(30), 1);
  assert.equal(queue.next, Infinity);
  assert.equal(queue.size, 0);
});

Deno.test("timer queue: a cancelled timer never runs and leaves no trace", sanitized, () => {
  const queue = new TimerQueue();
  const fired: number[] = [];
  const first = queue.add(5, () => fired.push(5));
  queue.add(7, () => fired.push(7));
  queue.cancel(first);
  queue.cancel(first); // twice is harmless
  assert.equal(queue.size, 1);
  assert.equal(queue.next, 7);
  queue.runDue(100);
  assert.deepEqual(fired, [7]);
  // Cancelling one that ran changes nothing.
  queue.cancel(first);
  assert.equal(queue.size, 0);
});

Deno.test("timer queue: timers added while running run too when due", sanitized, () => {
  const queue = new TimerQueue();
  const fired: number[] = [];
  queue.add(1, () => {
    fired.push(1);
    queue.add(1, () => fired.push(2)); // due now
    queue.add(50, () => fired.push(50)); // later
  });
  assert.equal(queue.runDue(10), 2);
  assert.deepEqual(fired, [1, 2]);
  assert.equal(queue.next, 50);
});

Deno.test("timer queue: a failing callback does not stop the others", sanitized, () => {
  const queue = new TimerQueue();
  const fired: number[] = [];
  queue.add(1, () => {
    throw new Error("first");
  });
  queue.add(2, () => fired.push(2));
  assert.throws(() => queue.runDue(10), /first/);
  assert.deepEqual(fired, [2]);
});

Deno.test("timer queue: many cancellations are compacted, order kept", sanitized, () => {
  const queue = new TimerQueue();
  const fired: number[] = [];
  const timers = [];
  // Random times from a fixed seed, so that the heap is not already sorted.
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 10_000; i++) {
    const time = Math.floor(random() * 1000);
    timers.push(queue.add(time, () => fired.push(time)));
  }
  for (let i = 0; i < 10_000; i++) if (i % 4 !== 0) queue.cancel(timers[i]);
  assert.equal(queue.size, 2500);
  queue.runDue(Infinity);
  assert.equal(fired.length, 2500);
  for (let i = 1; i < fired.length; i++) assert.ok(fired[i - 1] <= fired[i], `sorted at ${i}`);
});

Deno.test(
  "system clock: timers run in order on one runtime timer, cancelled ones never",
  sanitized,
  async () => {
    const fired: string[] = [];
    const done = Promise.withResolvers<void>();
    const start = systemClock.now();
    const late = systemClock.setTimeout(() => fired.push("never"), 5);
    systemClock.setTimeout(() => fired.push("b"), 30);
    systemClock.setTimeout(() => fired.push("a"), 10);
    systemClock.setTimeout(() => {
      fired.push("c");
      done.resolve();
    }, 40);
    systemClock.clearTimeout(late);
    systemClock.clearTimeout(undefined); // ignored
    await within(done.promise, "timers");
    assert.deepEqual(fired, ["a", "b", "c"]);
    assert.ok(systemClock.now() - start >= 39.5, "not before its time");
  },
);

Deno.test(
  "system clock: cancelling the last timer leaves no runtime timer pending",
  sanitized,
  () => {
    // The op sanitizer fails this test if a runtime timer is left behind.
    const a = systemClock.setTimeout(() => {}, 60_000);
    const b = systemClock.setTimeout(() => {}, 1_000);
    systemClock.clearTimeout(b);
    systemClock.clearTimeout(a);
  },
);

Deno.test("timer queue: a timer that ran carries the next one; a queued one is never reused", () => {
  const queue = new TimerQueue();
  const ran: string[] = [];
  const first = queue.add(10, () => ran.push("first"));
  assert.equal(first.queued, true);
  assert.equal(queue.runDue(10), 1);
  assert.equal(first.queued, false);
  const again = queue.add(20, () => ran.push("again"), first);
  assert.equal(again, first, "the object that ran is used again");
  assert.equal(again.time, 20);
  // Pending, and cancelled but still in the heap: neither may carry another timer.
  const pending = queue.add(30, () => ran.push("pending"), again);
  assert.notEqual(pending, again);
  const cancelled = queue.add(40, () => ran.push("cancelled"));
  queue.cancel(cancelled);
  const other = queue.add(50, () => ran.push("other"), cancelled);
  assert.notEqual(other, cancelled);
  assert.equal(queue.runDue(100), 3);
  assert.deepEqual(ran, ["first", "again", "pending", "other"]);
  assert.equal(cancelled.queued, false, "dropped once it came up");
});
