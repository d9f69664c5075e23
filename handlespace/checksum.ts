/**
 * The PE checksum of RFC 5353 (section 2.3.4 of RFC 5353, carried in the PE Checksum parameter
 * of RFC 5354): the 16-bit Internet checksum (RFC 1071) over, for each PE a registrar owns, the
 * pool handle zero-padded to a multiple of 4 bytes followed by the 4-byte big-endian PE ID.
 *
 * The sum is kept unfolded (a plain integer, exact below 2^53), so that adding and removing PEs
 * is exact integer addition and subtraction; folding the carries and complementing happens
 * when the checksum is read ({@linkcode finishChecksum}).
 *
 * @module
 */

/**
 * The unfolded sum of the big-endian 16-bit words of the bytes zero-padded to a multiple of 4.
 *
 * @example
 * ```ts
 * import { wordSum } from "@rserpool/rserpool/handlespace";
 * wordSum(new Uint8Array([0x01, 0x02, 0x03])); // 0x0102 + 0x0300
 * ```
 */
export function wordSum(bytes: Uint8Array): number {
  let sum = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i += 2) {
    sum += (bytes[i] << 8) | (i + 1 < n ? bytes[i + 1] : 0);
  }
  return sum;
}

/**
 * The unfolded checksum contribution of one PE: the pool handle's word sum plus the PE ID's
 * two words.
 *
 * @example
 * ```ts
 * import { peChecksumTerm } from "@rserpool/rserpool/handlespace";
 * peChecksumTerm(new Uint8Array([0x41]), 0x00010002); // 0x4100 + 0x0001 + 0x0002
 * ```
 */
export function peChecksumTerm(poolHandle: Uint8Array, identifier: number): number {
  return wordSum(poolHandle) + (identifier >>> 16) + (identifier & 0xffff);
}

/**
 * Folds an unfolded sum into 16 bits with end-around carry and complements it: the checksum
 * as sent. An empty set of PEs gives `0xffff`.
 *
 * @example
 * ```ts
 * import { finishChecksum } from "@rserpool/rserpool/handlespace";
 * finishChecksum(0); // 0xffff
 * finishChecksum(0x1fffe); // 0x0000
 * ```
 */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * A PE as the checksum sees it: its pool handle and PE ID.
 *
 * @example
 * ```ts
 * import type { ChecksumItem } from "@rserpool/rserpool/handlespace";
 * const item: ChecksumItem = { poolHandle: new Uint8Array([0x41]), identifier: 1 };
 * ```
 */
export interface ChecksumItem {
  /** The pool handle of the PE's pool. */
  poolHandle: Uint8Array;
  /** The PE ID. */
  identifier: number;
}

/**
 * The PE checksum of a set of PEs, computed from scratch (the handlespace keeps it
 * incrementally; this is the reference it is compared with).
 *
 * @example
 * ```ts
 * import { peChecksum } from "@rserpool/rserpool/handlespace";
 * const handle = new TextEncoder().encode("EchoPool");
 * peChecksum([{ poolHandle: handle, identifier: 1 }, { poolHandle: handle, identifier: 2 }]);
 * ```
 */
export function peChecksum(items: Iterable<ChecksumItem>): number {
  let sum = 0;
  for (const item of items) {
    // Byte by byte, independent of the incremental code path
    const padded = new Uint8Array(Math.ceil(item.poolHandle.length / 4) * 4 + 4);
    padded.set(item.poolHandle);
    new DataView(padded.buffer).setUint32(padded.length - 4, item.identifier >>> 0);
    for (let i = 0; i < padded.length; i += 2) sum += (padded[i] << 8) | padded[i + 1];
  }
  return finishChecksum(sum);
}
