// One SCTP stack per process: every endpoint of a process shares one UDP socket per local
// address and UDP port, packets are demultiplexed by SCTP port, and a process can hold a
// listener and several outgoing associations on one fixed UDP port (as RSPLIB needs, 9899).

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connectSctp, listenSctp, SctpStack } from "../../transport/sctp/mod.ts";
import { TransportError } from "../../transport/errors.ts";
import { ChunkType, decodePacket, encodeInit, PacketBuilder } from "../../transport/sctp/chunks.ts";
import type { Association } from "../../transport/types.ts";
import { receiveWithin, within } from "../support/deadline.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function echo(listener: { accept(): Promise<Association | null> }, count: number) {
  for (let i = 0; i < count; i++) {
    const a = await listener.accept();
    if (a === null) return;
    (async () => {
      for await (const m of a) await a.send(m.data, { ppid: m.ppid });
    })().catch(() => {});
  }
}

async function roundTrip(a: Association, message: string): Promise<string> {
  await a.send(text(message), { ppid: 99 });
  const m = await receiveWithin(a);
  assert.ok(m !== null, "an answer");
  assert.equal(m.ppid, 99);
  return str(m.data);
}

Deno.test(
  "sctp stack: two processes, each with a listener and two outgoing associations on one UDP port",
  sanitized,
  async () => {
    // Two stacks stand for two processes; each has one fixed UDP port for all of its SCTP.
    const a = new SctpStack();
    const b = new SctpStack();
    const listenerA = await listenSctp({ hostname: "127.0.0.1", port: 0, stack: a });
    const udpA = listenerA.udpPort;
    const listenerB = await listenSctp({ hostname: "127.0.0.1", port: 0, stack: b });
    const udpB = listenerB.udpPort;
    assert.equal(listenerA.addresses[0].port, udpA, "a fresh listener's SCTP port is its UDP port");
    const echoing = [echo(listenerA, 1), echo(listenerB, 2)];
    const toB = {
      hostname: "127.0.0.1",
      port: listenerB.addresses[0].port,
      udpPort: udpA,
      remoteUdpPort: udpB,
      stack: a,
    };
    const first = await connectSctp(toB);
    const second = await connectSctp(toB);
    const back = await connectSctp({
      hostname: "127.0.0.1",
      port: listenerA.addresses[0].port,
      udpPort: udpB,
      remoteUdpPort: udpA,
      stack: b,
    });
    try {
      assert.equal(a.sockets.length, 1, "process A has one UDP socket");
      assert.equal(b.sockets.length, 1, "process B has one UDP socket");
      assert.equal(a.sockets[0].port, udpA);
      const portsA = new Set(a.sockets[0].sctpPorts);
      assert.equal(portsA.size, 3, "listener and two outgoing endpoints hold distinct SCTP ports");
      assert.notEqual(first.localAddresses[0].port, second.localAddresses[0].port);
      for (let i = 0; i < 20; i++) {
        assert.equal(await roundTrip(first, `first ${i}`), `first ${i}`);
        assert.equal(await roundTrip(second, `second ${i}`), `second ${i}`);
        assert.equal(await roundTrip(back, `back ${i}`), `back ${i}`);
      }
    } finally {
      await within(Promise.all([first.close(), second.close(), back.close()]), "shutdown");
      await listenerA.close();
      await listenerB.close();
      await within(Promise.all(echoing), "end of the echo servers");
    }
    // Every endpoint left: the sockets are closed.
    for (let i = 0; i < 50 && (a.sockets.length > 0 || b.sockets.length > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(a.sockets.length, 0);
    assert.equal(b.sockets.length, 0);
  },
);

Deno.test(
  "sctp stack: outgoing associations without a UDP port share one socket",
  sanitized,
  async () => {
    const stack = new SctpStack();
    const server = new SctpStack();
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, stack: server });
    const echoing = echo(listener, 3);
    const to = { hostname: "127.0.0.1", port: listener.addresses[0].port, stack };
    const clients = [await connectSctp(to), await connectSctp(to), await connectSctp(to)];
    try {
      assert.equal(stack.sockets.length, 1);
      assert.equal(new Set(clients.map((c) => c.localAddresses[0].port)).size, 3);
      for (const [i, c] of clients.entries()) assert.equal(await roundTrip(c, `c${i}`), `c${i}`);
    } finally {
      for (const c of clients) await within(c.close(), "shutdown");
      await listener.close();
      await within(echoing, "end of the echo server");
    }
  },
);

Deno.test(
  "sctp stack: a wildcard request shares the specific sockets on the same UDP port",
  sanitized,
  async () => {
    const stack = new SctpStack();
    const server = new SctpStack();
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, stack: server });
    const echoing = echo(listener, 1);
    const own = await listenSctp({ hostname: "127.0.0.1", port: 0, stack });
    const client = await connectSctp({
      hostname: "127.0.0.1",
      port: listener.addresses[0].port,
      localHostname: "0.0.0.0", // would fail with AddrInUse beside 127.0.0.1 on the same port
      udpPort: own.udpPort,
      stack,
    });
    try {
      assert.equal(stack.sockets.length, 1);
      assert.equal(await roundTrip(client, "via the shared socket"), "via the shared socket");
    } finally {
      await within(client.close(), "shutdown");
      await own.close();
      await listener.close();
      await within(echoing, "end of the echo server");
    }
  },
);

Deno.test(
  "sctp stack: an SCTP port already held on the UDP port is refused",
  sanitized,
  async () => {
    const stack = new SctpStack();
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, stack });
    try {
      await assert.rejects(
        listenSctp({
          hostname: "127.0.0.1",
          port: listener.addresses[0].port,
          udpPort: listener.udpPort,
          stack,
        }),
        (e) => e instanceof TransportError && e.code === "invalid",
      );
      // A different SCTP port on the same UDP port is fine.
      const other = await listenSctp({
        hostname: "127.0.0.1",
        port: listener.addresses[0].port + 1,
        udpPort: listener.udpPort,
        stack,
      });
      assert.equal(stack.sockets.length, 1);
      await other.close();
    } finally {
      await listener.close();
    }
  },
);

Deno.test("sctp stack: a UDP port held by someone else is a local failure", sanitized, async () => {
  const holder = dgram.createSocket("udp4");
  await new Promise<void>((r) =>
    holder.bind({ address: "127.0.0.1", port: 0, exclusive: true }, () => r())
  );
  const port = holder.address().port;
  try {
    await assert.rejects(
      connectSctp({ hostname: "127.0.0.1", port: 7, udpPort: port, stack: new SctpStack() }),
      (e) => e instanceof TransportError && e.code === "local",
    );
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});

Deno.test(
  "sctp stack: an INIT to an SCTP port nobody holds is answered with ABORT (RFC 9260 8.4)",
  sanitized,
  async () => {
    const stack = new SctpStack();
    const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, stack });
    const raw = dgram.createSocket("udp4");
    await new Promise<void>((r) => raw.bind({ address: "127.0.0.1", port: 0 }, () => r()));
    const reply = new Promise<Uint8Array>((resolve) =>
      raw.once("message", (m: Uint8Array) => resolve(new Uint8Array(m)))
    );
    try {
      const b = new PacketBuilder(1200);
      b.start(5000, listener.addresses[0].port + 1, 0);
      b.chunk(
        ChunkType.Init,
        0,
        encodeInit({
          initiateTag: 0x01020304,
          advertisedWindow: 65536,
          outboundStreams: 1,
          inboundStreams: 1,
          initialTsn: 1,
          addresses: [],
          unrecognized: [],
          stop: false,
        }),
      );
      raw.send(b.finish(), listener.udpPort, "127.0.0.1");
      const abort = decodePacket(await within(reply, "ABORT"));
      assert.ok(abort !== undefined);
      assert.equal(abort.chunks[0].type, ChunkType.Abort);
      assert.equal(abort.chunks[0].flags & 1, 0, "no T bit: the tag is the INIT's");
      assert.equal(abort.verificationTag, 0x01020304);
      assert.equal(abort.sourcePort, listener.addresses[0].port + 1);
      assert.equal(abort.destinationPort, 5000);
      assert.equal(stack.stats.outOfTheBlue, 1);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
      await listener.close();
    }
  },
);

for (const udpApi of ["deno", "node"] as const) {
  Deno.test(
    `sctp stack: an endpoint's close frees its UDP port for the next one at once (${udpApi} UDP)`,
    sanitized,
    async () => {
      // The ABORT sent by destroying the server's side is still queued on the socket when the
      // listener closes: the socket closes after it, and close() resolves only then.
      const stack = new SctpStack();
      const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, udpApi, stack });
      const port = listener.addresses[0].port;
      const accepted = listener.accept();
      const client = await within(
        connectSctp({ hostname: "127.0.0.1", port, udpApi, stack }),
        "association",
      );
      const server = await within(accepted, "association accepted");
      server?.abort();
      await listener.close();
      const again = await listenSctp({ hostname: "127.0.0.1", port, udpApi, stack });
      assert.equal(again.udpPort, port);
      await again.close();
      // The client saw the ABORT: its close() resolves once its endpoint's socket is closed.
      assert.equal(await receiveWithin(client), null);
      await client.close();
      assert.deepEqual(stack.sockets, [], "no socket left open");
    },
  );
}

Deno.test(
  "sctp stack: a failed connect leaves no socket behind",
  sanitized,
  async () => {
    const stack = new SctpStack();
    const cancel = new AbortController();
    const connecting = connectSctp({
      hostname: "127.0.0.1",
      port: 9,
      remoteUdpPort: 9,
      stack,
      signal: cancel.signal,
    });
    // Cancelled while its INIT is out (T1-init running, the socket bound).
    await within(new Promise((r) => setTimeout(r, 10)), "a moment");
    cancel.abort();
    await assert.rejects(within(connecting, "connect cancelled"), TransportError);
    assert.deepEqual(stack.sockets, []);
  },
);
