import assert from "node:assert/strict";
import { coalescedTime, MAX_TIMER_SLACK, timerGrid } from "../../transport/timer_slack.ts";
import { systemClock } from "../../transport/sctp/clock.ts";

Deno.test("timer slack: a sixteenth of the delay, at most 8 ms, on a power-of-two grid", () => {
  assert.equal(timerGrid(0), 0);
  assert.equal(timerGrid(15.9), 0);
  assert.equal(timerGrid(16), 1);
  assert.equal(timerGrid(40), 2);
  assert.equal(timerGrid(200), 8);
  assert.equal(timerGrid(5000), MAX_TIMER_SLACK);
  assert.equal(timerGrid(Infinity), MAX_TIMER_SLACK);
  assert.equal(timerGrid(NaN), 0);
  for (let delay = 1; delay < 10_000; delay *= 1.37) {
    const grid = timerGrid(delay);
    assert.ok(grid <= delay / 16 && grid <= MAX_TIMER_SLACK, `grid ${grid} of ${delay}`);
    for (const due of [0, 1003.25, 77_777.5, 1e9 + 0.125]) {
      const at = coalescedTime(due, delay);
      assert.ok(at >= due, `${at} before ${due}`);
      assert.ok(at - due < Math.max(grid, Number.EPSILON), `${at} too late for ${due}/${delay}`);
      if (grid > 0) assert.equal(at % grid, 0);
    }
  }
  // Timers of different delays due close together meet on the coarser grid's point.
  assert.equal(coalescedTime(1006.9, 1000), 1008);
  assert.equal(coalescedTime(1003.2, 200), 1008);
  assert.equal(coalescedTime(1003.2, 10), 1003.2);
});

Deno.test("timer slack: SCTP timers of long delays due close together fire in one turn", async () => {
  // Twenty timers due over 20 ms, each in its own runtime timer without slack (Deno's timers
  // fire at 1-2 ms granularity), on at most four 8 ms grid points with it.
  const started = performance.now();
  let turn = 0;
  let counting = false;
  const turns = new Set<number>();
  const early: number[] = [];
  const done = Promise.withResolvers<void>();
  let fired = 0;
  for (let i = 0; i < 20; i++) {
    const delay = 300 + i;
    systemClock.setTimeout(() => {
      // The clock runs timers due within half a millisecond (its EARLY) with those due now.
      if (performance.now() - started < delay - 1) early.push(delay);
      if (!counting) {
        counting = true;
        queueMicrotask(() => {
          counting = false;
          turn++;
        });
      }
      turns.add(turn);
      if (++fired === 20) done.resolve();
    }, delay);
  }
  await done.promise;
  assert.deepEqual(early, []);
  assert.ok(turns.size <= 4, `fired in ${turns.size} turns`);
});
