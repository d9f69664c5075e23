/**
 * SCTP packets and chunks (RFC 9260, section 3): the common header, the chunk types this stack
 * uses, their parameters and error causes. Decoding never throws: a malformed packet is
 * reported as `undefined` so that the endpoint can drop and count it.
 *
 * @module
 */

import { formatIpv4, formatIpv6, writeIpAddress } from "../../wire/address.ts";
import { setSctpChecksum, verifySctpChecksum } from "./crc32c.ts";

/**
 * Chunk type codes (RFC 9260, section 3.2).
 *
 * @example
 * ```ts
 * import { ChunkType } from "./chunks.ts";
 * ChunkType.Data; // 0
 * ```
 */
export const ChunkType = {
  Data: 0,
  Init: 1,
  InitAck: 2,
  Sack: 3,
  Heartbeat: 4,
  HeartbeatAck: 5,
  Abort: 6,
  Shutdown: 7,
  ShutdownAck: 8,
  Error: 9,
  CookieEcho: 10,
  CookieAck: 11,
  ShutdownComplete: 14,
} as const;

/**
 * Parameter types of INIT and INIT ACK (RFC 9260, section 3.3.2).
 *
 * @example
 * ```ts
 * import { InitParameter } from "./chunks.ts";
 * InitParameter.StateCookie; // 7
 * ```
 */
export const InitParameter = {
  HeartbeatInfo: 1,
  Ipv4Address: 5,
  Ipv6Address: 6,
  StateCookie: 7,
  UnrecognizedParameter: 8,
  CookiePreservative: 9,
  HostName: 11,
  SupportedAddressTypes: 12,
} as const;

/**
 * Error cause codes (RFC 9260, section 3.3.10).
 *
 * @example
 * ```ts
 * import { SctpErrorCause } from "./chunks.ts";
 * SctpErrorCause.UserInitiatedAbort; // 12
 * ```
 */
export const SctpErrorCause = {
  InvalidStreamIdentifier: 1,
  MissingMandatoryParameter: 2,
  StaleCookie: 3,
  OutOfResource: 4,
  UnresolvableAddress: 5,
  UnrecognizedChunkType: 6,
  InvalidMandatoryParameter: 7,
  UnrecognizedParameters: 8,
  NoUserData: 9,
  CookieWhileShuttingDown: 10,
  RestartWithNewAddresses: 11,
  UserInitiatedAbort: 12,
  ProtocolViolation: 13,
} as const;

/** DATA chunk flags. */
export const DataFlag = { End: 1, Begin: 2, Unordered: 4, Immediate: 8 } as const;

/** One chunk of a packet; `value` is a view of the bytes after the 4-byte chunk header. */
export interface RawChunk {
  /** Chunk type. */
  type: number;
  /** Chunk flags. */
  flags: number;
  /** The chunk value (length minus the header, no padding). */
  value: Uint8Array;
}

/** A decoded SCTP packet. */
export interface SctpPacket {
  /** Source SCTP port. */
  sourcePort: number;
  /** Destination SCTP port. */
  destinationPort: number;
  /** Verification tag. */
  verificationTag: number;
  /** The chunks in order. */
  chunks: RawChunk[];
}

/**
 * Decodes a packet whose CRC32c checks out. Returns undefined for anything malformed: too short,
 * bad checksum, a chunk length below 4 or beyond the packet, no chunks.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./chunks.ts";
 * decodePacket(new Uint8Array(8)); // undefined: shorter than the common header
 * ```
 */
export function decodePacket(bytes: Uint8Array): SctpPacket | undefined {
  const n = bytes.length;
  if (n < 16) return undefined;
  if (!verifySctpChecksum(bytes)) return undefined;
  // Read byte by byte: a DataView per packet costs more than the few fields read.
  const chunks: RawChunk[] = [];
  let pos = 12;
  while (pos + 4 <= n) {
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (length < 4 || pos + length > n) return undefined;
    chunks.push({
      type: bytes[pos],
      flags: bytes[pos + 1],
      value: bytes.subarray(pos + 4, pos + length),
    });
    pos += (length + 3) & ~3;
  }
  if (chunks.length === 0) return undefined;
  return {
    sourcePort: (bytes[0] << 8) | bytes[1],
    destinationPort: (bytes[2] << 8) | bytes[3],
    verificationTag: readUint32(bytes, 4),
    chunks,
  };
}

/** The big-endian unsigned 32-bit integer at `pos`. */
function readUint32(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>>
    0;
}

/** Writes `value` as a big-endian 32-bit integer at `pos`. */
function writeUint32(bytes: Uint8Array, pos: number, value: number): void {
  bytes[pos] = value >>> 24;
  bytes[pos + 1] = value >>> 16;
  bytes[pos + 2] = value >>> 8;
  bytes[pos + 3] = value;
}

/**
 * Where {@linkcode PacketBuilder.packet} copies packets: one slab for the packets of every
 * builder, each packet a view of its own range. A packet handed to a socket stays untouched
 * until the send is done and nobody holds it; a slab is let go (to the GC) once full, so a small
 * packet costs a view instead of an ArrayBuffer of its own, which is dearer to allocate and to
 * collect (and, below 64 bytes, is made on the JS heap and moved off it when sent).
 */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** First buffer of a packet builder; it doubles, bounded by the MTU, when a packet needs more. */
const INITIAL_BUILDER_BYTES = 256;

/**
 * Builds packets: a common header, then chunks appended until the packet is full.
 *
 * @example
 * ```ts
 * import { ChunkType, PacketBuilder } from "./chunks.ts";
 * const b = new PacketBuilder(1200);
 * b.start(5000, 7, 0x1234);
 * b.chunk(ChunkType.CookieAck, 0, new Uint8Array());
 * b.finish().length; // 16
 * ```
 */
export class PacketBuilder {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  /** Largest packet (the UDP payload). */
  readonly mtu: number;

  /** A builder of packets up to `mtu` bytes. */
  constructor(mtu: number) {
    this.mtu = mtu;
    // Grown on demand up to the MTU: an idle association's packets are small.
    this.#buf = new Uint8Array(Math.min(Math.max(mtu, 16), INITIAL_BUILDER_BYTES));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Starts a packet. */
  start(sourcePort: number, destinationPort: number, verificationTag: number): void {
    this.#view.setUint16(0, sourcePort);
    this.#view.setUint16(2, destinationPort);
    this.#view.setUint32(4, verificationTag);
    this.#view.setUint32(8, 0);
    this.#pos = 12;
  }

  /** Bytes left for chunks (headers included). */
  get room(): number {
    return this.mtu - this.#pos;
  }

  /** True when no chunk has been added since `start()`. */
  get empty(): boolean {
    return this.#pos === 12;
  }

  /** Appends a chunk whose value is `value`. The caller checks `room` first. */
  chunk(type: number, flags: number, value: Uint8Array): void {
    const length = 4 + value.length;
    this.#grow(length + 3);
    this.#buf[this.#pos] = type;
    this.#buf[this.#pos + 1] = flags;
    this.#view.setUint16(this.#pos + 2, length);
    this.#buf.set(value, this.#pos + 4);
    this.#pad(this.#pos + length);
  }

  /** Appends a DATA chunk without building its value separately. */
  data(
    flags: number,
    tsn: number,
    stream: number,
    ssn: number,
    ppid: number,
    payload: Uint8Array,
  ): void {
    const length = 16 + payload.length;
    this.#grow(length + 3);
    const p = this.#pos;
    this.#buf[p] = ChunkType.Data;
    this.#buf[p + 1] = flags;
    this.#view.setUint16(p + 2, length);
    this.#view.setUint32(p + 4, tsn);
    this.#view.setUint16(p + 8, stream);
    this.#view.setUint16(p + 10, ssn);
    this.#view.setUint32(p + 12, ppid);
    this.#buf.set(payload, p + 16);
    this.#pad(p + length);
  }

  /**
   * Appends a SACK chunk without gap ack blocks or duplicate TSNs, without building its value
   * separately.
   */
  sack(cumulativeTsn: number, advertisedWindow: number): void {
    this.#grow(16);
    const buf = this.#buf;
    const p = this.#pos;
    buf[p] = ChunkType.Sack;
    buf[p + 1] = 0;
    buf[p + 2] = 0;
    buf[p + 3] = 16;
    writeUint32(buf, p + 4, cumulativeTsn);
    writeUint32(buf, p + 8, advertisedWindow);
    buf[p + 12] = 0;
    buf[p + 13] = 0;
    buf[p + 14] = 0;
    buf[p + 15] = 0;
    this.#pos = p + 16;
  }

  #grow(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = new Uint8Array(
      Math.max(Math.min(this.#buf.length * 2, this.mtu + 4), this.#pos + n),
    );
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #pad(end: number): void {
    let p = end;
    while ((p & 3) !== 0) this.#buf[p++] = 0;
    this.#pos = p;
  }

  /** A copy of the packet with its CRC32c filled in, in a buffer of its own. */
  finish(): Uint8Array {
    return setSctpChecksum(this.#buf.slice(0, this.#pos));
  }

  /**
   * A copy of the packet with its CRC32c filled in, as {@linkcode PacketBuilder.finish}, but a
   * view of memory shared with other packets (`byteOffset` is not 0): cheaper for packets that
   * go straight to a socket.
   */
  packet(): Uint8Array {
    const n = this.#pos;
    if (slabUsed + n > slab.length) {
      slab = new Uint8Array(Math.max(SLAB_BYTES, n));
      slabUsed = 0;
    }
    const out = slab.subarray(slabUsed, slabUsed + n);
    // 8-byte aligned: the next packet's copy starts on a word.
    slabUsed = (slabUsed + n + 7) & ~7;
    out.set(this.#buf.subarray(0, n));
    return setSctpChecksum(out);
  }
}

/** An INIT or INIT ACK chunk's fixed fields and parameters. */
export interface InitChunk {
  /** Initiate tag: the tag the sender wants to see in packets to it. */
  initiateTag: number;
  /** Advertised receiver window credit. */
  advertisedWindow: number;
  /** Number of outbound streams. */
  outboundStreams: number;
  /** Maximum number of inbound streams. */
  inboundStreams: number;
  /** Initial TSN. */
  initialTsn: number;
  /** IPv4/IPv6 addresses listed by the sender. */
  addresses: string[];
  /** State cookie (INIT ACK only). */
  cookie?: Uint8Array;
  /** Unknown parameters whose high bits ask for a report. */
  unrecognized: Uint8Array[];
  /** True when an unknown parameter with high bits `0x` asked to stop processing. */
  stop: boolean;
}

/**
 * Encodes the value of an INIT or INIT ACK chunk.
 *
 * @example
 * ```ts
 * import { encodeInit } from "./chunks.ts";
 * const v = encodeInit({
 *   initiateTag: 1, advertisedWindow: 65536, outboundStreams: 10, inboundStreams: 10,
 *   initialTsn: 1, addresses: [], unrecognized: [], stop: false,
 * });
 * v.length; // 16
 * ```
 */
export function encodeInit(init: InitChunk): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of init.addresses) parts.push(addressParameter(a));
  if (init.cookie !== undefined) parts.push(parameter(InitParameter.StateCookie, init.cookie));
  for (const u of init.unrecognized) parts.push(parameter(InitParameter.UnrecognizedParameter, u));
  let size = 16;
  for (const p of parts) size += (p.length + 3) & ~3;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, init.initiateTag);
  view.setUint32(4, init.advertisedWindow);
  view.setUint16(8, init.outboundStreams);
  view.setUint16(10, init.inboundStreams);
  view.setUint32(12, init.initialTsn);
  let pos = 16;
  for (const p of parts) {
    out.set(p, pos);
    pos += (p.length + 3) & ~3;
  }
  // The chunk length excludes the padding of the last parameter.
  const last = parts.at(-1);
  return last === undefined ? out : out.subarray(0, pos - (((last.length + 3) & ~3) - last.length));
}

/** A parameter: type, length, value (no padding). */
export function parameter(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out.set(value, 4);
  return out;
}

/** An IPv4 or IPv6 Address parameter; throws WireError for text that is not an address. */
function addressParameter(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  const n = writeIpAddress(text, bytes, 0);
  return parameter(
    n === 4 ? InitParameter.Ipv4Address : InitParameter.Ipv6Address,
    bytes.subarray(0, n),
  );
}

/**
 * Decodes the value of an INIT or INIT ACK chunk; undefined when malformed.
 *
 * @example
 * ```ts
 * import { decodeInit } from "./chunks.ts";
 * decodeInit(new Uint8Array(4)); // undefined
 * ```
 */
export function decodeInit(value: Uint8Array): InitChunk | undefined {
  if (value.length < 16) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const init: InitChunk = {
    initiateTag: view.getUint32(0),
    advertisedWindow: view.getUint32(4),
    outboundStreams: view.getUint16(8),
    inboundStreams: view.getUint16(10),
    initialTsn: view.getUint32(12),
    addresses: [],
    unrecognized: [],
    stop: false,
  };
  let pos = 16;
  while (pos + 4 <= value.length) {
    const type = view.getUint16(pos);
    const length = view.getUint16(pos + 2);
    if (length < 4 || pos + length > value.length) return undefined;
    const v = value.subarray(pos + 4, pos + length);
    switch (type) {
      case InitParameter.Ipv4Address:
        if (v.length !== 4) return undefined;
        init.addresses.push(formatIpv4(v, 0));
        break;
      case InitParameter.Ipv6Address:
        if (v.length !== 16) return undefined;
        init.addresses.push(formatIpv6(v, 0));
        break;
      case InitParameter.StateCookie:
        init.cookie = v.slice();
        break;
      case InitParameter.CookiePreservative:
      case InitParameter.HostName:
      case InitParameter.SupportedAddressTypes:
      case InitParameter.UnrecognizedParameter:
        break;
      default: {
        const action = type >>> 14;
        if ((action & 1) === 1 && init.unrecognized.length < 16) {
          init.unrecognized.push(value.slice(pos, pos + length));
        }
        if (action < 2) {
          init.stop = true;
          return init;
        }
      }
    }
    pos += (length + 3) & ~3;
  }
  return init;
}

/** A SACK chunk. */
export interface SackChunk {
  /** Cumulative TSN ack. */
  cumulativeTsn: number;
  /** Advertised receiver window credit. */
  advertisedWindow: number;
  /** Gap ack blocks as offsets from the cumulative TSN, [start, end] inclusive. */
  gaps: [number, number][];
  /** Duplicate TSNs received. */
  duplicates: number[];
}

/**
 * Encodes the value of a SACK chunk.
 *
 * @example
 * ```ts
 * import { encodeSack } from "./chunks.ts";
 * encodeSack({ cumulativeTsn: 9, advertisedWindow: 1000, gaps: [[2, 3]], duplicates: [] }).length; // 16
 * ```
 */
export function encodeSack(sack: SackChunk): Uint8Array {
  const gaps = sack.gaps;
  const duplicates = sack.duplicates;
  const out = new Uint8Array(12 + 4 * gaps.length + 4 * duplicates.length);
  writeUint32(out, 0, sack.cumulativeTsn);
  writeUint32(out, 4, sack.advertisedWindow);
  out[8] = gaps.length >> 8;
  out[9] = gaps.length;
  out[10] = duplicates.length >> 8;
  out[11] = duplicates.length;
  let pos = 12;
  for (let i = 0; i < gaps.length; i++, pos += 4) {
    const [s, e] = gaps[i];
    out[pos] = s >> 8;
    out[pos + 1] = s;
    out[pos + 2] = e >> 8;
    out[pos + 3] = e;
  }
  for (let i = 0; i < duplicates.length; i++, pos += 4) writeUint32(out, pos, duplicates[i]);
  return out;
}

/**
 * Decodes the value of a SACK chunk; undefined when malformed.
 *
 * @example
 * ```ts
 * import { decodeSack, encodeSack } from "./chunks.ts";
 * decodeSack(encodeSack({ cumulativeTsn: 1, advertisedWindow: 2, gaps: [], duplicates: [] }));
 * ```
 */
export function decodeSack(value: Uint8Array): SackChunk | undefined {
  if (value.length < 12) return undefined;
  const nGaps = (value[8] << 8) | value[9];
  const nDups = (value[10] << 8) | value[11];
  if (value.length < 12 + 4 * (nGaps + nDups)) return undefined;
  const gaps: [number, number][] = [];
  let pos = 12;
  for (let i = 0; i < nGaps; i++, pos += 4) {
    const s = (value[pos] << 8) | value[pos + 1];
    const e = (value[pos + 2] << 8) | value[pos + 3];
    if (s === 0 || e < s) return undefined;
    gaps.push([s, e]);
  }
  const duplicates: number[] = [];
  for (let i = 0; i < nDups; i++, pos += 4) duplicates.push(readUint32(value, pos));
  return {
    cumulativeTsn: readUint32(value, 0),
    advertisedWindow: readUint32(value, 4),
    gaps,
    duplicates,
  };
}

/** A DATA chunk, its payload a view of the packet. */
export interface DataChunk {
  /** Flags: E, B, U, I. */
  flags: number;
  /** Transmission sequence number. */
  tsn: number;
  /** Stream identifier. */
  stream: number;
  /** Stream sequence number. */
  ssn: number;
  /** Payload protocol identifier. */
  ppid: number;
  /** User data. */
  payload: Uint8Array;
}

/**
 * Decodes a DATA chunk; undefined when malformed (no user data is malformed too).
 *
 * @example
 * ```ts
 * import { decodeData } from "./chunks.ts";
 * decodeData({ type: 0, flags: 3, value: new Uint8Array(12) }); // undefined: no user data
 * ```
 */
export function decodeData(chunk: RawChunk): DataChunk | undefined {
  const v = chunk.value;
  if (v.length <= 12) return undefined;
  return {
    flags: chunk.flags,
    tsn: readUint32(v, 0),
    stream: (v[4] << 8) | v[5],
    ssn: (v[6] << 8) | v[7],
    ppid: readUint32(v, 8),
    payload: v.subarray(12),
  };
}

/**
 * Encodes one error cause (for ABORT and ERROR chunks).
 *
 * @example
 * ```ts
 * import { errorCause, SctpErrorCause } from "./chunks.ts";
 * errorCause(SctpErrorCause.UserInitiatedAbort, new Uint8Array()).length; // 4
 * ```
 */
export function errorCause(code: number, info: Uint8Array): Uint8Array {
  return parameter(code, info);
}

/**
 * The first error cause code in an ABORT or ERROR chunk's value, or undefined.
 *
 * @example
 * ```ts
 * import { firstErrorCause } from "./chunks.ts";
 * firstErrorCause(new Uint8Array([0, 12, 0, 4])); // 12
 * ```
 */
export function firstErrorCause(value: Uint8Array): number | undefined {
  if (value.length < 4) return undefined;
  return (value[0] << 8) | value[1];
}
