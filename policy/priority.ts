/**
 * Priority (RFC 5356, section 4.5): the PE with the highest priority value is selected first;
 * PEs of equal priority are taken round robin (an advanced PE moves behind the others of its
 * priority).
 *
 * @module
 */

import type { PolicyOf, SelectionPolicy } from "./types.ts";
import { PolicyCode } from "../wire/types.ts";

/**
 * Priority (0x00000005): highest priority first, ties round robin.
 *
 * @example
 * ```ts
 * import { priority } from "@rserpool/rserpool/policy";
 * const s = { degradation: 0, round: 0, turns: 0 };
 * priority.sortKey({ name: "priority", priority: 7 }, s); // -7
 * ```
 */
export const priority: SelectionPolicy<PolicyOf<"priority">> = {
  name: "priority",
  code: PolicyCode["priority"],
  kind: "ordered",
  initialize(): void {},
  reset(): void {},
  sortKey(policy): number {
    return -policy.priority;
  },
  subKey(): number {
    return 0;
  },
  weight(): number {
    return 1;
  },
  advance(): void {},
};
