/**
 * A small seeded random source, for reproducible selections in tests and simulations.
 *
 * @module
 */

/**
 * A function returning a float in `[0, 1)`: how randomness is injected into the handlespace.
 *
 * @example
 * ```ts
 * import type { RandomSource } from "@rserpool/rserpool/policy";
 * const random: RandomSource = Math.random;
 * ```
 */
export type RandomSource = () => number;

/**
 * A seeded random source (xoshiro128**, 53-bit floats): the same seed gives the same sequence.
 *
 * @example
 * ```ts
 * import { seededRandom } from "@rserpool/rserpool/policy";
 * const a = seededRandom(42);
 * const b = seededRandom(42);
 * a() === b(); // true
 * ```
 */
export function seededRandom(seed: number): RandomSource {
  // splitmix32 to spread the seed over the state
  let x = seed >>> 0;
  const next32 = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = next32(), s1 = next32(), s2 = next32(), s3 = next32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const u32 = (): number => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  };
  return () => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
