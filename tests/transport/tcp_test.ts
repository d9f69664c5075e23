/**
 * TCP associations: both framings, limits, events and the lifecycle of associations and
 * listeners, on loopback.
 */

import assert from "node:assert/strict";
import { type AsapMessage, decodeAsapMessage, encodeAsapMessage } from "../../asap/mod.ts";
import { decodeEnrpMessage, encodeEnrpMessage } from "../../enrp/mod.ts";
import {
  type Association,
  type AssociationEvent,
  type AssociationListener,
  connectTcp,
  listenTcp,
  type TcpAssociationOptions,
  TransportError,
} from "../../transport/tcp/mod.ts";
import { FRAME_HEADER_SIZE, parseFrame } from "../../transport/tcp/framing.ts";
import { asapSamples, enrpSamples } from "../support/messages.ts";
import { acceptWithin, ending, receiveWithin } from "../support/deadline.ts";

/** A listener, a client association and the server association it was accepted as. */
interface Pair {
  listener: AssociationListener;
  client: Association;
  server: Association;
  clientEvents: AssociationEvent[];
  serverEvents: AssociationEvent[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function pair(options: TcpAssociationOptions = {}, hostname = "127.0.0.1"): Promise<Pair> {
  const listener = await listenTcp({ hostname, port: 0, ...options });
  const accepted = listener.accept();
  const client = await connectTcp({ hostname, port: listener.addresses[0].port, ...options });
  const server = (await accepted)!;
  assert.ok(server);
  const clientEvents: AssociationEvent[] = [];
  const serverEvents: AssociationEvent[] = [];
  client.onEvent((e) => clientEvents.push(e));
  server.onEvent((e) => serverEvents.push(e));
  return {
    listener,
    client,
    server,
    clientEvents,
    serverEvents,
    async [Symbol.asyncDispose]() {
      client.abort();
      server.abort();
      await listener.close();
    },
  };
}

/** A raw TCP connection to a listener, for bytes the association would never send. */
async function raw(listener: AssociationListener): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addresses[0].port });
  conn.setNoDelay(true);
  return conn;
}

/** Everything a raw connection receives until the peer closes. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      break; // reset
    }
    if (n === null) break;
    parts.push(buffer.slice(0, n));
  }
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

Deno.test("framed: messages of 1 byte to 1 MiB echo with PPID, stream and unordered kept", async () => {
  await using p = await pair();
  const echo = (async () => {
    for await (const m of p.server) {
      await p.server.send(m.data, { ppid: m.ppid, stream: m.stream, unordered: m.unordered });
    }
  })();
  const sizes = [1, 2, 3, 4, 5, 11, 12, 13, 100, 1460, 65535, 65536, 65537, 300_001, 1 << 20];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size, i);
    const ppid = [0, 11, 12, 0xffffffff][i % 4];
    const stream = [0, 1, 0xffff][i % 3];
    const unordered = i % 2 === 1;
    await p.client.send(data, { ppid, stream, unordered });
    const back = await receiveWithin(p.client);
    assert.ok(back, `echo of ${size} bytes`);
    assert.equal(back.data.length, size);
    assert.deepEqual(back.data, data);
    assert.deepEqual([back.ppid, back.stream, back.unordered], [ppid, stream, unordered]);
  }
  await p.client.close();
  await echo;
  assert.equal(await receiveWithin(p.client), null);
  assert.deepEqual(p.clientEvents, [{ type: "communication-up" }, { type: "shutdown" }]);
  assert.deepEqual(p.serverEvents, [{ type: "communication-up" }, { type: "shutdown" }]);
});

Deno.test("framed: an empty message goes through", async () => {
  await using p = await pair();
  await p.client.send(new Uint8Array(0), { ppid: 7, stream: 3 });
  const m = await receiveWithin(p.server);
  assert.deepEqual(m, { data: new Uint8Array(0), ppid: 7, stream: 3, unordered: false });
});

Deno.test("framed: many small messages arrive in order", async () => {
  await using p = await pair();
  const count = 20_000;
  const sending = (async () => {
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const data = new Uint8Array(4 + (i % 13));
      new DataView(data.buffer).setUint32(0, i);
      sends.push(p.client.send(data, { ppid: i % 3, stream: i % 5 }));
    }
    await Promise.all(sends);
  })();
  for (let i = 0; i < count; i++) {
    const m = await receiveWithin(p.server);
    assert.ok(m);
    assert.equal(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0), i);
    assert.equal(m.data.length, 4 + (i % 13));
    assert.equal(m.ppid, i % 3);
    assert.equal(m.stream, i % 5);
  }
  await sending;
});

Deno.test("framed: a slow reader with small buffers still gets everything", async () => {
  await using p = await pair({ maxBufferedBytes: 10_000 });
  const count = 3_000;
  const sending = (async () => {
    for (let i = 0; i < count; i++) await p.client.send(pattern(1000, i), { stream: 1 });
  })();
  // Let the sender fill every buffer before reading.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (let i = 0; i < count; i++) {
    const m = await receiveWithin(p.server);
    assert.ok(m);
    assert.deepEqual(m.data, pattern(1000, i));
  }
  await sending;
});

Deno.test("rserpool: ASAP messages round trip with strict and RSPLIB lengths", async () => {
  await using p = await pair({ framing: "rserpool", ppid: 11 });
  for (const [i, message] of asapSamples().entries()) {
    const encoded = encodeAsapMessage(message);
    const strict = new DataView(encoded.buffer, encoded.byteOffset).getUint16(2);
    assert.equal((strict + 3) & ~3, encoded.length);
    const rsplib = encoded.slice();
    new DataView(rsplib.buffer).setUint16(2, rsplib.length);
    // Strict length with its padding, RSPLIB length, and strict length without the padding.
    const variants = [encoded, rsplib, encoded.subarray(0, strict)];
    for (const [j, bytes] of variants.entries()) {
      await p.client.send(bytes);
      const m = await receiveWithin(p.server);
      assert.ok(m, `sample ${i} variant ${j}`);
      assert.deepEqual([m.ppid, m.stream, m.unordered], [11, 0, false]);
      assert.deepEqual(m.data, j === 1 ? rsplib : encoded, `sample ${i} variant ${j}`);
      assert.deepEqual(decodeAsapMessage(m.data), decodeAsapMessage(encoded));
    }
  }
  await p.server.close();
  assert.deepEqual(p.clientEvents.at(-1), { type: "shutdown" });
});

Deno.test("rserpool: ENRP messages sent back to back are split correctly", async () => {
  await using p = await pair({ framing: "rserpool", ppid: 12 });
  const encoded = enrpSamples().map((m) => encodeEnrpMessage(m));
  await Promise.all(encoded.map((bytes) => p.client.send(bytes, { ppid: 12 })));
  for (const bytes of encoded) {
    const m = await receiveWithin(p.server);
    assert.ok(m);
    assert.equal(m.ppid, 12);
    assert.deepEqual(m.data, bytes);
    assert.deepEqual(decodeEnrpMessage(m.data), decodeEnrpMessage(bytes));
  }
});

Deno.test("rserpool: send rejects other PPIDs, streams and bytes that are no message", async () => {
  await using p = await pair({ framing: "rserpool", ppid: 11 });
  const message: AsapMessage = asapSamples()[0];
  const bytes = encodeAsapMessage(message);
  const invalid = { name: "TransportError", code: "invalid" };
  await assert.rejects(p.client.send(bytes, { ppid: 12 }), invalid);
  await assert.rejects(p.client.send(bytes, { stream: 1 }), invalid);
  await assert.rejects(p.client.send(bytes, { unordered: true }), invalid);
  await assert.rejects(p.client.send(new Uint8Array([5, 0, 0])), invalid);
  await assert.rejects(p.client.send(new Uint8Array([5, 0, 0, 2])), invalid);
  await assert.rejects(p.client.send(bytes.subarray(0, bytes.length - 5)), invalid);
  // The association is still fine.
  await p.client.send(bytes, { ppid: 11, stream: 0 });
  assert.deepEqual((await receiveWithin(p.server))?.data, bytes);
});

Deno.test("rserpool: a message length below 4 aborts the association", async () => {
  await using listener = await listenTcp({
    hostname: "127.0.0.1",
    port: 0,
    framing: "rserpool",
    ppid: 11,
  });
  const conn = await raw(listener);
  const server = (await acceptWithin(listener))!;
  const ended = ending(server);
  // One good HANDLE_RESOLUTION, then garbage.
  const good = encodeAsapMessage(asapSamples()[6]);
  await conn.write(new Uint8Array([...good, 0x05, 0x00, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef]));
  assert.deepEqual((await receiveWithin(server))?.data, good);
  const event = await ended;
  assert.equal(event.type, "communication-lost");
  assert.match(event.type === "communication-lost" ? event.reason : "", /below the header size/);
  assert.equal(await receiveWithin(server), null);
  assert.equal(server.closed, true);
  await readAll(conn); // the server closed the connection
  conn.close();
});

Deno.test("framed: a header claiming 2 GiB aborts with communication-lost", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  const conn = await raw(listener);
  const server = (await acceptWithin(listener))!;
  const ended = ending(server);
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  new DataView(header.buffer).setUint32(0, 0x80000000);
  await conn.write(header);
  const event = await ended;
  assert.equal(event.type, "communication-lost");
  assert.match(event.type === "communication-lost" ? event.reason : "", /exceeds the limit/);
  assert.equal(await receiveWithin(server), null);
  // The peer is told why, in an abort frame.
  const received = await readAll(conn);
  conn.close();
  assert.ok(received.length > FRAME_HEADER_SIZE);
  assert.equal(received[10] & 0x80, 0x80);
  assert.match(new TextDecoder().decode(received.subarray(FRAME_HEADER_SIZE)), /exceeds/);
});

Deno.test("framed: the parser never asks for more than header plus maxMessageSize", () => {
  const options = { framing: "framed" as const, maxMessageSize: 1000, ppid: 0 };
  const bytes = new Uint8Array(FRAME_HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  for (const length of [0, 1, 999, 1000, 1001, 0x7fffffff, 0x80000000, 0xffffffff]) {
    view.setUint32(0, length);
    const result = parseFrame(bytes, view, 0, bytes.length, options);
    if (length > 1000) {
      assert.equal(result.kind, "error", `length ${length}`);
    } else if (length === 0) {
      assert.equal(result.kind, "frame");
    } else {
      assert.deepEqual(result, { kind: "incomplete", needed: FRAME_HEADER_SIZE + length });
    }
  }
});

Deno.test("framed: a message above maxMessageSize is refused on send and on receipt", async () => {
  await using p = await pair({ maxMessageSize: 1000 });
  await assert.rejects(p.client.send(new Uint8Array(1001)), { code: "limit" });
  await p.client.send(new Uint8Array(1000));
  assert.equal((await receiveWithin(p.server))?.data.length, 1000);
  // A client with a larger limit sends 1001 bytes: the server aborts.
  const big = await connectTcp({ hostname: "127.0.0.1", port: p.listener.addresses[0].port });
  const server = (await acceptWithin(p.listener))!;
  const [serverEnd, clientEnd] = [ending(server), ending(big)];
  await big.send(new Uint8Array(1001));
  assert.equal((await serverEnd).type, "communication-lost");
  const event = await clientEnd;
  assert.equal(event.type, "communication-lost");
  assert.match(event.type === "communication-lost" ? event.reason : "", /^Peer aborted: .*limit/);
});

Deno.test("framed: a connection that ends inside a message is communication-lost", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  const conn = await raw(listener);
  const server = (await acceptWithin(listener))!;
  const ended = ending(server);
  const header = new Uint8Array(FRAME_HEADER_SIZE + 3);
  new DataView(header.buffer).setUint32(0, 10);
  await conn.write(header);
  conn.close();
  const event = await ended;
  assert.equal(event.type, "communication-lost");
  assert.match(event.type === "communication-lost" ? event.reason : "", /middle of a message/);
});

Deno.test("framed: half a frame header that never completes is aborted after frameTimeout", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0, frameTimeout: 200 });
  const conn = await raw(listener);
  const server = (await acceptWithin(listener))!;
  const ended = ending(server);
  const started = Date.now();
  await conn.write(new Uint8Array(FRAME_HEADER_SIZE / 2)); // and nothing more, ever
  const event = await ended;
  assert.equal(event.type, "communication-lost");
  assert.ok(Date.now() - started >= 150, "not before the deadline");
  conn.close();
});

Deno.test("abort by the peer gives communication-lost on both sides", async () => {
  await using p = await pair();
  const serverEnd = ending(p.server);
  await p.client.send(new Uint8Array([1, 2, 3]));
  p.client.abort("Testing the abort");
  assert.deepEqual(await serverEnd, {
    type: "communication-lost",
    reason: "Peer aborted: Testing the abort",
  });
  assert.deepEqual(p.clientEvents, [
    { type: "communication-up" },
    { type: "communication-lost", reason: "Testing the abort" },
  ]);
  // The message sent before the abort was delivered; then the end.
  assert.deepEqual((await receiveWithin(p.server))?.data, new Uint8Array([1, 2, 3]));
  assert.equal(await receiveWithin(p.server), null);
  assert.equal(await receiveWithin(p.client), null);
  await assert.rejects(p.client.send(new Uint8Array(1)), { code: "closed" });
});

Deno.test("close delivers what is queued and gives shutdown on both sides", async () => {
  await using p = await pair();
  const sends = [];
  for (let i = 0; i < 200; i++) sends.push(p.client.send(pattern(5000, i), { stream: 4 }));
  const closing = p.client.close();
  await assert.rejects(p.client.send(new Uint8Array(1)), (e) => {
    assert.ok(e instanceof TransportError);
    assert.equal(e.code, "closed");
    return true;
  });
  const received = [];
  for await (const m of p.server) received.push(m);
  await closing;
  await Promise.all(sends);
  assert.equal(received.length, 200);
  received.forEach((m, i) => assert.deepEqual(m.data, pattern(5000, i)));
  assert.deepEqual(p.clientEvents, [{ type: "communication-up" }, { type: "shutdown" }]);
  assert.deepEqual(p.serverEvents, [{ type: "communication-up" }, { type: "shutdown" }]);
  assert.equal(p.client.closed, true);
  assert.equal(p.server.closed, true);
  await assert.rejects(p.server.send(new Uint8Array(1)), {
    name: "TransportError",
    code: "closed",
  });
  await p.client.close(); // again: nothing happens
});

Deno.test("the side that did not close can still answer before its own close", async () => {
  await using p = await pair();
  await p.client.send(new Uint8Array([42]));
  const request = await receiveWithin(p.server);
  assert.ok(request);
  await p.server.send(new Uint8Array([43]));
  await p.server.close();
  assert.deepEqual((await receiveWithin(p.client))?.data, new Uint8Array([43]));
  assert.equal(await receiveWithin(p.client), null);
  assert.deepEqual(p.clientEvents.at(-1), { type: "shutdown" });
});

Deno.test("await using closes the association", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  let server: Association | null = null;
  {
    await using client = await connectTcp({
      hostname: "127.0.0.1",
      port: listener.addresses[0].port,
    });
    server = await acceptWithin(listener);
    await client.send(new Uint8Array([1]));
  }
  assert.ok(server);
  assert.deepEqual((await receiveWithin(server))?.data, new Uint8Array([1]));
  assert.equal(await receiveWithin(server), null);
  await server.close();
});

Deno.test("a listener added late is told communication-up, then the end", async () => {
  await using p = await pair();
  await p.client.close();
  const events: AssociationEvent[] = [];
  p.client.onEvent((e) => events.push(e));
  await Promise.resolve();
  assert.deepEqual(events, [{ type: "communication-up" }, { type: "shutdown" }]);
});

Deno.test("addresses, protocol, IPv6 loopback", async () => {
  await using p = await pair({}, "::1");
  assert.equal(p.client.protocol, "tcp");
  assert.equal(p.listener.addresses[0].hostname, "::1");
  assert.notEqual(p.listener.addresses[0].port, 0);
  assert.deepEqual(p.client.remoteAddresses, p.listener.addresses);
  assert.deepEqual(p.server.remoteAddresses, p.client.localAddresses);
  await p.client.send(new Uint8Array([9]), { ppid: 12 });
  assert.equal((await receiveWithin(p.server))?.ppid, 12);
});

Deno.test("listener close ends accept and iteration; later connects are refused", async () => {
  const listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addresses[0].port;
  const waiting = listener.accept();
  const iterating = (async () => {
    const seen = [];
    for await (const a of listener) seen.push(a);
    return seen;
  })();
  await listener.close();
  assert.equal(await waiting, null);
  assert.deepEqual(await iterating, []);
  assert.equal(await acceptWithin(listener), null);
  await listener.close();
  await assert.rejects(connectTcp({ hostname: "127.0.0.1", port }), {
    name: "TransportError",
    code: "refused",
  });
});

Deno.test("associations accepted stay open when the listener closes", async () => {
  const listener = await listenTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await connectTcp({ hostname: "127.0.0.1", port: listener.addresses[0].port });
  const server = (await acceptWithin(listener))!;
  await listener.close();
  await client.send(new Uint8Array([5]));
  assert.deepEqual((await receiveWithin(server))?.data, new Uint8Array([5]));
  await Promise.all([client.close(), server.close()]);
});

Deno.test("invalid options are refused with TransportError invalid", async () => {
  const invalid = { name: "TransportError", code: "invalid" };
  await assert.rejects(listenTcp({ port: 0, framing: "rserpool" }), invalid);
  await assert.rejects(listenTcp({ port: 70000 }), invalid);
  await assert.rejects(listenTcp({ port: 0, maxMessageSize: 0 }), invalid);
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port: 1, framing: "rserpool" }),
    invalid,
  );
  await using p = await pair();
  await assert.rejects(p.client.send(new Uint8Array(1), { stream: 0x10000 }), invalid);
  await assert.rejects(p.client.send(new Uint8Array(1), { ppid: -1 }), invalid);
});

Deno.test("close gives up waiting for a peer that never closes after closeTimeout", async () => {
  await using listener = await listenTcp({ hostname: "127.0.0.1", port: 0, closeTimeout: 50 });
  const conn = await raw(listener);
  const server = (await acceptWithin(listener))!;
  const ended = ending(server);
  await server.close();
  assert.deepEqual(await ended, { type: "shutdown" });
  // The raw peer got the end of the stream and nothing else.
  assert.equal((await readAll(conn)).length, 0);
  conn.close();
});
