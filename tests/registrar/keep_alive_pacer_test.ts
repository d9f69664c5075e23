import assert from "node:assert/strict";
import { KeepAlivePacer, MIN_KEEP_ALIVE_BUDGET } from "../../registrar/keep_alive_pacer.ts";

/** A pacer on a clock the test moves, with one period of `lag` ms probes every 100 ms. */
function pacerAt() {
  const clock = { now: 0 };
  const pacer = new KeepAlivePacer({ clock: () => clock.now });
  /** Lets a period pass with every probe `lag` ms late, offering `due` keep-alives spread over it. */
  const period = (lag: number, due: number) => {
    let sent = 0;
    const start = clock.now;
    for (let i = 0; i < due; i++) {
      clock.now = start + (i * 1000) / due;
      if (pacer.delay(5000) === 0) sent++;
    }
    for (let t = start + 100; t <= start + 1000; t += 100) {
      clock.now = t;
      pacer.recordLag(lag);
    }
    return sent;
  };
  return { pacer, period };
}

Deno.test("KeepAlivePacer: every keep-alive goes while the event loop keeps up", () => {
  const { pacer, period } = pacerAt();
  for (let i = 0; i < 5; i++) assert.equal(period(3, 4000), 4000);
  assert.equal(pacer.overloaded, false);
  assert.equal(pacer.budget, Infinity);
});

Deno.test("KeepAlivePacer: a lagging event loop paces keep-alives below what went out", () => {
  const { pacer, period } = pacerAt();
  assert.equal(period(80, 4000), 4000);
  assert.equal(pacer.overloaded, true);
  assert.equal(pacer.budget, 3000);
  // The budget holds: about 3,000 of 4,000 due go in the next second.
  const sent = period(80, 4000);
  assert.ok(sent >= 2900 && sent <= 3100, `${sent} sent`);
  // Still lagging: less again, never under the floor.
  assert.ok(pacer.budget < 3000);
  for (let i = 0; i < 40; i++) period(500, 4000);
  assert.equal(pacer.budget, MIN_KEEP_ALIVE_BUDGET);
});

Deno.test("KeepAlivePacer: the budget grows back once the lag is gone, then ends", () => {
  const { pacer, period } = pacerAt();
  period(80, 1000);
  assert.equal(pacer.budget, 750);
  // In between (neither over the limit nor under a quarter of it): the budget holds.
  period(10, 1000);
  assert.equal(pacer.budget, 750);
  period(1, 1000);
  assert.equal(pacer.budget, 1500);
  assert.equal(pacer.overloaded, true);
  let periods = 0;
  while (pacer.budget !== Infinity && periods < 20) {
    period(1, 1000);
    periods++;
  }
  assert.equal(pacer.budget, Infinity);
  assert.equal(pacer.overloaded, false);
  assert.ok(periods <= 3, `${periods} periods`);
});

Deno.test("KeepAlivePacer: keep-alives put off wait their place at the budget's rate", () => {
  const { pacer, period } = pacerAt();
  period(80, 100);
  assert.equal(pacer.budget, 75);
  // At one instant: no tokens yet, so each waits 1/75 s longer than the one before.
  const waits = Array.from({ length: 5 }, () => pacer.delay(5000));
  assert.deepEqual(waits.map((w) => Math.round(w * 75)), [1000, 2000, 3000, 4000, 5000]);
  // Never more than the most it may wait.
  for (let i = 0; i < 1000; i++) assert.ok(pacer.delay(5000) <= 5000);
  assert.equal(pacer.delay(5000), 5000);
});

Deno.test("KeepAlivePacer: one long stall counts in the period's mean", () => {
  const clock = { now: 0 };
  const pacer = new KeepAlivePacer({ clock: () => clock.now });
  for (let i = 0; i < 100; i++) pacer.delay(5000);
  clock.now = 3000;
  pacer.recordLag(2900); // the event loop was held for three seconds
  assert.equal(pacer.overloaded, true);
  assert.equal(pacer.meanLag, 2900);
});

Deno.test("KeepAlivePacer: overloadLag 0 never paces", () => {
  const clock = { now: 0 };
  const pacer = new KeepAlivePacer({ clock: () => clock.now, overloadLag: 0 });
  for (let t = 100; t <= 3000; t += 100) {
    clock.now = t;
    pacer.delay(5000);
    pacer.recordLag(1000);
  }
  assert.equal(pacer.budget, Infinity);
  assert.equal(pacer.delay(5000), 0);
});

Deno.test("KeepAlivePacer: datagrams dropped in a period count as overload", () => {
  const { pacer, period } = pacerAt();
  pacer.recordDrops(500); // the first count is where counting starts
  period(1, 1000);
  assert.equal(pacer.overloaded, false);
  pacer.recordDrops(520);
  period(1, 1000);
  assert.equal(pacer.overloaded, true);
  assert.equal(pacer.drops, 20);
  assert.equal(pacer.budget, 750);
  // No drop and no lag: the budget grows back; a count going down (a socket closed) is no drop.
  pacer.recordDrops(10);
  period(1, 1000);
  assert.equal(pacer.drops, 0);
  assert.equal(pacer.budget, 1500);
  assert.equal(pacer.dropsTotal, 20);
  pacer.recordDrops(undefined); // unknown: nothing changes
  period(1, 1000);
  assert.equal(pacer.budget, Infinity);
  assert.equal(pacer.overloaded, false);
});

Deno.test("KeepAlivePacer: the budget stays at a tenth of what the PEs need", () => {
  const { pacer, period } = pacerAt();
  pacer.setDemand(4000); // 20,000 PEs every 5 s
  for (let i = 0; i < 40; i++) period(500, 4000);
  assert.equal(pacer.budget, 400);
  // A smaller demand: the fixed floor.
  pacer.setDemand(20);
  for (let i = 0; i < 40; i++) period(500, 4000);
  assert.equal(pacer.budget, MIN_KEEP_ALIVE_BUDGET);
});
