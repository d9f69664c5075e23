/**
 * The one timer of the SCTP association, used for T1-init (INIT and COOKIE ECHO), T2-shutdown,
 * T3-rtx, HEARTBEAT and the delayed SACK: started, restarted and stopped on an injected
 * {@linkcode SctpClock}, with the RFC 9260 backoff (6.3.3 E2) of the {@linkcode RtoEstimator}
 * it runs on.
 *
 * Restarting is cheap: a timer that is running only moves its deadline, and the clock's timer
 * re-arms itself when it fires before the deadline (T3 is restarted on almost every SACK).
 *
 * @module
 */

import type { SctpClock, SctpTimerHandle } from "./clock.ts";
import type { RtoEstimator } from "./rto.ts";

/**
 * A restartable one-shot timer.
 *
 * @example A retransmission timer that backs off
 * ```ts
 * import { SctpTimer } from "./timer.ts";
 * import { RtoEstimator } from "./rto.ts";
 * import { VirtualClock } from "./sim/virtual_clock.ts";
 * const clock = new VirtualClock();
 * const rto = new RtoEstimator({ rtoInitial: 1000, rtoMin: 100, rtoMax: 60_000 });
 * const timer = new SctpTimer(clock, () => {
 *   timer.backoff(); // RTO 2000
 *   timer.start(); // again, for the new RTO
 * }, rto);
 * timer.start();
 * clock.step(); // at 1000: it fires and restarts
 * timer.stop();
 * ```
 */
export class SctpTimer {
  #clock: SctpClock;
  #onExpiry: (owner: unknown, timer: SctpTimer) => void;
  /** What `onExpiry` is told of: one function can then serve the timers of many owners. */
  #owner: unknown;
  #handle: SctpTimerHandle | undefined;
  /** The clock's timer that last fired, to carry the next one (no garbage per re-arm). */
  #spare: SctpTimerHandle | undefined;
  /** When the clock's timer fires (ms). */
  #armedFor = 0;
  /** When it expires (ms); 0 when stopped. */
  #deadline = 0;
  #expirations = 0;
  /** The RTO it runs on: the default duration, and what {@linkcode SctpTimer.backoff} doubles. */
  rto: RtoEstimator | undefined;

  /**
   * A stopped timer that calls `onExpiry(owner, timer)` when it expires. A function shared by
   * many timers, told which owner and timer expired, costs nothing per timer where a closure
   * for each would.
   */
  constructor(
    clock: SctpClock,
    onExpiry: (owner: unknown, timer: SctpTimer) => void,
    rto?: RtoEstimator,
    owner?: unknown,
  ) {
    this.#clock = clock;
    this.#onExpiry = onExpiry;
    this.rto = rto;
    this.#owner = owner;
  }

  /** Whether it is running. */
  get running(): boolean {
    return this.#deadline !== 0;
  }

  /** When it expires (clock time in ms), 0 when stopped. */
  get deadline(): number {
    return this.#deadline;
  }

  /** How many times it expired since {@linkcode SctpTimer.resetExpirations}. */
  get expirations(): number {
    return this.#expirations;
  }

  /** Starts it, or restarts it when running, to expire `delay` ms from now (default: the RTO). */
  start(delay: number = this.rto?.rto ?? 0): void {
    // One reading of the clock for the deadline and the clock's timer alike.
    const now = this.#clock.now();
    // Deadline 0 means stopped: a timer due at time 0 is due at the smallest later time.
    this.#deadline = Math.max(Number.MIN_VALUE, now + delay);
    if (this.#handle === undefined) {
      this.#arm(now, delay);
    } else if (this.#deadline < this.#armedFor) {
      // Sooner than the clock's timer: re-arm it (a later deadline only moves).
      this.#clock.clearTimeout(this.#handle);
      this.#arm(now, delay);
    }
  }

  /** Starts it unless it is running. */
  startIfStopped(delay?: number): void {
    if (this.#deadline === 0) this.start(delay);
  }

  /** Stops it (it can be started again). */
  stop(): void {
    this.#deadline = 0;
  }

  /** Stops it and releases the clock's timer. */
  dispose(): void {
    this.#deadline = 0;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#spare = undefined;
  }

  /** Doubles the RTO it runs on, up to RTO.Max (RFC 9260, 6.3.3 E2). */
  backoff(): void {
    this.rto?.backoff();
  }

  /** Sets the expiry count to zero (a retransmission was answered). */
  resetExpirations(): void {
    this.#expirations = 0;
  }

  #arm(now: number, delay: number): void {
    this.#armedFor = now + delay;
    this.#handle = this.#clock.setTimeout(this.#fire, delay, this.#spare);
    this.#spare = undefined;
  }

  /** What the clock calls: a bound method (smaller than a closure over `this`). */
  #fire: () => void = this.#expire.bind(this);

  #expire(): void {
    this.#spare = this.#handle;
    this.#handle = undefined;
    if (this.#deadline === 0) return;
    // Only a deadline moved past the clock's timer can be ahead (the clock fires timers at
    // their time, or up to half a millisecond early): the clock is read only then.
    if (this.#deadline > this.#armedFor) {
      const now = this.#clock.now();
      const left = this.#deadline - now;
      if (left > 0.5) {
        this.#arm(now, left);
        return;
      }
    }
    this.#deadline = 0;
    this.#expirations++;
    this.#onExpiry(this.#owner, this);
  }
}
