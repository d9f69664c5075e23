/**
 * The interface between a pool member selection policy and the handlespace that runs it.
 *
 * A policy is a small table of pure functions over one PE's policy parameter (as registered)
 * and its {@linkcode SelectionState} (what selection changed since the last registration). The
 * handlespace keeps every pool in one of two kinds of selection set:
 *
 * - `"ordered"`: a set sorted by `(sortKey, subKey, sequence number)`, ascending. A handle
 *   resolution takes the first PEs of the set; the first `maxIncrement` of them are advanced:
 *   they get a new, higher sequence number (so they move behind every PE with the same key)
 *   and the policy's `advance` runs (degradation grows, a weighted round robin turn is used).
 * - `"random"`: a set ordered by PE identifier with subtree sums of `weight`. A handle
 *   resolution draws PEs without replacement, each with a probability proportional to its
 *   weight among the PEs not drawn yet; a PE of weight 0 is never drawn.
 *
 * @module
 */

import type { Policy, PolicyName } from "../wire/types.ts";

/**
 * The largest load, degradation or DPF value: `0xffffffff` stands for 100 %.
 *
 * @example
 * ```ts
 * import { MAX_LOAD } from "@rserpool/rserpool/policy";
 * const half = Math.round(MAX_LOAD / 2); // 50 % loaded
 * ```
 */
export const MAX_LOAD = 0xffffffff;

/**
 * How a policy's selection set is organized: sorted by a key, or sampled by weight.
 *
 * @example
 * ```ts
 * import type { SelectionKind } from "@rserpool/rserpool/policy";
 * const kind: SelectionKind = "ordered";
 * ```
 */
export type SelectionKind = "ordered" | "random";

/**
 * The member of the {@linkcode Policy} union with the given name.
 *
 * @example
 * ```ts
 * import type { PolicyOf } from "@rserpool/rserpool/policy";
 * const p: PolicyOf<"least-used"> = { name: "least-used", load: 0 };
 * ```
 */
export type PolicyOf<N extends PolicyName> = Extract<Policy, { name: N }>;

/**
 * Per-PE state that selections change and a registration resets.
 *
 * @example
 * ```ts
 * import type { SelectionState } from "@rserpool/rserpool/policy";
 * const state: SelectionState = { degradation: 0, round: 0, turns: 1 };
 * ```
 */
export interface SelectionState {
  /** Accumulated load degradation (a fraction of `0xffffffff`), 0 after a registration. */
  degradation: number;
  /** Weighted round robin: the round this PE is in. */
  round: number;
  /** Weighted round robin: turns left in the current round. */
  turns: number;
}

/**
 * One pool member selection policy, as the handlespace uses it. All functions are pure apart
 * from mutating the `state` they are given.
 *
 * @example Reading the sort key of a least used PE
 * ```ts
 * import { selectionPolicy } from "@rserpool/rserpool/policy";
 * const lu = selectionPolicy("least-used");
 * const key = lu.sortKey({ name: "least-used", load: 42 }, { degradation: 0, round: 0, turns: 0 });
 * // key === 42
 * ```
 */
export interface SelectionPolicy<P extends Policy = Policy> {
  /** The policy's name. */
  readonly name: P["name"];
  /** The policy's wire code. */
  readonly code: number;
  /** How its selection set is organized. */
  readonly kind: SelectionKind;
  /**
   * Sets the state of a PE that joins a pool. `currentRound` is the round of the first PE of
   * the selection set (0 in an empty pool).
   */
  initialize(policy: P, state: SelectionState, currentRound: number): void;
  /** Resets the state when the PE registers again (or its policy data is updated). */
  reset(policy: P, state: SelectionState): void;
  /** Ordered policies: the primary sort key, ascending (lower is selected first). */
  sortKey(policy: P, state: SelectionState): number;
  /** Ordered policies: the secondary sort key, ascending. */
  subKey(policy: P, state: SelectionState): number;
  /** Random policies: the weight, an integer in `[0, 0xffffffff]`. */
  weight(policy: P, state: SelectionState): number;
  /** Updates the state of a PE that was selected and advanced. */
  advance(policy: P, state: SelectionState): void;
}
