// Model-based test: random sequences of register / deregister / select / expire / takeover
// operations on the Handlespace, checked step by step against the naive reference model.

import assert from "node:assert/strict";
import { Handlespace, HandlespaceError } from "../../handlespace/mod.ts";
import { seededRandom } from "../../policy/mod.ts";
import type { Policy, PolicyName, PoolElementParameter } from "../../wire/types.ts";
import { ReferenceHandlespace, RefError } from "./reference_model.ts";

const MAX = 0xffffffff;
const ALL_POLICIES: PolicyName[] = [
  "round-robin",
  "weighted-round-robin",
  "random",
  "weighted-random",
  "priority",
  "least-used",
  "least-used-degradation",
  "priority-least-used",
  "randomized-least-used",
  "randomized-priority-least-used",
  "randomized-least-used-degradation",
  "priority-least-used-degradation",
  "randomized-priority-least-used-degradation",
  "weighted-random-dpf",
  "least-used-dpf",
  "least-used-degradation-dpf",
];

function makePolicy(name: PolicyName, rnd: () => number): Policy {
  const pick = <X>(xs: X[]): X => xs[Math.floor(rnd() * xs.length)];
  const load = () => pick([0, 0, 1, 1000, 0x7fffffff, 0x80000000, MAX - 5, MAX]);
  const deg = () => pick([0, 1, 0x1000000, 0x40000000, MAX]);
  const weight = () => pick([0, 1, 2, 3, 7, 100, MAX]);
  const dist = () => pick([0, 1, 10, 200]);
  const dpf = () => pick([0, 1, 0x100000, 0x1000000]);
  switch (name) {
    case "round-robin":
    case "random":
      return { name };
    case "weighted-round-robin":
    case "weighted-random":
      return { name, weight: weight() };
    case "priority":
      return { name, priority: pick([0, 1, 2, 5, MAX]) };
    case "least-used":
    case "randomized-least-used":
    case "randomized-priority-least-used":
      return { name, load: load() };
    case "least-used-degradation":
    case "priority-least-used":
    case "randomized-least-used-degradation":
    case "priority-least-used-degradation":
    case "randomized-priority-least-used-degradation":
      return { name, load: load(), loadDegradation: deg() };
    case "weighted-random-dpf":
      return { name, weight: weight(), weightDpf: dpf(), distance: dist() };
    case "least-used-dpf":
      return { name, load: load(), loadDpf: dpf(), distance: dist() };
    case "least-used-degradation-dpf":
      return { name, load: load(), loadDegradation: deg(), loadDpf: dpf(), distance: dist() };
  }
}

interface RunConfig {
  seed: number;
  ops: number;
  maxIncrement: number;
  limits: { maxPools: number; maxPerPool: number; maxTotal: number; maxHandleLength: number };
}

function run(cfg: RunConfig): Record<string, number> {
  const rnd = seededRandom(cfg.seed);
  let now = 1_000;
  const clock = () => now;
  const hs = new Handlespace<number>({
    clock,
    random: seededRandom(cfg.seed + 1),
    maxIncrement: cfg.maxIncrement,
    maxPools: cfg.limits.maxPools,
    maxPoolElementsPerPool: cfg.limits.maxPerPool,
    maxPoolElements: cfg.limits.maxTotal,
    maxPoolHandleLength: cfg.limits.maxHandleLength,
  });
  const ref = new ReferenceHandlespace(
    clock,
    seededRandom(cfg.seed + 1),
    cfg.maxIncrement,
    cfg.limits,
  );
  const enc = new TextEncoder();
  const handles = ["A", "Pool-B", "CC\u0000", "DDDDDDD"].map((s) => enc.encode(s));
  handles.push(new Uint8Array([0xff, 0x80, 0x00, 0x01, 0x02]));
  // Each pool has an intended policy; registrations mostly follow it
  const intended = handles.map(() => ALL_POLICIES[Math.floor(rnd() * ALL_POLICIES.length)]);
  const owners = [1, 2, 3, 0xfffffffe];
  const counts: Record<string, number> = {};
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

  const fullCheck = (step: number) => {
    assert.equal(hs.size, ref.size, `size at step ${step}`);
    assert.equal(hs.poolCount, ref.pools.size, `pool count at step ${step}`);
    assert.equal(hs.nextExpiry(), ref.nextExpiry(), `next expiry at step ${step}`);
    for (const pool of ref.pools.values()) {
      const info = hs.getPool(pool.handle);
      assert.ok(info, `pool exists at step ${step}`);
      assert.equal(info.policy, pool.policy);
      assert.equal(info.size, pool.pes.length);
      const got = [...hs.selectionOrder(pool.handle)].map((e) => e.poolElement.identifier);
      const want = ref.sorted(pool).map((pe) => pe.id);
      assert.deepEqual(got, want, `selection order of ${pool.policy} at step ${step}`);
      for (const pe of pool.pes) {
        const e = hs.getPoolElement(pool.handle, pe.id)!;
        assert.equal(e.owner, pe.owner);
        assert.equal(e.poolElement.homeRegistrarId, pe.owner);
        assert.equal(e.expiresAt, pe.expiresAt);
        assert.equal(e.degradation, pe.degradation, `degradation at step ${step}`);
      }
    }
    for (const owner of owners) {
      const incremental = hs.ownerChecksum(owner);
      assert.equal(incremental, ref.checksum(owner), `checksum of ${owner} at step ${step}`);
      assert.equal(incremental, hs.computeOwnerChecksum(owner));
      const n = [...hs.poolElementsOfOwner(owner)].length;
      assert.equal(n, hs.ownerSize(owner));
    }
  };

  for (let step = 0; step < cfg.ops; step++) {
    const h = Math.floor(rnd() * handles.length);
    const handle = handles[h];
    const id = 1 + Math.floor(rnd() * 24);
    const op = rnd();
    if (op < 0.45) {
      const name = rnd() < 0.93 ? intended[h] : ALL_POLICIES[Math.floor(rnd() * 16)];
      const pe: PoolElementParameter = {
        identifier: id,
        homeRegistrarId: owners[Math.floor(rnd() * (rnd() < 0.9 ? 1 : owners.length))],
        registrationLife: rnd() < 0.05 ? -1 : 1000 * (1 + Math.floor(rnd() * 20)),
        userTransport: {
          protocol: rnd() < 0.97 ? "sctp" : "tcp",
          port: 7,
          transportUse: "data",
          addresses: ["10.0.0." + id],
        },
        policy: makePolicy(name, rnd),
      };
      const allowOwnerChange = rnd() < 0.3;
      let want: boolean | number;
      let got: boolean | number;
      try {
        want = ref.register(handle, pe, { allowOwnerChange });
      } catch (e) {
        if (!(e instanceof RefError)) throw e;
        want = e.code;
      }
      try {
        got = hs.registerPoolElement(handle, pe, { allowOwnerChange, userData: step }).isNew;
      } catch (e) {
        if (!(e instanceof HandlespaceError)) throw e;
        got = e.errorCause;
      }
      assert.equal(got, want, `register at step ${step}`);
      count(typeof want === "number" ? `error ${want}` : want ? "new" : "update");
    } else if (op < 0.6) {
      const want = ref.deregister(handle, id);
      const got = hs.deregisterPoolElement(handle, id);
      assert.equal(got?.poolElement.identifier, want?.id, `deregister at step ${step}`);
      count(want ? "deregister" : "deregister unknown");
    } else if (op < 0.9) {
      // Mostly few PEs (skipped during the descent), sometimes many (zeroed weights)
      const k = rnd() < 0.1 ? 9 + Math.floor(rnd() * 16) : 1 + Math.floor(rnd() * 4);
      const want = ref.select(handle, k);
      const got = hs.selectPoolElements(handle, k).map((e) => e.poolElement.identifier);
      assert.deepEqual(got, want, `select at step ${step}`);
      count("select");
    } else if (op < 0.97) {
      now += Math.floor(rnd() * 700);
      const want = ref.expire();
      const got = hs.expire().map((e) =>
        `${String.fromCharCode(...e.poolHandle)}/${e.poolElement.identifier}`
      ).sort();
      assert.deepEqual(got, want, `expire at step ${step}`);
      count("expired PEs " + (want.length > 0 ? "some" : "none"));
    } else if (op < 0.985) {
      const t = rnd() < 0.2 ? Infinity : now + Math.floor(rnd() * 5000);
      assert.equal(hs.setExpiry(handle, id, t), ref.setExpiry(handle, id, t));
      count("set expiry");
    } else {
      const from = owners[Math.floor(rnd() * owners.length)];
      const to = owners[Math.floor(rnd() * owners.length)];
      if (from !== to) {
        assert.equal(hs.changeOwner(from, to), ref.changeOwner(from, to), `takeover ${step}`);
        count("takeover");
      }
    }
    if (step % 25 === 0) fullCheck(step);
  }
  fullCheck(cfg.ops);
  if (Deno.env.get("MODEL_VERBOSE")) console.log(counts);
  return counts;
}

const generous = { maxPools: 100, maxPerPool: 1000, maxTotal: 10_000, maxHandleLength: 32 };

Deno.test("model: 12,000 random operations, max-increment 1", () => {
  const counts = run({ seed: 1, ops: 12_000, maxIncrement: 1, limits: generous });
  assert.ok(counts["new"] > 1000 && counts["update"] > 500 && counts["select"] > 2000);
  assert.ok(counts["expired PEs some"] > 10, "expiry happens");
  assert.ok(counts["error 5"] > 10, "policy conflicts happen");
});

Deno.test("model: 12,000 random operations, max-increment 0 (all advance)", () => {
  run({ seed: 2, ops: 12_000, maxIncrement: 0, limits: generous });
});

Deno.test("model: 12,000 random operations, max-increment 2, tight limits", () => {
  const counts = run({
    seed: 3,
    ops: 12_000,
    maxIncrement: 2,
    limits: { maxPools: 3, maxPerPool: 9, maxTotal: 20, maxHandleLength: 6 },
  });
  assert.ok(counts["error 6"] > 10, "lack of resources happens");
  assert.ok(counts["error 3"] > 10, "too long handles are refused");
});

Deno.test("model: every policy as the intended one", () => {
  for (let seed = 10; seed < 26; seed++) {
    run({ seed, ops: 1500, maxIncrement: seed % 3, limits: generous });
  }
});
