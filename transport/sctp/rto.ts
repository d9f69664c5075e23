/**
 * Retransmission timeout of one destination (RFC 9260, 6.3.1 and 6.3.3): smoothed round-trip
 * time, its variation, the RTO derived from them within RTO.Min and RTO.Max, and the backoff
 * that doubles it when a timer expires.
 *
 * @module
 */

/** Bounds of the retransmission timeout, in milliseconds. */
export interface RtoBounds {
  /** RTO before the first measurement (RTO.Initial). */
  rtoInitial: number;
  /** Smallest RTO (RTO.Min). */
  rtoMin: number;
  /** Largest RTO (RTO.Max). */
  rtoMax: number;
}

/**
 * The RTO of one destination.
 *
 * @example
 * ```ts
 * import { RtoEstimator } from "./rto.ts";
 * const rto = new RtoEstimator({ rtoInitial: 1000, rtoMin: 100, rtoMax: 5000 });
 * rto.measure(200); // SRTT 200, RTTVAR 100: RTO 600
 * rto.backoff(); // a timer expired: RTO 1200
 * ```
 */
export class RtoEstimator {
  #bounds: RtoBounds;
  #srtt = 0;
  #rttvar = 0;
  #rto: number;
  #samples = 0;

  /** An estimator without measurements: its RTO is RTO.Initial. */
  constructor(bounds: RtoBounds) {
    this.#bounds = bounds;
    this.#rto = bounds.rtoInitial;
  }

  /** The retransmission timeout now (ms). */
  get rto(): number {
    return this.#rto;
  }

  /** The smoothed round-trip time (ms; 0 before the first measurement). */
  get srtt(): number {
    return this.#srtt;
  }

  /** The round-trip time variation (ms). */
  get rttvar(): number {
    return this.#rttvar;
  }

  /** Round-trip measurements taken. */
  get samples(): number {
    return this.#samples;
  }

  /** Takes one round-trip measurement `r` (ms): rules C1 to C3 of RFC 9260, 6.3.1. */
  measure(r: number): void {
    if (this.#samples === 0) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    this.#samples++;
    const { rtoMin, rtoMax } = this.#bounds;
    this.#rto = Math.min(rtoMax, Math.max(rtoMin, this.#srtt + 4 * this.#rttvar));
  }

  /** A timer expired: the RTO doubles, up to RTO.Max (RFC 9260, 6.3.3 E2). */
  backoff(): void {
    this.#rto = Math.min(this.#rto * 2, this.#bounds.rtoMax);
  }
}
