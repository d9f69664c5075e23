// Reassembly and ordered delivery (RFC 9260, 6.5, 6.9).

import assert from "node:assert/strict";
import { DataFlag } from "../../transport/sctp/chunks.ts";
import { Reassembly } from "../../transport/sctp/reassembly.ts";
import type { ReceivedMessage } from "../../transport/types.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const B = DataFlag.Begin;
const E = DataFlag.End;
const U = DataFlag.Unordered;

function setup(streams = 2, maxMessageSize = 1000) {
  const got: ReceivedMessage[] = [];
  const r = new Reassembly({
    inboundStreams: streams,
    maxMessageSize,
    overhead: 100,
    sink: got,
  });
  return { r, got };
}

Deno.test(
  "sctp reassembly: fragments become one message with the first one's PPID",
  sanitized,
  () => {
    const { r, got } = setup();
    assert.equal(r.push(B, 0, 0, 7, new Uint8Array([1, 2])), undefined);
    assert.equal(r.heldBytes, 2);
    r.push(0, 0, 0, 7, new Uint8Array([3]));
    r.push(E, 0, 0, 7, new Uint8Array([4]));
    assert.equal(got.length, 1);
    assert.deepEqual([...got[0].data], [1, 2, 3, 4]);
    assert.equal(got[0].ppid, 7);
    assert.equal(r.heldBytes, 0);
  },
);

Deno.test(
  "sctp reassembly: ordered messages wait for their SSN, each stream on its own",
  sanitized,
  () => {
    const { r, got } = setup();
    r.push(B | E, 0, 1, 0, new Uint8Array([1]));
    r.push(B | E, 1, 0, 0, new Uint8Array([10]));
    assert.deepEqual(got.map((m) => m.data[0]), [10], "stream 1 is not held up by stream 0");
    assert.equal(r.heldBytes, 1 + 100, "a held message costs its overhead");
    r.push(B | E, 0, 0, 0, new Uint8Array([0]));
    assert.deepEqual(got.map((m) => m.data[0]), [10, 0, 1]);
    assert.equal(r.heldBytes, 0);
  },
);

Deno.test("sctp reassembly: unordered messages are delivered at once", sanitized, () => {
  const { r, got } = setup();
  r.push(B | E | U, 0, 0, 0, new Uint8Array([5]));
  r.push(B | E, 0, 1, 0, new Uint8Array([6]));
  assert.deepEqual(got.map((m) => [m.data[0], m.unordered]), [[5, true]]);
});

Deno.test("sctp reassembly: the SSN wraps at 2^16", sanitized, () => {
  const { r, got } = setup(1);
  for (let i = 0; i < 65_538; i++) r.push(B | E, 0, i & 0xffff, 0, new Uint8Array([i & 0xff]));
  assert.equal(got.length, 65_538);
});

Deno.test(
  "sctp reassembly: faults: a message too large, a stream not negotiated",
  sanitized,
  () => {
    const { r, got } = setup(1, 3);
    r.push(B, 0, 0, 0, new Uint8Array(2));
    assert.equal(r.push(E, 0, 0, 0, new Uint8Array(2)), "too-large");
    assert.equal(r.heldBytes, 0);
    assert.equal(r.push(B | E, 5, 0, 0, new Uint8Array(1)), "invalid-stream");
    // A fragment without its beginning is dropped.
    assert.equal(r.push(E, 0, 0, 0, new Uint8Array(1)), undefined);
    assert.equal(got.length, 0);
  },
);

Deno.test(
  "sctp reassembly: the data delivered is a copy the caller cannot change",
  sanitized,
  () => {
    const { r, got } = setup();
    const payload = new Uint8Array([1, 2, 3]);
    r.push(B | E, 0, 0, 0, payload);
    payload[0] = 9;
    assert.equal(got[0].data[0], 1);
  },
);
