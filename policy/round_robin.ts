/**
 * Round Robin and Weighted Round Robin (RFC 5356, sections 4.1 and 4.2).
 *
 * Round robin: the selection set is ordered by sequence number only; an advanced PE gets a new,
 * higher sequence number and so moves to the end: PEs are taken in turn.
 *
 * Weighted round robin (RSPLIB's rule): the set is ordered by `(round, turns left, sequence)`.
 * A PE joins in the round of the first PE of the set with `weight` turns. Each time it is
 * advanced it uses a turn; after its last turn it moves to the next round with `weight` turns
 * again. So within a round every PE is selected `weight` times in a row (with one PE per
 * resolution, or a max-increment of 1), PEs with fewer turns left first. A weight of 0 counts
 * as 1. A re-registration keeps the round and limits the turns left to the new weight.
 *
 * @module
 */

import type { PolicyOf, SelectionPolicy, SelectionState } from "./types.ts";
import { PolicyCode } from "../wire/types.ts";

/**
 * Round Robin (0x00000001): PEs in turn.
 *
 * @example
 * ```ts
 * import { roundRobin } from "@rserpool/rserpool/policy";
 * roundRobin.kind; // "ordered"
 * ```
 */
export const roundRobin: SelectionPolicy<PolicyOf<"round-robin">> = {
  name: "round-robin",
  code: PolicyCode["round-robin"],
  kind: "ordered",
  initialize(): void {},
  reset(): void {},
  sortKey(): number {
    return 0;
  },
  subKey(): number {
    return 0;
  },
  weight(): number {
    return 1;
  },
  advance(): void {},
};

function turnsOf(weight: number): number {
  return weight < 1 ? 1 : weight;
}

/**
 * Weighted Round Robin (0x00000002): `weight` consecutive turns per round.
 *
 * @example
 * ```ts
 * import { weightedRoundRobin } from "@rserpool/rserpool/policy";
 * const state = { degradation: 0, round: 0, turns: 0 };
 * weightedRoundRobin.initialize({ name: "weighted-round-robin", weight: 2 }, state, 5);
 * // state.round === 5, state.turns === 2
 * ```
 */
export const weightedRoundRobin: SelectionPolicy<PolicyOf<"weighted-round-robin">> = {
  name: "weighted-round-robin",
  code: PolicyCode["weighted-round-robin"],
  kind: "ordered",
  initialize(policy, state: SelectionState, currentRound: number): void {
    state.round = currentRound;
    state.turns = turnsOf(policy.weight);
  },
  reset(policy, state: SelectionState): void {
    const turns = turnsOf(policy.weight);
    if (state.turns > turns) state.turns = turns;
  },
  sortKey(_policy, state: SelectionState): number {
    return state.round;
  },
  subKey(_policy, state: SelectionState): number {
    return state.turns;
  },
  weight(): number {
    return 1;
  },
  advance(policy, state: SelectionState): void {
    if (state.turns > 1) {
      state.turns--;
    } else {
      state.round++;
      state.turns = turnsOf(policy.weight);
    }
  },
};
