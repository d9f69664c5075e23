import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import { PoolUserSession } from "../../asap/pool_user_session.ts";
import type { PoolElementParameter } from "../../wire/types.ts";
import { asapAddress, FAST_HUNT, startRegistrar, str, text } from "./helpers.ts";

// Two loopback addresses stand for two interfaces (Linux answers on all of 127.0.0.0/8).
const ADDRESSES = ["127.0.0.1", "127.0.0.2"];

// (Over TCP a PE registers one address: the TCP transport parameter carries one.)
for (const protocol of ["sctp"] as const) {
  Deno.test(`${protocol}: a PE with two addresses registers both, and a PU reaches it`, async () => {
    await using registrar = await startRegistrar("sctp");
    const registrars = [asapAddress(registrar, "sctp")];
    await using pe = await PoolElement.start({
      poolHandle: "TwoAddressPool",
      registrars,
      listen: { protocol, hostname: ADDRESSES, port: 0 },
      hunt: FAST_HUNT,
      onSession: async (session) => {
        for await (const m of session) await session.send(m.data);
      },
    });
    assert.deepEqual(pe.addresses, ADDRESSES);
    await using pu = new PoolUser({ registrars });
    const [resolved] = await pu.resolve("TwoAddressPool");
    assert.deepEqual(resolved.userTransport.addresses, ADDRESSES);
    // The registrar's association with the PE is multi-homed too: its ASAP endpoint listed
    // both addresses.
    const entry = registrar.handlespace.getPoolElement(text("TwoAddressPool"), pe.identifier);
    assert.deepEqual(
      entry?.userData?.association?.remoteAddresses.map((a) => a.hostname),
      ADDRESSES,
    );
    await using session = await pu.connect("TwoAddressPool");
    assert.equal(session.path?.hostname, ADDRESSES[0]);
    assert.equal(str(await session.request(text("ping"))), "ping");
    await session.close();
  });
}

Deno.test("tcp: a PU tries a PE's other addresses before it fails the PE over", async () => {
  await using pe = await PoolElement.start({
    poolHandle: "TcpPool",
    listen: { protocol: "tcp", hostname: ["127.0.0.1", "127.0.0.2"], port: 0 },
    waitForRegistration: false,
    registrars: [{ protocol: "tcp", hostname: "127.0.0.1", port: 1 }],
    onSession: async (session) => {
      for await (const m of session) await session.send(m.data);
    },
  });
  // Nothing listens on 127.0.0.3: the first address refuses, the second answers.
  const parameter: PoolElementParameter = {
    ...pe.parameter,
    userTransport: { ...pe.parameter.userTransport, addresses: ["127.0.0.3", "127.0.0.1"] },
  };
  const unreachable: number[] = [];
  await using session = new PoolUserSession(text("TcpPool"), {
    select: (_, excluded) =>
      Promise.resolve(excluded.has(parameter.identifier) ? undefined : parameter),
    reportUnreachable: (_, id) => {
      unreachable.push(id);
      return Promise.resolve();
    },
  });
  await session.open();
  assert.equal(session.poolElement?.identifier, pe.identifier);
  assert.equal(str(await session.request(text("ping"))), "ping");
  assert.deepEqual(unreachable, []);
  // The PE listens on both of its addresses and registers the first.
  assert.deepEqual(pe.addresses, ["127.0.0.1"]);
  await using second = new PoolUserSession(text("TcpPool"), {
    select: () =>
      Promise.resolve({
        ...parameter,
        userTransport: { ...parameter.userTransport, addresses: ["127.0.0.2"] },
      }),
    reportUnreachable: () => Promise.resolve(),
  });
  await second.open();
  assert.equal(str(await second.request(text("two"))), "two");
  await second.close();
  await session.close();
});
