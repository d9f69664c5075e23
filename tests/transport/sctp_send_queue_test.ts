// The send queue: TSNs assigned at first transmission, cumulative acks, buffered bytes.

import assert from "node:assert/strict";
import { SendQueue } from "../../transport/sctp/send_queue.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "sctp send queue: a chunk gets its TSN when it goes on the wire, not when queued",
  sanitized,
  () => {
    const q = new SendQueue(500);
    q.enqueue(3, 0, 0, 0, new Uint8Array(10));
    q.enqueue(3, 1, 0, 0, new Uint8Array(20));
    assert.equal(q.peekPending()!.tsn, 0, "queued: no TSN yet");
    assert.equal(q.nextTsn, 500);
    assert.equal(q.highestSent, 499);
    assert.equal(q.bufferedBytes, 30);
    const a = q.takePending()!;
    assert.equal(a.tsn, 500);
    assert.equal(q.nextTsn, 501);
    assert.equal(q.highestSent, 500);
    assert.equal(q.peekPending()!.stream, 1);
    assert.equal(q.peekPending()!.tsn, 0);
    assert.equal(q.takePending()!.tsn, 501);
    assert.equal(q.takePending(), undefined);
    assert.deepEqual(q.outstanding.slice(q.head, q.end).map((c) => c.tsn), [500, 501]);
  },
);

Deno.test("sctp send queue: TSNs wrap at 2^32", sanitized, () => {
  const q = new SendQueue(0xffffffff);
  for (let i = 0; i < 3; i++) q.enqueue(3, 0, i, 0, new Uint8Array(1));
  assert.deepEqual([q.takePending()!.tsn, q.takePending()!.tsn, q.takePending()!.tsn], [
    0xffffffff,
    0,
    1,
  ]);
  const acked: number[] = [];
  q.ackCumulative(0, (c) => acked.push(c.tsn));
  assert.deepEqual(acked, [0xffffffff, 0]);
  assert.equal(q.oldest!.tsn, 1);
});

Deno.test("sctp send queue: a cumulative ack frees buffered bytes, in TSN order", sanitized, () => {
  const q = new SendQueue(1);
  for (let i = 0; i < 2000; i++) q.enqueue(3, 0, i & 0xffff, 0, new Uint8Array(5));
  assert.equal(q.bufferedBytes, 10_000);
  for (let i = 0; i < 1500; i++) q.takePending();
  const acked: number[] = [];
  q.ackCumulative(1000, (c) => acked.push(c.tsn));
  assert.equal(acked.length, 1000);
  assert.ok(acked.every((t, i) => t === i + 1));
  assert.equal(q.bufferedBytes, 5000);
  assert.equal(q.oldest!.tsn, 1001);
  q.ackCumulative(1000, () => assert.fail("acked twice"));
  assert.equal(q.empty, false);
  q.ackCumulative(1500, () => {});
  for (let c = q.takePending(); c !== undefined; c = q.takePending());
  q.ackCumulative(2000, () => {});
  assert.equal(q.empty, true);
  assert.equal(q.bufferedBytes, 0);
});

Deno.test(
  "sctp send queue: acknowledged chunks are let go, and an emptied queue starts over",
  sanitized,
  () => {
    const q = new SendQueue(1);
    for (let i = 0; i < 3; i++) q.enqueue(3, 0, i, 0, new Uint8Array(1));
    q.takePending();
    q.takePending();
    assert.equal(q.head, 0);
    assert.equal(q.end, 2);
    q.ackCumulative(1, () => {});
    // The acknowledged chunk's slot no longer holds it (nor its payload).
    assert.equal(q.outstanding[0], undefined);
    assert.deepEqual(q.outstanding.slice(q.head, q.end).map((c) => c.tsn), [2]);
    assert.equal(q.peekPending()!.ssn, 2, "the queued chunk waits behind the outstanding one");
    q.takePending();
    q.ackCumulative(3, () => {});
    assert.equal(q.empty, true);
    assert.equal(q.head, 0, "an empty queue starts over at the front");
    assert.equal(q.end, 0);
    q.enqueue(3, 0, 3, 0, new Uint8Array(1));
    assert.equal(q.takePending()!.tsn, 4);
    assert.equal(q.oldest!.tsn, 4);
    assert.equal(q.head, 0);
  },
);
