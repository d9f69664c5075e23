// The policy registry: every wire code has exactly one policy, names and codes agree.

import assert from "node:assert/strict";
import {
  loadHeadroom,
  loadSum,
  MAX_LOAD,
  PolicyCode,
  policyNameOf,
  samePolicy,
  seededRandom,
  selectionPolicies,
  selectionPolicy,
} from "../../policy/mod.ts";
import type { PolicyName } from "../../wire/types.ts";

Deno.test("every policy code of the wire has its policy, with the same name and code", () => {
  const names = Object.keys(PolicyCode) as PolicyName[];
  assert.equal(names.length, 16);
  assert.equal(selectionPolicies().length, 16);
  for (const name of names) {
    const p = selectionPolicy(name);
    assert.equal(p.name, name);
    assert.equal(p.code, PolicyCode[name]);
    assert.equal(policyNameOf(PolicyCode[name]), name);
  }
  assert.equal(selectionPolicy("bogus"), undefined);
  assert.equal(selectionPolicy("toString"), undefined);
  assert.equal(policyNameOf(0x12345678), undefined);
});

Deno.test("kinds: sorted for round robin, priority and least used; sampled for the random ones", () => {
  const kinds = Object.fromEntries(selectionPolicies().map((p) => [p.name, p.kind]));
  assert.equal(kinds["round-robin"], "ordered");
  assert.equal(kinds["least-used-degradation-dpf"], "ordered");
  assert.equal(kinds["weighted-random-dpf"], "random");
  assert.equal(kinds["randomized-priority-least-used-degradation"], "random");
  assert.equal(Object.values(kinds).filter((k) => k === "ordered").length, 9);
});

Deno.test("load arithmetic saturates", () => {
  assert.equal(loadSum(MAX_LOAD, 1), MAX_LOAD);
  assert.equal(loadSum(1, 2, 3), 6);
  assert.equal(loadHeadroom(MAX_LOAD, MAX_LOAD), 1);
  assert.equal(loadHeadroom(0), MAX_LOAD);
  assert.equal(loadHeadroom(10, 20, 30), MAX_LOAD - 60);
});

Deno.test("samePolicy compares all fields", () => {
  assert.ok(samePolicy({ name: "least-used", load: 1 }, { name: "least-used", load: 1 }));
  assert.ok(
    !samePolicy({ name: "least-used", load: 1 }, { name: "randomized-least-used", load: 1 }),
  );
  assert.ok(!samePolicy({ name: "priority", priority: 1 }, { name: "priority", priority: 2 }));
});

Deno.test("seeded random: reproducible floats in [0, 1)", () => {
  const a = seededRandom(9), b = seededRandom(9), c = seededRandom(10);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(xs, Array.from({ length: 1000 }, b));
  assert.notDeepEqual(xs, Array.from({ length: 1000 }, c));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
});
