// The association's one timer type, on the virtual clock.

import assert from "node:assert/strict";
import { RtoEstimator } from "../../transport/sctp/rto.ts";
import { SctpTimer } from "../../transport/sctp/timer.ts";
import { VirtualClock } from "../../transport/sctp/sim/virtual_clock.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

function run(clock: VirtualClock, until: number): void {
  while (clock.step(until));
}

Deno.test("sctp timer: expires after its delay, once", sanitized, () => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  const timer = new SctpTimer(clock, () => fired.push(clock.now()));
  timer.start(300);
  assert.equal(timer.running, true);
  assert.equal(timer.deadline, 300);
  run(clock, 10_000);
  assert.deepEqual(fired, [300]);
  assert.equal(timer.running, false);
  assert.equal(timer.expirations, 1);
});

Deno.test("sctp timer: a restart moves the deadline later or sooner", sanitized, () => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  const timer = new SctpTimer(clock, () => fired.push(clock.now()));
  timer.start(100);
  run(clock, 50);
  timer.start(100); // later: at 150
  run(clock, 1000);
  assert.deepEqual(fired, [150]);
  timer.start(5000);
  run(clock, 1200);
  timer.start(10); // sooner than the clock's timer: at 1210
  run(clock, 100_000);
  assert.deepEqual(fired, [150, 1210]);
});

Deno.test(
  "sctp timer: stopped, it does not fire; startIfStopped keeps a running deadline",
  sanitized,
  () => {
    const clock = new VirtualClock();
    let fired = 0;
    const timer = new SctpTimer(clock, () => fired++);
    timer.start(100);
    timer.stop();
    run(clock, 1000);
    assert.equal(fired, 0);
    timer.start(100);
    timer.startIfStopped(10);
    assert.equal(timer.deadline, 1100);
    timer.dispose();
    run(clock, 10_000);
    assert.equal(fired, 0);
  },
);

Deno.test(
  "sctp timer: runs on its RTO and backs it off on each expiry (RFC 9260 6.3.3)",
  sanitized,
  () => {
    const clock = new VirtualClock();
    const rto = new RtoEstimator({ rtoInitial: 1000, rtoMin: 100, rtoMax: 5000 });
    const fired: number[] = [];
    const timer = new SctpTimer(clock, () => {
      fired.push(clock.now());
      timer.backoff();
      if (timer.expirations < 5) timer.start();
    }, rto);
    timer.start();
    run(clock, 100_000);
    // 1000, then +2000, +4000, +5000, +5000.
    assert.deepEqual(fired, [1000, 3000, 7000, 12_000, 17_000]);
    assert.equal(rto.rto, 5000);
    timer.resetExpirations();
    assert.equal(timer.expirations, 0);
  },
);

Deno.test(
  "sctp timer: one expiry function serves many timers, told the owner and the timer",
  sanitized,
  () => {
    const clock = new VirtualClock();
    const fired: [unknown, SctpTimer][] = [];
    const onExpiry = (owner: unknown, timer: SctpTimer) => fired.push([owner, timer]);
    const a = new SctpTimer(clock, onExpiry, undefined, "a");
    const b = new SctpTimer(clock, onExpiry, undefined, "b");
    b.start(100);
    a.start(200);
    run(clock, 10_000);
    assert.deepEqual(fired, [["b", b], ["a", a]]);
  },
);
