/**
 * Random, Weighted Random (RFC 5356, sections 4.3 and 4.4) and RSPLIB's Weighted Random with
 * Distance Penalty Factor.
 *
 * Several PEs in one resolution are drawn without replacement. Weights:
 * - random: 1 for every PE (uniform);
 * - weighted random: `weight` (a PE of weight 0 is never selected);
 * - weighted random DPF: `weight - round(weight * distance * weightDpf / 0xffffffff)`, at least
 *   1 for a PE of positive weight (distance never excludes a PE; weight 0 still does).
 *   `distance` is the one in the PE's policy parameter: the caller that registers the PE
 *   (the registrar) fills it in.
 *
 * @module
 */

import type { PolicyOf, SelectionPolicy } from "./types.ts";
import { MAX_LOAD } from "./types.ts";
import { PolicyCode } from "../wire/types.ts";

function zero(): number {
  return 0;
}

function noop(): void {}

/**
 * Random (0x00000003): uniform.
 *
 * @example
 * ```ts
 * import { random } from "@rserpool/rserpool/policy";
 * random.kind; // "random"
 * ```
 */
export const random: SelectionPolicy<PolicyOf<"random">> = {
  name: "random",
  code: PolicyCode["random"],
  kind: "random",
  initialize: noop,
  reset: noop,
  sortKey: zero,
  subKey: zero,
  weight(): number {
    return 1;
  },
  advance: noop,
};

function clampWeight(w: number): number {
  return w <= 0 ? 0 : w >= MAX_LOAD ? MAX_LOAD : Math.floor(w);
}

/**
 * Weighted Random (0x00000004): probability proportional to `weight`.
 *
 * @example
 * ```ts
 * import { weightedRandom } from "@rserpool/rserpool/policy";
 * const s = { degradation: 0, round: 0, turns: 0 };
 * weightedRandom.weight({ name: "weighted-random", weight: 3 }, s); // 3
 * ```
 */
export const weightedRandom: SelectionPolicy<PolicyOf<"weighted-random">> = {
  name: "weighted-random",
  code: PolicyCode["weighted-random"],
  kind: "random",
  initialize: noop,
  reset: noop,
  sortKey: zero,
  subKey: zero,
  weight(policy): number {
    return clampWeight(policy.weight);
  },
  advance: noop,
};

/**
 * Weighted Random with Distance Penalty Factor (RSPLIB, 0xb0002001): the weight reduced by
 * `weight * distance * weightDpf / 0xffffffff`, at least 1.
 *
 * @example
 * ```ts
 * import { weightedRandomDpf } from "@rserpool/rserpool/policy";
 * const s = { degradation: 0, round: 0, turns: 0 };
 * const p = { name: "weighted-random-dpf", weight: 1000, weightDpf: 0x0147ae14, distance: 10 } as const;
 * weightedRandomDpf.weight(p, s); // 1000 - 50 = 950 (0.5 % per distance unit)
 * ```
 */
export const weightedRandomDpf: SelectionPolicy<PolicyOf<"weighted-random-dpf">> = {
  name: "weighted-random-dpf",
  code: PolicyCode["weighted-random-dpf"],
  kind: "random",
  initialize: noop,
  reset: noop,
  sortKey: zero,
  subKey: zero,
  weight(policy): number {
    const weight = clampWeight(policy.weight);
    if (weight === 0) return 0;
    const w = weight - Math.round(weight * policy.distance * policy.weightDpf / MAX_LOAD);
    return w < 1 ? 1 : w;
  },
  advance: noop,
};
