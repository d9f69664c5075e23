import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import type { PoolElementSession } from "../../asap/pool_element_session.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import type { PoolUserSessionEvent } from "../../asap/pool_user_session.ts";
import { asapAddress, FAST_HUNT, startRegistrar, str, text, waitFor } from "./helpers.ts";

const SECRET = "secret of CardPool";

for (const protocol of ["tcp", "sctp"] as const) {
  Deno.test(`${protocol}: a BUSINESS_CARD orders the failovers before the pool's policy`, async () => {
    await using registrar = await startRegistrar("sctp");
    const registrars = [asapAddress(registrar, "sctp")];
    // Least used: A (load 0) serves first; after A the policy would choose D, then C, then B.
    let card: () => PoolElement[] = () => [];
    const start = (name: string, load: number) =>
      PoolElement.start({
        poolHandle: "CardPool",
        policy: { name: "least-used", load },
        registrars,
        listen: { protocol, hostname: "127.0.0.1", port: 0 },
        hunt: FAST_HUNT,
        cookieSecret: SECRET,
        onSession: async (session: PoolElementSession) => {
          if (name === "A") await session.sendBusinessCard(card().map((pe) => pe.parameter));
          let count = (session.restoredState as { count: number } | undefined)?.count ?? 0;
          for await (const m of session) {
            count = (session.restoredState as { count: number } | undefined)?.count ?? count;
            count++;
            await session.sendCookie({ count });
            await session.send(text(`${name}:${count}:${str(m.data)}`));
          }
        },
      });
    const a = await start("A", 0);
    const d = await start("D", 0.1);
    const c = await start("C", 0.8);
    const b = await start("B", 0.9);
    card = () => [b, c];
    await using pu = new PoolUser({ registrars, requestTimeout: 2000 });
    await using session = await pu.connect("CardPool");
    const events: PoolUserSessionEvent[] = [];
    session.onEvent((e) => events.push(e));
    assert.equal(session.poolElement?.identifier, a.identifier);
    assert.equal(str(await session.request(text("1"))), "A:1:1");
    await waitFor(() => session.businessCard.length === 2, "the business card");
    assert.deepEqual(session.businessCard.map((pe) => pe.identifier), [b.identifier, c.identifier]);

    await a.abort();
    assert.equal(str(await session.request(text("2"))), "B:2:2", "B first, as the card says");
    await b.abort();
    assert.equal(str(await session.request(text("3"))), "C:3:3", "then C");
    const failovers = events.flatMap((e) => e.type === "failover" ? [e] : []);
    assert.deepEqual(
      failovers.map((e) => [e.from?.identifier, e.to.identifier, e.cookieEchoed]),
      [[a.identifier, b.identifier, true], [b.identifier, c.identifier, true]],
    );
    assert.deepEqual(pu.stats, { sessions: 1, failovers: 2, pathSwitches: 0 });
    await session.close();
    for (const pe of [c, d]) await pe.close();
  });
}

Deno.test("a PU that is a PE too sends its own BUSINESS_CARD, and the PE keeps it", async () => {
  await using registrar = await startRegistrar("sctp");
  const registrars = [asapAddress(registrar, "sctp")];
  const received: PoolElementSession[] = [];
  await using pe = await PoolElement.start({
    poolHandle: "ServerPool",
    registrars,
    listen: { protocol: "sctp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    onSession: async (session) => {
      received.push(session);
      for await (const m of session) await session.send(m.data);
    },
  });
  // The PU serves in "ClientPool" as this PE.
  await using own = await PoolElement.start({
    poolHandle: "ClientPool",
    registrars,
    listen: { protocol: "sctp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
  });
  await using pu = new PoolUser({ registrars });
  await using session = await pu.connect("ServerPool");
  await session.sendBusinessCard("ClientPool", [own.parameter]);
  assert.equal(str(await session.request(text("hello"))), "hello");
  await waitFor(() => received[0]?.businessCard !== undefined, "the PU's business card");
  const card = received[0].businessCard!;
  assert.equal(str(card.poolHandle), "ClientPool");
  assert.deepEqual(card.poolElements.map((p) => p.identifier), [own.identifier]);
  assert.deepEqual(card.poolElements[0].userTransport, own.parameter.userTransport);
  await session.close();
  assert.equal(pe.stats.sessions, 1);
});
