// Receive window accounting, stalled peers, small send buffers and per-association clocks,
// in virtual time (transport/sctp/sim).

import assert from "node:assert/strict";
import { ChunkType, decodePacket } from "../../transport/sctp/chunks.ts";
import { resolveSctpConfig } from "../../transport/sctp/config.ts";
import { SctpEndpoint } from "../../transport/sctp/endpoint.ts";
import { VirtualClock } from "../../transport/sctp/sim/mod.ts";
import { countMessages, sendMessages, simPair } from "../support/sctp_sim.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test({
  name: "sctp sim: a sender of small messages does not overrun the receive window (6.2.1)",
  ...sanitized,
  async fn() {
    // The receiver reads in bursts: its buffer fills, and each held chunk costs its payload
    // plus its overhead there; the window it advertises must account for that, or the sender
    // overruns it and the receiver drops chunks (retransmitted later: no loss otherwise).
    const { net, client, server } = await simPair({
      link: { delay: 5, bandwidth: 100e6 },
      maxMessageSize: 1000,
      receiveBufferSize: 64 * 1024,
    });
    let paused = false;
    let pauses = 0;
    const got = countMessages(net, server, () => paused);
    const flip = () => {
      paused = !paused;
      if (paused) pauses++;
      net.clock.setTimeout(flip, paused ? 200 : 20);
    };
    flip();
    sendMessages(client, 20_000, 20);
    await net.runUntil(() => got.count === 20_000, 600_000);
    assert.equal(got.outOfOrder, 0);
    // What the receiver drops is the zero window probe of each pause (RFC 9260, 6.1 A), no
    // more (a window of payload only made that about 22,000 chunks here).
    const { retransmissions } = client.stats;
    assert.ok(
      retransmissions <= 2 * pauses,
      `${retransmissions} retransmissions, ${pauses} pauses`,
    );
    client.abort();
  },
});

Deno.test({
  name: "sctp sim: a peer that answers HEARTBEATs but never SACKs is cut by dataStallTimeout",
  ...sanitized,
  async fn() {
    for (const dataStallTimeout of [0, 30_000]) {
      const { net, client } = await simPair({ link: { delay: 5 }, dataStallTimeout });
      // The server's SACKs never arrive; its HEARTBEAT ACKs do.
      net.filter((p) => {
        if (p.from !== "10.0.0.2") return;
        const packet = decodePacket(p.bytes);
        if (packet?.chunks.some((c) => c.type === ChunkType.Sack)) return false;
      });
      let lost = "";
      client.onEvent((e) => {
        if (e.type === "communication-lost") lost = e.reason;
      });
      const start = net.clock.now();
      sendMessages(client, 10, 100);
      if (dataStallTimeout === 0) {
        await net.run(120_000);
      } else {
        await net.runUntil(() => client.closed, 60_000);
      }
      if (dataStallTimeout === 0) {
        // RFC 9260 8.1: each HEARTBEAT ACK clears the error counter: it stays up.
        assert.equal(client.closed, false, "up without the option");
        client.abort();
      } else {
        assert.equal(client.closed, true, "cut with the option");
        assert.match(lost, /No acknowledgement of DATA/);
        assert.ok(net.clock.now() - start >= 30_000);
      }
    }
  },
});

Deno.test("sctp config: a send buffer below 64 KiB is kept", sanitized, () => {
  assert.equal(resolveSctpConfig({ sendBufferSize: 1000 }).sendBufferSize, 1000);
  assert.equal(resolveSctpConfig({}).dataStallTimeout, 0);
});

Deno.test({
  name: "sctp sim: a small send buffer limits what is buffered, and still carries everything",
  ...sanitized,
  async fn() {
    const { net, client, server } = await simPair({
      link: { delay: 5, bandwidth: 10e6 },
      sendBufferSize: 4000,
    });
    const got = countMessages(net, server);
    let most = 0;
    client.onEvent(() => {});
    sendMessages(client, 500, 1000);
    await net.runUntil(() => {
      most = Math.max(most, client.bufferedAmount);
      return got.count === 500;
    }, 600_000);
    assert.ok(most <= 4000, `${most} bytes buffered`);
    client.abort();
  },
});

Deno.test({
  name: "sctp sim: endpoint.connect({ clock }) runs the association on that clock",
  ...sanitized,
  async fn() {
    const { net, listener } = await simPair({ link: { delay: 5 } });
    const endpoint = await SctpEndpoint.open({
      hostname: "10.0.0.1",
      port: 7000,
      stack: net.stack(),
    });
    const own = new VirtualClock(net.clock.now());
    const association = await net.settle(
      endpoint.connect({ hostname: "10.0.0.2", port: 5000, clock: own }),
    );
    // Its HEARTBEAT and other timers are on its own clock, none on the network's.
    assert.ok(own.next < Infinity, "timers on the given clock");
    association.abort();
    await endpoint.destroy();
    void listener;
  },
});
