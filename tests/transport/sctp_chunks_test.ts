/**
 * The SCTP codec: the common header and CRC32c, every chunk type the stack sends or reads,
 * INIT parameters and the high-bit rules of unknown parameters, SACK gap blocks and duplicate
 * TSNs, DATA, error causes, and the HMAC state cookie. Byte layouts are checked against
 * hand-written vectors, and malformed input decodes to undefined instead of throwing.
 */

import assert from "node:assert/strict";
import {
  ChunkType,
  DataFlag,
  decodeData,
  decodeInit,
  decodePacket,
  decodeSack,
  encodeInit,
  encodeSack,
  errorCause,
  firstErrorCause,
  InitParameter,
  PacketBuilder,
  parameter,
  SctpErrorCause,
} from "../../transport/sctp/chunks.ts";
import { type CookieState, makeCookie, readCookie } from "../../transport/sctp/cookie.ts";
import { crc32c, setSctpChecksum } from "../../transport/sctp/crc32c.ts";
import { SeededRandom } from "../support/random.ts";

// Deno 2.9 runs tests without its op and resource sanitizers unless asked: every test
// here asks, so that none ends with a timer, an op or a socket still pending.
const sanitized = { sanitizeOps: true, sanitizeResources: true };

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: clean.length / 2 },
    (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

/** A packet of one chunk built by hand: header, chunk header, value, padding, CRC32c. */
function handPacket(tag: number, type: number, flags: number, value: Uint8Array): Uint8Array {
  const padded = (value.length + 3) & ~3;
  const out = new Uint8Array(12 + 4 + padded);
  const view = new DataView(out.buffer);
  view.setUint16(0, 5000);
  view.setUint16(2, 7);
  view.setUint32(4, tag);
  out[12] = type;
  out[13] = flags;
  view.setUint16(14, 4 + value.length);
  out.set(value, 16);
  return setSctpChecksum(out);
}

Deno.test(
  "sctp chunks: the builder writes the common header, chunk header, padding and CRC32c",
  sanitized,
  () => {
    const b = new PacketBuilder(1200);
    b.start(5000, 7, 0xdeadbeef);
    assert.equal(b.empty, true);
    b.chunk(ChunkType.CookieAck, 0, new Uint8Array());
    b.chunk(ChunkType.Heartbeat, 0, parameter(InitParameter.HeartbeatInfo, fromHex("0102030405")));
    assert.equal(b.empty, false);
    const packet = b.finish();
    assert.equal(
      hex(packet.subarray(12)),
      "0b000004" + "0400000d" + "00010009" + "0102030405" + "000000",
    );
    assert.equal(hex(packet.subarray(0, 8)), "1388" + "0007" + "deadbeef");
    // The checksum field is the CRC32c of the packet with a zero checksum, little-endian.
    const zeroed = packet.slice();
    zeroed.fill(0, 8, 12);
    const crc = crc32c(zeroed);
    assert.equal(new DataView(packet.buffer).getUint32(8, true), crc);
    const decoded = decodePacket(packet);
    assert.ok(decoded);
    assert.equal(decoded.sourcePort, 5000);
    assert.equal(decoded.destinationPort, 7);
    assert.equal(decoded.verificationTag, 0xdeadbeef);
    assert.deepEqual(decoded.chunks.map((c) => [c.type, c.flags, c.value.length]), [
      [ChunkType.CookieAck, 0, 0],
      [ChunkType.Heartbeat, 0, 9],
    ]);
    assert.equal(b.room, 1200 - 12 - 4 - 16);
  },
);

Deno.test("sctp chunks: DATA chunk layout and decoding", sanitized, () => {
  const b = new PacketBuilder(1200);
  b.start(1, 2, 3);
  b.data(
    DataFlag.Begin | DataFlag.End | DataFlag.Unordered,
    0x01020304,
    5,
    6,
    11,
    fromHex("aabbcc"),
  );
  const packet = b.finish();
  assert.equal(
    hex(packet.subarray(12)),
    "00070013" + "01020304" + "0005" + "0006" + "0000000b" + "aabbcc" + "00",
  );
  const [chunk] = decodePacket(packet)!.chunks;
  const d = decodeData(chunk);
  assert.deepEqual(
    { ...d, payload: d && hex(d.payload) },
    { flags: 7, tsn: 0x01020304, stream: 5, ssn: 6, ppid: 11, payload: "aabbcc" },
  );
  // DATA without user data is malformed (RFC 9260, 6.2: No User Data).
  assert.equal(decodeData({ type: 0, flags: 3, value: new Uint8Array(12) }), undefined);
  assert.equal(decodeData({ type: 0, flags: 3, value: new Uint8Array(3) }), undefined);
});

Deno.test(
  "sctp chunks: INIT and INIT ACK round trip with addresses and a cookie",
  sanitized,
  () => {
    const init = {
      initiateTag: 0x11223344,
      advertisedWindow: 0x10000,
      outboundStreams: 10,
      inboundStreams: 2048,
      initialTsn: 0xfffffffe,
      addresses: ["10.11.0.1", "10.12.0.1", "fd00::2"],
      unrecognized: [],
      stop: false,
    };
    const value = encodeInit(init);
    assert.equal(
      hex(value.subarray(0, 16 + 8 + 8)),
      "11223344" + "00010000" + "000a" + "0800" + "fffffffe" + "00050008" + "0a0b0001" +
        "00050008" + "0a0c0001",
    );
    assert.deepEqual(decodeInit(value), init);
    const ack = { ...init, addresses: [], cookie: fromHex("0102030405") };
    const ackValue = encodeInit(ack);
    // The cookie is the last parameter: the chunk length excludes its padding.
    assert.equal(hex(ackValue.subarray(16)), "00070009" + "0102030405");
    assert.deepEqual(decodeInit(ackValue), ack);
    // In a packet, the chunk is padded.
    const packet = handPacket(0, ChunkType.InitAck, 0, ackValue);
    const decoded = decodePacket(packet)!;
    assert.deepEqual(decodeInit(decoded.chunks[0].value), ack);
  },
);

Deno.test("sctp chunks: unknown INIT parameters follow their two high bits", sanitized, () => {
  const base = encodeInit({
    initiateTag: 1,
    advertisedWindow: 2,
    outboundStreams: 3,
    inboundStreams: 4,
    initialTsn: 5,
    addresses: [],
    unrecognized: [],
    stop: false,
  });
  const withParams = (...params: Uint8Array[]) => {
    const parts = [
      base,
      ...params.map((p) => {
        const padded = new Uint8Array((p.length + 3) & ~3);
        padded.set(p);
        return padded;
      }),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  };
  const v4 = parameter(InitParameter.Ipv4Address, fromHex("7f000001"));
  // 00: stop, no report.
  let d = decodeInit(withParams(parameter(0x0123, fromHex("aa")), v4))!;
  assert.deepEqual([d.stop, d.unrecognized.length, d.addresses], [true, 0, []]);
  // 01: stop and report.
  d = decodeInit(withParams(parameter(0x4123, fromHex("aa")), v4))!;
  assert.deepEqual([d.stop, d.unrecognized.map(hex), d.addresses], [true, ["41230005aa"], []]);
  // 10: skip, no report.
  d = decodeInit(withParams(parameter(0x8123, fromHex("aa")), v4))!;
  assert.deepEqual([d.stop, d.unrecognized.length, d.addresses], [false, 0, ["127.0.0.1"]]);
  // 11: skip and report.
  d = decodeInit(withParams(parameter(0xc123, fromHex("aabb")), v4))!;
  assert.deepEqual([d.stop, d.unrecognized.map(hex), d.addresses], [false, ["c1230006aabb"], [
    "127.0.0.1",
  ]]);
  // Known optional parameters (Supported Address Types, Cookie Preservative) are accepted.
  d = decodeInit(
    withParams(parameter(12, fromHex("00050006")), parameter(9, fromHex("00000010"))),
  )!;
  assert.equal(d.stop, false);
  // A parameter overrunning the chunk, a bad address length, a short chunk: malformed.
  const bad = withParams(v4);
  new DataView(bad.buffer).setUint16(18, 40);
  assert.equal(decodeInit(bad), undefined);
  assert.equal(decodeInit(withParams(parameter(5, fromHex("7f0000")))), undefined);
  assert.equal(decodeInit(withParams(parameter(5, fromHex("")).subarray(0, 3))), undefined);
  assert.equal(decodeInit(base.subarray(0, 15)), undefined);
});

Deno.test("sctp chunks: SACK with gap ack blocks and duplicate TSNs", sanitized, () => {
  const sack = {
    cumulativeTsn: 0xffffffff,
    advertisedWindow: 123456,
    gaps: [[2, 3], [5, 5]] as [number, number][],
    duplicates: [7, 0xfffffffe],
  };
  const value = encodeSack(sack);
  assert.equal(
    hex(value),
    "ffffffff" + "0001e240" + "0002" + "0002" + "00020003" + "00050005" + "00000007" +
      "fffffffe",
  );
  assert.deepEqual(decodeSack(value), sack);
  // Counts that overrun the chunk, a gap starting at 0, a gap ending before it starts.
  const overrun = value.slice(0, 16);
  assert.equal(decodeSack(overrun), undefined);
  const zero = value.slice();
  zero[13] = 0;
  assert.equal(decodeSack(zero), undefined);
  const backwards = encodeSack({ ...sack, gaps: [[4, 3]] });
  assert.equal(decodeSack(backwards), undefined);
  assert.equal(decodeSack(new Uint8Array(11)), undefined);
});

Deno.test("sctp chunks: control chunks of one packet each decode by type", sanitized, () => {
  const shutdownValue = fromHex("00000064"); // cumulative TSN ack 100
  const cases: [number, number, Uint8Array][] = [
    [ChunkType.Shutdown, 0, shutdownValue],
    [ChunkType.ShutdownAck, 0, new Uint8Array()],
    [ChunkType.ShutdownComplete, 1, new Uint8Array()],
    [ChunkType.CookieEcho, 0, fromHex("0102030405060708")],
    [ChunkType.CookieAck, 0, new Uint8Array()],
    [ChunkType.HeartbeatAck, 0, parameter(InitParameter.HeartbeatInfo, fromHex("00"))],
    [ChunkType.Abort, 1, errorCause(SctpErrorCause.UserInitiatedAbort, fromHex("6869"))],
    [ChunkType.Error, 0, errorCause(SctpErrorCause.InvalidStreamIdentifier, fromHex("00050000"))],
  ];
  for (const [type, flags, value] of cases) {
    const b = new PacketBuilder(1200);
    b.start(5000, 7, 42);
    b.chunk(type, flags, value);
    const packet = b.finish();
    assert.deepEqual(packet, handPacket(42, type, flags, value), `chunk type ${type}`);
    const [c] = decodePacket(packet)!.chunks;
    assert.deepEqual([c.type, c.flags, hex(c.value)], [type, flags, hex(value)]);
  }
  assert.equal(
    hex(errorCause(SctpErrorCause.UserInitiatedAbort, fromHex("6869"))),
    "000c0006" + "6869",
  );
  assert.equal(firstErrorCause(fromHex("000c00066869")), 12);
  assert.equal(firstErrorCause(fromHex("00")), undefined);
});

Deno.test("sctp chunks: malformed packets decode to undefined, never throw", sanitized, () => {
  const good = handPacket(7, ChunkType.CookieAck, 0, new Uint8Array());
  assert.ok(decodePacket(good));
  assert.equal(decodePacket(good.subarray(0, 15)), undefined, "short");
  const badCrc = good.slice();
  badCrc[8] ^= 1;
  assert.equal(decodePacket(badCrc), undefined, "bad CRC32c");
  const noChunks = setSctpChecksum(good.slice(0, 12));
  assert.equal(decodePacket(noChunks), undefined, "no chunks (shorter than 16)");
  const tooLong = good.slice();
  tooLong[15] = 8;
  assert.equal(decodePacket(setSctpChecksum(tooLong)), undefined, "chunk beyond the packet");
  const tooShort = good.slice();
  tooShort[15] = 2;
  assert.equal(decodePacket(setSctpChecksum(tooShort)), undefined, "chunk length below 4");
  // Random bytes with a valid checksum: never an exception.
  const random = new SeededRandom(99);
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from({ length: 12 + random.int(80) }, () => random.int(256));
    const p = decodePacket(setSctpChecksum(bytes));
    for (const c of p?.chunks ?? []) {
      decodeInit(c.value);
      decodeSack(c.value);
      decodeData(c);
    }
  }
});

Deno.test(
  "sctp chunks: the state cookie is signed and carries the association parameters",
  sanitized,
  () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const state: CookieState = {
      created: 1_700_000_000_000,
      lifetime: 60_000,
      localTag: 0x01020304,
      peerTag: 0xa0b0c0d0,
      localInitialTsn: 17,
      peerInitialTsn: 0xffffffff,
      peerWindow: 4 * 1024 * 1024,
      outboundStreams: 16,
      inboundStreams: 10,
      peerPort: 9899,
      peerAddresses: ["10.11.0.1", "fd00::1"],
    };
    const cookie = makeCookie(state, secret);
    assert.deepEqual(readCookie(cookie, secret), state);
    // Any change of a byte, another secret, truncation: rejected.
    for (let i = 0; i < cookie.length; i++) {
      const forged = cookie.slice();
      forged[i] ^= 0x40;
      assert.equal(readCookie(forged, secret), undefined, `byte ${i}`);
    }
    assert.equal(readCookie(cookie, new Uint8Array(32)), undefined);
    assert.equal(readCookie(cookie.subarray(0, cookie.length - 1), secret), undefined);
  },
);
