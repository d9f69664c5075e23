/**
 * Builds packet captures for tests: IPv4/IPv6 + UDP datagrams with correct checksums, SCTP
 * packets with one DATA chunk carried over UDP (RFC 6951), and the classic libpcap file format
 * with link type 101 (raw IP, IPv4 and IPv6 told apart by the version nibble), which tshark reads.
 *
 * @module
 */

import { setSctpChecksum } from "../../transport/sctp/crc32c.ts";

/** libpcap link type of raw IP packets (LINKTYPE_RAW). */
export const LINKTYPE_RAW = 101;

/** IANA UDP port of SCTP over UDP encapsulation (RFC 6951). */
export const SCTP_UDP_PORT = 9899;

/** SCTP payload protocol identifiers of RSerPool. */
export const PPID = { asap: 11, enrp: 12 } as const;

/** Options of {@linkcode udpPacket}. */
export interface UdpPacketOptions {
  /** Source address, IPv4 (`"10.0.0.1"`) or IPv6 (`"fd00::1"`); both ends of one family. */
  src: string;
  /** Destination address. */
  dst: string;
  /** UDP source port. */
  srcPort: number;
  /** UDP destination port. */
  dstPort: number;
  /** UDP payload. */
  payload: Uint8Array;
}

/** Options of {@linkcode sctpPacket}: an SCTP common header and one DATA chunk. */
export interface SctpDataOptions {
  /** SCTP source port. */
  sctpSrcPort: number;
  /** SCTP destination port. */
  sctpDstPort: number;
  /** Verification tag of the common header. */
  verificationTag?: number;
  /** Transmission sequence number of the DATA chunk. */
  tsn?: number;
  /** Stream identifier. */
  streamId?: number;
  /** Stream sequence number. */
  ssn?: number;
  /** Payload protocol identifier (11 ASAP, 12 ENRP). */
  ppid: number;
  /** The user message, padded to 4 bytes in the chunk. */
  payload: Uint8Array;
}

/** Options of {@linkcode sctpOverUdpPacket}. */
export interface SctpOverUdpOptions extends SctpDataOptions {
  /** Source address. */
  src: string;
  /** Destination address. */
  dst: string;
  /** UDP source (encapsulation) port, 9899 unless given. */
  udpSrcPort?: number;
  /** UDP destination (encapsulation) port, 9899 unless given. */
  udpDstPort?: number;
}

/** Parses an IPv4 or IPv6 address in text form into its 4 or 16 bytes. */
export function parseAddress(text: string): Uint8Array {
  if (!text.includes(":")) {
    const parts = text.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new TypeError(`Invalid IPv4 address: ${text}`);
    }
    return Uint8Array.from(parts);
  }
  const halves = text.split("::");
  if (halves.length > 2) throw new TypeError(`Invalid IPv6 address: ${text}`);
  const groups = (s: string): number[] => s === "" ? [] : s.split(":").map((g) => parseInt(g, 16));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) {
    throw new TypeError(`Invalid IPv6 address: ${text}`);
  }
  const all = [...head, ...new Array(missing).fill(0), ...tail];
  if (all.some((g) => !(g >= 0 && g <= 0xffff))) {
    throw new TypeError(`Invalid IPv6 address: ${text}`);
  }
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Sums 16-bit big-endian words into a running one's complement sum (not folded). */
function sumWords(bytes: Uint8Array, sum = 0): number {
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return sum;
}

/** Folds a sum into 16 bits and complements it: the Internet checksum (RFC 1071). */
function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

let ipv4Identification = 1;

/**
 * Builds an IPv4 or IPv6 packet holding a UDP datagram, with the IPv4 header checksum and the
 * UDP checksum (over the pseudo-header) computed.
 *
 * @example
 * ```ts
 * import { udpPacket } from "./pcap.ts";
 * const ip = udpPacket({
 *   src: "10.0.0.1",
 *   dst: "10.0.0.2",
 *   srcPort: 40000,
 *   dstPort: 3863,
 *   payload: new Uint8Array([5, 0, 0, 4]),
 * });
 * ```
 */
export function udpPacket(options: UdpPacketOptions): Uint8Array {
  const src = parseAddress(options.src);
  const dst = parseAddress(options.dst);
  if (src.length !== dst.length) throw new TypeError("Source and destination differ in family");
  const udpLength = 8 + options.payload.length;
  const ipHeaderLength = src.length === 4 ? 20 : 40;
  const packet = new Uint8Array(ipHeaderLength + udpLength);
  const view = new DataView(packet.buffer);
  if (src.length === 4) {
    packet[0] = 0x45;
    view.setUint16(2, packet.length);
    view.setUint16(4, ipv4Identification++ & 0xffff);
    view.setUint16(6, 0x4000); // don't fragment
    packet[8] = 64; // TTL
    packet[9] = 17; // UDP
    packet.set(src, 12);
    packet.set(dst, 16);
    view.setUint16(10, finishChecksum(sumWords(packet.subarray(0, 20))));
  } else {
    view.setUint32(0, 0x60000000);
    view.setUint16(4, udpLength);
    packet[6] = 17; // next header: UDP
    packet[7] = 64; // hop limit
    packet.set(src, 8);
    packet.set(dst, 24);
  }
  view.setUint16(ipHeaderLength, options.srcPort);
  view.setUint16(ipHeaderLength + 2, options.dstPort);
  view.setUint16(ipHeaderLength + 4, udpLength);
  packet.set(options.payload, ipHeaderLength + 8);
  // Pseudo-header: addresses, protocol and UDP length (the same sum for IPv4 and IPv6).
  const pseudo = sumWords(dst, sumWords(src)) + 17 + udpLength;
  const checksum = finishChecksum(sumWords(packet.subarray(ipHeaderLength), pseudo));
  view.setUint16(ipHeaderLength + 6, checksum === 0 ? 0xffff : checksum);
  return packet;
}

/**
 * Builds an SCTP packet: the common header with its CRC32c and one DATA chunk with the B and E
 * flags set (an unfragmented user message), the payload zero-padded to 4 bytes.
 *
 * @example
 * ```ts
 * import { PPID, sctpPacket } from "./pcap.ts";
 * const sctp = sctpPacket({
 *   sctpSrcPort: 3863,
 *   sctpDstPort: 3863,
 *   ppid: PPID.asap,
 *   payload: new Uint8Array([5, 0, 0, 4]),
 * });
 * ```
 */
export function sctpPacket(options: SctpDataOptions): Uint8Array {
  const chunkLength = 16 + options.payload.length;
  const packet = new Uint8Array(12 + ((chunkLength + 3) & ~3));
  const view = new DataView(packet.buffer);
  view.setUint16(0, options.sctpSrcPort);
  view.setUint16(2, options.sctpDstPort);
  view.setUint32(4, options.verificationTag ?? 0x01020304);
  packet[12] = 0; // DATA
  packet[13] = 0x03; // B | E
  view.setUint16(14, chunkLength);
  view.setUint32(16, options.tsn ?? 1);
  view.setUint16(20, options.streamId ?? 0);
  view.setUint16(22, options.ssn ?? 0);
  view.setUint32(24, options.ppid);
  packet.set(options.payload, 28);
  return setSctpChecksum(packet);
}

/**
 * Builds an IP/UDP packet carrying an SCTP packet with one DATA chunk (RFC 6951 encapsulation,
 * UDP port 9899 at both ends unless given).
 *
 * @example
 * ```ts
 * import { PPID, sctpOverUdpPacket } from "./pcap.ts";
 * const ip = sctpOverUdpPacket({
 *   src: "10.0.0.1",
 *   dst: "10.0.0.2",
 *   sctpSrcPort: 9901,
 *   sctpDstPort: 9901,
 *   ppid: PPID.enrp,
 *   tsn: 7,
 *   payload: new Uint8Array([5, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2]),
 * });
 * ```
 */
export function sctpOverUdpPacket(options: SctpOverUdpOptions): Uint8Array {
  return udpPacket({
    src: options.src,
    dst: options.dst,
    srcPort: options.udpSrcPort ?? SCTP_UDP_PORT,
    dstPort: options.udpDstPort ?? SCTP_UDP_PORT,
    payload: sctpPacket(options),
  });
}

/**
 * Serializes raw IP packets as a classic libpcap file (microsecond timestamps, link type 101),
 * one millisecond apart starting at 2024-01-01 00:00:00 UTC.
 *
 * @example
 * ```ts
 * import { pcapBytes, udpPacket } from "./pcap.ts";
 * const file = pcapBytes([
 *   udpPacket({ src: "::1", dst: "::1", srcPort: 1, dstPort: 2, payload: new Uint8Array(1) }),
 * ]);
 * ```
 */
export function pcapBytes(packets: readonly Uint8Array[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 0xffff, true); // snap length
  view.setUint32(20, LINKTYPE_RAW, true);
  const start = Date.UTC(2024, 0, 1) / 1000;
  let offset = 24;
  packets.forEach((packet, i) => {
    view.setUint32(offset, start + Math.floor(i / 1000), true);
    view.setUint32(offset + 4, (i % 1000) * 1000, true);
    view.setUint32(offset + 8, packet.length, true);
    view.setUint32(offset + 12, packet.length, true);
    out.set(packet, offset + 16);
    offset += 16 + packet.length;
  });
  return out;
}

/**
 * Writes raw IP packets to a libpcap file (see {@linkcode pcapBytes}).
 *
 * @example
 * ```ts ignore
 * import { udpPacket, writePcap } from "./pcap.ts";
 * await writePcap("/tmp/one.pcap", [
 *   udpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, payload: new Uint8Array(1) }),
 * ]);
 * ```
 */
export async function writePcap(path: string, packets: readonly Uint8Array[]): Promise<void> {
  await Deno.writeFile(path, pcapBytes(packets));
}
