/**
 * SCTP over UDP under injected faults: a seeded relay drops 10 % of the datagrams in each
 * direction, duplicates and reorders some, and 10,000 messages of mixed sizes still arrive
 * exactly once, in order per stream (unordered ones exactly once), over either UDP API.
 */

import assert from "node:assert/strict";
import { connectSctp, listenSctp, type SctpAssociation } from "../../transport/sctp/mod.ts";
import type { ReceivedMessage } from "../../transport/types.ts";
import { startLossyRelay } from "../support/lossy_relay.ts";
import { acceptWithin, receiveWithin, within } from "../support/deadline.ts";
import { SeededRandom } from "../support/random.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

const STREAMS = 4;
const HEADER = 12;

interface Planned {
  id: number;
  stream: number;
  unordered: boolean;
  /** Index among the ordered messages of its stream. */
  index: number;
  size: number;
}

/** Mostly small messages, some of a few packets, a few up to 64 KiB. */
function plan(count: number, seed: number): Planned[] {
  const random = new SeededRandom(seed);
  const next = new Array<number>(STREAMS).fill(0);
  const out: Planned[] = [];
  for (let id = 0; id < count; id++) {
    const stream = random.int(STREAMS);
    const unordered = random.next() < 0.1;
    const r = random.next();
    const size = r < 0.8
      ? HEADER + random.int(1000)
      : r < 0.97
      ? HEADER + random.int(8 * 1024)
      : HEADER + random.int(64 * 1024 - HEADER + 1);
    out.push({ id, stream, unordered, index: unordered ? -1 : next[stream]++, size });
  }
  return out;
}

function fill(p: Planned): Uint8Array {
  const data = new Uint8Array(p.size);
  const view = new DataView(data.buffer);
  view.setUint32(0, p.id);
  view.setUint32(4, p.index);
  view.setUint32(8, p.size);
  for (let i = HEADER; i < p.size; i++) data[i] = (p.id * 31 + i) & 0xff;
  return data;
}

function check(m: ReceivedMessage, planned: Planned[]): Planned {
  const view = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  assert.ok(m.data.length >= HEADER, "message too short");
  const p = planned[view.getUint32(0)];
  assert.ok(p !== undefined, "unknown message id");
  assert.equal(m.data.length, p.size, `size of message ${p.id}`);
  assert.equal(view.getUint32(8), p.size);
  assert.equal(m.stream, p.stream, `stream of message ${p.id}`);
  assert.equal(m.unordered, p.unordered, `unordered flag of message ${p.id}`);
  assert.equal(m.ppid, 1000 + p.stream);
  for (let i = HEADER; i < p.size; i++) {
    if (m.data[i] !== ((p.id * 31 + i) & 0xff)) assert.fail(`byte ${i} of message ${p.id}`);
  }
  return p;
}

// Over both UDP APIs: Deno.listenDatagram (reused receive buffer) and the node:dgram fallback.
for (const udpApi of ["deno", "node"] as const) {
  Deno.test({
    name: `sctp: 10,000 messages survive 10 % loss, duplication and reordering (${udpApi} UDP)`,
    ...sanitized,
    async fn() {
      const tuning = {
        rtoInitial: 100,
        rtoMin: 20,
        rtoMax: 400,
        delayedAckTime: 10,
        udpApi,
      };
      const listener = await listenSctp({ hostname: "127.0.0.1", port: 0, ...tuning });
      const relay = await startLossyRelay({
        target: { hostname: "127.0.0.1", port: listener.addresses[0].port },
        seed: Number(Deno.env.get("SCTP_LOSSY_SEED") ?? 4242),
        loss: 0.1,
        duplicate: 0.03,
        reorder: 0.05,
      });
      const accepted = acceptWithin(listener);
      const client = await within(
        connectSctp({
          hostname: "127.0.0.1",
          port: listener.addresses[0].port,
          remoteUdpPort: relay.port,
          streams: STREAMS,
          associationMaxRetransmits: 100,
          pathMaxRetransmits: 100,
          ...tuning,
        }),
        "association",
      );
      const server = (await accepted) as SctpAssociation;
      assert.ok(server !== null);
      try {
        const planned = plan(10_000, 7);
        const answers = plan(1_000, 8);
        const receiveAll = async (
          association: typeof client | typeof server,
          expected: Planned[],
        ): Promise<void> => {
          const nextIndex = new Array<number>(STREAMS).fill(0);
          const seen = new Uint8Array(expected.length);
          for (let n = 0; n < expected.length; n++) {
            const m = await association.receive();
            assert.ok(m !== null, `association ended after ${n} messages`);
            const p = check(m, expected);
            assert.equal(seen[p.id], 0, `message ${p.id} delivered twice`);
            seen[p.id] = 1;
            if (!p.unordered) {
              assert.equal(p.index, nextIndex[p.stream], `order on stream ${p.stream}`);
              nextIndex[p.stream]++;
            }
          }
        };
        const sendAll = async (
          association: typeof client | typeof server,
          messages: Planned[],
        ): Promise<void> => {
          for (const p of messages) {
            await association.send(fill(p), {
              stream: p.stream,
              ppid: 1000 + p.stream,
              unordered: p.unordered,
            });
          }
        };
        await within(
          Promise.all([
            sendAll(client, planned),
            receiveAll(server, planned),
            sendAll(server, answers),
            receiveAll(client, answers),
          ]),
          "end of the transfer",
          90_000,
        );
        assert.ok(relay.stats.dropped > 100, "the relay dropped datagrams");
        assert.ok(relay.stats.duplicated > 10, "the relay duplicated datagrams");
        assert.ok(relay.stats.reordered > 10, "the relay reordered datagrams");
        assert.ok(client.stats.retransmissions > 0);
        console.log("relay", relay.stats, "client", client.stats, "server", server.stats);
        // Nothing more arrives: the graceful close ends both sides.
        relay.faults = false;
        await within(client.close(), "end of the shutdown");
        assert.equal(await receiveWithin(server), null);
        assert.equal(client.closed, true);
        assert.equal(server.closed, true);
      } finally {
        client.abort();
        server.abort();
        await listener.close();
        await relay.close();
      }
    },
  });
}
