/**
 * The least used family: Least Used, Least Used with Degradation, Priority Least Used
 * (RFC 5356, sections 4.6-4.8) and RSPLIB's Priority Least Used with Degradation and the two
 * Distance Penalty Factor variants.
 *
 * Each orders its selection set by a key (lowest first, all sums saturating at `0xffffffff`);
 * PEs of equal key are taken round robin: an advanced PE gets a new sequence number and moves
 * behind the others of its key.
 *
 * | Policy | Key |
 * |---|---|
 * | least-used | `load` |
 * | least-used-degradation | `load + degradation` |
 * | priority-least-used | `load + loadDegradation` (a fixed offset) |
 * | priority-least-used-degradation | `load + loadDegradation + degradation` |
 * | least-used-dpf | `load + distance * loadDpf` |
 * | least-used-degradation-dpf | `load + degradation + distance * loadDpf` |
 *
 * `degradation` is the accumulated degradation: it grows by `loadDegradation` each time the PE
 * is advanced by a selection and is reset to 0 when the PE registers again. `distance` is the one
 * in the PE's policy parameter, filled in by whoever registers the PE (the registrar).
 *
 * @module
 */

import type { PolicyOf, SelectionPolicy, SelectionState } from "./types.ts";
import { distancePenalty, loadSum } from "./load.ts";
import { PolicyCode } from "../wire/types.ts";

function zero(): number {
  return 0;
}

function one(): number {
  return 1;
}

function noop(): void {}

function resetDegradation(_policy: unknown, state: SelectionState): void {
  state.degradation = 0;
}

function degrade(policy: { loadDegradation: number }, state: SelectionState): void {
  state.degradation = loadSum(state.degradation, policy.loadDegradation);
}

/**
 * Least Used (0x40000001): lowest load first, ties round robin.
 *
 * @example
 * ```ts
 * import { leastUsed } from "@rserpool/rserpool/policy";
 * leastUsed.sortKey({ name: "least-used", load: 7 }, { degradation: 0, round: 0, turns: 0 }); // 7
 * ```
 */
export const leastUsed: SelectionPolicy<PolicyOf<"least-used">> = {
  name: "least-used",
  code: PolicyCode["least-used"],
  kind: "ordered",
  initialize: noop,
  reset: noop,
  sortKey(policy): number {
    return policy.load;
  },
  subKey: zero,
  weight: one,
  advance: noop,
};

/**
 * Least Used with Degradation (0x40000002): lowest `load + accumulated degradation` first.
 *
 * @example
 * ```ts
 * import { leastUsedDegradation } from "@rserpool/rserpool/policy";
 * const p = { name: "least-used-degradation", load: 10, loadDegradation: 5 } as const;
 * const s = { degradation: 0, round: 0, turns: 0 };
 * leastUsedDegradation.advance(p, s);
 * leastUsedDegradation.sortKey(p, s); // 15
 * ```
 */
export const leastUsedDegradation: SelectionPolicy<PolicyOf<"least-used-degradation">> = {
  name: "least-used-degradation",
  code: PolicyCode["least-used-degradation"],
  kind: "ordered",
  initialize: resetDegradation,
  reset: resetDegradation,
  sortKey(policy, state: SelectionState): number {
    return loadSum(policy.load, state.degradation);
  },
  subKey: zero,
  weight: one,
  advance: degrade,
};

/**
 * Priority Least Used (0x40000003): lowest `load + loadDegradation` first (the degradation is a
 * fixed offset that does not grow).
 *
 * @example
 * ```ts
 * import { priorityLeastUsed } from "@rserpool/rserpool/policy";
 * const p = { name: "priority-least-used", load: 10, loadDegradation: 5 } as const;
 * priorityLeastUsed.sortKey(p, { degradation: 0, round: 0, turns: 0 }); // 15
 * ```
 */
export const priorityLeastUsed: SelectionPolicy<PolicyOf<"priority-least-used">> = {
  name: "priority-least-used",
  code: PolicyCode["priority-least-used"],
  kind: "ordered",
  initialize: noop,
  reset: noop,
  sortKey(policy): number {
    return loadSum(policy.load, policy.loadDegradation);
  },
  subKey: zero,
  weight: one,
  advance: noop,
};

/**
 * Priority Least Used with Degradation (RSPLIB, 0xb0001003): lowest
 * `load + loadDegradation + accumulated degradation` first.
 *
 * @example
 * ```ts
 * import { priorityLeastUsedDegradation } from "@rserpool/rserpool/policy";
 * const p = { name: "priority-least-used-degradation", load: 10, loadDegradation: 5 } as const;
 * const s = { degradation: 0, round: 0, turns: 0 };
 * priorityLeastUsedDegradation.advance(p, s);
 * priorityLeastUsedDegradation.sortKey(p, s); // 20
 * ```
 */
export const priorityLeastUsedDegradation: SelectionPolicy<
  PolicyOf<"priority-least-used-degradation">
> = {
  name: "priority-least-used-degradation",
  code: PolicyCode["priority-least-used-degradation"],
  kind: "ordered",
  initialize: resetDegradation,
  reset: resetDegradation,
  sortKey(policy, state: SelectionState): number {
    return loadSum(policy.load, policy.loadDegradation, state.degradation);
  },
  subKey: zero,
  weight: one,
  advance: degrade,
};

/**
 * Least Used with Distance Penalty Factor (RSPLIB, 0xb0002002): lowest
 * `load + distance * loadDpf` first.
 *
 * @example
 * ```ts
 * import { leastUsedDpf } from "@rserpool/rserpool/policy";
 * const p = { name: "least-used-dpf", load: 100, loadDpf: 2, distance: 30 } as const;
 * leastUsedDpf.sortKey(p, { degradation: 0, round: 0, turns: 0 }); // 160
 * ```
 */
export const leastUsedDpf: SelectionPolicy<PolicyOf<"least-used-dpf">> = {
  name: "least-used-dpf",
  code: PolicyCode["least-used-dpf"],
  kind: "ordered",
  initialize: noop,
  reset: noop,
  sortKey(policy): number {
    return loadSum(policy.load, distancePenalty(policy.distance, policy.loadDpf));
  },
  subKey: zero,
  weight: one,
  advance: noop,
};

/**
 * Least Used with Degradation and Distance Penalty Factor (RSPLIB, 0xb0002003): lowest
 * `load + accumulated degradation + distance * loadDpf` first.
 *
 * @example
 * ```ts
 * import { leastUsedDegradationDpf } from "@rserpool/rserpool/policy";
 * const p = {
 *   name: "least-used-degradation-dpf",
 *   load: 100,
 *   loadDegradation: 10,
 *   loadDpf: 2,
 *   distance: 30,
 * } as const;
 * leastUsedDegradationDpf.sortKey(p, { degradation: 10, round: 0, turns: 0 }); // 170
 * ```
 */
export const leastUsedDegradationDpf: SelectionPolicy<PolicyOf<"least-used-degradation-dpf">> = {
  name: "least-used-degradation-dpf",
  code: PolicyCode["least-used-degradation-dpf"],
  kind: "ordered",
  initialize: resetDegradation,
  reset: resetDegradation,
  sortKey(policy, state: SelectionState): number {
    return loadSum(
      policy.load,
      state.degradation,
      distancePenalty(policy.distance, policy.loadDpf),
    );
  },
  subKey: zero,
  weight: one,
  advance: degrade,
};
