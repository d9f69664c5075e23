/**
 * Timer slack: a timer set for a long delay may fire a little late, so that timers due near each
 * other share one wake-up of the process.
 *
 * Every wake-up from idle costs a process far more than the few microseconds of work a timer
 * usually does: measured here (a virtual machine), 20-50 us of CPU per wake-up of a sleeping
 * process, python's `time.sleep` as much as Deno's `setTimeout`. A registrar that keeps 10,000
 * PEs alive every 5 s over SCTP, with a keep-alive, a retransmission and a delayed-SACK timer
 * per exchange, woke about 1,200 times a second; with the slack below about 600 times, and took
 * about a fifth less CPU (61-78 us per keep-alive against 81-83 us, alternating runs). Linux's
 * timer slack follows the same idea.
 *
 * The slack is a sixteenth of the delay and at most {@linkcode MAX_TIMER_SLACK} ms, and fire
 * times are rounded up to a grid of a power of two milliseconds: a point of a coarse grid is a
 * point of every finer one, so timers of different delays meet there too. Delays under 16 ms
 * are not rounded.
 *
 * @module
 */

/** The most a timer is made late (ms). */
export const MAX_TIMER_SLACK = 8;

/**
 * The grid (ms) to which the fire times of timers set for `delay` ms are rounded up: the largest
 * power of two that is at most `delay / 16` and {@linkcode MAX_TIMER_SLACK}; 0 for delays under
 * 16 ms (not rounded).
 *
 * @example
 * ```ts
 * import { timerGrid } from "./timer_slack.ts";
 * timerGrid(200); // 8: a delayed SACK may be up to 8 ms late
 * timerGrid(40); // 2
 * timerGrid(10); // 0: exact
 * ```
 */
export function timerGrid(delay: number): number {
  const slack = Math.min(MAX_TIMER_SLACK, delay / 16);
  if (!(slack >= 1)) return 0;
  let grid = 1;
  while (grid * 2 <= slack) grid *= 2;
  return grid;
}

/**
 * When a timer due at `due` (ms on any clock) and set for `delay` ms should fire: `due` rounded
 * up to {@linkcode timerGrid}`(delay)`; never earlier than `due`, less than the grid later.
 *
 * @example
 * ```ts
 * import { coalescedTime } from "./timer_slack.ts";
 * coalescedTime(1003.2, 200); // 1008
 * coalescedTime(1006.9, 1000); // 1008: both fire in one wake-up
 * coalescedTime(1003.2, 10); // 1003.2
 * ```
 */
export function coalescedTime(due: number, delay: number): number {
  const grid = timerGrid(delay);
  return grid === 0 ? due : Math.ceil(due / grid) * grid;
}
