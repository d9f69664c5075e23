import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/codec.ts";
import { ASAP_PPID, connectEndpoint } from "../../asap/connect.ts";
import { PoolElement } from "../../asap/pool_element.ts";
import type { PoolElementSessionEvent } from "../../asap/pool_element_session.ts";
import { sealStateCookie } from "../../asap/state_cookie.ts";
import { asapAddress, FAST_HUNT, startRegistrar, str, text, waitFor } from "./helpers.ts";

const SECRET = "secret of CookiePool";

for (const protocol of ["tcp", "sctp"] as const) {
  Deno.test(`PE ${protocol}: forged and altered cookies are rejected, a genuine one restores the state`, async () => {
    await using registrar = await startRegistrar(protocol);
    const events: PoolElementSessionEvent[][] = [];
    const seen: unknown[] = [];
    await using pe = await PoolElement.start({
      poolHandle: "CookiePool",
      registrars: [asapAddress(registrar, protocol)],
      listen: { protocol, hostname: "127.0.0.1", port: 0 },
      hunt: FAST_HUNT,
      cookieSecret: SECRET,
      onSession: async (session) => {
        const mine: PoolElementSessionEvent[] = [];
        events.push(mine);
        session.onEvent((e) => mine.push(e));
        for await (const m of session) {
          // The state is set before the messages sent after the echo are handed out.
          seen.push(session.restoredState);
          await session.send(m.data);
        }
      },
    });
    const genuine = sealStateCookie({ count: 42 }, {
      secret: SECRET,
      poolHandle: text("CookiePool"),
    });
    const altered = genuine.slice();
    altered[12] ^= 0x01; // inside the CBOR state
    const cases: [string, Uint8Array][] = [
      ["garbage", crypto.getRandomValues(new Uint8Array(48))],
      ["altered", altered],
      [
        "other secret",
        sealStateCookie({ count: 42 }, { secret: "guess", poolHandle: text("CookiePool") }),
      ],
      ["other pool", sealStateCookie({ count: 42 }, { secret: SECRET, poolHandle: text("Other") })],
    ];
    for (const [what, cookie] of cases) {
      const association = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
      await association.send(encodeAsapMessage({ type: "cookie-echo", cookie }), {
        ppid: ASAP_PPID,
      });
      await association.send(text("after"), { ppid: 0 }).catch(() => {});
      // The PE aborts the association and never answers the message after the echo.
      assert.equal(await association.receive(), null, what);
      const mine = events.at(-1)!;
      await waitFor(() => mine.some((e) => e.type === "cookie-rejected"), `rejection (${what})`);
      assert.ok(!mine.some((e) => e.type === "cookie-echo"), what);
      association.abort();
    }
    assert.deepEqual(seen, []);

    const association = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
    try {
      await association.send(encodeAsapMessage({ type: "cookie-echo", cookie: genuine }), {
        ppid: ASAP_PPID,
      });
      await association.send(text("hello"), { ppid: 0 });
      const answer = await association.receive();
      assert.equal(str(answer!.data), "hello");
      assert.deepEqual(seen, [{ count: 42 }]);
      const mine = events.at(-1)!;
      const echo = mine.find((e) => e.type === "cookie-echo");
      assert.ok(echo?.type === "cookie-echo");
      assert.deepEqual(echo.state, { count: 42 });
    } finally {
      await association.close();
    }
  });
}

Deno.test("PE: invalidCookie 'ignore' keeps the association but not the state", async () => {
  await using registrar = await startRegistrar("tcp");
  const seen: unknown[] = [];
  await using pe = await PoolElement.start({
    poolHandle: "CookiePool",
    registrars: [asapAddress(registrar, "tcp")],
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    cookieSecret: SECRET,
    invalidCookie: "ignore",
    onSession: async (session) => {
      for await (const m of session) {
        seen.push(session.restoredState);
        await session.send(m.data);
      }
    },
  });
  const association = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
  try {
    const forged = sealStateCookie({ admin: true }, {
      secret: "guess",
      poolHandle: text("CookiePool"),
    });
    await association.send(encodeAsapMessage({ type: "cookie-echo", cookie: forged }), {
      ppid: ASAP_PPID,
    });
    await association.send(text("x"), { ppid: 0 });
    assert.equal(str((await association.receive())!.data), "x");
    assert.deepEqual(seen, [undefined]);
  } finally {
    await association.close();
  }
});
