/**
 * The cheap paths of the per-message work: packets copied into shared slab memory, the SACK
 * written in place, the checksum over views at any offset, cumulative acks taken one at a time,
 * the timer heap in typed arrays, and the plain SACK of the receive tracker. Each is checked
 * against the general path it stands in for.
 */

import assert from "node:assert/strict";
import {
  ChunkType,
  DataFlag,
  decodePacket,
  decodeSack,
  encodeSack,
  PacketBuilder,
} from "../../transport/sctp/chunks.ts";
import { crc32c, setSctpChecksum, verifySctpChecksum } from "../../transport/sctp/crc32c.ts";
import { ReceiveTracker } from "../../transport/sctp/receive_tracker.ts";
import { type OutChunk, SendQueue } from "../../transport/sctp/send_queue.ts";
import { TimerQueue } from "../../transport/sctp/timer_queue.ts";
import { SeededRandom } from "../support/random.ts";

const sanitized = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "sctp fast path: packet() gives the bytes of finish(), each in a range of its own",
  sanitized,
  () => {
    const b = new PacketBuilder(1200);
    const kept: { view: Uint8Array; copy: Uint8Array }[] = [];
    // Enough packets to fill several slabs, of sizes that do not divide them.
    for (let i = 0; i < 3000; i++) {
      const payload = new Uint8Array(1 + (i * 37) % 1100).fill(i & 0xff);
      b.start(5000, 7, i);
      b.data(DataFlag.Begin | DataFlag.End, i, 0, i & 0xffff, 11, payload);
      const copy = b.finish();
      b.start(5000, 7, i);
      b.data(DataFlag.Begin | DataFlag.End, i, 0, i & 0xffff, 11, payload);
      const view = b.packet();
      assert.deepEqual(view, copy);
      assert.ok(verifySctpChecksum(view));
      kept.push({ view, copy });
    }
    // Later packets never overwrote earlier ones.
    for (const { view, copy } of kept) assert.deepEqual(view, copy);
    assert.ok(kept.some(({ view }) => view.byteOffset > 0));
  },
);

Deno.test("sctp fast path: the checksum of a view at an offset", sanitized, () => {
  const random = new SeededRandom(5);
  for (let n = 12; n < 200; n += 7) {
    const whole = new Uint8Array(n + 13);
    for (let i = 0; i < whole.length; i++) whole[i] = random.next() * 256;
    const packet = whole.subarray(5, 5 + n);
    setSctpChecksum(packet);
    const zeroed = packet.slice();
    zeroed.fill(0, 8, 12);
    const crc = crc32c(zeroed);
    assert.equal(new DataView(packet.buffer, packet.byteOffset).getUint32(8, true), crc);
    assert.ok(verifySctpChecksum(packet));
    packet[n - 1] ^= 0x40;
    assert.ok(!verifySctpChecksum(packet));
  }
  // crc32c in pieces still matches the whole, at every split.
  const bytes = new TextEncoder().encode("123456789abcdefghijklmnopq");
  for (let i = 0; i <= bytes.length; i++) {
    assert.equal(crc32c(bytes.subarray(i), crc32c(bytes.subarray(0, i))), crc32c(bytes));
  }
});

Deno.test("sctp fast path: a SACK written in place is the SACK encoded", sanitized, () => {
  for (const [cum, window] of [[0, 0], [1, 2], [0xffffffff, 0x12345678], [0x80000000, 65536]]) {
    const b = new PacketBuilder(1200);
    b.start(1, 2, 3);
    b.sack(cum, window);
    const inPlace = b.finish();
    b.start(1, 2, 3);
    b.chunk(
      ChunkType.Sack,
      0,
      encodeSack({ cumulativeTsn: cum, advertisedWindow: window, gaps: [], duplicates: [] }),
    );
    assert.deepEqual(inPlace, b.finish());
    const chunk = decodePacket(inPlace)!.chunks[0];
    assert.deepEqual(decodeSack(chunk.value), {
      cumulativeTsn: cum,
      advertisedWindow: window,
      gaps: [],
      duplicates: [],
    });
  }
});

Deno.test(
  "sctp fast path: a plain SACK of the tracker is paid as sack() pays it",
  sanitized,
  () => {
    const tracker = new ReceiveTracker(100, 256);
    assert.equal(tracker.classify(100), "next");
    tracker.advance(100);
    tracker.onDataPacket();
    assert.ok(tracker.needed && tracker.plain);
    assert.equal(tracker.paid(), 100);
    assert.ok(!tracker.needed && !tracker.urgent);
    // A duplicate or a gap is not plain: it needs the SACK built in full.
    tracker.classify(100);
    assert.ok(!tracker.plain);
    tracker.sack(1000);
    assert.ok(tracker.plain);
    tracker.classify(102);
    tracker.hold(102, { flags: 3, stream: 0, ssn: 2, ppid: 0, payload: new Uint8Array(1) });
    assert.ok(!tracker.plain);
  },
);

Deno.test("sctp fast path: takeAcked takes what ackCumulative does, in order", sanitized, () => {
  const random = new SeededRandom(11);
  const a = new SendQueue(0xfffffff0);
  const b = new SendQueue(0xfffffff0);
  let sent = 0;
  for (let round = 0; round < 200; round++) {
    const add = Math.floor(random.next() * 20);
    for (let i = 0; i < add; i++) {
      a.enqueue(3, 0, 0, 0, new Uint8Array(1 + i));
      b.enqueue(3, 0, 0, 0, new Uint8Array(1 + i));
      a.takePending();
      b.takePending();
      sent++;
    }
    const cum = (0xfffffff0 + Math.floor(random.next() * sent) - 1) >>> 0;
    const viaCallback: number[] = [];
    a.ackCumulative(cum, (c: OutChunk) => viaCallback.push(c.tsn));
    const viaTake: number[] = [];
    for (let c = b.takeAcked(cum); c !== undefined; c = b.takeAcked(cum)) viaTake.push(c.tsn);
    assert.deepEqual(viaTake, viaCallback);
    assert.equal(b.bufferedBytes, a.bufferedBytes);
    assert.equal(b.head, a.head);
    assert.equal(b.end, a.end);
    assert.equal(b.empty, a.empty);
  }
});

Deno.test(
  "sctp fast path: the timer heap runs timers by time, ties as added, through growth and compaction",
  sanitized,
  () => {
    const random = new SeededRandom(3);
    const queue = new TimerQueue();
    const expected: { time: number; seq: number; cancelled: boolean }[] = [];
    const fired: number[] = [];
    const handles = [];
    for (let i = 0; i < 5000; i++) {
      // Few distinct times: many ties.
      const time = Math.floor(random.next() * 300);
      const seq = i;
      handles.push(queue.add(time, () => fired.push(seq)));
      expected.push({ time, seq, cancelled: false });
    }
    // Two in three cancelled: the heap is compacted on the way.
    for (let i = 0; i < 5000; i++) {
      if (i % 3 === 0) continue;
      queue.cancel(handles[i]);
      expected[i].cancelled = true;
    }
    assert.equal(queue.size, expected.filter((e) => !e.cancelled).length);
    let now = 0;
    while (queue.next !== Infinity) {
      now += 17;
      queue.runDue(now);
    }
    const order = expected.filter((e) => !e.cancelled)
      .sort((x, y) => x.time - y.time || x.seq - y.seq)
      .map((e) => e.seq);
    assert.deepEqual(fired, order);
  },
);
