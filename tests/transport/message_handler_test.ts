/**
 * Messages handed to a handler instead of received (`setMessageHandler`), on both transports:
 * order, the end, and `pause` holding the sender back through the transport's flow control.
 */

import assert from "node:assert/strict";
import type { Association, ReceivedMessage } from "../../transport/types.ts";
import { connectTcp, listenTcp } from "../../transport/tcp/mod.ts";
import { connectSctp, listenSctp } from "../../transport/sctp/endpoint.ts";
import { within } from "../support/deadline.ts";

interface Pair {
  client: Association;
  server: Association;
  close(): Promise<void>;
}

/** The pair of a listener's client and accepted association, closed together. */
function pairOf(
  listener: { close(): Promise<void> },
  client: Association,
  server: Association | null,
): Pair {
  assert.ok(server);
  return {
    client,
    server,
    async close() {
      client.abort();
      server.abort();
      await listener.close();
    },
  };
}

/** Small buffers on both sides, so that a paused receiver holds the sender back soon. */
const pairs: Record<"sctp" | "tcp", () => Promise<Pair>> = {
  async sctp() {
    const listener = await listenSctp({
      hostname: "127.0.0.1",
      port: 0,
      maxMessageSize: 8 * 1024,
      receiveBufferSize: 64 * 1024,
    });
    const accepted = listener.accept();
    const client = await connectSctp({
      hostname: "127.0.0.1",
      port: listener.addresses[0].port,
      sendBufferSize: 64 * 1024,
    });
    return pairOf(listener, client, await within(accepted, "accept"));
  },
  async tcp() {
    const listener = await listenTcp({
      hostname: "127.0.0.1",
      port: 0,
      maxBufferedBytes: 64 * 1024,
    });
    const accepted = listener.accept();
    const client = await connectTcp({
      hostname: "127.0.0.1",
      port: listener.addresses[0].port,
      maxBufferedBytes: 64 * 1024,
    });
    return pairOf(listener, client, await within(accepted, "accept"));
  },
};

for (const transport of ["sctp", "tcp"] as const) {
  Deno.test(`${transport}: a message handler gets every message in order, then null`, async () => {
    const { client, server, close } = await pairs[transport]();
    try {
      const got: (ReceivedMessage | null)[] = [];
      const ended = Promise.withResolvers<void>();
      server.setMessageHandler((m) => {
        got.push(m);
        if (m === null) ended.resolve();
      });
      for (let i = 0; i < 50; i++) await client.send(new Uint8Array([i, 1, 2]), { ppid: 11 });
      await client.close();
      await within(ended.promise, "the end");
      assert.equal(got.length, 51);
      assert.deepEqual(
        got.slice(0, 50).map((m) => m!.data[0]),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.ok(got.slice(0, 50).every((m) => m!.ppid === 11));
      assert.equal(got[50], null);
      await assert.rejects(server.receive(), TypeError);
    } finally {
      await close();
    }
  });

  Deno.test(`${transport}: a paused handler holds the sender back until it resumes`, async () => {
    const { client, server, close } = await pairs[transport]();
    try {
      let received = 0;
      let inOrder = true;
      server.setMessageHandler((m) => {
        if (m === null) return;
        if (m.data[0] !== (received & 0xff)) inOrder = false;
        received++;
      });
      server.pause();
      const total = transport === "sctp" ? 400 : 4000;
      let accepted = 0;
      const sends: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const data = new Uint8Array(4096);
        data[0] = i & 0xff;
        sends.push(client.send(data, { ppid: 11 }).then(() => void accepted++));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(received, 0, "nothing handed over while paused");
      assert.ok(accepted < total, `the sender is held back (${accepted} of ${total} taken)`);
      server.resume();
      await within(Promise.all(sends), "every send taken once resumed", 30_000);
      const deadline = Date.now() + 30_000;
      while (received < total && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(received, total);
      assert.ok(inOrder, "in order");
    } finally {
      await close();
    }
  });
}
