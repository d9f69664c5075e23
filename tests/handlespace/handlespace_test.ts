// Unit tests of the Handlespace: consistency errors with their RFC cause codes, limits, timers
// on a fake clock, ownership and takeover, the PE checksum, iteration and user data.

import assert from "node:assert/strict";
import {
  finishChecksum,
  Handlespace,
  HandlespaceError,
  peChecksum,
  type PoolElementParameter,
} from "../../handlespace/mod.ts";
import { ErrorCause } from "../../wire/errors.ts";
import type { Policy, TransportParameter } from "../../wire/types.ts";

const enc = new TextEncoder();
const A = enc.encode("PoolA");
const B = enc.encode("PoolB");

function pe(
  identifier: number,
  options: {
    owner?: number;
    life?: number;
    policy?: Policy;
    transport?: TransportParameter;
  } = {},
): PoolElementParameter {
  return {
    identifier,
    homeRegistrarId: options.owner ?? 1,
    registrationLife: options.life ?? 10_000,
    userTransport: options.transport ??
      { protocol: "sctp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
    policy: options.policy ?? { name: "round-robin" },
  };
}

function causeOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof HandlespaceError) return e.errorCause;
    throw e;
  }
  throw new Error("no error thrown");
}

Deno.test("register, update, lookup, deregister", () => {
  let now = 100;
  const hs = new Handlespace<string>({ clock: () => now });
  const r1 = hs.registerPoolElement(A, pe(1), { userData: "assoc-1" });
  assert.equal(r1.isNew, true);
  assert.equal(r1.entry.registeredAt, 100);
  assert.equal(r1.entry.expiresAt, 10_100);
  now = 200;
  const r2 = hs.registerPoolElement(A, pe(1, { life: 5000 }));
  assert.equal(r2.isNew, false);
  assert.equal(r2.entry.registeredAt, 100);
  assert.equal(r2.entry.updatedAt, 200);
  assert.equal(r2.entry.expiresAt, 5200);
  assert.equal(r2.entry.userData, "assoc-1", "user data kept when not given");
  assert.equal(hs.size, 1);
  assert.equal(hs.getPoolElement(A, 1)?.poolElement.registrationLife, 5000);
  assert.equal(hs.getPoolElement(A, 2), undefined);
  assert.equal(hs.getPoolElement(B, 1), undefined);
  assert.equal(hs.deregisterPoolElement(A, 1)?.userData, "assoc-1");
  assert.equal(hs.deregisterPoolElement(A, 1), undefined);
  assert.equal(hs.size, 0);
  assert.equal(hs.poolCount, 0);
  assert.equal(hs.getPool(A), undefined);
  assert.deepEqual(hs.selectPoolElements(A, 3), []);
});

Deno.test("the first PE fixes the pool's policy and transport", () => {
  const hs = new Handlespace({ clock: () => 0 });
  hs.registerPoolElement(A, pe(1, { policy: { name: "least-used", load: 1 } }));
  hs.registerPoolElement(A, pe(2, { policy: { name: "least-used", load: 5 } }));
  assert.equal(
    causeOf(() => hs.registerPoolElement(A, pe(3, { policy: { name: "round-robin" } }))),
    ErrorCause.InconsistentPoolingPolicy,
  );
  const tcp: TransportParameter = {
    protocol: "tcp",
    port: 7,
    transportUse: "data",
    addresses: ["10.0.0.1"],
  };
  assert.equal(
    causeOf(() =>
      hs.registerPoolElement(A, pe(3, { policy: { name: "least-used", load: 1 }, transport: tcp }))
    ),
    ErrorCause.InconsistentTransportType,
  );
  // Data plus control beside data only: RSPLIB refuses the mix, and its PUs crash on it.
  const control: TransportParameter = {
    protocol: "sctp",
    port: 7,
    transportUse: "data-control",
    addresses: ["10.0.0.1"],
  };
  assert.equal(
    causeOf(() =>
      hs.registerPoolElement(
        A,
        pe(3, { policy: { name: "least-used", load: 1 }, transport: control }),
      )
    ),
    ErrorCause.InconsistentDataControlConfiguration,
  );
  assert.equal(hs.getPool(A)?.transportUse, "data");
  // An existing PE of a pool with others cannot change the policy either
  assert.equal(
    causeOf(() => hs.registerPoolElement(A, pe(1, { policy: { name: "round-robin" } }))),
    ErrorCause.InconsistentPoolingPolicy,
  );
  const info = hs.getPool(A)!;
  assert.equal(info.policy, "least-used");
  assert.equal(info.protocol, "sctp");
  assert.equal(info.size, 2);
  // Another pool is independent
  hs.registerPoolElement(B, pe(3, { policy: { name: "random" }, transport: tcp }));
  assert.equal(hs.getPool(B)?.policy, "random");
});

Deno.test("the only PE of a pool may change the pool's policy", () => {
  const hs = new Handlespace({ clock: () => 0 });
  hs.registerPoolElement(A, pe(1));
  const r = hs.registerPoolElement(A, pe(1, { policy: { name: "priority", priority: 3 } }));
  assert.equal(r.isNew, false);
  assert.equal(hs.getPool(A)?.policy, "priority");
});

Deno.test("a PE ID held by another owner is not unique", () => {
  const hs = new Handlespace({ clock: () => 0 });
  hs.registerPoolElement(A, pe(1, { owner: 10 }));
  assert.equal(
    causeOf(() => hs.registerPoolElement(A, pe(1, { owner: 20 }))),
    ErrorCause.NonUniquePeIdentifier,
  );
  assert.equal(hs.getPoolElement(A, 1)?.owner, 10);
  hs.registerPoolElement(A, pe(1, { owner: 20 }), { allowOwnerChange: true });
  assert.equal(hs.getPoolElement(A, 1)?.owner, 20);
  assert.equal(hs.ownerSize(10), 0);
  assert.equal(hs.ownerSize(20), 1);
});

Deno.test("invalid values are refused", () => {
  const hs = new Handlespace({ clock: () => 0 });
  assert.equal(causeOf(() => hs.registerPoolElement(new Uint8Array(), pe(1))), 3);
  assert.equal(causeOf(() => hs.registerPoolElement(new Uint8Array(33), pe(1))), 3);
  assert.equal(causeOf(() => hs.registerPoolElement(A, pe(-1))), 3);
  assert.equal(causeOf(() => hs.registerPoolElement(A, pe(2 ** 32))), 3);
  assert.equal(causeOf(() => hs.registerPoolElement(A, pe(1, { life: -2 }))), 3);
  const bogus = { ...pe(1), policy: { name: "bogus" } } as unknown as PoolElementParameter;
  assert.equal(causeOf(() => hs.registerPoolElement(A, bogus)), 3);
  assert.equal(hs.size, 0);
});

Deno.test("limits answer Lack of Resources", () => {
  const hs = new Handlespace({
    clock: () => 0,
    maxPools: 2,
    maxPoolElementsPerPool: 2,
    maxPoolElements: 3,
  });
  hs.registerPoolElement(A, pe(1));
  hs.registerPoolElement(A, pe(2));
  assert.equal(causeOf(() => hs.registerPoolElement(A, pe(3))), ErrorCause.LackOfResources);
  hs.registerPoolElement(A, pe(2)); // an update is not a new PE
  hs.registerPoolElement(B, pe(1));
  assert.equal(causeOf(() => hs.registerPoolElement(B, pe(2))), ErrorCause.LackOfResources);
  hs.deregisterPoolElement(A, 2);
  assert.equal(
    causeOf(() => hs.registerPoolElement(enc.encode("C"), pe(1))),
    ErrorCause.LackOfResources,
  );
  hs.registerPoolElement(B, pe(2));
  assert.equal(hs.size, 3);
});

Deno.test("timers: next due time, expire everything due, infinite life, set expiry", () => {
  let now = 0;
  const hs = new Handlespace({ clock: () => now });
  assert.equal(hs.nextExpiry(), Infinity);
  hs.registerPoolElement(A, pe(1, { life: 3000 }));
  hs.registerPoolElement(A, pe(2, { life: 1000 }));
  hs.registerPoolElement(B, pe(3, { life: 2000 }));
  hs.registerPoolElement(B, pe(4, { life: -1 }));
  hs.registerPoolElement(B, pe(5), { expiresAt: 1500 });
  assert.equal(hs.nextExpiry(), 1000);
  now = 999;
  assert.deepEqual(hs.expire(), []);
  now = 1500;
  assert.deepEqual(hs.expire().map((e) => e.poolElement.identifier).sort(), [2, 5]);
  assert.equal(hs.nextExpiry(), 2000);
  // A re-registration restarts the timer
  hs.registerPoolElement(B, pe(3, { life: 2000 }));
  assert.equal(hs.nextExpiry(), 3000);
  assert.equal(hs.setExpiry(A, 1, 1600), true);
  assert.equal(hs.setExpiry(A, 9, 1600), false);
  assert.equal(hs.nextExpiry(), 1600);
  now = 10_000;
  assert.deepEqual(hs.expire().map((e) => e.poolElement.identifier).sort(), [1, 3]);
  assert.equal(hs.nextExpiry(), Infinity);
  assert.equal(hs.size, 1);
  assert.equal(hs.getPoolElement(B, 4)?.expiresAt, Infinity);
  assert.equal(hs.getPool(A), undefined, "an empty pool is gone");
});

Deno.test("PE checksum: known value, incremental equals from scratch", () => {
  // "A" padded: 41 00 00 00, PE ID 00 01 00 02 -> 0x4100 + 0x0001 + 0x0002 = 0x4103
  assert.equal(peChecksum([{ poolHandle: enc.encode("A"), identifier: 0x00010002 }]), 0xbefc);
  assert.equal(finishChecksum(0), 0xffff);
  const hs = new Handlespace({ clock: () => 0 });
  assert.equal(hs.ownerChecksum(7), 0xffff);
  hs.registerPoolElement(enc.encode("A"), pe(0x00010002, { owner: 7 }));
  assert.equal(hs.ownerChecksum(7), 0xbefc);
  for (let i = 0; i < 2000; i++) {
    hs.registerPoolElement(i % 2 ? A : B, pe(0xfffff000 + i, { owner: 7 + (i % 3) }));
  }
  for (const owner of [7, 8, 9]) {
    assert.equal(hs.ownerChecksum(owner), hs.computeOwnerChecksum(owner));
  }
  for (let i = 0; i < 2000; i += 3) hs.deregisterPoolElement(i % 2 ? A : B, 0xfffff000 + i);
  for (const owner of [7, 8, 9]) {
    assert.equal(hs.ownerChecksum(owner), hs.computeOwnerChecksum(owner));
  }
  assert.notEqual(hs.ownerChecksum(8), 0xffff);
});

Deno.test("takeover moves every PE of one owner to another", () => {
  const hs = new Handlespace({ clock: () => 0 });
  for (let i = 1; i <= 10; i++) {
    hs.registerPoolElement(i % 2 ? A : B, pe(i, { owner: 1 + (i % 3) }));
  }
  const before2 = hs.ownerChecksum(2), before3 = hs.ownerChecksum(3);
  const n2 = hs.ownerSize(2), n3 = hs.ownerSize(3);
  assert.equal(hs.changeOwner(2, 3), n2);
  assert.equal(hs.ownerSize(2), 0);
  assert.equal(hs.ownerSize(3), n2 + n3);
  assert.equal(hs.ownerChecksum(2), 0xffff);
  assert.notEqual(hs.ownerChecksum(3), before3);
  assert.equal(hs.ownerChecksum(3), hs.computeOwnerChecksum(3));
  assert.notEqual(before2, 0xffff);
  for (const e of hs.poolElementsOfOwner(3)) {
    assert.equal(e.owner, 3);
    assert.equal(e.poolElement.homeRegistrarId, 3);
  }
  assert.deepEqual(hs.owners().sort(), [1, 3]);
});

Deno.test("iteration of pools, of a pool, of all PEs and of an owner's PEs", () => {
  const hs = new Handlespace({ clock: () => 0 });
  hs.registerPoolElement(A, pe(1, { owner: 5 }));
  hs.registerPoolElement(A, pe(2, { owner: 6 }));
  hs.registerPoolElement(B, pe(3, { owner: 5 }));
  assert.deepEqual([...hs.pools()].map((p) => [new TextDecoder().decode(p.poolHandle), p.size]), [
    ["PoolA", 2],
    ["PoolB", 1],
  ]);
  assert.deepEqual([...hs.poolElements(A)].map((e) => e.poolElement.identifier), [1, 2]);
  assert.deepEqual([...hs.poolElements()].map((e) => e.poolElement.identifier), [1, 2, 3]);
  assert.deepEqual([...hs.poolElementsOfOwner(5)].map((e) => e.poolElement.identifier).sort(), [
    1,
    3,
  ]);
  // Removing the PE just yielded is allowed
  for (const e of hs.poolElementsOfOwner(5)) {
    hs.deregisterPoolElement(e.poolHandle, e.poolElement.identifier);
  }
  for (const e of hs.poolElements(B)) {
    hs.deregisterPoolElement(e.poolHandle, e.poolElement.identifier);
  }
  assert.deepEqual([...hs.poolElements()].map((e) => e.poolElement.identifier), [2]);
});

Deno.test("pool handles are bytes: non-ASCII handles are distinct pools", () => {
  const hs = new Handlespace({ clock: () => 0 });
  hs.registerPoolElement(new Uint8Array([0x80, 0xff]), pe(1));
  hs.registerPoolElement(new Uint8Array([0x80, 0xfe]), pe(1));
  hs.registerPoolElement(new Uint8Array([0x80]), pe(1));
  assert.equal(hs.poolCount, 3);
  const handle = new Uint8Array([0x80, 0xff]);
  const stored = hs.getPool(handle)!.poolHandle;
  handle[0] = 0; // the handlespace keeps its own copy
  assert.equal(stored[0], 0x80);
});

Deno.test("slots are reused after removal and storage grows past its initial size", () => {
  const hs = new Handlespace({ clock: () => 0 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5000; i++) hs.registerPoolElement(A, pe(i));
    assert.equal(hs.size, 5000);
    const first = hs.selectPoolElements(A, 3).map((e) => e.poolElement.identifier);
    assert.deepEqual(first, [0, 1, 2]);
    for (let i = 0; i < 5000; i++) hs.deregisterPoolElement(A, i);
    assert.equal(hs.size, 0);
  }
});
