import assert from "node:assert/strict";
import { encodeAsapMessage } from "../../asap/codec.ts";
import { ASAP_PPID, connectEndpoint } from "../../asap/connect.ts";
import { PoolElement } from "../../asap/pool_element.ts";
import type { PoolElementSessionEvent } from "../../asap/pool_element_session.ts";
import { sealStateCookie } from "../../asap/state_cookie.ts";
import { asapAddress, FAST_HUNT, startRegistrar, str, text, waitFor } from "./helpers.ts";
import { receiveWithin } from "../support/deadline.ts";

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
      assert.equal(await receiveWithin(association), null, what);
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
      const answer = await receiveWithin(association);
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
    assert.equal(str((await receiveWithin(association))!.data), "x");
    assert.deepEqual(seen, [undefined]);
  } finally {
    await association.close();
  }
});

Deno.test("PE: an echoed cookie older than one of the same session it has seen is a replay, and one older than cookieMaxAge is refused", async () => {
  await using registrar = await startRegistrar("tcp");
  let now = Date.now();
  const rejected: string[] = [];
  await using pe = await PoolElement.start({
    poolHandle: "ReplayPool",
    registrars: [asapAddress(registrar, "tcp")],
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    cookieSecret: SECRET,
    cookieMaxAge: 60_000,
    clock: () => now,
    onSession: async (session) => {
      session.onEvent((e) => {
        if (e.type === "cookie-rejected") rejected.push(e.error.message);
      });
      let count = 0;
      const restored = () => session.restoredState as { count: number } | undefined;
      for await (const m of session) {
        count = Math.max(count, restored()?.count ?? 0) + 1;
        await session.sendCookie({ count });
        await session.send(text(`${count}:${str(m.data)}`));
      }
    },
  });
  // A session that gets cookies 0, 1 and 2 (counts 1, 2, 3).
  const first = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
  const cookies: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    await first.send(text(`m${i}`), { ppid: 0 });
    for (;;) {
      const m = await receiveWithin(first);
      if (m === null) throw new Error("ended");
      if (m.ppid === ASAP_PPID) {
        const { decodeAsapMessage } = await import("../../asap/codec.ts");
        const asap = decodeAsapMessage(m.data);
        if (asap.type === "cookie") cookies.push(asap.cookie);
        continue;
      }
      break;
    }
  }
  first.abort();
  const echo = async (cookie: Uint8Array): Promise<string | null> => {
    const a = await connectEndpoint(pe.address, { framing: "framed", timeout: 2000 });
    try {
      await a.send(encodeAsapMessage({ type: "cookie-echo", cookie }), { ppid: ASAP_PPID });
      await a.send(text("next"), { ppid: 0 }).catch(() => {});
      for (;;) {
        const m = await receiveWithin(a);
        if (m === null) return null;
        if (m.ppid !== ASAP_PPID) return str(m.data);
      }
    } finally {
      a.abort();
    }
  };
  // The newest cookie continues the session.
  assert.equal(await echo(cookies[2]), "4:next");
  // An older one of the same session would roll it back: refused.
  assert.equal(await echo(cookies[0]), null);
  await waitFor(() => rejected.some((m) => /replay/.test(m)), "the replay refused");
  // Too old: refused whatever its session.
  now += 61_000;
  assert.equal(await echo(cookies[2]), null);
  await waitFor(() => rejected.some((m) => /ms old/.test(m)), "the old cookie refused");
});
