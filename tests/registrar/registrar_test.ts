import assert from "node:assert/strict";
import { delay, waitFor, withRegistrar } from "./helpers.ts";
import { ErrorCause } from "../../wire/mod.ts";
import { AsapClient, pe, text } from "../support/asap_client.ts";
import { asapSamples } from "../support/messages.ts";
import { encodeAsapMessage } from "../../asap/mod.ts";
import { mutate } from "../wire/fuzz.ts";
import { SeededRandom } from "../support/random.ts";

const PROTOCOLS = ["tcp", "sctp"] as const;

for (const protocol of PROTOCOLS) {
  Deno.test(`${protocol}: registration and resolution by round robin`, async () => {
    await withRegistrar(protocol, {}, async (registrar, address) => {
      const c = await AsapClient.open(address);
      const ph = text("EchoPool");
      for (const id of [1, 2, 3, 4]) {
        const r = await c.request({ type: "registration", poolHandle: ph, poolElement: pe(id) });
        assert.equal(r.type, "registration-response");
        if (r.type === "registration-response") {
          assert.equal(r.rejected, false);
          assert.equal(r.identifier, id);
        }
      }
      assert.equal(registrar.handlespace.size, 4);
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await c.request({
          type: "handle-resolution",
          wantsUpdates: false,
          poolHandle: ph,
        });
        assert.equal(r.type, "handle-resolution-response");
        if (r.type !== "handle-resolution-response") return;
        assert.equal(r.poolElements.length, 3, "max 3 PEs per resolution");
        assert.deepEqual(r.policy, { name: "round-robin" });
        seen.push(r.poolElements[0].identifier);
        // The registrar fills in the home registrar and the ASAP transport.
        assert.equal(r.poolElements[0].homeRegistrarId, registrar.serverId);
        assert.equal(r.poolElements[0].asapTransport?.protocol, protocol);
      }
      assert.deepEqual(seen, [1, 2, 3, 4], "each resolution starts at the next PE");
      await c.close();
    });
  });

  Deno.test(`${protocol}: least used resolves the least loaded PE first`, async () => {
    await withRegistrar(protocol, {}, async (_registrar, address) => {
      const c = await AsapClient.open(address);
      const ph = text("LuPool");
      const loads = [0x80000000, 0x10000000, 0x40000000];
      for (const [i, load] of loads.entries()) {
        await c.request({
          type: "registration",
          poolHandle: ph,
          poolElement: pe(i + 1, { policy: { name: "least-used", load } }),
        });
      }
      const r = await c.request({ type: "handle-resolution", wantsUpdates: false, poolHandle: ph });
      assert.equal(r.type, "handle-resolution-response");
      if (r.type === "handle-resolution-response") {
        assert.deepEqual(r.poolElements.map((e) => e.identifier), [2, 3, 1]);
      }
      await c.close();
    });
  });

  Deno.test(`${protocol}: registrations are checked and rejected with the RFC causes`, async () => {
    await withRegistrar(
      protocol,
      { maxPoolElementsPerPool: 3 },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        const ph = text("CheckPool");
        const reject = async (poolHandle: Uint8Array, p: ReturnType<typeof pe>) => {
          const r = await c.request({ type: "registration", poolHandle, poolElement: p });
          assert.equal(r.type, "registration-response");
          if (r.type !== "registration-response") throw new Error();
          assert.equal(r.rejected, true, JSON.stringify(p));
          return r.error?.[0].code;
        };
        await c.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        assert.equal(
          await reject(ph, pe(2, { policy: { name: "random" } })),
          ErrorCause.InconsistentPoolingPolicy,
        );
        assert.equal(
          await reject(
            ph,
            pe(3, {
              userTransport: { protocol: "udp", port: 7, addresses: ["127.0.0.1"] },
            }),
          ),
          ErrorCause.InconsistentTransportType,
        );
        assert.equal(
          await reject(
            ph,
            pe(4, {
              userTransport: {
                protocol: "tcp",
                port: 7,
                transportUse: "data",
                addresses: ["192.0.2.1"],
              },
            }),
          ),
          ErrorCause.RejectedForSecurity,
          "an address out of the association's scope",
        );
        assert.equal(await reject(new Uint8Array(), pe(5)), ErrorCause.InvalidValues);
        assert.equal(
          await reject(new Uint8Array(33).fill(0x41), pe(6)),
          ErrorCause.InvalidValues,
          "a pool handle longer than 32 bytes",
        );
        assert.equal(await reject(ph, pe(7, { registrationLife: 0 })), ErrorCause.InvalidValues);
        await c.request({ type: "registration", poolHandle: ph, poolElement: pe(8) });
        await c.request({ type: "registration", poolHandle: ph, poolElement: pe(9) });
        assert.equal(await reject(ph, pe(10)), ErrorCause.LackOfResources, "pool full");
        assert.equal(registrar.handlespace.size, 3);
        assert.equal(registrar.stats.registrationsRejected, 7);
        await c.close();
      },
    );
  });

  Deno.test(`${protocol}: deregistration only from the PE's own association`, async () => {
    await withRegistrar(protocol, {}, async (registrar, address) => {
      const owner = await AsapClient.open(address);
      const other = await AsapClient.open(address);
      const ph = text("P");
      await owner.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
      const denied = await other.request({ type: "deregistration", poolHandle: ph, identifier: 1 });
      assert.equal(denied.type, "deregistration-response");
      if (denied.type === "deregistration-response") {
        assert.equal(denied.error?.[0].code, ErrorCause.RejectedForSecurity);
      }
      assert.equal(registrar.handlespace.size, 1);
      const ok = await owner.request({ type: "deregistration", poolHandle: ph, identifier: 1 });
      assert.equal(ok.type, "deregistration-response");
      if (ok.type === "deregistration-response") assert.equal(ok.error, undefined);
      assert.equal(registrar.handlespace.size, 0);
      await owner.close();
      await other.close();
    });
  });

  Deno.test(`${protocol}: an unanswered keep-alive removes the PE`, async () => {
    await withRegistrar(
      protocol,
      // A second to answer: a loaded machine may take a few hundred ms to answer in time.
      { keepAliveInterval: 100, keepAliveTimeout: 1000 },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        const ph = text("P");
        await c.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        // Answered keep-alives keep it registered.
        await waitFor(() => c.keepAlives >= 3);
        assert.equal(registrar.handlespace.size, 1);
        c.answerKeepAlives = false;
        await waitFor(() => registrar.handlespace.size === 0, 10_000);
        assert.equal(registrar.stats.keepAliveTimeouts, 1);
        await c.close();
      },
    );
  });

  Deno.test(`${protocol}: the registration life expires`, async () => {
    await withRegistrar(
      protocol,
      { keepAliveInterval: 50, keepAliveTimeout: 1000 },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        await c.request({
          type: "registration",
          poolHandle: text("P"),
          poolElement: pe(1, { registrationLife: 300 }),
        });
        await waitFor(() => registrar.handlespace.size === 0);
        assert.equal(registrar.stats.lifetimeExpiries, 1);
        assert.ok(c.keepAlives >= 1, "keep-alives went out meanwhile");
        await c.close();
      },
    );
  });

  Deno.test(`${protocol}: unreachable reports from distinct associations make the registrar check the PE; it goes only if it does not answer`, async () => {
    await withRegistrar(protocol, { maxBadPeReports: 3 }, async (registrar, address) => {
      const ph = text("P");
      const live = await AsapClient.open(address);
      await live.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
      const silent = await AsapClient.open(address);
      silent.answerKeepAlives = false;
      await silent.request({ type: "registration", poolHandle: ph, poolElement: pe(2) });
      const users = await Promise.all([0, 1, 2].map(() => AsapClient.open(address)));
      const report = (c: AsapClient, identifier: number) =>
        c.send({ type: "endpoint-unreachable", poolHandle: ph, identifier });
      // One association reporting many times counts once.
      for (let i = 0; i < 10; i++) await report(users[0], 2);
      const r = await users[0].request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: ph,
      });
      assert.equal(r.type === "handle-resolution-response" && r.poolElements.length, 2);
      // Three reporters about a PE that answers: checked, kept, and the count starts anew.
      for (const u of users) await report(u, 1);
      await waitFor(() => registrar.stats.unreachableReports >= 13);
      await waitFor(() => registrar.handlespace.getPoolElement(ph, 1)?.userData?.badReports === 0);
      assert.ok(registrar.handlespace.getPoolElement(ph, 1), "the live PE stayed");
      // Three reporters about a PE that does not answer: removed within the check's timeout.
      for (const u of users) await report(u, 2);
      await waitFor(() => registrar.handlespace.getPoolElement(ph, 2) === undefined, 10_000);
      assert.equal(registrar.stats.unreachableRemovals, 1);
      assert.equal(registrar.handlespace.size, 1);
      for (const c of [live, silent, ...users]) await c.close();
    });
  });

  Deno.test(`${protocol}: one unreachable report removes a PE whose association to the registrar is gone; a still-associated PE needs more`, async () => {
    await withRegistrar(
      protocol,
      { maxBadPeReports: 3, keepAliveInterval: 60_000, keepAliveTimeout: 60_000 },
      async (registrar, address) => {
        const ph = text("P");
        const gone = await AsapClient.open(address);
        await gone.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        const kept = await AsapClient.open(address);
        await kept.request({ type: "registration", poolHandle: ph, poolElement: pe(2) });
        const user = await AsapClient.open(address);
        await gone.abort();
        // Still in the pool: it has the keep-alive timeout to come back on another association.
        await delay(300);
        assert.ok(registrar.handlespace.getPoolElement(ph, 1), "kept while it may come back");
        await user.send({ type: "endpoint-unreachable", poolHandle: ph, identifier: 1 });
        await user.send({ type: "endpoint-unreachable", poolHandle: ph, identifier: 2 });
        await waitFor(() => registrar.handlespace.getPoolElement(ph, 1) === undefined);
        await waitFor(() => registrar.stats.unreachableReports >= 2);
        assert.ok(registrar.handlespace.getPoolElement(ph, 2), "one report does not remove a PE");
        assert.equal(registrar.stats.unreachableRemovals, 1);
        for (const c of [kept, user]) await c.close();
      },
    );
  });

  Deno.test(`${protocol}: a lost PE association removes its PEs after the timeout`, async () => {
    await withRegistrar(
      protocol,
      { keepAliveInterval: 10_000, keepAliveTimeout: 200 },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        await c.request({ type: "registration", poolHandle: text("P"), poolElement: pe(1) });
        await c.request({ type: "registration", poolHandle: text("Q"), poolElement: pe(2) });
        await c.abort();
        await waitFor(() => registrar.handlespace.size === 0);
      },
    );
  });

  Deno.test(`${protocol}: an association's PEs are counted through renewals and deregistrations: it is not idle while it holds one, and its loss removes those it holds`, async () => {
    await withRegistrar(
      protocol,
      { idleTimeout: 300, keepAliveInterval: 10_000, keepAliveTimeout: 200 },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        const register = async (pool: string, id: number) => {
          const r = await c.request({
            type: "registration",
            poolHandle: text(pool),
            poolElement: pe(id),
          });
          assert.equal(r.type === "registration-response" && r.rejected, false);
        };
        const deregister = async (pool: string, id: number) => {
          const r = await c.request({
            type: "deregistration",
            poolHandle: text(pool),
            identifier: id,
          });
          assert.equal(r.type === "deregistration-response" && r.error, undefined);
        };
        await register("P", 1);
        await register("Q", 2);
        await register("P", 3);
        await register("P", 1); // a renewal: still one PE
        await deregister("P", 1); // the first one
        await register("R", 4);
        await deregister("Q", 2);
        assert.equal(registrar.handlespace.size, 2);
        await delay(800);
        assert.equal(c.association.closed, false, "an association with PEs is not idle");
        await c.abort();
        await waitFor(() => registrar.handlespace.size === 0);
        // One that deregistered all its PEs is idle again.
        const d = await AsapClient.open(address);
        await d.request({ type: "registration", poolHandle: text("S"), poolElement: pe(5) });
        await d.request({ type: "deregistration", poolHandle: text("S"), identifier: 5 });
        await waitFor(() => d.association.closed, 5000);
        await d.close();
      },
    );
  });

  Deno.test(`${protocol}: a PE ID held by a live association is refused to another; once that one is gone, the new one takes it over and keeps it`, async () => {
    await withRegistrar(
      protocol,
      // Half a second to answer: enough on a loaded machine, and several timeouts fit in the
      // wait below.
      { keepAliveInterval: 100, keepAliveTimeout: 500 },
      async (registrar, address) => {
        const old = await AsapClient.open(address);
        const ph = text("P");
        await old.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        // Another association of the same address: no proof of identity.
        const moved = await AsapClient.open(address);
        const stolen = await moved.request({
          type: "registration",
          poolHandle: ph,
          poolElement: pe(1),
        });
        assert.equal(stolen.type === "registration-response" && stolen.rejected, true);
        assert.equal(
          stolen.type === "registration-response" && stolen.error?.[0].code,
          ErrorCause.NonUniquePeIdentifier,
        );
        // Once the owner's association is gone, the ID is free for the new one.
        await old.abort();
        await waitFor(() => registrar.associationCount === 1);
        const r = await moved.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        assert.equal(r.type === "registration-response" && r.rejected, false);
        // Several keep-alive timeouts later the PE is still there: its keep-alives go to (and
        // are answered on) the new association.
        const answered = moved.keepAlives;
        const since = Date.now();
        await waitFor(() => moved.keepAlives >= answered + 4 && Date.now() - since >= 2000, 15_000);
        assert.ok(registrar.handlespace.getPoolElement(ph, 1), "the PE stayed registered");
        assert.equal(registrar.stats.keepAliveTimeouts, 0);
        await moved.close();
      },
    );
  });

  Deno.test(`${protocol}: hostile input is answered or dropped and others are served`, async () => {
    await withRegistrar(protocol, {}, async (registrar, address) => {
      const good = await AsapClient.open(address);
      const ph = text("EchoPool");
      for (const id of [1, 2, 3]) {
        await good.request({ type: "registration", poolHandle: ph, poolElement: pe(id) });
      }
      const hostile = await AsapClient.open(address);
      hostile.answerKeepAlives = false;
      const rnd = new SeededRandom(7);
      const corpus = asapSamples().map(encodeAsapMessage);
      for (let i = 0; i < 500; i++) {
        let bytes = mutate(rnd.pick(corpus), corpus, rnd);
        if (protocol === "tcp") {
          // TCP carries ASAP self-delimited by the length field: keep it consistent so that
          // the stream stays in step (garbage framing is the next test's subject).
          bytes = Uint8Array.from(
            { length: Math.max(4, (bytes.length + 3) & ~3) },
            (_, i) => bytes[i] ?? 0,
          );
          bytes[2] = bytes.length >> 8;
          bytes[3] = bytes.length & 0xff;
        }
        if (bytes.length === 0) continue; // SCTP has no empty messages
        await hostile.sendRaw(bytes);
      }
      // The registrar still answers, and the PEs registered by the good client are intact.
      for (let i = 0; i < 5; i++) {
        const r = await good.request({
          type: "handle-resolution",
          wantsUpdates: false,
          poolHandle: ph,
        });
        assert.equal(r.type, "handle-resolution-response");
        if (r.type === "handle-resolution-response") assert.equal(r.poolElements.length, 3);
      }
      for (const id of [1, 2, 3]) {
        assert.ok(registrar.handlespace.getPoolElement(ph, id), `PE ${id} still registered`);
      }
      assert.ok(registrar.stats.malformed > 0);
      await hostile.abort();
      await good.close();
    });
  });

  Deno.test(`${protocol}: a handle resolution flood past the rate limit is dropped`, async () => {
    await withRegistrar(
      protocol,
      // A clock that stands still: the buckets do not refill, however slow the machine is.
      { handleResolutionRate: { rate: 5, burst: 10 }, clock: () => 1_000_000 },
      async (registrar, address) => {
        const flood = await AsapClient.open(address);
        const other = await AsapClient.open(address);
        const ph = text("P");
        await other.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
        for (let i = 0; i < 200; i++) {
          await flood.send({ type: "handle-resolution", wantsUpdates: false, poolHandle: ph });
        }
        // Another PU is still served at once.
        const r = await other.request({
          type: "handle-resolution",
          wantsUpdates: false,
          poolHandle: ph,
        });
        assert.equal(r.type, "handle-resolution-response");
        await waitFor(() => registrar.stats.handleResolutions + registrar.stats.rateLimited >= 201);
        // The flooder's burst of 10 and the other PU's one were answered; the rest dropped.
        assert.equal(registrar.stats.rateLimited, 190);
        assert.equal(registrar.stats.handleResolutions, 11);
        await flood.close();
        await other.close();
      },
    );
  });

  Deno.test(`${protocol}: a registration flood past the limits keeps the handlespace bounded`, async () => {
    await withRegistrar(
      protocol,
      { maxPoolElements: 50, registrationRate: { rate: 1000, burst: 1000 } },
      async (registrar, address) => {
        const c = await AsapClient.open(address);
        let rejected = 0;
        for (let i = 0; i < 80; i++) {
          const r = await c.request({
            type: "registration",
            poolHandle: text(`Pool${i % 7}`),
            poolElement: pe(i + 1),
          });
          if (r.type === "registration-response" && r.rejected) {
            assert.equal(r.error?.[0].code, ErrorCause.LackOfResources);
            rejected++;
          }
        }
        assert.equal(rejected, 30);
        assert.equal(registrar.handlespace.size, 50);
        await c.close();
      },
    );
  });
}

Deno.test("tcp: a stream that breaks the framing is closed and others are served", async () => {
  await withRegistrar("tcp", {}, async (registrar, address) => {
    const good = await AsapClient.open(address);
    const ph = text("P");
    await good.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
    const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
    // A length of 2 cannot be an ASAP message: the registrar drops the connection.
    await conn.write(new Uint8Array([0x05, 0x00, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef]));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer).catch(() => null);
    assert.equal(n, null, "the registrar closed the connection");
    conn.close();
    const r = await good.request({
      type: "handle-resolution",
      wantsUpdates: false,
      poolHandle: ph,
    });
    assert.equal(r.type === "handle-resolution-response" && r.poolElements.length, 1);
    assert.equal(registrar.handlespace.size, 1);
    await good.close();
  });
});

Deno.test("tcp: a PU that floods resolutions and never reads is no longer read, holds little memory, and is closed once idle", async () => {
  await withRegistrar(
    "tcp",
    { handleResolutionRate: { rate: 10_000_000, burst: 10_000_000 }, idleTimeout: 1500 },
    async (registrar, address) => {
      const good = await AsapClient.open(address);
      const ph = text("P");
      await good.request({ type: "registration", poolHandle: ph, poolElement: pe(1) });
      const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
      await waitFor(() => registrar.associationCount === 2);
      const request = encodeAsapMessage({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: ph,
      });
      const batch = new Uint8Array(request.length * 1000);
      for (let i = 0; i < 1000; i++) batch.set(request, i * request.length);
      // Write until the registrar stops taking requests (our writes block once the kernel
      // buffers are full) or drops us; never read an answer.
      const writing = (async () => {
        try {
          for (let i = 0; i < 1000; i++) await conn.write(batch);
        } catch {
          // the registrar closed the connection
        }
      })();
      await delay(500);
      // While it floods, the others are served, and what waits for it stays small.
      const r = await good.request({
        type: "handle-resolution",
        wantsUpdates: false,
        poolHandle: ph,
      });
      assert.equal(r.type === "handle-resolution-response" && r.poolElements.length, 1);
      assert.ok(registrar.unsentBytes <= 256 * 1024, `${registrar.unsentBytes} bytes unsent`);
      // It is no longer read, so it asks nothing: closed as idle.
      await waitFor(() => registrar.associationCount === 1, 10_000);
      assert.ok(registrar.stats.associationsIdleClosed + registrar.stats.associationsCut >= 1);
      conn.close();
      await writing;
      await good.close();
    },
  );
});

Deno.test("an unknown message type gets an ERROR with Unrecognized Message", async () => {
  await withRegistrar("tcp", {}, async (_registrar, address) => {
    const c = await AsapClient.open(address);
    await c.sendRaw(new Uint8Array([0x7f, 0, 0, 8, 1, 2, 3, 4]));
    const r = await c.next();
    assert.equal(r?.type, "error");
    if (r?.type === "error") {
      assert.equal(r.error[0].code, ErrorCause.UnrecognizedMessage);
      assert.deepEqual(r.error[0].info, new Uint8Array([0x7f, 0, 0, 8, 1, 2, 3, 4]));
    }
    await c.close();
  });
});
