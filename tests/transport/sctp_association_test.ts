/**
 * SCTP association and endpoint behaviour on loopback: no state before a valid COOKIE ECHO,
 * verification tags, malformed packets counted and survived, unknown chunk types by their high
 * bits, events of SHUTDOWN, ABORT and association failure, limits on associations and on
 * buffered bytes, argument checks.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  ChunkType,
  DataFlag,
  decodePacket,
  encodeInit,
  PacketBuilder,
} from "../../transport/sctp/chunks.ts";
import {
  connectSctp,
  listenSctp,
  type SctpAssociation,
  SctpStack,
} from "../../transport/sctp/mod.ts";
import { TransportError } from "../../transport/errors.ts";
import type { AssociationEvent } from "../../transport/types.ts";
import { acceptWithin, receiveWithin, within } from "../support/deadline.ts";
import { startLossyRelay } from "../support/lossy_relay.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

async function rawSocket() {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind({ address: "127.0.0.1", port: 0 }, () => r()));
  const inbox: Uint8Array[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (m: Uint8Array) => {
    inbox.push(new Uint8Array(m));
    for (const w of waiters.splice(0)) w();
  });
  return {
    port: socket.address().port,
    send: (bytes: Uint8Array, port: number) => socket.send(bytes, port, "127.0.0.1"),
    /** The next datagram, or undefined after `ms` without one. */
    async next(ms = 2000): Promise<Uint8Array | undefined> {
      if (inbox.length === 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, ms);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return inbox.shift();
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

function packet(sport: number, dport: number, tag: number, chunks: [number, number, Uint8Array][]) {
  const b = new PacketBuilder(1200);
  b.start(sport, dport, tag);
  for (const [type, flags, value] of chunks) b.chunk(type, flags, value);
  return b.finish();
}

function initValue(tag: number): Uint8Array {
  return encodeInit({
    initiateTag: tag,
    advertisedWindow: 65536,
    outboundStreams: 4,
    inboundStreams: 4,
    initialTsn: 1,
    addresses: [],
    unrecognized: [],
    stop: false,
  });
}

async function pair(tuning = {}) {
  const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, ...tuning });
  const accepted = acceptWithin(listener);
  const client = await within(
    connectSctp({ hostname: "127.0.0.1", port: listener.addresses[0].port, ...tuning }),
    "association",
  );
  const server = (await accepted) as SctpAssociation;
  const clientEvents: AssociationEvent[] = [];
  const serverEvents: AssociationEvent[] = [];
  client.onEvent((e) => clientEvents.push(e));
  server.onEvent((e) => serverEvents.push(e));
  return { listener, client, server, clientEvents, serverEvents };
}

Deno.test({
  name: "sctp: INITs create no state; only a genuine COOKIE ECHO makes an association",
  ...sanitized,
  async fn() {
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addresses[0].port;
    const raw = await rawSocket();
    try {
      for (let i = 0; i < 50; i++) {
        raw.send(packet(raw.port, port, 0, [[1, 0, initValue(1000 + i)]]), port);
      }
      let acks = 0;
      let cookie: Uint8Array | undefined;
      let serverTag = 0;
      let peerTag = 0;
      for (let i = 0; i < 50; i++) {
        const p = decodePacket((await raw.next())!);
        assert.equal(p?.chunks[0].type, ChunkType.InitAck);
        acks++;
        if (i === 0) {
          peerTag = p!.verificationTag;
          serverTag = new DataView(p!.chunks[0].value.buffer, p!.chunks[0].value.byteOffset)
            .getUint32(0);
          // The State Cookie parameter follows the 16 fixed bytes.
          const v = p!.chunks[0].value;
          cookie = v.slice(20, 16 + ((v[18] << 8) | v[19]));
        }
      }
      assert.equal(acks, 50);
      assert.equal(listener.associationCount, 0, "state kept before COOKIE ECHO");
      assert.equal(listener.stats.initsAnswered, 50);
      // A forged cookie is rejected; the genuine one makes an association.
      const forged = cookie!.slice();
      forged[10] ^= 1;
      raw.send(packet(raw.port, port, serverTag, [[ChunkType.CookieEcho, 0, forged]]), port);
      assert.equal(await raw.next(300), undefined);
      assert.equal(listener.stats.cookiesRejected, 1);
      assert.equal(listener.associationCount, 0);
      raw.send(packet(raw.port, port, serverTag, [[ChunkType.CookieEcho, 0, cookie!]]), port);
      const ack = decodePacket((await raw.next())!);
      assert.equal(ack?.chunks[0].type, ChunkType.CookieAck);
      assert.equal(ack?.verificationTag, peerTag);
      assert.equal(listener.associationCount, 1);
      const server = (await acceptWithin(listener)) as SctpAssociation;
      assert.equal(server.localTag, serverTag);
      server.abort();
    } finally {
      await raw.close();
      await listener.close();
    }
  },
});

Deno.test({
  name: "sctp: malformed packets and wrong verification tags are dropped and counted",
  ...sanitized,
  async fn() {
    const { listener, client, server } = await pair();
    const port = listener.addresses[0].port;
    const raw = await rawSocket();
    try {
      const before = listener.stats.malformed;
      const stackBefore = SctpStack.default.stats.malformed;
      raw.send(new Uint8Array(5), port);
      raw.send(new Uint8Array(64).fill(0xab), port);
      const bad = packet(raw.port, port, server.localTag, [[
        ChunkType.CookieAck,
        0,
        new Uint8Array(),
      ]]);
      bad[9] ^= 0xff; // checksum
      raw.send(bad, port);
      // DATA with the wrong tag: not delivered.
      const b = new PacketBuilder(1200);
      b.start(client.localAddresses[0].port, port, (server.localTag + 1) >>> 0);
      b.data(DataFlag.Begin | DataFlag.End, 12345, 0, 0, 0, new TextEncoder().encode("intruder"));
      raw.send(b.finish(), port);
      await client.send(new TextEncoder().encode("genuine"));
      const m = await receiveWithin(server);
      assert.equal(new TextDecoder().decode(m!.data), "genuine");
      await new Promise((r) => setTimeout(r, 100));
      // The short datagram and the garbage (SCTP port 0xabab: no endpoint) are the stack's;
      // the packet with a bad checksum reached the listener's port.
      assert.equal(SctpStack.default.stats.malformed - stackBefore, 2);
      assert.equal(listener.stats.malformed - before, 1);
      assert.ok(listener.stats.outOfTheBlue >= 1);
      // The association still works both ways.
      await server.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual((await receiveWithin(client))?.data, new Uint8Array([1, 2, 3]));
    } finally {
      await raw.close();
      client.abort();
      server.abort();
      await listener.close();
    }
  },
});

Deno.test({
  name: "sctp: unknown chunk types follow their two high bits",
  ...sanitized,
  async fn() {
    const { listener, client, server } = await pair();
    const port = listener.addresses[0].port;
    const raw = await rawSocket();
    try {
      const tag = server.localTag;
      const cport = client.localAddresses[0].port;
      const unknown = (type: number) =>
        [type, 0, new Uint8Array([9, 9, 9])] as [number, number, Uint8Array];
      // 11: skip and report (ERROR with Unrecognized Chunk Type, cause 6).
      raw.send(packet(cport, port, tag, [unknown(0xc1)]), port);
      const error = decodePacket((await raw.next())!);
      assert.equal(error?.chunks[0].type, ChunkType.Error);
      assert.deepEqual([...error!.chunks[0].value.subarray(0, 2)], [0, 6]);
      assert.equal(error!.chunks[0].value[4], 0xc1);
      // 10: skip silently; 00: stop and discard silently; 01: stop and report.
      raw.send(packet(cport, port, tag, [unknown(0x81)]), port);
      raw.send(packet(cport, port, tag, [unknown(0x01)]), port);
      assert.equal(await raw.next(300), undefined);
      raw.send(packet(cport, port, tag, [unknown(0x41)]), port);
      const error2 = decodePacket((await raw.next())!);
      assert.equal(error2?.chunks[0].type, ChunkType.Error);
    } finally {
      await raw.close();
      client.abort();
      server.abort();
      await listener.close();
    }
  },
});

Deno.test({
  name: "sctp: SHUTDOWN and ABORT are reported as events on both sides",
  ...sanitized,
  async fn() {
    const a = await pair();
    await a.client.send(new Uint8Array(10_000));
    await a.client.close();
    assert.equal(
      (await receiveWithin(a.server))?.data.length,
      10_000,
      "queued data delivered first",
    );
    assert.equal(await receiveWithin(a.server), null);
    // Listeners registered after connect and accept were told communication-up first.
    const up = { type: "communication-up" };
    assert.deepEqual(a.clientEvents, [up, { type: "shutdown" }]);
    assert.deepEqual(a.serverEvents, [up, { type: "shutdown" }]);
    await assert.rejects(a.client.send(new Uint8Array(1)), TransportError);
    const b = await pair();
    b.server.abort("going away");
    assert.equal(await receiveWithin(b.client), null);
    assert.deepEqual(b.clientEvents, [up, {
      type: "communication-lost",
      reason: "Peer aborted (cause 12)",
    }]);
    assert.deepEqual(b.serverEvents, [up, { type: "communication-lost", reason: "going away" }]);
    // One registered after the end is told how it went, after communication-up.
    const late: AssociationEvent[] = [];
    b.server.onEvent((e) => late.push(e));
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(late, [up, { type: "communication-lost", reason: "going away" }]);
    await a.listener.close();
    await b.listener.close();
  },
});

Deno.test({
  name: "sctp: an unreachable peer fails the association after Association.Max.Retrans",
  ...sanitized,
  async fn() {
    const tuning = {
      rtoInitial: 50,
      rtoMin: 20,
      rtoMax: 40,
      associationMaxRetransmits: 4,
      heartbeatInterval: 50,
    };
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, ...tuning });
    const relay = await startLossyRelay({
      target: { hostname: "127.0.0.1", port: listener.addresses[0].port },
      seed: 1,
      loss: 0,
      duplicate: 0,
      reorder: 0,
    });
    try {
      const client = await within(
        connectSctp({
          hostname: "127.0.0.1",
          port: listener.addresses[0].port,
          remoteUdpPort: relay.port,
          ...tuning,
        }),
        "association",
      );
      const events: AssociationEvent[] = [];
      client.onEvent((e) => events.push(e));
      relay.blackhole = true;
      await client.send(new Uint8Array(100));
      assert.equal(await receiveWithin(client), null);
      assert.equal(events.at(-1)?.type, "communication-lost");
      assert.equal(client.closed, true);
      // The server side fails too (its heartbeats go unanswered).
      const server = (await acceptWithin(listener))!;
      assert.equal(await receiveWithin(server), null);
    } finally {
      await relay.close();
      await listener.close();
    }
  },
});

Deno.test({
  name: "sctp: limits on associations, message size, streams and buffered bytes",
  ...sanitized,
  async fn() {
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, maxAssociations: 1 });
    const port = listener.addresses[0].port;
    const first = await within(
      connectSctp({ hostname: "127.0.0.1", port, streams: 4 }),
      "association",
    );
    await assert.rejects(
      connectSctp({ hostname: "127.0.0.1", port }),
      (e) => e instanceof TransportError && e.code === "refused",
    );
    await assert.rejects(
      first.send(new Uint8Array(0)),
      (e) => e instanceof TransportError && e.code === "invalid",
    );
    await assert.rejects(
      first.send(new Uint8Array(1), { stream: 4 }),
      (e) => e instanceof TransportError && e.code === "invalid",
    );
    await assert.rejects(
      first.send(new Uint8Array(3 * 1024 * 1024)),
      (e) => e instanceof TransportError && e.code === "limit",
    );
    first.abort();
    await listener.close();

    // Flow control: a reader that does not read stops the sender once the peer's window and
    // the send buffer are full; reading lets everything through intact.
    const small = {
      maxMessageSize: 16 * 1024,
      receiveBufferSize: 64 * 1024,
      sendBufferSize: 64 * 1024,
    };
    const { listener: l2, client, server } = await pair(small);
    let accepted = 0;
    const sending = (async () => {
      for (let i = 0; i < 100; i++) {
        await client.send(new Uint8Array(8 * 1024).fill(i & 0xff));
        accepted++;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(accepted < 100, `all ${accepted} messages accepted without a reader`);
    for (let i = 0; i < 100; i++) {
      const m = await receiveWithin(server);
      assert.equal(m?.data.length, 8 * 1024);
      assert.equal(m?.data[100], i & 0xff);
    }
    await within(sending, "end of the sending");
    client.abort();
    server.abort();
    await l2.close();
  },
});
