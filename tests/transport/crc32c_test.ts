import assert from "node:assert/strict";
import { crc32c, setSctpChecksum, verifySctpChecksum } from "../../transport/sctp/crc32c.ts";

/** Bit-at-a-time CRC32c, the reference the table-driven code is checked against. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("crc32c matches the RFC 3720 appendix B.4 vectors", () => {
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(descending), 0x113fdb5c);
});

Deno.test("crc32c of the check string 123456789 is 0xe3069283", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array()), 0);
});

Deno.test("crc32c agrees with a bitwise reference for every length up to 300 and odd offsets", () => {
  const data = pseudoRandomBytes(4096 + 7, 0x12345678);
  for (let length = 0; length <= 300; length++) {
    const offset = length % 7; // unaligned views of one buffer
    const slice = data.subarray(offset, offset + length);
    assert.equal(crc32c(slice), crc32cBitwise(slice), `length ${length} offset ${offset}`);
  }
  for (let seed = 1; seed <= 50; seed++) {
    const slice = pseudoRandomBytes((seed * 977) % 4096, seed);
    assert.equal(crc32c(slice), crc32cBitwise(slice), `seed ${seed}`);
  }
});

Deno.test("crc32c continues a checksum from an initial value", () => {
  const data = pseudoRandomBytes(1000, 99);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    const whole = crc32c(data);
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole, `cut ${cut}`);
  }
});

Deno.test("setSctpChecksum stores the CRC least significant byte first over a zeroed field", () => {
  // RFC 3720 B.4: 32 zero bytes have the CRC 0x8a9136aa, sent as aa 36 91 8a.
  const packet = new Uint8Array(32).fill(0);
  packet.fill(0x55, 8, 12); // a stale checksum must be ignored
  setSctpChecksum(packet);
  assert.deepEqual([...packet.subarray(8, 12)], [0xaa, 0x36, 0x91, 0x8a]);
  assert.ok(verifySctpChecksum(packet));
});

Deno.test("verifySctpChecksum rejects a flipped bit, a wrong byte order and short packets", () => {
  const packet = setSctpChecksum(pseudoRandomBytes(64, 7));
  assert.ok(verifySctpChecksum(packet));
  for (const i of [0, 8, 11, 12, 63]) {
    const copy = packet.slice();
    copy[i] ^= 0x10;
    assert.ok(!verifySctpChecksum(copy), `bit flipped at ${i}`);
  }
  const swapped = packet.slice();
  swapped.set(packet.slice(8, 12).reverse(), 8);
  assert.ok(!verifySctpChecksum(swapped));
  assert.ok(!verifySctpChecksum(new Uint8Array(11)));
  assert.throws(() => setSctpChecksum(new Uint8Array(11)), RangeError);
});

Deno.test("setSctpChecksum works on a view into a larger buffer", () => {
  const buffer = pseudoRandomBytes(100, 3);
  const before = buffer.slice();
  const view = buffer.subarray(20, 60);
  setSctpChecksum(view);
  assert.ok(verifySctpChecksum(view));
  assert.deepEqual(buffer.subarray(0, 28), before.subarray(0, 28));
  assert.deepEqual(buffer.subarray(32), before.subarray(32));
});
