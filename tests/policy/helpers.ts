// Helpers for the policy tests: a handlespace with a fake clock and seeded randomness.

import { Handlespace, type HandlespaceOptions } from "../../handlespace/mod.ts";
import { seededRandom } from "../../policy/mod.ts";
import type { Policy, PoolElementParameter } from "../../wire/types.ts";

export const MAX = 0xffffffff;
export const HANDLE: Uint8Array = new TextEncoder().encode("TestPool");

export function pe(identifier: number, policy: Policy, owner = 1): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: owner,
    registrationLife: -1,
    userTransport: { protocol: "sctp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
    policy,
  };
}

export function pool(
  policies: Policy[],
  options: HandlespaceOptions = {},
): Handlespace {
  const hs = new Handlespace({ clock: () => 0, random: seededRandom(4711), ...options });
  policies.forEach((p, i) => hs.registerPoolElement(HANDLE, pe(i + 1, p)));
  return hs;
}

/** Ids of `rounds` successive resolutions of `k` PEs each. */
export function resolve(hs: Handlespace, rounds: number, k = 1): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rounds; i++) {
    out.push(hs.selectPoolElements(HANDLE, k).map((e) => e.poolElement.identifier));
  }
  return out;
}

/** Counts how often each id is selected first over `draws` resolutions of one PE. */
export function histogram(hs: Handlespace, draws: number, k = 1): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    for (const e of hs.selectPoolElements(HANDLE, k)) {
      const id = e.poolElement.identifier;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Asserts every id's count is within `tolerance` (relative) of its expected share. */
export function assertShares(
  counts: Map<number, number>,
  expected: Map<number, number>,
  draws: number,
  tolerance = 0.02,
): void {
  let total = 0;
  for (const w of expected.values()) total += w;
  for (const [id, w] of expected) {
    const want = draws * w / total;
    const got = counts.get(id) ?? 0;
    if (Math.abs(got - want) > tolerance * want) {
      throw new Error(
        `PE ${id}: ${got} draws, expected ${want.toFixed(0)} +- ${tolerance * 100} %`,
      );
    }
  }
}
