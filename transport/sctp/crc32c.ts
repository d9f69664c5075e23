/**
 * CRC32c (Castagnoli), the checksum of the SCTP common header (RFC 9260, appendix A and B).
 *
 * The computation is the usual reflected one (polynomial 0x1EDC6F41, reflected 0x82F63B78,
 * initial value and final XOR 0xFFFFFFFF), done eight bytes at a time with precomputed tables
 * ("slicing-by-8").
 *
 * @module
 */

const POLYNOMIAL = 0x82f63b78;

/** Eight 256-entry tables in one array: table k lives at `k * 256`. */
const TABLES: Uint32Array = makeTables();

function makeTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i];
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ t[c & 0xff];
      t[k * 256 + i] = c;
    }
  }
  return t;
}

/**
 * Computes the CRC32c of `bytes`.
 *
 * `initial` is the CRC of the data before `bytes` (0 for none), so a checksum can be computed
 * in pieces: `crc32c(b, crc32c(a))` equals the CRC of `a` followed by `b`.
 *
 * @param bytes The data.
 * @param initial The CRC32c of the preceding data, 0 when there is none.
 * @returns The CRC32c as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32c } from "./crc32c.ts";
 * import assert from "node:assert/strict";
 * assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * const crc = crc32c(new TextEncoder().encode("6789"), crc32c(new TextEncoder().encode("12345")));
 * assert.equal(crc, 0xe3069283);
 * ```
 */
export function crc32c(bytes: Uint8Array, initial = 0): number {
  return ~update(bytes, 0, bytes.length, ~initial) >>> 0;
}

/**
 * The running (inverted) CRC `crc` carried over `bytes[start, end)`: ranges of one array are
 * checksummed without a view of each (an SCTP packet is checked around its checksum field).
 */
function update(bytes: Uint8Array, start: number, end: number, crc: number): number {
  const t = TABLES;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    crc = t[7 * 256 + (crc & 0xff)] ^
      t[6 * 256 + ((crc >>> 8) & 0xff)] ^
      t[5 * 256 + ((crc >>> 16) & 0xff)] ^
      t[4 * 256 + (crc >>> 24)] ^
      t[3 * 256 + bytes[i + 4]] ^
      t[2 * 256 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ t[(crc ^ bytes[i++]) & 0xff];
  return crc;
}

/** Offset of the checksum field in the SCTP common header. */
const CHECKSUM_OFFSET = 8;

/**
 * Computes the CRC32c of an SCTP packet (common header and chunks) and stores it in the
 * header's checksum field, bytes 8 to 11, in place.
 *
 * The CRC is computed over the packet with a zero checksum field. As in RFC 9260 appendix B
 * (and the Linux, usrsctp and sctplib stacks, and what Wireshark checks), the low-order byte
 * of the reflected CRC goes first: the 32-bit value is stored least significant byte first.
 *
 * @param packet An SCTP packet of at least the 12-byte common header; changed in place.
 * @returns The same `packet`, for chaining.
 *
 * @example
 * ```ts
 * import { setSctpChecksum, verifySctpChecksum } from "./crc32c.ts";
 * import assert from "node:assert/strict";
 * const packet = new Uint8Array(12 + 16); // header and an (empty) chunk area
 * new DataView(packet.buffer).setUint16(0, 9899); // source port
 * setSctpChecksum(packet);
 * assert.ok(verifySctpChecksum(packet));
 * ```
 */
export function setSctpChecksum(packet: Uint8Array): Uint8Array {
  if (packet.length < 12) throw new RangeError("An SCTP packet has at least 12 bytes");
  packet[CHECKSUM_OFFSET] = 0;
  packet[CHECKSUM_OFFSET + 1] = 0;
  packet[CHECKSUM_OFFSET + 2] = 0;
  packet[CHECKSUM_OFFSET + 3] = 0;
  const crc = ~update(packet, 0, packet.length, -1);
  // Stored byte by byte, least significant first (no DataView per packet).
  packet[CHECKSUM_OFFSET] = crc;
  packet[CHECKSUM_OFFSET + 1] = crc >>> 8;
  packet[CHECKSUM_OFFSET + 2] = crc >>> 16;
  packet[CHECKSUM_OFFSET + 3] = crc >>> 24;
  return packet;
}

/**
 * Tells whether the checksum field of an SCTP packet holds the packet's CRC32c (stored as
 * {@linkcode setSctpChecksum} stores it). The packet is not changed.
 *
 * @param packet An SCTP packet, common header and chunks.
 * @returns `true` when the checksum is right, `false` when it is wrong or the packet is
 * shorter than the common header.
 *
 * @example
 * ```ts
 * import { setSctpChecksum, verifySctpChecksum } from "./crc32c.ts";
 * import assert from "node:assert/strict";
 * const packet = setSctpChecksum(new Uint8Array(12));
 * assert.ok(verifySctpChecksum(packet));
 * packet[0] ^= 1;
 * assert.ok(!verifySctpChecksum(packet));
 * ```
 */
export function verifySctpChecksum(packet: Uint8Array): boolean {
  if (packet.length < 12) return false;
  const stored = (packet[CHECKSUM_OFFSET] | (packet[CHECKSUM_OFFSET + 1] << 8) |
    (packet[CHECKSUM_OFFSET + 2] << 16) | (packet[CHECKSUM_OFFSET + 3] << 24)) >>> 0;
  let crc = update(packet, 0, CHECKSUM_OFFSET, -1);
  // The checksum field counts as four zero bytes.
  for (let i = 0; i < 4; i++) crc = (crc >>> 8) ^ TABLES[crc & 0xff];
  crc = update(packet, CHECKSUM_OFFSET + 4, packet.length, crc);
  return (~crc >>> 0) === stored;
}
