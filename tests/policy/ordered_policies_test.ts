// Exact tests of the ordered policies: round robin, weighted round robin, priority and the
// least used family, including ties, degradation and the max-increment option.

import assert from "node:assert/strict";
import { HANDLE, pe, pool, resolve } from "./helpers.ts";
import type { Policy } from "../../wire/types.ts";

const rr: Policy = { name: "round-robin" };

Deno.test("round robin cycles exactly, one PE per resolution", () => {
  const hs = pool([rr, rr, rr, rr]);
  assert.deepEqual(resolve(hs, 9).flat(), [1, 2, 3, 4, 1, 2, 3, 4, 1]);
});

Deno.test("round robin with 3 PEs per resolution advances one PE (max-increment 1)", () => {
  const hs = pool([rr, rr, rr, rr]);
  assert.deepEqual(resolve(hs, 5, 3), [[1, 2, 3], [2, 3, 4], [3, 4, 1], [4, 1, 2], [1, 2, 3]]);
});

Deno.test("round robin with max-increment 0 advances every selected PE", () => {
  const hs = pool([rr, rr, rr, rr], { maxIncrement: 0 });
  assert.deepEqual(resolve(hs, 4, 3), [[1, 2, 3], [4, 1, 2], [3, 4, 1], [2, 3, 4]]);
});

Deno.test("round robin with max-increment 2, and a per-selection override", () => {
  const hs = pool([rr, rr, rr, rr, rr], { maxIncrement: 2 });
  assert.deepEqual(resolve(hs, 3, 2), [[1, 2], [3, 4], [5, 1]]);
  const ids = hs.selectPoolElements(HANDLE, 3, { maxIncrement: 1 }).map((e) =>
    e.poolElement.identifier
  );
  assert.deepEqual(ids, [2, 3, 4]);
  assert.deepEqual(resolve(hs, 1, 1), [[3]]);
});

Deno.test("round robin: a new PE joins at the end of the cycle", () => {
  const hs = pool([rr, rr, rr]);
  assert.deepEqual(resolve(hs, 1).flat(), [1]);
  hs.registerPoolElement(HANDLE, pe(9, rr));
  assert.deepEqual(resolve(hs, 5).flat(), [2, 3, 1, 9, 2]);
});

Deno.test("weighted round robin gives each PE weight consecutive turns per round", () => {
  const hs = pool([
    { name: "weighted-round-robin", weight: 3 },
    { name: "weighted-round-robin", weight: 1 },
    { name: "weighted-round-robin", weight: 2 },
  ]);
  const seq = resolve(hs, 18).flat();
  assert.deepEqual(seq.slice(0, 12), [2, 3, 3, 1, 1, 1, 2, 3, 3, 1, 1, 1]);
  const counts = [1, 2, 3].map((id) => seq.filter((x) => x === id).length);
  assert.deepEqual(counts, [9, 3, 6]);
});

Deno.test("weighted round robin: a PE joining mid-round joins the current round", () => {
  const hs = pool([
    { name: "weighted-round-robin", weight: 2 },
    { name: "weighted-round-robin", weight: 2 },
  ]);
  assert.deepEqual(resolve(hs, 5).flat(), [1, 1, 2, 2, 1]);
  hs.registerPoolElement(HANDLE, pe(3, { name: "weighted-round-robin", weight: 1 }));
  // Round 1: PE 1 has one turn left, PE 3 joins with one turn, then PE 2
  assert.deepEqual(resolve(hs, 4).flat(), [1, 3, 2, 2]);
});

Deno.test("priority: highest priority first, ties round robin", () => {
  const hs = pool([
    { name: "priority", priority: 1 },
    { name: "priority", priority: 5 },
    { name: "priority", priority: 5 },
    { name: "priority", priority: 2 },
  ]);
  assert.deepEqual([...hs.selectionOrder(HANDLE)].map((e) => e.poolElement.identifier), [
    2,
    3,
    4,
    1,
  ]);
  assert.deepEqual(resolve(hs, 4).flat(), [2, 3, 2, 3]);
  assert.deepEqual(resolve(hs, 2, 4), [[2, 3, 4, 1], [3, 2, 4, 1]]);
});

Deno.test("least used picks the lowest load and round-robins ties", () => {
  const hs = pool([
    { name: "least-used", load: 30 },
    { name: "least-used", load: 10 },
    { name: "least-used", load: 10 },
    { name: "least-used", load: 20 },
  ]);
  assert.deepEqual(resolve(hs, 5).flat(), [2, 3, 2, 3, 2]);
  assert.deepEqual(resolve(hs, 1, 4), [[3, 2, 4, 1]]);
  hs.registerPoolElement(HANDLE, pe(2, { name: "least-used", load: 40 }));
  assert.deepEqual(resolve(hs, 3).flat(), [3, 3, 3]);
  hs.registerPoolElement(HANDLE, pe(3, { name: "least-used", load: 50 }));
  assert.deepEqual(resolve(hs, 1, 4), [[4, 1, 2, 3]]);
});

Deno.test("least used with degradation: degradation accumulates per selection and resets", () => {
  const p = (load: number): Policy => ({
    name: "least-used-degradation",
    load,
    loadDegradation: 30,
  });
  const hs = pool([p(100), p(150)]);
  assert.deepEqual(resolve(hs, 7).flat(), [1, 1, 2, 1, 2, 1, 2]);
  assert.equal(hs.getPoolElement(HANDLE, 1)!.degradation, 120);
  assert.equal(hs.getPoolElement(HANDLE, 2)!.degradation, 90);
  // Re-registration (same policy data) resets the degradation
  hs.registerPoolElement(HANDLE, pe(1, p(100)));
  assert.equal(hs.getPoolElement(HANDLE, 1)!.degradation, 0);
  assert.deepEqual(resolve(hs, 3).flat(), [1, 1, 1]); // 100, 130, 160 < 240
});

Deno.test("least used with degradation: only the advanced PEs degrade", () => {
  const p: Policy = { name: "least-used-degradation", load: 0, loadDegradation: 10 };
  const hs = pool([p, p, p]);
  resolve(hs, 1, 3);
  assert.deepEqual([1, 2, 3].map((id) => hs.getPoolElement(HANDLE, id)!.degradation), [10, 0, 0]);
  hs.selectPoolElements(HANDLE, 3, { maxIncrement: 0 });
  assert.deepEqual([1, 2, 3].map((id) => hs.getPoolElement(HANDLE, id)!.degradation), [
    20,
    10,
    10,
  ]);
});

Deno.test("degradation saturates at 100 %", () => {
  const p: Policy = {
    name: "least-used-degradation",
    load: 0xf0000000,
    loadDegradation: 0x40000000,
  };
  const hs = pool([p]);
  resolve(hs, 3);
  assert.equal(hs.getPoolElement(HANDLE, 1)!.degradation, 0xc0000000);
  resolve(hs, 3);
  assert.equal(hs.getPoolElement(HANDLE, 1)!.degradation, 0xffffffff);
});

Deno.test("priority least used: degradation is a fixed offset that does not grow", () => {
  const hs = pool([
    { name: "priority-least-used", load: 100, loadDegradation: 50 },
    { name: "priority-least-used", load: 120, loadDegradation: 0 },
    { name: "priority-least-used", load: 120, loadDegradation: 0 },
  ]);
  assert.deepEqual(resolve(hs, 6).flat(), [2, 3, 2, 3, 2, 3]);
  assert.equal(hs.getPoolElement(HANDLE, 2)!.degradation, 0);
});

Deno.test("priority least used with degradation: offset plus accumulated degradation", () => {
  const hs = pool([
    { name: "priority-least-used-degradation", load: 100, loadDegradation: 50 },
    { name: "priority-least-used-degradation", load: 170, loadDegradation: 10 },
  ]);
  assert.deepEqual(resolve(hs, 10).flat(), [1, 2, 2, 1, 2, 2, 2, 2, 2, 1]);
});

Deno.test("least used with distance penalty: load plus distance times DPF", () => {
  const hs = pool([
    { name: "least-used-dpf", load: 100, loadDpf: 10, distance: 5 }, // 150
    { name: "least-used-dpf", load: 140, loadDpf: 10, distance: 0 }, // 140
    { name: "least-used-dpf", load: 0, loadDpf: 1000, distance: 1 }, // 1000
  ]);
  assert.deepEqual([...hs.selectionOrder(HANDLE)].map((e) => e.poolElement.identifier), [
    2,
    1,
    3,
  ]);
  assert.deepEqual(resolve(hs, 3).flat(), [2, 2, 2]);
});

Deno.test("least used with degradation and distance penalty", () => {
  const hs = pool([
    {
      name: "least-used-degradation-dpf",
      load: 100,
      loadDegradation: 20,
      loadDpf: 10,
      distance: 5,
    },
    { name: "least-used-degradation-dpf", load: 140, loadDegradation: 20, loadDpf: 0, distance: 9 },
  ]);
  assert.deepEqual(resolve(hs, 6).flat(), [2, 1, 2, 1, 2, 1]);
  assert.equal(hs.getPoolElement(HANDLE, 1)!.degradation, 60);
});
