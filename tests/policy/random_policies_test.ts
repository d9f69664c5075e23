// Seeded statistical tests (100,000 draws, within 2 % of the expected share) and exact tests
// with a scripted random source for the random policies.

import assert from "node:assert/strict";
import { assertShares, HANDLE, histogram, MAX, pe, pool, resolve } from "./helpers.ts";
import type { Policy } from "../../wire/types.ts";

const DRAWS = 100_000;

function scripted(values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error("script exhausted");
    return values[i++];
  };
}

Deno.test("random is uniform", () => {
  const r: Policy = { name: "random" };
  const hs = pool([r, r, r, r, r]);
  const counts = histogram(hs, DRAWS);
  assertShares(counts, new Map([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]), DRAWS);
});

Deno.test("random draws distinct PEs within one resolution", () => {
  const r: Policy = { name: "random" };
  const hs = pool([r, r, r, r]);
  for (const ids of resolve(hs, 1000, 3)) assert.equal(new Set(ids).size, 3);
  assert.deepEqual(resolve(hs, 1, 10)[0].toSorted(), [1, 2, 3, 4]);
});

Deno.test("weighted random is proportional to the weights", () => {
  const hs = pool([
    { name: "weighted-random", weight: 2 },
    { name: "weighted-random", weight: 3 },
    { name: "weighted-random", weight: 5 },
    { name: "weighted-random", weight: 0 },
  ]);
  const counts = histogram(hs, DRAWS);
  assertShares(counts, new Map([[1, 2], [2, 3], [3, 5]]), DRAWS);
  assert.equal(counts.get(4), undefined, "weight 0 is never selected");
});

Deno.test("weighted random: second draw of a resolution excludes the first", () => {
  // Weights 1 and 1,000,000: the heavy PE is first almost always, the light one second
  const hs = pool([
    { name: "weighted-random", weight: 1 },
    { name: "weighted-random", weight: 1_000_000 },
  ]);
  const seconds = resolve(hs, 100, 2).map((ids) => ids[1]);
  assert.ok(seconds.filter((id) => id === 1).length >= 99);
});

Deno.test("weighted random: a pool of weight-0 PEs resolves to nothing", () => {
  const hs = pool([{ name: "weighted-random", weight: 0 }]);
  assert.deepEqual(resolve(hs, 1, 3), [[]]);
});

Deno.test("weighted random with distance penalty: weight reduced by distance times DPF", () => {
  const onePercent = Math.round(MAX / 100);
  const hs = pool([
    { name: "weighted-random-dpf", weight: 1000, weightDpf: onePercent, distance: 0 },
    { name: "weighted-random-dpf", weight: 1000, weightDpf: onePercent, distance: 50 }, // 500
    { name: "weighted-random-dpf", weight: 1000, weightDpf: onePercent, distance: 500 }, // 1
  ]);
  const counts = histogram(hs, DRAWS);
  assertShares(counts, new Map([[1, 1000], [2, 500]]), DRAWS);
  assert.ok((counts.get(3) ?? 0) < 200, "a far PE keeps weight 1");
});

Deno.test("randomized least used follows 1 - load", () => {
  const hs = pool([
    { name: "randomized-least-used", load: 0 },
    { name: "randomized-least-used", load: Math.round(MAX / 2) },
    { name: "randomized-least-used", load: Math.round(MAX * 3 / 4) },
  ]);
  assertShares(histogram(hs, DRAWS), new Map([[1, 4], [2, 2], [3, 1]]), DRAWS);
});

Deno.test("randomized least used: all fully loaded is uniform", () => {
  const full: Policy = { name: "randomized-least-used", load: MAX };
  const hs = pool([full, full, full]);
  assertShares(histogram(hs, DRAWS), new Map([[1, 1], [2, 1], [3, 1]]), DRAWS);
});

Deno.test("randomized priority least used follows 1 - load", () => {
  const hs = pool([
    { name: "randomized-priority-least-used", load: Math.round(MAX / 4) },
    { name: "randomized-priority-least-used", load: Math.round(MAX / 2) },
  ]);
  assertShares(histogram(hs, DRAWS), new Map([[1, 3], [2, 2]]), DRAWS);
});

Deno.test("randomized least used with degradation: weight drops per selection, resets", () => {
  const p: Policy = {
    name: "randomized-least-used-degradation",
    load: 0,
    loadDegradation: 0x80000000,
  };
  const hs = pool([p, p], { random: scripted([0.49, 0.49, 0.49, 0, 0.5, 0.4]) });
  const deg = () => [1, 2].map((id) => hs.getPoolElement(HANDLE, id)!.degradation);
  // Equal weights: 0.49 of the total falls on PE 1, which then has half the weight
  assert.deepEqual(resolve(hs, 1).flat(), [1]);
  assert.deepEqual(deg(), [0x80000000, 0]);
  // Total 1.5: 0.49 of it lies past PE 1's half
  assert.deepEqual(resolve(hs, 1).flat(), [2]);
  assert.deepEqual(deg(), [0x80000000, 0x80000000]);
  assert.deepEqual(resolve(hs, 1).flat(), [1]);
  assert.deepEqual(deg(), [MAX, 0x80000000]); // saturated: weight 1
  assert.deepEqual(resolve(hs, 1).flat(), [1]); // r = 0 is PE 1's single unit
  assert.deepEqual(resolve(hs, 1).flat(), [2]);
  hs.registerPoolElement(HANDLE, pe(1, p));
  assert.deepEqual(deg(), [0, MAX]);
  assert.deepEqual(resolve(hs, 1).flat(), [1]);
});

Deno.test("randomized priority least used with degradation: offset plus accumulation", () => {
  const hs = pool([
    { name: "randomized-priority-least-used-degradation", load: 0, loadDegradation: 0x40000000 },
    { name: "randomized-priority-least-used-degradation", load: 0x40000000, loadDegradation: 0 },
  ]);
  // Both start at weight 0.75; PE 2 never degrades, PE 1 loses 0.25 per selection
  const counts = histogram(hs, DRAWS);
  assert.equal(hs.getPoolElement(HANDLE, 2)!.degradation, 0);
  assert.ok(hs.getPoolElement(HANDLE, 1)!.degradation > 0);
  // PE 1 reaches weight 1 (of 2^32) after 3 selections and stays there
  assert.ok((counts.get(1) ?? 0) < 20, `PE 1 selected ${counts.get(1)} times`);
});
