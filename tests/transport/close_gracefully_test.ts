/**
 * Closing within a deadline, then aborting, on fake timers.
 */

import assert from "node:assert/strict";
import { type Closable, closeGracefully } from "../../transport/close_gracefully.ts";
import { FakeTimers, settled } from "../support/fake_timers.ts";
import { within } from "../support/deadline.ts";

/** A closable whose close settles when the test says so. */
class Target implements Closable {
  closed = false;
  aborted: (string | undefined)[] = [];
  closes = 0;
  #finish = Promise.withResolvers<void>();

  close(): Promise<void> {
    this.closes++;
    return this.#finish.promise;
  }

  finish(error?: Error): void {
    if (error === undefined) {
      this.closed = true;
      this.#finish.resolve();
    } else {
      this.#finish.reject(error);
    }
  }

  abort(reason?: string): void {
    this.aborted.push(reason);
    this.closed = true;
  }
}

Deno.test("closeGracefully does not abort what closes in time", async () => {
  const timers = new FakeTimers();
  const target = new Target();
  const closing = closeGracefully(target, { timeout: 2000, reason: "Late", timers });
  assert.equal(target.closes, 1);
  assert.equal(await settled(closing), false);
  target.finish();
  await within(closing, "graceful close");
  assert.deepEqual(target.aborted, []);
  assert.equal(timers.pending.size, 0, "the deadline timer is cleared");
});

Deno.test("closeGracefully aborts with the reason after the timeout", async () => {
  const timers = new FakeTimers();
  const target = new Target();
  const closing = closeGracefully(target, { timeout: 2000, reason: "Late", timers });
  assert.deepEqual([...timers.pending.values()].map((t) => t.ms), [2000]);
  timers.fire();
  await within(closing, "close after the deadline");
  assert.deepEqual(target.aborted, ["Late"]);
});

Deno.test("closeGracefully never rejects; a failed close that left it open aborts it", async () => {
  const timers = new FakeTimers();
  const target = new Target();
  const closing = closeGracefully(target, { timeout: 2000, timers });
  target.finish(new Error("Close failed"));
  await within(closing, "close after a failure");
  assert.deepEqual(target.aborted, [undefined], "abort's own default reason");
  assert.equal(timers.pending.size, 0);
});
