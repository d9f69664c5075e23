// RTO estimation and backoff (RFC 9260, 6.3.1 and 6.3.3).

import assert from "node:assert/strict";
import { RtoEstimator } from "../../transport/sctp/rto.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const bounds = { rtoInitial: 1000, rtoMin: 100, rtoMax: 60_000 };

Deno.test("sctp rto: RTO.Initial until the first measurement", sanitized, () => {
  const rto = new RtoEstimator(bounds);
  assert.equal(rto.rto, 1000);
  assert.equal(rto.srtt, 0);
  assert.equal(rto.samples, 0);
});

Deno.test("sctp rto: the first measurement sets SRTT = R, RTTVAR = R/2 (C2)", sanitized, () => {
  const rto = new RtoEstimator(bounds);
  rto.measure(200);
  assert.equal(rto.srtt, 200);
  assert.equal(rto.rttvar, 100);
  assert.equal(rto.rto, 600);
  assert.equal(rto.samples, 1);
});

Deno.test("sctp rto: later measurements smooth with alpha 1/8 and beta 1/4 (C3)", sanitized, () => {
  const rto = new RtoEstimator(bounds);
  rto.measure(200);
  rto.measure(400);
  // RTTVAR = 3/4 * 100 + 1/4 * |200 - 400| = 125; SRTT = 7/8 * 200 + 1/8 * 400 = 225.
  assert.equal(rto.rttvar, 125);
  assert.equal(rto.srtt, 225);
  assert.equal(rto.rto, 225 + 4 * 125);
});

Deno.test("sctp rto: RTO stays within RTO.Min and RTO.Max (C6, C7)", sanitized, () => {
  const rto = new RtoEstimator(bounds);
  for (let i = 0; i < 50; i++) rto.measure(1);
  assert.equal(rto.rto, 100);
  const slow = new RtoEstimator(bounds);
  slow.measure(100_000);
  assert.equal(slow.rto, 60_000);
});

Deno.test(
  "sctp rto: backoff doubles up to RTO.Max, a measurement recomputes (E2, E3)",
  sanitized,
  () => {
    const rto = new RtoEstimator({ rtoInitial: 1000, rtoMin: 100, rtoMax: 5000 });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      rto.backoff();
      seen.push(rto.rto);
    }
    assert.deepEqual(seen, [2000, 4000, 5000, 5000, 5000]);
    rto.measure(50);
    assert.equal(rto.rto, 150);
  },
);
