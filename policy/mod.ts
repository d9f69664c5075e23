/**
 * Pool member selection policies: the nine of RFC 5356 and RSPLIB's seven extensions, as small
 * tables of pure functions that the handlespace runs (see {@linkcode SelectionPolicy}).
 *
 * @example Looking up a policy
 * ```ts
 * import { policyNameOf, selectionPolicy } from "@rserpool/rserpool/policy";
 * const name = policyNameOf(0x40000001); // "least-used"
 * selectionPolicy(name!).kind; // "ordered"
 * ```
 *
 * @module
 */

export { MAX_LOAD } from "./types.ts";
export type { PolicyOf, SelectionKind, SelectionPolicy, SelectionState } from "./types.ts";
export { distancePenalty, loadHeadroom, loadSum } from "./load.ts";
export { roundRobin, weightedRoundRobin } from "./round_robin.ts";
export { random, weightedRandom, weightedRandomDpf } from "./random.ts";
export { priority } from "./priority.ts";
export {
  leastUsed,
  leastUsedDegradation,
  leastUsedDegradationDpf,
  leastUsedDpf,
  priorityLeastUsed,
  priorityLeastUsedDegradation,
} from "./least_used.ts";
export {
  randomizedLeastUsed,
  randomizedLeastUsedDegradation,
  randomizedPriorityLeastUsed,
  randomizedPriorityLeastUsedDegradation,
} from "./randomized_least_used.ts";
export { policyNameOf, samePolicy, selectionPolicies, selectionPolicy } from "./registry.ts";
export { type RandomSource, seededRandom } from "./random_source.ts";
export { type Policy, PolicyCode, type PolicyName } from "../wire/types.ts";
