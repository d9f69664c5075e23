// The ENRP side of a registrar, driven by a test peer that speaks ENRP over a real SCTP
// association: handle table transfer in parts, updates, the checksum audit, and hostile input
// (an unknown sender, a PE stolen from another live registrar, a PE whose home is not the
// sender, fuzzed messages), none of which may corrupt the handlespace or stop resolutions.

import assert from "node:assert/strict";
import { encodeEnrpMessage } from "../../enrp/codec.ts";
import type { EnrpMessage } from "../../enrp/messages.ts";
import { PoolUser } from "../../asap/pool_user.ts";
import type { RegistrarOptions } from "../../registrar/registrar.ts";
import { ErrorCause } from "../../wire/errors.ts";
import { enrpSamples } from "../support/messages.ts";
import { SeededRandom } from "../support/random.ts";
import { mutate } from "../wire/fuzz.ts";
import { waitFor } from "../asap/helpers.ts";
import { peerPe, startEnrpRegistrar, startLocalPe, TestPeer } from "./enrp_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const opts = { sanitizeOps: false, sanitizeResources: false };

/** This file's keep-alive, resolution and ENRP settings (over which each test's options go). */
const TUNING: Partial<RegistrarOptions> = {
  keepAliveInterval: 500,
  keepAliveTimeout: 500,
  maxHandleResolutionItems: 1000,
  enrpTuning: { mentorHuntTimeout: 50, maxElementsPerHandleTableResponse: 128 },
};

/** A registrar with ENRP that has finished its start-up (alone: no peer is configured). */
const startRegistrar = (options: Partial<RegistrarOptions> = {}) =>
  startEnrpRegistrar(TUNING, options);

/** A PE of a test peer, its user transport for data and control. */
const pe = (identifier: number, home: number, address?: string) =>
  peerPe(identifier, home, address, "data-control");

const isType = <K extends EnrpMessage["type"]>(type: K) =>
(m: EnrpMessage): m is Extract<
  EnrpMessage,
  { type: K }
> => m.type === type;

Deno.test({
  name: "enrp: a peer's updates enter the handlespace; an unknown sender's are rejected",
  ...opts,
  async fn() {
    const registrar = await startRegistrar();
    const stranger = await TestPeer.connect(registrar, 0x0bad);
    const peer = await TestPeer.connect(registrar, 0x1111);
    try {
      const hs = registrar.handlespace;
      // No PRESENCE from the stranger: it is not a peer.
      await stranger.update("add", "P", pe(1, 0x0bad));
      const error = await stranger.next(isType("error"));
      assert.equal(error.error[0].code, ErrorCause.RejectedForSecurity);
      assert.equal(hs.size, 0);
      assert.equal(registrar.enrp?.stats.fromUnknown, 1);
      // A peer that said PRESENCE is accepted, and its PEs are resolvable.
      await peer.presence();
      await peer.update("add", "P", pe(2, 0x1111));
      await waitFor(() => hs.size === 1, "the peer's PE");
      assert.equal(hs.getPoolElement(text("P"), 2)?.owner, 0x1111);
      assert.deepEqual(registrar.peers.map((p) => p.serverId), [0x1111]);
      assert.equal(registrar.peers[0].checksum, hs.computeOwnerChecksum(0x1111));
      // A PE whose home is not the sender is refused.
      await peer.update("add", "P", pe(3, 0x2222));
      assert.equal((await peer.next(isType("error"))).error[0].code, ErrorCause.InvalidValues);
      assert.equal(hs.getPoolElement(text("P"), 3), undefined);
      // An inconsistent policy is refused with the RFC cause.
      const lu = { ...pe(4, 0x1111), policy: { name: "least-used" as const, load: 0 } };
      await peer.update("add", "P", lu);
      assert.equal(
        (await peer.next(isType("error"))).error[0].code,
        ErrorCause.InconsistentPoolingPolicy,
      );
      // Deletion of another owner's PE does nothing; of its own, removes it.
      await peer.update("delete", "P", pe(2, 0x1111));
      await waitFor(() => hs.size === 0, "the peer's PE deleted");
    } finally {
      stranger.close();
      peer.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name:
    "enrp: a HANDLE_UPDATE that steals a live registrar's PE is rejected; local PEs are replicated to the peer",
  ...opts,
  async fn() {
    const registrar = await startRegistrar();
    const peer = await TestPeer.connect(registrar, 0x3333);
    const local = await startLocalPe("Owned", registrar);
    try {
      await peer.presence();
      await waitFor(() => registrar.peers.length === 1, "the peer in the table");
      // Our own PE goes to the peer as ADD_PE once it re-registers (the next update shows it).
      const stolen = pe(local.identifier, 0x3333, "10.66.6.6");
      await peer.update("add", "Owned", stolen);
      const error = await peer.next(isType("error"));
      assert.equal(error.error[0].code, ErrorCause.NonUniquePeIdentifier);
      const entry = registrar.handlespace.getPoolElement(text("Owned"), local.identifier);
      assert.equal(entry?.owner, registrar.serverId, "still ours");
      assert.equal(entry?.poolElement.userTransport.addresses[0], "127.0.0.1");
      // A deregistration reaches the peer as DEL_PE.
      await local.close();
      const del = await peer.next(
        (m): m is Extract<EnrpMessage, { type: "handle-update" }> =>
          m.type === "handle-update" && m.action === "delete",
      );
      assert.equal(del.poolElement.identifier, local.identifier);
      assert.equal(del.senderId, registrar.serverId);
    } finally {
      peer.close();
      await local.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name: "enrp: the handle table is handed over in parts of at most 128 PEs, with the M flag",
  ...opts,
  async fn() {
    const registrar = await startRegistrar();
    const owner = await TestPeer.connect(registrar, 0x4444);
    const reader = await TestPeer.connect(registrar, 0x5555);
    try {
      await owner.presence();
      for (let i = 1; i <= 300; i++) await owner.update("add", `Pool${i % 7}`, pe(i, 0x4444));
      await waitFor(() => registrar.handlespace.size === 300, "300 PEs");
      await reader.presence();
      const got: number[] = [];
      const sizes: number[] = [];
      for (;;) {
        await reader.send({
          type: "handle-table-request",
          senderId: 0x5555,
          receiverId: registrar.serverId,
          ownChildrenOnly: false,
        });
        const part = await reader.next(isType("handle-table-response"));
        const n = part.pools.reduce((s, p) => s + p.poolElements.length, 0);
        sizes.push(n);
        for (const p of part.pools) for (const x of p.poolElements) got.push(x.identifier);
        if (!part.more) break;
      }
      assert.deepEqual(sizes, [128, 128, 44]);
      assert.deepEqual(got.sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i + 1));
      // With the W flag: only the registrar's own PEs (it has none).
      await reader.send({
        type: "handle-table-request",
        senderId: 0x5555,
        receiverId: registrar.serverId,
        ownChildrenOnly: true,
      });
      const own = await reader.next(isType("handle-table-response"));
      assert.equal(own.pools.length, 0);
      assert.equal(own.more, false);
    } finally {
      owner.close();
      reader.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name:
    "enrp: a checksum that differs from what the registrar holds starts an audit that replaces the peer's PEs",
  ...opts,
  async fn() {
    const registrar = await startRegistrar();
    const peer = await TestPeer.connect(registrar, 0x6666);
    try {
      const hs = registrar.handlespace;
      await peer.presence();
      await peer.update("add", "A", pe(1, 0x6666));
      await peer.update("add", "A", pe(2, 0x6666));
      await waitFor(() => hs.size === 2, "two PEs");
      // The peer now owns PEs 2 and 3 (1 left, 3 came, and the updates were lost).
      const truth = [{ poolHandle: text("A"), identifier: 2 }, {
        poolHandle: text("A"),
        identifier: 3,
      }];
      const { peChecksum } = await import("../../handlespace/checksum.ts");
      await peer.presence({ checksum: peChecksum(truth) });
      const request = await peer.next(isType("handle-table-request"));
      assert.equal(request.ownChildrenOnly, true);
      await peer.send({
        type: "handle-table-response",
        senderId: 0x6666,
        receiverId: registrar.serverId,
        rejected: false,
        more: false,
        pools: [{ poolHandle: text("A"), poolElements: [pe(2, 0x6666), pe(3, 0x6666)] }],
      });
      await waitFor(
        () => hs.getPoolElement(text("A"), 3) !== undefined && hs.size === 2,
        "the audit applied",
      );
      assert.equal(hs.getPoolElement(text("A"), 1), undefined);
      assert.equal(hs.ownerChecksum(0x6666), peChecksum(truth));
      assert.equal(registrar.enrp?.stats.audits, 1);
    } finally {
      peer.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name: "enrp: fuzzed ENRP messages leave the handlespace intact and resolutions answered",
  ...opts,
  async fn() {
    const registrar = await startRegistrar();
    const asap = registrar.addresses[0];
    const local = await startLocalPe("Kept", registrar);
    const attacker = await TestPeer.connect(registrar, 0x7777);
    const pu = new PoolUser({ registrars: [asap], cacheLifetime: 0 });
    try {
      await attacker.presence();
      const corpus = enrpSamples().map((m) => encodeEnrpMessage(m));
      const rnd = new SeededRandom(5353);
      for (let i = 0; i < 2000; i++) {
        const bytes = mutate(corpus[rnd.int(corpus.length)], corpus, rnd);
        await attacker.sendBytes(bytes.length === 0 ? new Uint8Array(1) : bytes);
      }
      // Resolutions still answered, our PE still there and still ours.
      const pes = await pu.resolve("Kept", { refresh: true });
      assert.deepEqual(pes.map((p) => p.identifier), [local.identifier]);
      const entry = registrar.handlespace.getPoolElement(text("Kept"), local.identifier);
      assert.equal(entry?.owner, registrar.serverId);
      assert.ok((registrar.enrp?.stats.malformed ?? 0) > 0, "malformed input was counted");
    } finally {
      attacker.close();
      await pu.close();
      await local.close();
      await registrar.close();
    }
  },
});

/** Short ENRP timers: a silent peer is probed after 300 ms and taken over 300 ms later. */
const FAST_ENRP = {
  heartbeatCycle: 100,
  maxTimeLastHeard: 300,
  maxTimeNoResponse: 300,
  takeoverExpiry: 800,
};

/** Keeps a test peer alive: a PRESENCE every 100 ms until stopped. */
function keepAlive(peer: TestPeer): () => void {
  const timer = setInterval(() => peer.presence().catch(() => {}), 100);
  return () => clearInterval(timer);
}

Deno.test({
  name: "enrp: takeover race: a higher server ID goes on, a lower one gets an ACK (RFC 5353 3.5.1)",
  ...opts,
  async fn() {
    for (const winner of ["them", "us"] as const) {
      // Server IDs fixed so that the race has a known winner.
      const registrar = await startRegistrar({ serverId: 0x50000000, enrpTuning: FAST_ENRP });
      const target = await TestPeer.connect(registrar, 0x10000000);
      const rival = await TestPeer.connect(
        registrar,
        winner === "them" ? 0x70000000 : 0x30000000,
      );
      const stop = keepAlive(rival);
      try {
        await target.presence();
        await rival.presence();
        await target.update("add", "T", pe(1, 0x10000000));
        await waitFor(() => registrar.handlespace.size === 1, "the target's PE");
        // The target goes silent; the registrar starts a takeover and asks the rival.
        const init = await rival.next(isType("init-takeover"), 5000);
        assert.equal(init.targetId, 0x10000000);
        // The rival started one of its own at the same time.
        await rival.send({
          type: "init-takeover",
          senderId: rival.serverId,
          receiverId: 0,
          targetId: 0x10000000,
        });
        if (winner === "them") {
          const ack = await rival.next(isType("init-takeover-ack"));
          assert.equal(ack.targetId, 0x10000000);
          await rival.send({
            type: "takeover-server",
            senderId: rival.serverId,
            receiverId: 0,
            targetId: 0x10000000,
          });
          await waitFor(
            () => registrar.handlespace.getPoolElement(text("T"), 1)?.owner === rival.serverId,
            "the PE owned by the rival",
          );
        } else {
          await assert.rejects(rival.next(isType("init-takeover-ack"), 500));
          await rival.send({
            type: "init-takeover-ack",
            senderId: rival.serverId,
            receiverId: registrar.serverId,
            targetId: 0x10000000,
          });
          const done = await rival.next(isType("takeover-server"));
          assert.equal(done.targetId, 0x10000000);
          assert.equal(
            registrar.handlespace.getPoolElement(text("T"), 1)?.owner,
            registrar.serverId,
          );
          assert.equal(registrar.enrp?.stats.takeovers, 1);
        }
      } finally {
        stop();
        target.close();
        rival.close();
        await registrar.close();
      }
    }
  },
});

Deno.test({
  name:
    "enrp: a takeover that a peer does not acknowledge is abandoned; the PEs stay with the target",
  ...opts,
  async fn() {
    const registrar = await startRegistrar({ enrpTuning: FAST_ENRP });
    const target = await TestPeer.connect(registrar, 0x0aaa);
    const silent = await TestPeer.connect(registrar, 0x0bbb);
    const stop = keepAlive(silent);
    try {
      await target.presence();
      await silent.presence();
      await target.update("add", "U", pe(1, 0x0aaa));
      await waitFor(() => registrar.handlespace.size === 1, "the target's PE");
      await silent.next(isType("init-takeover"), 5000);
      await waitFor(
        () => (registrar.enrp?.stats.takeoversAbandoned ?? 0) >= 1,
        "the takeover abandoned",
      );
      assert.equal(registrar.handlespace.getPoolElement(text("U"), 1)?.owner, 0x0aaa);
      assert.equal(registrar.enrp?.stats.takeovers, 0);
    } finally {
      stop();
      target.close();
      silent.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name:
    "enrp: limits: a peer over the peer table's size and PEs over a peer's quota get Lack of Resources",
  ...opts,
  async fn() {
    const registrar = await startRegistrar({
      enrpTuning: { maxPeers: 1, maxPoolElementsPerPeer: 2 },
    });
    const first = await TestPeer.connect(registrar, 0x0ccc);
    const second = await TestPeer.connect(registrar, 0x0ddd);
    try {
      await first.presence();
      await waitFor(() => registrar.peers.length === 1, "the first peer");
      await second.presence();
      const full = await second.next(isType("error"));
      assert.equal(full.error[0].code, ErrorCause.LackOfResources);
      assert.deepEqual(registrar.peers.map((p) => p.serverId), [0x0ccc]);
      for (let i = 1; i <= 3; i++) await first.update("add", "Q", pe(i, 0x0ccc));
      const quota = await first.next(isType("error"));
      assert.equal(quota.error[0].code, ErrorCause.LackOfResources);
      assert.equal(registrar.handlespace.ownerSize(0x0ccc), 2);
    } finally {
      first.close();
      second.close();
      await registrar.close();
    }
  },
});

Deno.test({
  name:
    "enrp: the ENRP endpoint and the PRESENCE group share a UDP port (as --local: 127.0.0.1:9901, 239.0.0.51:9901)",
  ...opts,
  async fn() {
    // Both on one port, as `deno task registrar` has them: the group's socket must not take the
    // port from the unicast one (a wildcard bind of the group's port failed with EADDRINUSE).
    const port = 20000 + ((Deno.pid + 1) % 20000);
    const group = { group: "239.0.0.51", port, interfaceAddress: "127.0.0.1" };
    const a = await startRegistrar({
      enrp: [{ protocol: "sctp", hostname: "127.0.0.1", port }],
      enrpAnnounce: group,
      enrpTuning: { heartbeatCycle: 200 },
    });
    const b = await startRegistrar({ enrpAnnounce: group, enrpTuning: { heartbeatCycle: 200 } });
    try {
      assert.equal(a.enrpAddresses[0].port, port);
      // PRESENCE still arrives by multicast, and the ENRP association reaches A on the port.
      await waitFor(
        () =>
          a.peers.some((p) => p.serverId === b.serverId) &&
          b.peers.some((p) => p.serverId === a.serverId),
        "each in the other's peer table",
      );
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "enrp: registrars find each other by multicast PRESENCE (loopback) and replicate",
  ...opts,
  async fn() {
    const group = {
      group: "239.0.0.51",
      port: 20000 + (Deno.pid % 20000),
      interfaceAddress: "127.0.0.1",
    };
    const a = await startRegistrar({ enrpAnnounce: group, enrpTuning: { heartbeatCycle: 200 } });
    const b = await startRegistrar({ enrpAnnounce: group, enrpTuning: { heartbeatCycle: 200 } });
    const local = await startLocalPe("Multicast", a);
    try {
      await waitFor(
        () =>
          a.peers.some((p) => p.serverId === b.serverId) &&
          b.peers.some((p) => p.serverId === a.serverId),
        "each in the other's peer table",
      );
      await waitFor(
        () => b.handlespace.getPoolElement(text("Multicast"), local.identifier) !== undefined,
        "the PE replicated",
      );
    } finally {
      await local.close();
      await a.close();
      await b.close();
    }
  },
});
