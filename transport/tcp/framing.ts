/**
 * The two framings of a TCP or TLS association: how messages, with their payload protocol
 * identifier and stream, are laid out in the byte stream. Pure functions, no I/O.
 *
 * - `framed` (the default): every message is preceded by a 12-byte header, all fields in
 *   network byte order:
 *
 *   ```text
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Payload length (u32)                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |             Payload protocol identifier (u32)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Stream (u16)         |A|     0     |U|  Reserved (0) |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ```
 *
 *   then `Payload length` bytes. Flag `U` (0x01) marks an unordered message (TCP delivers
 *   everything in order anyway). Flag `A` (0x80) marks an abort: the payload is a UTF-8 reason,
 *   PPID and stream are 0, and the sender closes the connection after it. Other flag bits and
 *   the reserved byte are sent as 0 and ignored on receipt. A length above the receiver's
 *   `maxMessageSize` is a protocol violation.
 *
 * - `rserpool`: no framing of our own. The byte stream is the plain sequence of ASAP (or ENRP)
 *   messages, each self-delimiting by its RFC 5354 header (type u8, flags u8, length u16). The
 *   receiver reads `length`, which may be the strict RFC length (without the padding of the last
 *   parameter) or RSPLIB's (with it), and takes `(length + 3) & ~3` bytes: the sender always
 *   writes the padding. It delivers all those bytes (the codec accepts up to 3 bytes of padding
 *   after the strict length). Every message has the association's one PPID, stream 0. A length
 *   below 4 is a protocol violation. This is what Wireshark's ASAP dissector reads on TCP.
 *
 * @module
 */

/** Size of the `framed` header. */
export const FRAME_HEADER_SIZE = 12;

/** Flag of the `framed` header: the message was sent unordered. */
export const FLAG_UNORDERED = 0x01;

/** Flag of the `framed` header: the sender aborts; the payload is the reason. */
export const FLAG_ABORT = 0x80;

/** Size of an ASAP or ENRP message header. */
export const RSERPOOL_HEADER_SIZE = 4;

/** The framing of a TCP or TLS association; see the module documentation. */
export type Framing = "framed" | "rserpool";

/** A unit found in the byte stream. */
export type Frame =
  | {
    kind: "message";
    start: number;
    end: number;
    ppid: number;
    stream: number;
    unordered: boolean;
  }
  | { kind: "abort"; start: number; end: number };

/** What {@linkcode parseFrame} found at the start of the bytes it was given. */
export type ParseResult =
  /** A complete frame; `next` is the offset after it. */
  | { kind: "frame"; frame: Frame; next: number }
  /** Not enough bytes yet: at least `needed` bytes from the start are required. */
  | { kind: "incomplete"; needed: number }
  /** The stream violates the framing; the association must fail. */
  | { kind: "error"; reason: string };

/** How the receiver parses. */
export interface ParseOptions {
  /** The framing. */
  framing: Framing;
  /** Largest message payload accepted. */
  maxMessageSize: number;
  /** The PPID reported for `rserpool` framing. */
  ppid: number;
}

/**
 * Looks for one frame in `bytes[start, end)`. Never trusts a length field beyond
 * `maxMessageSize`, so `needed` is bounded by the header plus that limit.
 */
export function parseFrame(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  options: ParseOptions,
): ParseResult {
  const available = end - start;
  if (options.framing === "rserpool") {
    if (available < RSERPOOL_HEADER_SIZE) {
      return { kind: "incomplete", needed: RSERPOOL_HEADER_SIZE };
    }
    const length = view.getUint16(start + 2);
    if (length < RSERPOOL_HEADER_SIZE) {
      return {
        kind: "error",
        reason: `Message length ${length} is below the header size (type ${bytes[start]})`,
      };
    }
    const padded = (length + 3) & ~3;
    if (padded > options.maxMessageSize) {
      return {
        kind: "error",
        reason: `Message of ${padded} bytes exceeds the limit of ${options.maxMessageSize}`,
      };
    }
    if (available < padded) return { kind: "incomplete", needed: padded };
    return {
      kind: "frame",
      frame: {
        kind: "message",
        start,
        end: start + padded,
        ppid: options.ppid,
        stream: 0,
        unordered: false,
      },
      next: start + padded,
    };
  }
  if (available < FRAME_HEADER_SIZE) return { kind: "incomplete", needed: FRAME_HEADER_SIZE };
  const length = view.getUint32(start);
  if (length > options.maxMessageSize) {
    return {
      kind: "error",
      reason: `Message of ${length} bytes exceeds the limit of ${options.maxMessageSize}`,
    };
  }
  const total = FRAME_HEADER_SIZE + length;
  if (available < total) return { kind: "incomplete", needed: total };
  const flags = bytes[start + 10];
  const payload = start + FRAME_HEADER_SIZE;
  const frame: Frame = (flags & FLAG_ABORT) !== 0
    ? { kind: "abort", start: payload, end: payload + length }
    : {
      kind: "message",
      start: payload,
      end: payload + length,
      ppid: view.getUint32(start + 4),
      stream: view.getUint16(start + 8),
      unordered: (flags & FLAG_UNORDERED) !== 0,
    };
  return { kind: "frame", frame, next: start + total };
}

/** Writes a `framed` header at `offset` of `bytes`. */
export function writeFrameHeader(
  bytes: Uint8Array,
  offset: number,
  length: number,
  ppid: number,
  stream: number,
  flags: number,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_SIZE);
  view.setUint32(0, length);
  view.setUint32(4, ppid);
  view.setUint16(8, stream);
  view.setUint8(10, flags);
  view.setUint8(11, 0);
}

/** A complete `framed` frame: header and a copy of the payload, in one buffer. */
export function encodeFrame(
  payload: Uint8Array,
  ppid: number,
  stream: number,
  flags: number,
): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(out, 0, payload.length, ppid, stream, flags);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Checks an ASAP/ENRP message for the `rserpool` framing and returns the bytes to write: a copy,
 * padded to a multiple of 4 when the caller gave the strict length without padding. Returns an
 * error text when the message does not delimit itself.
 */
export function rserpoolWireBytes(data: Uint8Array): Uint8Array | string {
  if (data.length < RSERPOOL_HEADER_SIZE) {
    return `A message of ${data.length} bytes is shorter than its header`;
  }
  const length = (data[2] << 8) | data[3];
  if (length < RSERPOOL_HEADER_SIZE) return `Message length ${length} is below the header size`;
  const padded = (length + 3) & ~3;
  if (data.length !== length && data.length !== padded) {
    return `Message length ${length} does not match its ${data.length} bytes`;
  }
  const out = new Uint8Array(padded);
  out.set(data);
  return out;
}
