// Policy settings: fractions in the API, 32-bit fixed point on the wire.

import assert from "node:assert/strict";
import { policyFromWire, policyToWire } from "../../asap/policy_settings.ts";
import { PoolError } from "../../asap/errors.ts";
import { MAX_LOAD } from "../../policy/types.ts";
import { PolicyCode, type PolicyName } from "../../wire/types.ts";
import { policyFields } from "../../wire/parameters.ts";

const isInvalid = (e: unknown) => e instanceof PoolError && e.code === "invalid";

Deno.test("policy settings: fractions become 32-bit values and come back", () => {
  assert.deepEqual(policyToWire({ name: "least-used", load: 0 }), { name: "least-used", load: 0 });
  assert.deepEqual(policyToWire({ name: "least-used", load: 1 }), {
    name: "least-used",
    load: MAX_LOAD,
  });
  assert.deepEqual(
    policyToWire({ name: "least-used-dpf", load: 0.5, loadDpf: 0.1, distance: 20 }),
    {
      name: "least-used-dpf",
      load: Math.round(0.5 * MAX_LOAD),
      loadDpf: Math.round(0.1 * MAX_LOAD),
      distance: 20,
    },
  );
  assert.deepEqual(policyToWire({ name: "weighted-round-robin", weight: 7 }), {
    name: "weighted-round-robin",
    weight: 7,
  });
  // Every policy survives the round trip, each fraction within one wire step.
  for (const name of Object.keys(PolicyCode) as PolicyName[]) {
    const settings: Record<string, unknown> = { name };
    for (const f of policyFields(name)) {
      settings[f] = ["weight", "priority", "distance"].includes(f) ? 3 : 0.3;
    }
    const back = policyFromWire(policyToWire(settings as never)) as Record<string, unknown>;
    for (const f of policyFields(name)) {
      assert.ok(Math.abs((back[f] as number) - (settings[f] as number)) <= 1 / MAX_LOAD, name);
    }
  }
});

Deno.test("policy settings: values out of range are PoolError invalid", () => {
  assert.throws(() => policyToWire({ name: "least-used", load: 1.01 }), isInvalid);
  assert.throws(() => policyToWire({ name: "least-used", load: -0.1 }), isInvalid);
  assert.throws(() => policyToWire({ name: "least-used", load: NaN }), isInvalid);
  assert.throws(() => policyToWire({ name: "least-used", load: 0x40000000 }), isInvalid);
  assert.throws(
    () => policyToWire({ name: "priority-least-used", load: 0.2, loadDegradation: 2 }),
    isInvalid,
  );
  assert.throws(() => policyToWire({ name: "weighted-random", weight: 1.5 }), isInvalid);
  assert.throws(() => policyToWire({ name: "priority", priority: -1 }), isInvalid);
  assert.throws(() => policyToWire({ name: "priority", priority: 2 ** 32 }), isInvalid);
});
