// Receive tracking and SACK building (RFC 9260, 6.2, 6.7, 6.8).

import assert from "node:assert/strict";
import { decodeSack } from "../../transport/sctp/chunks.ts";
import { type HeldChunk, ReceiveTracker } from "../../transport/sctp/receive_tracker.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const chunk = (n = 10): HeldChunk => ({
  flags: 3,
  stream: 0,
  ssn: 0,
  ppid: 0,
  payload: new Uint8Array(n),
});

/** Feeds TSNs as a receiver would: next ones advance, others are held. */
function feed(t: ReceiveTracker, tsns: number[]): void {
  for (const tsn of tsns) {
    const kind = t.classify(tsn);
    if (kind === "next") {
      t.advance(tsn);
      while (t.takeNext() !== undefined);
    } else if (kind === "ahead") {
      t.hold(tsn, chunk());
    }
  }
}

Deno.test("sctp receive tracker: cumulative TSN, across the 2^32 wrap", sanitized, () => {
  const t = new ReceiveTracker(0xfffffffe);
  assert.equal(t.cumTsn, 0xfffffffd);
  feed(t, [0xfffffffe, 0xffffffff, 0, 1]);
  assert.equal(t.cumTsn, 1);
  assert.equal(t.classify(0xffffffff), "duplicate");
  assert.equal(t.classify(2), "next");
  assert.equal(t.classify(3), "ahead");
  assert.equal(t.classify(1 + 0x10001), "far");
});

Deno.test(
  "sctp receive tracker: held chunks fill in, gap blocks as offsets (3.3.4)",
  sanitized,
  () => {
    const t = new ReceiveTracker(1, 100);
    feed(t, [1, 3, 4, 6, 9, 10]);
    assert.equal(t.cumTsn, 1);
    assert.deepEqual(t.gaps(), [[2, 3], [5, 5], [8, 9]]);
    assert.equal(t.heldCount, 5);
    assert.equal(t.heldBytes, 5 * 110);
    feed(t, [2]);
    assert.equal(t.cumTsn, 4);
    assert.deepEqual(t.gaps(), [[2, 2], [5, 6]]);
    feed(t, [5, 7, 8]);
    assert.equal(t.cumTsn, 10);
    assert.deepEqual(t.gaps(), []);
    assert.equal(t.heldBytes, 0);
  },
);

Deno.test(
  "sctp receive tracker: the SACK carries cum TSN, window, gaps and duplicates once",
  sanitized,
  () => {
    const t = new ReceiveTracker(100);
    feed(t, [100, 101, 101, 100, 103]);
    const sack = decodeSack(t.sack(5000))!;
    assert.equal(sack.cumulativeTsn, 101);
    assert.equal(sack.advertisedWindow, 5000);
    assert.deepEqual(sack.gaps, [[2, 2]]);
    assert.deepEqual(sack.duplicates, [101, 100]);
    assert.deepEqual(decodeSack(t.sack(5000))!.duplicates, [], "duplicates reported once");
  },
);

Deno.test(
  "sctp receive tracker: delayed SACK: every second packet, at once on gaps (6.2)",
  sanitized,
  () => {
    const t = new ReceiveTracker(1);
    feed(t, [1]);
    t.onDataPacket();
    assert.equal(t.needed, true);
    assert.equal(t.urgent, false, "one packet may wait");
    feed(t, [2]);
    t.onDataPacket();
    assert.equal(t.urgent, true, "the second one may not");
    t.sack(1000);
    assert.equal(t.needed, false);
    feed(t, [4]);
    t.onDataPacket();
    assert.equal(t.urgent, true, "a gap is reported at once");
    t.sack(1000);
    feed(t, [3, 3]);
    t.onDataPacket();
    assert.equal(t.urgent, true, "a duplicate is reported at once");
  },
);

Deno.test(
  "sctp receive tracker: a full buffer drops the highest held TSN above a lower one",
  sanitized,
  () => {
    const t = new ReceiveTracker(1);
    feed(t, [3, 5, 4]);
    assert.equal(t.dropHighestAbove(6), 0, "nothing held above 6");
    assert.equal(t.dropHighestAbove(2), 10);
    assert.deepEqual(t.gaps(), [[3, 4]], "TSN 3 and 4 above cum TSN 0");
    assert.equal(t.classify(5), "ahead", "a dropped TSN is new again");
  },
);

Deno.test(
  "sctp receive tracker: at most 100 gap blocks and 64 duplicates per SACK",
  sanitized,
  () => {
    const t = new ReceiveTracker(1);
    for (let i = 0; i < 300; i++) feed(t, [3 + 2 * i]);
    for (let i = 0; i < 100; i++) t.classify(3);
    const sack = decodeSack(t.sack(0))!;
    assert.equal(sack.gaps.length, 100);
    assert.equal(sack.duplicates.length, 64);
  },
);
