/**
 * Keep-alive pacing: a registrar that cannot keep up sends fewer keep-alives instead of
 * removing PEs whose answers wait in its own receive queue.
 *
 * A registrar makes most of its own work: every keep-alive it sends comes back as an answer
 * (and, over SCTP, a SACK each way). When it has less CPU than its keep-alives need, answers
 * queue up in its socket or are dropped from it, arrive after their timeout, and healthy PEs
 * are removed; dropped answers are retransmitted, which adds to the queue. Measured here with
 * 20,000 SCTP PEs at 5 s intervals and four busy loops sharing the registrar's CPU: every one
 * of the 20,000 PEs was removed within 15 s.
 *
 * Two signs of overload, neither depending on the network's round trip time (which differs
 * from PE to PE): the registrar's own event-loop lag, how late a timer set for every
 * {@linkcode LAG_PROBE_INTERVAL} ms runs; and, over SCTP on Linux, the datagrams the kernel
 * dropped at its sockets for want of room, which show a full queue before the lag does. Each
 * period (1 s) the pacer looks at both:
 *
 * - a mean lag above `overloadLag` (default 20 ms), or any drop: the registrar is overloaded.
 *   Keep-alives may go at three quarters of the rate that went out in the period, less each
 *   period it stays so, but not under a tenth of what the PEs need at their interval
 *   ({@linkcode MIN_KEEP_ALIVE_SHARE}): lag also comes from CPU that other processes take.
 * - a mean lag under a quarter of the limit and no drop: the budget doubles each period, and
 *   ends when it is half as large again as what was due (sent and put off).
 *
 * A keep-alive over the budget is put off and waits its place behind the others (at most one
 * keep-alive interval), which stretches each PE's interval. A keep-alive that was not answered
 * in time while the registrar was overloaded does not remove its PE: the registrar sends it a
 * new one.
 *
 * @module
 */

/** How often (ms) the registrar measures its event-loop lag. */
export const LAG_PROBE_INTERVAL = 100;

/** The fewest keep-alives per second a budget allows, whatever the demand. */
export const MIN_KEEP_ALIVE_BUDGET = 10;

/**
 * The budget never goes below this share of the demand (see {@linkcode KeepAlivePacer.setDemand}):
 * a PE's keep-alives come at most ten times further apart than their interval.
 */
export const MIN_KEEP_ALIVE_SHARE = 0.1;

/**
 * Options of a {@linkcode KeepAlivePacer}.
 *
 * @example
 * ```ts
 * import type { KeepAlivePacerOptions } from "./keep_alive_pacer.ts";
 * const options: KeepAlivePacerOptions = { overloadLag: 50 };
 * ```
 */
export interface KeepAlivePacerOptions {
  /** The clock (ms). Default `performance.now`. */
  clock?: () => number;
  /** Mean lag (ms) over a period above which the registrar is overloaded (default 20; 0: never). */
  overloadLag?: number;
  /** The control period (ms, default 1000). */
  period?: number;
}

/**
 * Decides whether a keep-alive may go now, from the event-loop lag measured by its owner.
 *
 * @example
 * ```ts
 * import { KeepAlivePacer } from "./keep_alive_pacer.ts";
 * let now = 0;
 * const pacer = new KeepAlivePacer({ clock: () => now });
 * for (let i = 0; i < 100; i++) pacer.delay(5000); // 100 keep-alives go in the first second
 * for (; now < 1000; now += 100) pacer.recordLag(80); // the timers ran 80 ms late
 * pacer.recordLag(80);
 * pacer.overloaded; // true
 * pacer.budget; // 75 keep-alives per second
 * pacer.delay(5000); // 13.3: no token yet, the keep-alive waits its place
 * ```
 */
export class KeepAlivePacer {
  readonly #clock: () => number;
  readonly #highLag: number;
  readonly #period: number;
  #periodStart: number;
  #lagSum = 0;
  #lagCount = 0;
  #sent = 0;
  #deferred = 0;
  #budget = Infinity;
  #tokens = 0;
  #lastTake: number;
  #lastMeanLag = 0;
  /** Datagrams dropped at the receiver's sockets: the last total read, this period, the last. */
  #dropsTotal: number | undefined;
  #drops = 0;
  #lastDrops = 0;
  #dropsSum = 0;
  /** When the last keep-alive put off is due to go (ms, the pacer's clock). */
  #queueEnd = -Infinity;
  /** The least budget: {@linkcode MIN_KEEP_ALIVE_SHARE} of the demand. */
  #minBudget = MIN_KEEP_ALIVE_BUDGET;

  /** A pacer with no budget (every keep-alive goes). */
  constructor(options: KeepAlivePacerOptions = {}) {
    this.#clock = options.clock ?? (() => performance.now());
    this.#highLag = options.overloadLag ?? 20;
    this.#period = options.period ?? 1000;
    this.#periodStart = this.#lastTake = this.#clock();
  }

  /** Keep-alives allowed per second; `Infinity` while the registrar keeps up. */
  get budget(): number {
    return this.#budget;
  }

  /** True while keep-alives are paced or the last period's lag was over the limit. */
  get overloaded(): boolean {
    return this.#highLag > 0 &&
      (this.#budget !== Infinity || this.#lastMeanLag > this.#highLag || this.#lastDrops > 0);
  }

  /** The mean lag (ms) of the last complete period. */
  get meanLag(): number {
    return this.#lastMeanLag;
  }

  /** Datagrams dropped at the registrar's sockets in the last complete period. */
  get drops(): number {
    return this.#lastDrops;
  }

  /** Datagrams dropped at the registrar's sockets since the first count recorded. */
  get dropsTotal(): number {
    return this.#dropsSum;
  }

  /**
   * The total of datagrams dropped so far for want of room in the registrar's receive buffers
   * (undefined: unknown). Drops in a period count as overload, as a lag over the limit does:
   * answers to keep-alives may be among them.
   */
  recordDrops(total: number | undefined): void {
    if (total === undefined) return;
    if (this.#dropsTotal !== undefined && total > this.#dropsTotal) {
      this.#drops += total - this.#dropsTotal;
      this.#dropsSum += total - this.#dropsTotal;
    }
    this.#dropsTotal = total;
  }

  /**
   * The keep-alives per second the registrar's PEs need at their interval (PEs / interval); the
   * budget stays at {@linkcode MIN_KEEP_ALIVE_SHARE} of it at least. The lag also comes from
   * CPU taken by other processes, which fewer keep-alives do not give back: without a floor, a
   * registrar sharing its CPU would end up probing its PEs hardly at all.
   */
  setDemand(perSecond: number): void {
    this.#minBudget = Math.max(MIN_KEEP_ALIVE_BUDGET, perSecond * MIN_KEEP_ALIVE_SHARE);
  }

  /**
   * One measurement: a timer ran `lag` ms late. Ends the period when it is over, and adjusts
   * the budget.
   */
  recordLag(lag: number): void {
    this.#lagSum += lag > 0 ? lag : 0;
    this.#lagCount++;
    const now = this.#clock();
    const elapsed = now - this.#periodStart;
    if (elapsed >= this.#period) this.#adjust(now, elapsed);
  }

  /**
   * Whether one keep-alive may go now: 0 if so, else how long (ms) it should wait. The wait is
   * its place behind the keep-alives already put off (at the budget's rate), at most
   * `maxDelay`, so that a budget that grows again reaches them soon.
   */
  delay(maxDelay: number): number {
    if (this.#budget === Infinity) {
      this.#sent++;
      return 0;
    }
    const now = this.#clock();
    const elapsed = now - this.#lastTake;
    this.#lastTake = now;
    // At most a tenth of a second's budget at once.
    const burst = Math.max(1, this.#budget / 10);
    if (elapsed > 0) this.#tokens = Math.min(burst, this.#tokens + elapsed * this.#budget / 1000);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#sent++;
      return 0;
    }
    this.#deferred++;
    this.#queueEnd = Math.max(this.#queueEnd, now) + 1000 / this.#budget;
    return Math.min(maxDelay, this.#queueEnd - now);
  }

  #adjust(now: number, elapsed: number): void {
    const meanLag = this.#lagSum / this.#lagCount;
    const sentRate = this.#sent * 1000 / elapsed;
    const dueRate = (this.#sent + this.#deferred) * 1000 / elapsed;
    const drops = this.#drops;
    this.#lastMeanLag = meanLag;
    this.#lastDrops = drops;
    this.#drops = 0;
    this.#periodStart += elapsed;
    this.#lagSum =
      this.#lagCount =
      this.#sent =
      this.#deferred =
        0;
    // Keep-alives put off get their places anew at the new budget.
    this.#queueEnd = -Infinity;
    if (this.#highLag <= 0) return;
    if (meanLag > this.#highLag || drops > 0) {
      if (this.#budget === Infinity) {
        // Tokens count from now: none saved up from before the pacing.
        this.#tokens = 0;
        this.#lastTake = now;
      }
      this.#budget = Math.max(this.#minBudget, Math.min(this.#budget, sentRate) * 0.75);
    } else if (this.#budget !== Infinity && meanLag < this.#highLag / 4 && drops === 0) {
      this.#budget *= 2;
      if (this.#budget > dueRate * 1.5) this.#budget = Infinity;
    }
  }
}
