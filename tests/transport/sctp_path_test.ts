// Per-path state and congestion control (RFC 9260, 7.2 and 8.2).

import assert from "node:assert/strict";
import { initialCwnd, SctpPath } from "../../transport/sctp/path.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const config = {
  mtu: 1200,
  rtoInitial: 1000,
  rtoMin: 100,
  rtoMax: 5000,
  receiveBufferSize: 100_000,
  pathMaxRetransmits: 2,
};

/** One SACK acknowledging `acked` bytes of a path that had `flight` bytes outstanding. */
function sack(p: SctpPath, acked: number, flight = p.flight): void {
  p.flight = flight;
  p.beginSack();
  p.flight -= acked;
  p.bytesAcked = acked;
  p.growCwnd();
}

Deno.test(
  "sctp path: initial cwnd min(4 MTU, max(2 MTU, 4380)), ssthresh the window (7.2.1)",
  sanitized,
  () => {
    assert.equal(initialCwnd(1200), 4380);
    assert.equal(initialCwnd(500), 2000);
    assert.equal(initialCwnd(9000), 18_000);
    const p = new SctpPath("10.0.0.2", 9899, config);
    assert.equal(p.cwnd, 4380);
    assert.equal(p.ssthresh, 100_000);
    assert.equal(p.rto.rto, 1000);
    assert.equal(p.canSend, true);
    p.flight = p.cwnd;
    assert.equal(p.canSend, false);
  },
);

Deno.test(
  "sctp path: slow start grows by at most one MTU per SACK, only when cwnd was used",
  sanitized,
  () => {
    const p = new SctpPath("a", 1, config);
    sack(p, 3000, p.cwnd);
    assert.equal(p.cwnd, 4380 + 1200);
    sack(p, 500, p.cwnd);
    assert.equal(p.cwnd, 4380 + 1700);
    // Flight well below cwnd: the window was not in use, it does not grow.
    sack(p, 1000, 1000);
    assert.equal(p.cwnd, 4380 + 1700);
  },
);

Deno.test(
  "sctp path: congestion avoidance adds one MTU per cwnd acknowledged (7.2.2)",
  sanitized,
  () => {
    const p = new SctpPath("a", 1, config);
    p.cwnd = 12_000;
    p.ssthresh = 6000;
    for (let i = 0; i < 9; i++) sack(p, 1200, p.cwnd);
    assert.equal(p.cwnd, 12_000);
    assert.equal(p.partialBytesAcked, 10_800);
    sack(p, 1200, p.cwnd);
    assert.equal(p.cwnd, 13_200);
    assert.equal(p.partialBytesAcked, 0);
  },
);

Deno.test("sctp path: fast retransmit halves cwnd, at least 4 MTU (7.2.3)", sanitized, () => {
  const p = new SctpPath("a", 1, config);
  p.cwnd = 20_000;
  p.partialBytesAcked = 500;
  p.reduceOnLoss();
  assert.equal(p.ssthresh, 10_000);
  assert.equal(p.cwnd, 10_000);
  assert.equal(p.partialBytesAcked, 0);
  p.cwnd = 5000;
  p.reduceOnLoss();
  assert.equal(p.cwnd, 4800);
});

Deno.test(
  "sctp path: T3 expiry leaves one MTU of cwnd and backs the RTO off (7.2.3, 6.3.3)",
  sanitized,
  () => {
    const p = new SctpPath("a", 1, config);
    p.cwnd = 20_000;
    p.reduceOnTimeout();
    assert.equal(p.ssthresh, 10_000);
    assert.equal(p.cwnd, 1200);
    assert.equal(p.rto.rto, 2000);
    p.openForSwitch();
    assert.equal(p.cwnd, 4380);
  },
);

Deno.test("sctp path: inactive after more than Path.Max.Retrans errors (8.2)", sanitized, () => {
  const p = new SctpPath("a", 1, config);
  assert.equal(p.countError(), false);
  assert.equal(p.countError(), false);
  assert.equal(p.active, true);
  assert.equal(p.countError(), true);
  assert.equal(p.active, false);
  assert.equal(p.countError(), false, "reported once");
  assert.equal(p.errors, 4);
});
