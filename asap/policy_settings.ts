/**
 * A pool element's policy as the API and the CLI state it: loads, load degradations and
 * distance penalty factors as fractions in [0, 1]; weights, priorities and distances as
 * unsigned 32-bit integers. The 32-bit fixed-point fractions of RFC 5356 exist only on the wire
 * ({@linkcode Policy}); {@linkcode policyToWire} and {@linkcode policyFromWire} convert.
 *
 * @module
 */

import { MAX_LOAD } from "../policy/types.ts";
import type { Policy } from "../wire/types.ts";
import { PoolError } from "./errors.ts";

/**
 * A pool member selection policy with its data as a PE states it: the same shape as the wire's
 * {@linkcode Policy}, but `load`, `loadDegradation`, `loadDpf` and `weightDpf` are fractions in
 * [0, 1] (0.25 is 25 % loaded), not multiples of 1/0xffffffff.
 *
 * @example
 * ```ts
 * import type { PolicySettings } from "@rserpool/rserpool";
 * const quarter: PolicySettings = { name: "least-used", load: 0.25 };
 * ```
 */
export type PolicySettings = Policy;

/** The policy fields that are fractions: [0, 1] in the API, 0..0xffffffff on the wire. */
const FRACTIONS = ["load", "loadDegradation", "loadDpf", "weightDpf"] as const;

/** The policy fields that are plain unsigned 32-bit integers. */
const INTEGERS = ["weight", "priority", "distance"] as const;

/**
 * Converts a policy as a PE states it into the wire form: each fraction rounded to the nearest
 * multiple of 1/0xffffffff. Throws {@linkcode PoolError} `invalid` for a fraction outside
 * [0, 1] (a wire value such as 0x40000000 given where a fraction belongs included) or an
 * integer field that is no unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { policyToWire } from "@rserpool/rserpool";
 * import assert from "node:assert/strict";
 * assert.deepEqual(policyToWire({ name: "least-used", load: 0.5 }), {
 *   name: "least-used",
 *   load: 0x80000000,
 * });
 * ```
 */
export function policyToWire(settings: PolicySettings): Policy {
  const out: Record<string, unknown> = { ...settings };
  for (const f of FRACTIONS) {
    if (!(f in settings)) continue;
    const v = (settings as Record<string, unknown>)[f];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new PoolError(
        "invalid",
        `Policy ${settings.name}: ${f} must be a fraction between 0 and 1, not ${String(v)}`,
      );
    }
    out[f] = Math.round(v * MAX_LOAD);
  }
  for (const f of INTEGERS) {
    if (!(f in settings)) continue;
    const v = (settings as Record<string, unknown>)[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new PoolError(
        "invalid",
        `Policy ${settings.name}: ${f} must be an unsigned 32-bit integer, not ${String(v)}`,
      );
    }
  }
  return out as Policy;
}

/**
 * Converts a wire policy into the form a PE states: each 32-bit fraction divided by
 * 0xffffffff. The inverse of {@linkcode policyToWire} up to rounding; useful to show the load
 * of a resolved PE.
 *
 * @example
 * ```ts
 * import { policyFromWire } from "@rserpool/rserpool";
 * import assert from "node:assert/strict";
 * const p = policyFromWire({ name: "least-used", load: 0x40000000 });
 * assert.ok(p.name === "least-used" && Math.abs(p.load - 0.25) < 1e-9);
 * ```
 */
export function policyFromWire(policy: Policy): PolicySettings {
  const out: Record<string, unknown> = { ...policy };
  for (const f of FRACTIONS) {
    if (f in policy) out[f] = (out[f] as number) / MAX_LOAD;
  }
  return out as PolicySettings;
}
