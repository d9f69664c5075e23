/**
 * A token bucket: at most `rate` events per second on average, `burst` at once.
 *
 * @module
 */

/**
 * Limits of a {@linkcode TokenBucket}.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@rserpool/rserpool/registrar";
 * const limit: RateLimit = { rate: 100, burst: 200 };
 * ```
 */
export interface RateLimit {
  /** Events per second on average. */
  rate: number;
  /** Events allowed at once (the bucket size). */
  burst: number;
}

/**
 * A token bucket on an injected clock (ms).
 *
 * @example
 * ```ts
 * import { TokenBucket } from "@rserpool/rserpool/registrar";
 * let now = 0;
 * const bucket = new TokenBucket({ rate: 1, burst: 2 }, () => now);
 * [bucket.take(), bucket.take(), bucket.take()]; // [true, true, false]
 * now = 1000;
 * bucket.take(); // true
 * ```
 */
export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #limit: RateLimit;
  readonly #clock: () => number;

  /** A full bucket. */
  constructor(limit: RateLimit, clock: () => number) {
    this.#limit = limit;
    this.#clock = clock;
    this.#tokens = limit.burst;
    this.#last = clock();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.#clock();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + (elapsed * this.#limit.rate) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
