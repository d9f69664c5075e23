// ENRP peer authentication (issue 10): registrars given the same secret peer and replicate;
// one with another secret or none is not a peer (its PRESENCE is ignored, its HANDLE_UPDATEs
// and takeovers do nothing); a signed message sent again (a replay, on the same association
// or another) and a stale one are refused.

import assert from "node:assert/strict";
import { EnrpAuthenticator } from "../../enrp/auth.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "../../enrp/codec.ts";
import type { PoolElement } from "../../asap/pool_element.ts";
import type { Registrar, RegistrarOptions } from "../../registrar/registrar.ts";
import { ErrorCause } from "../../wire/errors.ts";
import { sleep, waitFor } from "../asap/helpers.ts";
import { peerPe as pe, startEnrpRegistrar, startLocalPe, TestPeer } from "./enrp_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const opts = { sanitizeOps: false, sanitizeResources: false };
const SECRET = "the registrars' shared secret";

/** This file's keep-alive and ENRP timers (over which each test's options go). */
const TUNING: Partial<RegistrarOptions> = {
  keepAliveInterval: 500,
  keepAliveTimeout: 500,
  enrpTuning: {
    mentorHuntTimeout: 300,
    heartbeatCycle: 200,
    maxTimeLastHeard: 1000,
    maxTimeNoResponse: 1000,
  },
};

const startRegistrar = (options: Partial<RegistrarOptions> = {}) =>
  startEnrpRegistrar(TUNING, options);

Deno.test({
  name:
    "enrp auth: registrars with the secret peer and replicate; one with another secret or none is ignored",
  ...opts,
  async fn() {
    const started: Registrar[] = [];
    let element: PoolElement | undefined;
    try {
      const r1 = await startRegistrar({ enrpSecret: SECRET });
      started.push(r1);
      const peers = [r1.enrpAddresses[0]];
      const r2 = await startRegistrar({ enrpSecret: SECRET, peers });
      started.push(r2);
      const r3 = await startRegistrar({ enrpSecret: SECRET, peers });
      started.push(r3);
      await waitFor(
        () => [r1, r2, r3].every((r) => r.peers.length === 2),
        "three registrars in each other's peer tables",
      );
      // A PE registered at r2 is replicated to r1 and r3.
      element = await startLocalPe("Shared", r2);
      const id = element.identifier;
      await waitFor(
        () => [r1, r2, r3].every((r) => r.handlespace.getPoolElement(text("Shared"), id)),
        "the PE on every registrar",
      );
      assert.equal(r1.handlespace.getPoolElement(text("Shared"), id)?.owner, r2.serverId);

      // Registrars with a wrong secret and with none, told to peer with r1.
      const wrong = await startRegistrar({ enrpSecret: "another secret", peers });
      started.push(wrong);
      const none = await startRegistrar({ peers });
      started.push(none);
      // Their PEs would be replicated to their peers if they were any.
      const intruderPes = await Promise.all([wrong, none].map((r) => startLocalPe("Shared", r)));
      try {
        await waitFor(
          () => (r1.enrp?.stats.unauthenticated ?? 0) >= 2,
          "r1 dropping their messages",
        );
        await sleep(1000); // several heartbeat cycles
        const ids = (r: Registrar) => r.peers.map((p) => p.serverId).sort((x, y) => x - y);
        assert.deepEqual(
          ids(r1),
          [r2.serverId, r3.serverId].sort((x, y) => x - y),
          "r1 took neither as peer",
        );
        assert.deepEqual(ids(wrong), [], "nor did they take r1");
        assert.deepEqual(ids(none), []);
        for (const p of intruderPes) {
          assert.equal(
            r1.handlespace.getPoolElement(text("Shared"), p.identifier),
            undefined,
            "their PEs are not replicated",
          );
        }
        // The authenticated set still works: the PE is still owned by r2 everywhere.
        for (const r of [r1, r3]) {
          assert.equal(r.handlespace.getPoolElement(text("Shared"), id)?.owner, r2.serverId);
        }
        assert.equal(r1.enrp?.stats.replayed, 0);
      } finally {
        for (const p of intruderPes) await p.close();
      }
    } finally {
      await element?.close();
      for (const r of started.reverse()) await r.close();
    }
  },
});

Deno.test({
  name:
    "enrp auth: unsigned and wrongly signed HANDLE_UPDATEs and takeovers do nothing; replayed and stale messages are refused",
  ...opts,
  async fn() {
    const registrar = await startRegistrar({ enrpSecret: SECRET });
    const a = await TestPeer.connect(registrar, 0x1111, new EnrpAuthenticator({ secret: SECRET }));
    const b = await TestPeer.connect(registrar, 0x3333, new EnrpAuthenticator({ secret: SECRET }));
    const intruder = await TestPeer.connect(registrar, 0x7777);
    const forger = await TestPeer.connect(
      registrar,
      0x7777,
      new EnrpAuthenticator({ secret: "a guess" }),
    );
    const others: TestPeer[] = [];
    try {
      const hs = registrar.handlespace;
      const stats = registrar.enrp!.stats;
      // Two authenticated peers; b owns PE 5, a owns PE 1.
      const presence = await a.presence();
      await b.presence();
      const add = await a.update("add", "P", pe(1, 0x1111));
      await b.update("add", "P", pe(5, 0x3333));
      await waitFor(() => hs.size === 2, "the peers' PEs");

      // No signature, then a wrong one: a PRESENCE of its own, a HANDLE_UPDATE in a's name that
      // moves PE 1 elsewhere, another that adds a PE, a DEL of b's PE, and a TAKEOVER_SERVER in
      // a's name of b.
      for (const t of [intruder, forger]) {
        await t.presence();
        await t.update("add", "P", pe(1, 0x1111, "10.66.6.6"), 0x1111);
        await t.update("add", "P", pe(9, 0x1111), 0x1111);
        await t.update("delete", "P", pe(5, 0x3333), 0x3333);
        await t.send({
          type: "takeover-server",
          senderId: 0x1111,
          receiverId: 0,
          targetId: 0x3333,
        });
      }
      await waitFor(() => stats.unauthenticated >= 10, "the intruders' messages dropped");
      await sleep(200);
      assert.equal(hs.size, 2);
      assert.equal(
        hs.getPoolElement(text("P"), 1)?.poolElement.userTransport.addresses[0],
        "10.9.0.1",
      );
      assert.equal(hs.getPoolElement(text("P"), 5)?.owner, 0x3333, "b's PE not taken over");
      assert.equal(hs.getPoolElement(text("P"), 9), undefined);
      assert.deepEqual(registrar.peers.map((p) => p.serverId).sort((x, y) => x - y), [
        0x1111,
        0x3333,
      ]);
      // Each is answered with Rejection due to security considerations (rate limited).
      const refusal = intruder.received.find((m) => m.type === "error");
      assert.equal(
        refusal?.type === "error" && refusal.error[0].code,
        ErrorCause.RejectedForSecurity,
      );

      // a deletes PE 1; its earlier ADD, replayed on a's association and on a new one, is
      // refused, as is its PRESENCE.
      await a.update("delete", "P", pe(1, 0x1111));
      await waitFor(() => hs.getPoolElement(text("P"), 1) === undefined, "PE 1 deleted");
      await a.sendBytes(add);
      const replayer = await TestPeer.connect(registrar, 0x7777);
      others.push(replayer);
      await replayer.sendBytes(add);
      await replayer.sendBytes(presence);
      await waitFor(() => stats.replayed >= 3, "the replays refused");
      await sleep(200);
      assert.equal(hs.getPoolElement(text("P"), 1), undefined, "the replayed ADD did nothing");

      // A message signed with the secret two minutes ago (a stale capture) is refused.
      const before = stats.unauthenticated;
      const stale = await TestPeer.connect(
        registrar,
        0x1111,
        new EnrpAuthenticator({ secret: SECRET }, () => Date.now() - 120_000),
      );
      others.push(stale);
      await stale.update("add", "P", pe(3, 0x1111));
      await waitFor(() => stats.unauthenticated > before, "the stale message refused");
      assert.equal(hs.getPoolElement(text("P"), 3), undefined);

      // a's fresh messages are still taken.
      await a.update("add", "P", pe(4, 0x1111));
      await waitFor(() => hs.getPoolElement(text("P"), 4) !== undefined, "a's new PE");
    } finally {
      for (const p of [a, b, intruder, forger, ...others]) p.close();
      await registrar.close();
    }
  },
});

Deno.test("enrp auth: an authenticator refuses a missing, wrong, stale or repeated signature", () => {
  let now = 1_000_000;
  const signer = new EnrpAuthenticator({ secret: SECRET }, () => now);
  const reader = new EnrpAuthenticator({ secret: SECRET, maxSkew: 1000 }, () => now);
  const message = encodeEnrpMessage({ type: "list-request", senderId: 1, receiverId: 0 });
  assert.deepEqual(reader.open(message), { ok: false, why: "missing" });
  const signed = signer.sign(message);
  const opened = reader.open(signed);
  assert.ok(opened.ok);
  assert.deepEqual(decodeEnrpMessage(opened.message), decodeEnrpMessage(message));
  // RSPLIB-style decoders skip the parameter: the signed message decodes as it is.
  assert.deepEqual(decodeEnrpMessage(signed), decodeEnrpMessage(message));
  assert.deepEqual(reader.open(signed), { ok: false, why: "replayed" });
  const tampered = signer.sign(message);
  tampered[7] ^= 1; // another sender ID
  assert.deepEqual(reader.open(tampered), { ok: false, why: "invalid" });
  const other = new EnrpAuthenticator({ secret: "other" }, () => now);
  assert.deepEqual(reader.open(other.sign(message)), { ok: false, why: "invalid" });
  const old = signer.sign(message);
  now += 1500;
  assert.deepEqual(reader.open(old), { ok: false, why: "stale" });
  // Two messages signed in the same millisecond are both taken (the sequence differs).
  const x = signer.sign(message);
  const y = signer.sign(message);
  assert.ok(reader.open(y).ok, "out of order");
  assert.ok(reader.open(x).ok);
});
