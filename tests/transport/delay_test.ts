/**
 * The abortable delay, on fake timers and on the global ones.
 */

import assert from "node:assert/strict";
import { delay } from "../../transport/delay.ts";
import { FakeTimers, settled } from "../support/fake_timers.ts";
import { within } from "../support/deadline.ts";

Deno.test("delay resolves when its timer fires", async () => {
  const timers = new FakeTimers();
  const waiting = delay(500, { timers });
  assert.deepEqual([...timers.pending.values()].map((t) => t.ms), [500]);
  assert.equal(await settled(waiting), false);
  timers.fire();
  await within(waiting, "end of the delay");
});

Deno.test("delay resolves early when its signal aborts, and clears its timer", async () => {
  const timers = new FakeTimers();
  const controller = new AbortController();
  const waiting = delay(60_000, { signal: controller.signal, timers });
  assert.equal(timers.pending.size, 1);
  controller.abort();
  await within(waiting, "end of the aborted delay");
  assert.equal(timers.pending.size, 0);
});

Deno.test("delay with a signal already aborted resolves at once without a timer", async () => {
  const timers = new FakeTimers();
  const controller = new AbortController();
  controller.abort();
  await within(delay(60_000, { signal: controller.signal, timers }), "end of the delay");
  assert.equal(timers.pending.size, 0);
});

Deno.test({
  name: "delay on the global timers ends by abort without leaving a timer",
  // Asked for explicitly (Deno leaves it off otherwise): fails the test if a timer is left.
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const controller = new AbortController();
    const waiting = delay(60_000, { signal: controller.signal });
    controller.abort();
    await within(waiting, "end of the aborted delay");
  },
});
