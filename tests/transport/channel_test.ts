/**
 * The async queue behind every receive and accept side: order, end, drop, errors, backpressure.
 */

import assert from "node:assert/strict";
import { Channel } from "../../transport/channel.ts";
import { within } from "../support/deadline.ts";

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("items come out in the order they were pushed, buffered or waited for", async () => {
  const channel = new Channel<number>();
  const first = channel.receive();
  const second = channel.receive();
  assert.equal(channel.push(1), true);
  assert.equal(channel.push(2), true);
  assert.equal(channel.push(3), true);
  assert.equal(channel.length, 1);
  assert.deepEqual(await within(Promise.all([first, second]), "items"), [1, 2]);
  assert.equal(await channel.receive(), 3);
  assert.equal(channel.length, 0);
  assert.equal(await settled(channel.receive()), false);
});

Deno.test("close gives waiters null; buffered items are received first", async () => {
  const waiting = new Channel<string>();
  const receiver = waiting.receive();
  waiting.close();
  assert.equal(await within(receiver, "end"), null);

  const buffered = new Channel<string>();
  buffered.push("a");
  buffered.push("b");
  buffered.close();
  assert.equal(buffered.closed, true);
  assert.equal(buffered.push("c"), false, "a closed channel takes nothing");
  assert.equal(await buffered.receive(), "a");
  assert.equal(await buffered.receive(), "b");
  assert.equal(await buffered.receive(), null);
  assert.equal(await buffered.receive(), null);
});

Deno.test("close with an error rejects waiters and later receives after the buffer", async () => {
  const channel = new Channel<string>();
  const receiver = channel.receive();
  const error = new Error("Gone");
  channel.close(error);
  await assert.rejects(within(receiver, "rejection"), (e) => e === error);

  const buffered = new Channel<string>();
  buffered.push("a");
  buffered.close(error);
  buffered.close(); // Later calls change nothing.
  assert.equal(await buffered.receive(), "a");
  await assert.rejects(buffered.receive(), (e) => e === error);
  const seen: string[] = [];
  const iterated = new Channel<string>();
  iterated.push("x");
  iterated.close(error);
  await assert.rejects(async () => {
    for await (const item of iterated) seen.push(item);
  }, (e) => e === error);
  assert.deepEqual(seen, ["x"]);
});

Deno.test("drain removes the buffered items and returns them, oldest first", async () => {
  const channel = new Channel<number>({ size: (n) => n });
  channel.push(5);
  channel.push(7);
  assert.equal(await channel.receive(), 5);
  channel.push(9);
  assert.deepEqual(channel.drain(), [7, 9]);
  assert.equal(channel.length, 0);
  assert.equal(channel.bufferedSize, 0);
  channel.close();
  assert.equal(await channel.receive(), null);
});

Deno.test("poll takes a buffered item without waiting", () => {
  const channel = new Channel<number>();
  assert.equal(channel.poll(), undefined);
  channel.push(1);
  assert.equal(channel.poll(), 1);
  assert.equal(channel.poll(), undefined);
});

Deno.test("async iteration ends when the channel is closed and empty", async () => {
  const channel = new Channel<number>();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const n of channel) seen.push(n);
  })();
  channel.push(1);
  channel.push(2);
  await new Promise((resolve) => setTimeout(resolve, 0));
  channel.push(3);
  channel.close();
  await within(loop, "end of iteration");
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("ready waits while more than the high-water mark is buffered", async () => {
  const taken: string[] = [];
  const channel = new Channel<string>({
    size: (s) => s.length,
    highWaterMark: 4,
    onTake: (s) => taken.push(s),
  });
  await within(channel.ready(), "ready while empty");
  channel.push("abc");
  channel.push("de");
  assert.equal(channel.bufferedSize, 5);
  const ready = channel.ready();
  assert.equal(await settled(ready), false, "above the mark");
  assert.equal(await channel.receive(), "abc");
  assert.equal(channel.bufferedSize, 2);
  await within(ready, "ready after a receive");
  assert.deepEqual(taken, ["abc"]);

  // An item handed straight to a waiting receiver is never buffered nor counted.
  channel.drain();
  const receiver = channel.receive();
  channel.push("waited");
  assert.equal(await receiver, "waited");
  assert.equal(channel.bufferedSize, 0);
  assert.deepEqual(taken, ["abc"], "onTake only for buffered items");

  channel.push("12345");
  const closing = channel.ready();
  channel.close();
  await within(closing, "ready after close");
  channel.push("x"); // Ignored: closed.
  await within(channel.ready(), "ready on a closed channel");

  const dropped = new Channel<string>({ size: (s) => s.length, highWaterMark: 1 });
  dropped.push("abc");
  const afterDrain = dropped.ready();
  dropped.drain();
  await within(afterDrain, "ready after drain");
});

Deno.test("a long queue keeps its order while taken items are compacted away", async () => {
  const channel = new Channel<number>();
  for (let i = 0; i < 5000; i++) channel.push(i);
  for (let i = 0; i < 3000; i++) assert.equal(await channel.receive(), i);
  for (let i = 5000; i < 6000; i++) channel.push(i);
  assert.equal(channel.length, 3000);
  assert.equal(channel.bufferedSize, 3000);
  for (let i = 3000; i < 6000; i++) assert.equal(channel.poll(), i);
  assert.equal(channel.length, 0);
});

Deno.test("many waiters are served in order, and close ends every one left", async () => {
  const channel = new Channel<number>();
  const waiters = [channel.receive(), channel.receive(), channel.receive(), channel.receive()];
  channel.push(1);
  channel.push(2);
  channel.close();
  assert.deepEqual(await within(Promise.all(waiters), "waiters"), [1, 2, null, null]);

  const failing = new Channel<number>();
  const a = failing.receive();
  const b = failing.receive();
  const c = failing.receive();
  failing.push(7);
  failing.close(new Error("gone"));
  assert.equal(await a, 7);
  await assert.rejects(b, /gone/);
  await assert.rejects(c, /gone/);
});

Deno.test("a handler gets every item in order, after push returns, then null at the end", async () => {
  const channel = new Channel<string>();
  channel.push("before");
  const got: (string | null)[] = [];
  channel.listen((item) => got.push(item));
  channel.push("a");
  channel.push("b");
  assert.deepEqual(got, [], "nothing inside push or listen");
  await Promise.resolve();
  assert.deepEqual(got, ["before", "a", "b"]);
  channel.close();
  assert.deepEqual(got, ["before", "a", "b"], "the end comes in a microtask too");
  await Promise.resolve();
  assert.deepEqual(got, ["before", "a", "b", null]);
  channel.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, ["before", "a", "b", null], "null once");
  await assert.rejects(channel.receive(), TypeError, "receive fails beside a handler");
  assert.throws(() => channel.listen(() => {}), TypeError, "one handler");
});

Deno.test("a paused handler's items stay buffered, counted and held back by ready", async () => {
  const taken: string[] = [];
  const channel = new Channel<string>({
    size: (s) => s.length,
    highWaterMark: 4,
    onTake: (s) => taken.push(s),
  });
  const got: (string | null)[] = [];
  channel.listen((item) => {
    got.push(item);
    // The handler pauses the channel itself after "stop": the rest waits.
    if (item === "stop") channel.pause();
  });
  channel.push("ab");
  channel.push("stop");
  channel.push("cde");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, ["ab", "stop"]);
  assert.equal(channel.paused, true);
  assert.equal(channel.bufferedSize, 3, "what waits is counted");
  assert.deepEqual(taken, ["ab", "stop"], "onTake for each item handed over");
  channel.push("fg");
  const ready = channel.ready();
  assert.equal(await settled(ready), false, "the producer waits while the handler is paused");
  channel.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, ["ab", "stop"], "no end before what waits is handed over");
  channel.resume();
  await within(ready, "ready once resumed");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, ["ab", "stop", "cde", "fg", null]);
});

Deno.test("the end reaches a paused handler once nothing is left (an abort drains)", async () => {
  const channel = new Channel<string>();
  const got: (string | null)[] = [];
  channel.listen((item) => got.push(item));
  channel.pause();
  channel.push("dropped");
  channel.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, [], "an item still waits: no end yet");
  assert.deepEqual(channel.drain(), ["dropped"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got, [null]);
});
