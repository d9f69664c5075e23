/**
 * Looking up a pool member selection policy by name or wire code.
 *
 * @module
 */

import type { Policy, PolicyName } from "../wire/types.ts";
import { PolicyCode } from "../wire/types.ts";
import type { SelectionPolicy } from "./types.ts";
import { roundRobin, weightedRoundRobin } from "./round_robin.ts";
import { random, weightedRandom, weightedRandomDpf } from "./random.ts";
import { priority } from "./priority.ts";
import {
  leastUsed,
  leastUsedDegradation,
  leastUsedDegradationDpf,
  leastUsedDpf,
  priorityLeastUsed,
  priorityLeastUsedDegradation,
} from "./least_used.ts";
import {
  randomizedLeastUsed,
  randomizedLeastUsedDegradation,
  randomizedPriorityLeastUsed,
  randomizedPriorityLeastUsedDegradation,
} from "./randomized_least_used.ts";

const POLICIES: Readonly<Record<PolicyName, SelectionPolicy>> = {
  "round-robin": roundRobin as SelectionPolicy,
  "weighted-round-robin": weightedRoundRobin as SelectionPolicy,
  "random": random as SelectionPolicy,
  "weighted-random": weightedRandom as SelectionPolicy,
  "priority": priority as SelectionPolicy,
  "least-used": leastUsed as SelectionPolicy,
  "least-used-degradation": leastUsedDegradation as SelectionPolicy,
  "priority-least-used": priorityLeastUsed as SelectionPolicy,
  "randomized-least-used": randomizedLeastUsed as SelectionPolicy,
  "randomized-priority-least-used": randomizedPriorityLeastUsed as SelectionPolicy,
  "randomized-least-used-degradation": randomizedLeastUsedDegradation as SelectionPolicy,
  "priority-least-used-degradation": priorityLeastUsedDegradation as SelectionPolicy,
  "randomized-priority-least-used-degradation":
    randomizedPriorityLeastUsedDegradation as SelectionPolicy,
  "weighted-random-dpf": weightedRandomDpf as SelectionPolicy,
  "least-used-dpf": leastUsedDpf as SelectionPolicy,
  "least-used-degradation-dpf": leastUsedDegradationDpf as SelectionPolicy,
};

const NAMES_BY_CODE = new Map<number, PolicyName>(
  (Object.keys(PolicyCode) as PolicyName[]).map((name) => [PolicyCode[name], name]),
);

/**
 * The selection policy of a name, or `undefined` for a name this module does not know.
 *
 * @example
 * ```ts
 * import { selectionPolicy } from "@rserpool/rserpool/policy";
 * selectionPolicy("random")?.kind; // "random"
 * ```
 */
export function selectionPolicy(name: PolicyName): SelectionPolicy;
/** The selection policy of a name, or `undefined` for an unknown name. */
export function selectionPolicy(name: string): SelectionPolicy | undefined;
export function selectionPolicy(name: string): SelectionPolicy | undefined {
  return Object.hasOwn(POLICIES, name) ? POLICIES[name as PolicyName] : undefined;
}

/**
 * The policy name of a wire code, or `undefined` for an unknown code.
 *
 * @example
 * ```ts
 * import { policyNameOf } from "@rserpool/rserpool/policy";
 * policyNameOf(0x40000001); // "least-used"
 * ```
 */
export function policyNameOf(code: number): PolicyName | undefined {
  return NAMES_BY_CODE.get(code);
}

/**
 * All policies this module implements, in wire code order of the table in RFC 5356 then RSPLIB.
 *
 * @example
 * ```ts
 * import { selectionPolicies } from "@rserpool/rserpool/policy";
 * selectionPolicies().length; // 16
 * ```
 */
export function selectionPolicies(): SelectionPolicy[] {
  return Object.values(POLICIES);
}

/**
 * Whether two policy parameters carry the same policy data (all fields equal).
 *
 * @example
 * ```ts
 * import { samePolicy } from "@rserpool/rserpool/policy";
 * samePolicy({ name: "least-used", load: 1 }, { name: "least-used", load: 2 }); // false
 * ```
 */
export function samePolicy(a: Policy, b: Policy): boolean {
  if (a.name !== b.name) return false;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const key of Object.keys(ra)) {
    if (ra[key] !== rb[key]) return false;
  }
  return Object.keys(rb).length === Object.keys(ra).length;
}
