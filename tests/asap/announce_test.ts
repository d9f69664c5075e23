import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import { RegistrarHunt } from "../../asap/registrar_hunt.ts";
import { Registrar } from "../../registrar/registrar.ts";
import { FAST_HUNT, hasPe, str, text } from "./helpers.ts";

// Loopback multicast on a port of our own, so that no real registrar's announcements mix in.
const GROUP = "239.0.0.50";

for (const [protocol, port] of [["tcp", 38631], ["sctp", 38632]] as const) {
  Deno.test(`announce ${protocol}: PE and PU find the registrar by SERVER_ANNOUNCE`, async () => {
    const announce = { group: GROUP, port, interfaceAddress: "127.0.0.1" };
    await using registrar = await Registrar.start({
      asap: [{ protocol, hostname: "127.0.0.1", port: 0 }],
      announce: { ...announce, interval: 100 },
      keepAliveInterval: 200,
      keepAliveTimeout: 1000,
    });
    // A failure, not a hang, if no announcement ever reaches the PE.
    const giveUp = new AbortController();
    const giveUpTimer = setTimeout(() => giveUp.abort(), 30_000);
    await using pe = await PoolElement.start({
      poolHandle: "AnnouncedPool",
      announce,
      signal: giveUp.signal,
      listen: { protocol, hostname: "127.0.0.1", port: 0 },
      hunt: FAST_HUNT,
      onSession: async (s) => {
        for await (const m of s) await s.send(m.data);
      },
    }).finally(() => clearTimeout(giveUpTimer));
    assert.ok(hasPe(registrar, "AnnouncedPool", pe.identifier));
    assert.deepEqual(pe.registrar, registrar.addresses[0]);
    await using pu = new PoolUser({ announce, hunt: FAST_HUNT });
    await using session = await pu.connect("AnnouncedPool");
    assert.equal(str(await session.request(text("found"))), "found");
    assert.deepEqual(pu.registrar, registrar.addresses[0]);
  });
}

Deno.test("announce: candidates list announced registrars first, with their server ID", async () => {
  const announce = { group: GROUP, port: 38633, interfaceAddress: "127.0.0.1" };
  await using registrar = await Registrar.start({
    serverId: 0x5eed,
    asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
    announce: { ...announce, interval: 50 },
  });
  const hunt = new RegistrarHunt({
    registrars: [{ protocol: "sctp", hostname: "127.0.0.1", port: 1 }],
    announce,
  });
  try {
    await hunt.ready();
    const end = Date.now() + 3000;
    while (hunt.candidates.length < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(hunt.candidates, [
      { address: registrar.addresses[0], serverId: 0x5eed },
      { address: { protocol: "sctp", hostname: "127.0.0.1", port: 1 } },
    ]);
  } finally {
    await hunt.close();
  }
});
