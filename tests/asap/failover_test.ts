import assert from "node:assert/strict";
import { PoolElement } from "../../asap/pool_element.ts";
import type { PoolElementSession } from "../../asap/pool_element_session.ts";
import { PoolError } from "../../asap/errors.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import type { PoolUserSessionEvent } from "../../asap/pool_user_session.ts";
import { asapAddress, FAST_HUNT, startRegistrar, str, text, waitFor } from "./helpers.ts";

const SECRET = "secret of CounterPool";

/**
 * A counter service: every request increments the session's count, which travels in a state
 * cookie sent before the answer `<pe>:<count>`. After `stallAfter` requests it stops answering
 * (but keeps counting what arrives).
 */
class CounterService {
  stallAfter = Infinity;
  received = 0;
  restored: unknown[] = [];
  sessions: PoolElementSession[] = [];

  constructor(readonly name: string) {}

  serve = async (session: PoolElementSession): Promise<void> => {
    this.sessions.push(session);
    let count = 0;
    session.onEvent((e) => {
      if (e.type === "cookie-echo") {
        this.restored.push(e.state);
        count = (e.state as { count: number }).count;
      }
    });
    for await (const m of session) {
      this.received++;
      if (this.received > this.stallAfter) continue;
      count++;
      await session.sendCookie({ count });
      await session.send(text(`${this.name}:${count}:${str(m.data)}`));
    }
  };
}

async function startCounter(
  protocol: "tcp" | "sctp",
  registrars: ReturnType<typeof asapAddress>[],
  name: string,
): Promise<{ pe: PoolElement; service: CounterService }> {
  const service = new CounterService(name);
  const pe = await PoolElement.start({
    poolHandle: "CounterPool",
    registrars,
    listen: { protocol, hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    cookieSecret: SECRET,
    onSession: service.serve,
  });
  return { pe, service };
}

for (const protocol of ["tcp", "sctp"] as const) {
  for (const failure of ["abort", "close", "timeout"] as const) {
    Deno.test(`failover ${protocol}, PE ${failure}: resumes from the cookie, no request lost`, async () => {
      await using registrar = await startRegistrar(protocol);
      const registrars = [asapAddress(registrar, protocol)];
      const a = await startCounter(protocol, registrars, "A");
      const b = await startCounter(protocol, registrars, "B");
      const services = new Map([[a.pe.identifier, a], [b.pe.identifier, b]]);
      try {
        await using pu = new PoolUser({
          registrars,
          hunt: FAST_HUNT,
          // Long enough for the 7 requests to reach the stalled PE on a loaded machine before
          // the first of them times out.
          requestTimeout: failure === "timeout" ? 2000 : 5000,
          failoverDelay: 50,
        });
        await using session = await pu.connect("CounterPool");
        const events: PoolUserSessionEvent[] = [];
        session.onEvent((e) => events.push(e));
        const first = services.get(session.poolElement!.identifier)!;
        const second = first === a ? b : a;

        const answers: string[] = [];
        for (let i = 1; i <= 3; i++) answers.push(str(await session.request(text(`r${i}`))));
        assert.deepEqual(answers, [1, 2, 3].map((n) => `${first.service.name}:${n}:r${n}`));

        // The first PE stops answering; 7 requests are sent to it, then it fails.
        first.service.stallAfter = 3;
        const pending = [4, 5, 6, 7, 8, 9, 10].map((n) => session.request(text(`r${n}`)));
        await waitFor(() => first.service.received === 10, "requests at the first PE");
        if (failure === "abort") await first.pe.abort();
        if (failure === "close") await first.pe.close();
        const rest = (await Promise.all(pending)).map(str);
        assert.deepEqual(
          rest,
          [4, 5, 6, 7, 8, 9, 10].map((n) => `${second.service.name}:${n}:r${n}`),
        );
        assert.deepEqual(second.service.restored, [{ count: 3 }]);
        const failovers = events.filter((e) => e.type === "failover");
        assert.equal(failovers.length, 1);
        const f = failovers[0];
        assert.ok(f.type === "failover");
        assert.equal(f.from?.identifier, first.pe.identifier);
        assert.equal(f.to.identifier, second.pe.identifier);
        assert.equal(f.resent, 7);
        assert.ok(f.cookieEchoed);
        if (failure === "timeout") assert.match(f.reason, /timed out/);
        // The session goes on with the second PE.
        assert.equal(str(await session.request(text("r11"))), `${second.service.name}:11:r11`);
        assert.equal(session.failovers, 1);
      } finally {
        await a.pe.close();
        await b.pe.close();
      }
    });
  }
}

Deno.test("failover: with no PE left, waiting requests are rejected, never lost", async () => {
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  const only = await startCounter("tcp", registrars, "A");
  try {
    await using pu = new PoolUser({
      registrars,
      hunt: FAST_HUNT,
      failoverDelay: 20,
      maxFailoverAttempts: 3,
    });
    const session = await pu.connect("CounterPool");
    let closedTimer: ReturnType<typeof setTimeout> | undefined;
    const closed = new Promise<PoolUserSessionEvent>((resolve, reject) => {
      session.onEvent((e) => e.type === "closed" && resolve(e));
      closedTimer = setTimeout(() => reject(new Error("No closed event in 20 s")), 20_000);
    }).finally(() => clearTimeout(closedTimer));
    closed.catch(() => {}); // awaited below; a rejection before then is not unhandled
    assert.equal(str(await session.request(text("x"))), "A:1:x");
    only.service.stallAfter = 1;
    const pending = [session.request(text("y")), session.request(text("z"))];
    await waitFor(() => only.service.received === 3, "requests at the PE");
    await only.pe.abort();
    for (const p of pending) {
      await assert.rejects(p, (e) => e instanceof PoolError && e.code === "failover-failed");
    }
    const e = await closed;
    assert.ok(e.type === "closed" && e.error?.code === "failover-failed");
    assert.ok(session.closed);
    await assert.rejects(
      session.request(text("late")),
      (e) => e instanceof PoolError && e.code === "closed",
    );
  } finally {
    await only.pe.close();
  }
});

Deno.test("PU: an unknown pool handle is a typed error, from resolve and connect", async () => {
  await using registrar = await startRegistrar("tcp");
  await using pu = new PoolUser({ registrars: [asapAddress(registrar, "tcp")], hunt: FAST_HUNT });
  const unknown = (e: unknown) =>
    e instanceof PoolError && e.code === "unknown-pool-handle" && e.errorCause === 0x9;
  await assert.rejects(pu.resolve("NoSuchPool"), unknown);
  await assert.rejects(pu.connect("NoSuchPool"), unknown);
});

Deno.test("PU: resolutions are cached for the stale-cache value", async () => {
  let now = 0;
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  const a = await startCounter("tcp", registrars, "A");
  try {
    await using pu = new PoolUser({
      registrars,
      hunt: FAST_HUNT,
      cacheLifetime: 1000,
      clock: () => now,
    });
    await pu.resolve("CounterPool");
    await pu.resolve("CounterPool");
    assert.equal(registrar.stats.handleResolutions, 1);
    now = 999;
    await pu.resolve("CounterPool");
    assert.equal(registrar.stats.handleResolutions, 1);
    now = 1000;
    await pu.resolve("CounterPool");
    assert.equal(registrar.stats.handleResolutions, 2);
    await pu.resolve("CounterPool", { refresh: true });
    assert.equal(registrar.stats.handleResolutions, 3);
    // A PE reported unreachable leaves the cache at once.
    assert.equal(pu.cachedPoolElements("CounterPool").length, 1);
    await pu.reportUnreachable("CounterPool", a.pe.identifier);
    assert.equal(pu.cachedPoolElements("CounterPool").length, 0);
  } finally {
    await a.pe.close();
  }
});
