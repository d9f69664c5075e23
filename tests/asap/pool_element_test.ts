import assert from "node:assert/strict";
import { PoolElement, type PoolElementOptions } from "../../asap/pool_element.ts";
import { PoolError } from "../../asap/errors.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import { MAX_LOAD } from "../../policy/types.ts";
import { Registrar } from "../../registrar/registrar.ts";
import type { EndpointAddress } from "../../transport/open.ts";
import {
  asapAddress,
  FAST_HUNT,
  hasPe,
  sleep,
  startRegistrar,
  str,
  text,
  waitFor,
} from "./helpers.ts";
import { AsapClient, pe as rawPe } from "../support/asap_client.ts";

function peOptions(
  protocol: "tcp" | "sctp",
  registrars: EndpointAddress[],
  pool: string,
  more: Partial<PoolElementOptions> = {},
): PoolElementOptions {
  return {
    poolHandle: pool,
    registrars,
    listen: { protocol, hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    registrationTimeout: 1000,
    onSession: async (s) => {
      for await (const m of s) await s.send(m.data);
    },
    ...more,
  };
}

for (const protocol of ["tcp", "sctp"] as const) {
  Deno.test(`PE ${protocol}: registers, a PU resolves it and talks to it, close deregisters`, async () => {
    await using registrar = await startRegistrar(protocol);
    const registrars = [asapAddress(registrar, protocol)];
    const pe = await PoolElement.start(
      peOptions(protocol, registrars, "EchoPool", { identifier: 0x1234 }),
    );
    try {
      assert.equal(pe.identifier, 0x1234);
      assert.ok(pe.registered);
      const entry = registrar.handlespace.getPoolElement(text("EchoPool"), 0x1234);
      assert.ok(entry !== undefined);
      assert.equal(entry.poolElement.userTransport.protocol, protocol);
      assert.equal(entry.poolElement.userTransport.port, pe.address.port);
      assert.equal(entry.poolElement.registrationLife, 3 * 30_000 + 3000);

      await using pu = new PoolUser({ registrars, hunt: FAST_HUNT });
      const pes = await pu.resolve("EchoPool");
      assert.deepEqual(pes.map((p) => p.identifier), [0x1234]);
      await using session = await pu.connect("EchoPool");
      assert.equal(session.poolElement?.identifier, 0x1234);
      assert.equal(str(await session.request(text("hello"))), "hello");
      assert.equal(str(await session.request(text("again"))), "again");
    } finally {
      await pe.close();
    }
    assert.ok(!hasPe(registrar, "EchoPool", 0x1234));
    assert.equal(registrar.stats.deregistrations, 1);
  });

  Deno.test(`PE ${protocol}: re-registers every interval and answers keep-alives`, async () => {
    // Keep-alives every 100 ms, a second to answer (a loaded machine may be slow to answer).
    await using registrar = await startRegistrar(protocol, {
      keepAliveInterval: 100,
      keepAliveTimeout: 1000,
    });
    const registrars = [asapAddress(registrar, protocol)];
    await using pe = await PoolElement.start(
      peOptions(protocol, registrars, "KeepAlivePool", { reregistrationInterval: 150 }),
    );
    const lifetime = registrar.handlespace.getPoolElement(text("KeepAlivePool"), pe.identifier)
      ?.poolElement.registrationLife;
    assert.equal(lifetime, 3 * 150 + 3000);
    const lost: string[] = [];
    pe.onEvent((e) => e.type === "registrar-lost" && lost.push(e.reason));
    await waitFor(
      () => pe.stats.keepAlivesAnswered >= 4 && pe.stats.registrations >= 4,
      `4 keep-alives and registrations (${JSON.stringify(pe.stats)})`,
      10_000,
    );
    assert.ok(hasPe(registrar, "KeepAlivePool", pe.identifier));
    assert.equal(registrar.stats.keepAliveTimeouts, 0);
    // Every registration the registrar took was answered (one may be on its way: wait for it).
    await waitFor(
      () => registrar.stats.registrations === pe.stats.registrations,
      `as many registrations at the registrar (${registrar.stats.registrations}) as answered`,
    );
    assert.deepEqual(lost, []);
    assert.equal(pe.homeRegistrarId, registrar.serverId);
  });

  Deno.test(`PE ${protocol}: the registrar restarts and the PE registers again`, async () => {
    let registrar = await startRegistrar(protocol);
    const address = asapAddress(registrar, protocol);
    try {
      await using pe = await PoolElement.start(peOptions(protocol, [address], "RestartPool"));
      const events: string[] = [];
      pe.onEvent((e) => events.push(e.type));
      await registrar.close();
      await waitFor(() => events.includes("registrar-lost"), "registrar-lost");
      assert.ok(!pe.registered);
      registrar = await startRegistrar(protocol, { asap: [address] });
      await waitFor(() => hasPe(registrar, "RestartPool", pe.identifier), "re-registration");
      await waitFor(() => pe.registered, "registered flag");
      assert.ok(events.lastIndexOf("registered") > events.indexOf("registrar-lost"), `${events}`);
    } finally {
      await registrar.close();
    }
  });
}

Deno.test("PE: load changes of 1 % or more re-register at once; smaller ones wait", async () => {
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  await using pe = await PoolElement.start(
    peOptions("tcp", registrars, "LoadPool", { policy: { name: "least-used", load: 0 } }),
  );
  const load = () => {
    const p = registrar.handlespace.getPoolElement(text("LoadPool"), pe.identifier)?.poolElement
      .policy;
    return p !== undefined && "load" in p ? p.load : -1;
  };
  assert.equal(load(), 0);
  pe.setLoad(0.5);
  await waitFor(() => load() === Math.round(0.5 * MAX_LOAD), "load 50 %");
  const sent = pe.stats.registrationsSent;
  pe.setLoad(0.505); // +0.5 %: not worth a registration
  await sleep(200);
  assert.equal(pe.stats.registrationsSent, sent);
  assert.equal(load(), Math.round(0.5 * MAX_LOAD));
  pe.setLoad(0.52); // +2 % from the registered load
  await waitFor(() => load() === Math.round(0.52 * MAX_LOAD), "load 52 %");
  assert.equal(pe.stats.registrationsSent, sent + 1);
  assert.throws(() => pe.setLoad(1.5), (e) => e instanceof PoolError && e.code === "invalid");
});

Deno.test("PE: the policy's load is a fraction in the API and 32-bit only on the wire", async () => {
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  const policy = { name: "least-used-degradation" as const, load: 0.25, loadDegradation: 0.5 };
  await using pe = await PoolElement.start(peOptions("tcp", registrars, "FracPool", { policy }));
  const registered = registrar.handlespace.getPoolElement(text("FracPool"), pe.identifier)
    ?.poolElement.policy;
  assert.deepEqual(registered, {
    name: "least-used-degradation",
    load: Math.round(0.25 * MAX_LOAD),
    loadDegradation: Math.round(0.5 * MAX_LOAD),
  });
  assert.deepEqual(pe.parameter.policy, registered);
  const seen = pe.policy;
  assert.ok(seen.name === "least-used-degradation");
  assert.ok(Math.abs(seen.load - 0.25) < 1e-9 && Math.abs(seen.loadDegradation - 0.5) < 1e-9);
  // A wire value where a fraction belongs is refused, not registered as "fully loaded".
  await assert.rejects(
    PoolElement.start(
      peOptions("tcp", registrars, "FracPool", {
        policy: { name: "least-used", load: 0x40000000 },
      }),
    ),
    (e) =>
      e instanceof PoolError && e.code === "invalid" && /load must be a fraction/.test(e.message),
  );
});

Deno.test("PE: setLoad needs a least-used policy", async () => {
  await using registrar = await startRegistrar("tcp");
  await using pe = await PoolElement.start(
    peOptions("tcp", [asapAddress(registrar, "tcp")], "RrPool"),
  );
  assert.throws(() => pe.setLoad(0.5), (e) => e instanceof PoolError && e.code === "invalid");
});

Deno.test("PU: least used selects the PE with the lowest load", async () => {
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  const policy = { name: "least-used" as const, load: 0 };
  await using busy = await PoolElement.start(
    peOptions("tcp", registrars, "LuPool", { policy, identifier: 1 }),
  );
  await using idle = await PoolElement.start(
    peOptions("tcp", registrars, "LuPool", { policy, identifier: 2 }),
  );
  busy.setLoad(0.8);
  idle.setLoad(0.1);
  await waitFor(() => {
    const p = registrar.handlespace.getPoolElement(text("LuPool"), 1)?.poolElement.policy;
    return p !== undefined && "load" in p && p.load > 0;
  }, "load of PE 1");
  await waitFor(() => {
    const p = registrar.handlespace.getPoolElement(text("LuPool"), 2)?.poolElement.policy;
    return p !== undefined && "load" in p && p.load > 0;
  }, "load of PE 2");
  await using pu = new PoolUser({ registrars, hunt: FAST_HUNT });
  for (let i = 0; i < 3; i++) {
    const session = await pu.connect("LuPool");
    assert.equal(session.poolElement?.identifier, 2);
    await session.close();
  }
});

Deno.test("PE: a rejected registration rejects start with the RFC cause", async () => {
  await using registrar = await startRegistrar("tcp");
  const registrars = [asapAddress(registrar, "tcp")];
  await using first = await PoolElement.start(peOptions("tcp", registrars, "PolicyPool"));
  assert.ok(first.registered);
  await assert.rejects(
    PoolElement.start(
      peOptions("tcp", registrars, "PolicyPool", { policy: { name: "random" } }),
    ),
    (e) =>
      e instanceof PoolError && e.code === "registration-rejected" && e.errorCause === 0x5 &&
      e.errorCauseName === "Inconsistent Pooling Policy",
  );
});

Deno.test("PE: a registrar that never answers is given up after MAX-REG-ATTEMPT for another", async () => {
  // A TCP server that accepts ASAP associations and never answers.
  const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of mute) conns.push(c);
  })();
  await using registrar = await startRegistrar("tcp");
  const muteAddress: EndpointAddress = {
    protocol: "tcp",
    hostname: "127.0.0.1",
    port: (mute.addr as Deno.NetAddr).port,
  };
  // A failure, not a hang, if the PE never registers.
  const giveUp = new AbortController();
  const giveUpTimer = setTimeout(() => giveUp.abort(), 30_000);
  try {
    // Only the mute one at first (maxParallel 1, it comes first in the list).
    await using pe = await PoolElement.start(
      peOptions("tcp", [muteAddress, asapAddress(registrar, "tcp")], "MutePool", {
        // Long enough for the registrar that answers on a loaded machine.
        registrationTimeout: 500,
        maxRegistrationAttempts: 2,
        hunt: { ...FAST_HUNT, maxParallel: 1 },
        signal: giveUp.signal,
      }),
    );
    assert.ok(hasPe(registrar, "MutePool", pe.identifier));
    assert.equal(pe.registrar?.port, asapAddress(registrar, "tcp").port);
    assert.ok(pe.stats.registrationsSent >= 3);
  } finally {
    clearTimeout(giveUpTimer);
    mute.close();
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed by the peer
      }
    }
  }
});

Deno.test("PE: start without a registrar can be bounded by a signal", async () => {
  // A port with nothing behind it (TCP connect is refused at once).
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 300);
  await assert.rejects(
    PoolElement.start(
      peOptions("tcp", [{ protocol: "tcp", hostname: "127.0.0.1", port }], "NoPool", {
        signal: controller.signal,
      }),
    ),
    (e) => e instanceof PoolError && e.code === "closed",
  );
  clearTimeout(timer);
});

Deno.test("PE: registers a wildcard address as the address it registered from", async () => {
  await using registrar = await Registrar.start({
    asap: [{ protocol: "tcp", hostname: "127.0.0.1", port: 0 }],
    announce: false,
  });
  await using pe = await PoolElement.start({
    ...peOptions("tcp", [asapAddress(registrar, "tcp")], "WildPool"),
    listen: { protocol: "tcp", hostname: "0.0.0.0", port: 0 },
  });
  const entry = registrar.handlespace.getPoolElement(text("WildPool"), pe.identifier);
  assert.deepEqual(entry?.poolElement.userTransport.addresses, ["127.0.0.1"]);
});

Deno.test("PE: an ID still held by its old association is retried soon, not after the re-registration interval", async () => {
  const registrar = await startRegistrar("tcp");
  const address = asapAddress(registrar, "tcp");
  // The "old" PE: holds ID 0x4242 on an association that stays up for a while.
  const old = await AsapClient.open(address);
  await old.request({
    type: "registration",
    poolHandle: text("RetryPool"),
    poolElement: rawPe(0x4242),
  });
  const starting = PoolElement.start({
    poolHandle: "RetryPool",
    identifier: 0x4242,
    registrars: [address],
    listen: { protocol: "tcp", hostname: "127.0.0.1", port: 0 },
    hunt: FAST_HUNT,
    reregistrationInterval: 30_000,
    onSession: () => {},
  });
  await waitFor(() => registrar.stats.registrationsRejected >= 1, "the first refusal");
  const freedAt = Date.now();
  await old.abort();
  const pe = await starting;
  try {
    assert.ok(Date.now() - freedAt < 5000, "registered within seconds, not 30 s");
    assert.ok(pe.registered);
    assert.equal(
      registrar.handlespace.getPoolElement(text("RetryPool"), 0x4242)?.userData?.association !==
        undefined,
      true,
    );
  } finally {
    await pe.close();
    await registrar.close();
  }
});
