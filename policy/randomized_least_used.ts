/**
 * The randomized least used family: Randomized Least Used (RFC 5356, section 4.9) and RSPLIB's
 * three randomized variants.
 *
 * Each draws PEs at random (without replacement within one resolution) with a probability
 * proportional to the capacity left, `0xffffffff - x`, at least 1 (so if every PE is fully
 * loaded, selection is uniform), where x (saturating) is:
 *
 * | Policy | x |
 * |---|---|
 * | randomized-least-used | `load` |
 * | randomized-priority-least-used | `load + loadDegradation` (fixed offset) |
 * | randomized-least-used-degradation | `load + degradation` |
 * | randomized-priority-least-used-degradation | `load + loadDegradation + degradation` |
 *
 * `degradation` is the accumulated degradation: it grows by `loadDegradation` each time the PE
 * is advanced by a selection (the first max-increment PEs of a resolution) and is reset to 0 by
 * a registration. (RSPLIB's code as read recomputes the weight from the degradation but never
 * grows it for the randomized variants; this module grows it, as the degradation variants of
 * least used do.) The wire type of randomized-priority-least-used has only a load field, so its
 * offset is 0 there unless a `loadDegradation` field is present.
 *
 * @module
 */

import type { PolicyOf, SelectionPolicy, SelectionState } from "./types.ts";
import { loadHeadroom, loadSum } from "./load.ts";
import { PolicyCode } from "../wire/types.ts";

function zero(): number {
  return 0;
}

function noop(): void {}

function resetDegradation(_policy: unknown, state: SelectionState): void {
  state.degradation = 0;
}

function degrade(policy: { loadDegradation: number }, state: SelectionState): void {
  state.degradation = loadSum(state.degradation, policy.loadDegradation);
}

/**
 * Randomized Least Used (0x40000004): probability proportional to `1 - load`.
 *
 * @example
 * ```ts
 * import { randomizedLeastUsed } from "@rserpool/rserpool/policy";
 * const s = { degradation: 0, round: 0, turns: 0 };
 * randomizedLeastUsed.weight({ name: "randomized-least-used", load: 0xffffffff }, s); // 1
 * ```
 */
export const randomizedLeastUsed: SelectionPolicy<PolicyOf<"randomized-least-used">> = {
  name: "randomized-least-used",
  code: PolicyCode["randomized-least-used"],
  kind: "random",
  initialize: noop,
  reset: noop,
  sortKey: zero,
  subKey: zero,
  weight(policy): number {
    return loadHeadroom(policy.load);
  },
  advance: noop,
};

/**
 * Randomized Priority Least Used (RSPLIB, 0xb0001001): probability proportional to
 * `1 - (load + loadDegradation)`.
 *
 * @example
 * ```ts
 * import { randomizedPriorityLeastUsed } from "@rserpool/rserpool/policy";
 * const s = { degradation: 0, round: 0, turns: 0 };
 * randomizedPriorityLeastUsed.weight({ name: "randomized-priority-least-used", load: 0 }, s);
 * // 0xffffffff
 * ```
 */
export const randomizedPriorityLeastUsed: SelectionPolicy<
  PolicyOf<"randomized-priority-least-used">
> = {
  name: "randomized-priority-least-used",
  code: PolicyCode["randomized-priority-least-used"],
  kind: "random",
  initialize: noop,
  reset: noop,
  sortKey: zero,
  subKey: zero,
  weight(policy): number {
    const offset = (policy as { loadDegradation?: number }).loadDegradation ?? 0;
    return loadHeadroom(policy.load, offset);
  },
  advance: noop,
};

/**
 * Randomized Least Used with Degradation (RSPLIB, 0xb0001002): probability proportional to
 * `1 - (load + accumulated degradation)`.
 *
 * @example
 * ```ts
 * import { randomizedLeastUsedDegradation } from "@rserpool/rserpool/policy";
 * const p = { name: "randomized-least-used-degradation", load: 0, loadDegradation: 5 } as const;
 * const s = { degradation: 0, round: 0, turns: 0 };
 * randomizedLeastUsedDegradation.advance(p, s);
 * randomizedLeastUsedDegradation.weight(p, s); // 0xffffffff - 5
 * ```
 */
export const randomizedLeastUsedDegradation: SelectionPolicy<
  PolicyOf<"randomized-least-used-degradation">
> = {
  name: "randomized-least-used-degradation",
  code: PolicyCode["randomized-least-used-degradation"],
  kind: "random",
  initialize: resetDegradation,
  reset: resetDegradation,
  sortKey: zero,
  subKey: zero,
  weight(policy, state: SelectionState): number {
    return loadHeadroom(policy.load, state.degradation);
  },
  advance: degrade,
};

/**
 * Randomized Priority Least Used with Degradation (RSPLIB, 0xb0001004): probability
 * proportional to `1 - (load + loadDegradation + accumulated degradation)`.
 *
 * @example
 * ```ts
 * import { randomizedPriorityLeastUsedDegradation } from "@rserpool/rserpool/policy";
 * const p = {
 *   name: "randomized-priority-least-used-degradation",
 *   load: 0,
 *   loadDegradation: 5,
 * } as const;
 * const s = { degradation: 0, round: 0, turns: 0 };
 * randomizedPriorityLeastUsedDegradation.weight(p, s); // 0xffffffff - 5
 * ```
 */
export const randomizedPriorityLeastUsedDegradation: SelectionPolicy<
  PolicyOf<"randomized-priority-least-used-degradation">
> = {
  name: "randomized-priority-least-used-degradation",
  code: PolicyCode["randomized-priority-least-used-degradation"],
  kind: "random",
  initialize: resetDegradation,
  reset: resetDegradation,
  sortKey: zero,
  subKey: zero,
  weight(policy, state: SelectionState): number {
    return loadHeadroom(policy.load, policy.loadDegradation, state.degradation);
  },
  advance: degrade,
};
