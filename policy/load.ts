/**
 * Arithmetic on 32-bit load fractions, saturating as RSPLIB does.
 *
 * @module
 */

import { MAX_LOAD } from "./types.ts";

/**
 * The sum of load fractions, limited to `[0, 0xffffffff]`.
 *
 * @example
 * ```ts
 * import { loadSum } from "@rserpool/rserpool/policy";
 * loadSum(0xf0000000, 0x20000000); // 0xffffffff
 * ```
 */
export function loadSum(a: number, b: number, c = 0): number {
  const v = a + b + c;
  return v <= 0 ? 0 : v >= MAX_LOAD ? MAX_LOAD : v;
}

/**
 * The capacity left when the loads given are taken from 100 %, at least 1 (so that a fully
 * loaded PE keeps a small chance: if every PE is fully loaded, selection is uniform).
 *
 * @example
 * ```ts
 * import { loadHeadroom } from "@rserpool/rserpool/policy";
 * loadHeadroom(0xffffffff); // 1
 * loadHeadroom(0); // 0xffffffff
 * ```
 */
export function loadHeadroom(a: number, b = 0, c = 0): number {
  const v = MAX_LOAD - a - b - c;
  return v < 1 ? 1 : v > MAX_LOAD ? MAX_LOAD : v;
}

/**
 * The distance penalty: `distance * dpf`, rounded (`dpf` is a fraction of `0xffffffff` per
 * distance unit, so the penalty is again a fraction of `0xffffffff`).
 *
 * @example
 * ```ts
 * import { distancePenalty } from "@rserpool/rserpool/policy";
 * distancePenalty(10, 0x01000000); // 0x0a000000
 * ```
 */
export function distancePenalty(distance: number, dpf: number): number {
  return Math.round(distance * dpf);
}
