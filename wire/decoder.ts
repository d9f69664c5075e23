/**
 * A bounds-checked big-endian reader of TLV parameters, with RFC 5354's rules for parameters
 * of unknown type.
 *
 * @module
 */

import { formatIpv4, formatIpv6 } from "./address.ts";
import { ErrorCause, WireError } from "./errors.ts";
import { ParameterType } from "./types.ts";

const KNOWN = new Uint8Array(0x10000);
for (const t of Object.values(ParameterType)) KNOWN[t] = 1;

const TYPE_NAMES: Record<number, string> = {};
for (const [name, t] of Object.entries(ParameterType)) TYPE_NAMES[t] = name;

/**
 * The name of a parameter type code, for messages.
 *
 * @example
 * ```ts
 * import { parameterTypeName } from "./decoder.ts";
 * parameterTypeName(0x0009); // "PoolHandle"
 * ```
 */
export function parameterTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(4, "0")}`;
}

/**
 * Reads parameters from one buffer. `scan()` finds the next parameter of a known type and
 * leaves its type and value bounds in `type`, `valueStart`, `valueEnd` and `next`; parameters
 * of unknown type are handled by their two high bits (RFC 5354, section 3): `00` discard the
 * message, `01` discard and report, `10` skip, `11` skip and report (collected in
 * `unrecognized`). Every read is checked against the bounds it is given.
 *
 * @example
 * ```ts
 * import { WireDecoder } from "./decoder.ts";
 * const bytes = new Uint8Array([0x00, 0x0e, 0x00, 0x08, 0x00, 0x00, 0x00, 0x2a]);
 * const d = new WireDecoder(bytes);
 * d.expect(0, bytes.length, 0x000e);
 * d.u32(d.valueStart, d.valueEnd); // 42
 * ```
 */
export class WireDecoder {
  /** The bytes being decoded. */
  readonly bytes: Uint8Array;
  /** A view on them. */
  readonly view: DataView;
  /** Raw TLVs of unknown parameters to report (high bits `11`). */
  unrecognized: Uint8Array[] | undefined = undefined;
  /** Type of the parameter found by the last `scan()`. */
  type = 0;
  /** Start of its value. */
  valueStart = 0;
  /** End of its value (its length, no padding). */
  valueEnd = 0;
  /** Where the parameter after it starts (its padding skipped). */
  next = 0;

  /** Creates a decoder over `bytes`; anything but a `Uint8Array` is Invalid Values. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) {
      throw new WireError(ErrorCause.InvalidValues, "Input must be a Uint8Array", { offset: 0 });
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throws an Invalid Values error at `offset`. */
  fail(offset: number, message: string): never {
    throw new WireError(ErrorCause.InvalidValues, message, { offset });
  }

  /**
   * Checks the message header and returns the message length, where the body ends. The length
   * may be the strict one (without the padding of the last parameter) or include it (RSPLIB);
   * nothing but that padding may follow.
   */
  messageLength(): number {
    const n = this.bytes.length;
    if (n < 4) this.fail(0, `Message of ${n} bytes is shorter than its header`);
    const length = this.view.getUint16(2);
    if (length < 4) this.fail(2, `Message length ${length} below 4`);
    if (length > n) this.fail(2, `Message length ${length} exceeds the ${n} bytes received`);
    if (n > ((length + 3) & ~3)) this.fail(length, `${n - length} bytes after the message`);
    return length;
  }

  /**
   * Finds the next parameter of a known type in `[pos, end)`. Returns false when there is none
   * before `end`. Padding after a parameter may be cut short by `end` (a sender's strict
   * length); the caller's enclosing parameter or message skips it.
   */
  scan(pos: number, end: number): boolean {
    while (pos < end) {
      if (end - pos < 4) this.fail(pos, "Truncated parameter header");
      const type = this.view.getUint16(pos);
      const length = this.view.getUint16(pos + 2);
      if (length < 4) this.fail(pos + 2, `Parameter length ${length} below 4`);
      if (length > end - pos) {
        this.fail(pos + 2, `Parameter length ${length} exceeds the ${end - pos} bytes left`);
      }
      const padded = pos + ((length + 3) & ~3);
      const next = padded < end ? padded : end;
      if (KNOWN[type] === 0) {
        const action = type >>> 14;
        const raw = this.bytes.slice(pos, pos + length);
        if (action < 2) {
          throw new WireError(
            ErrorCause.UnrecognizedParameter,
            `Unrecognized parameter type ${parameterTypeName(type)}`,
            { offset: pos, data: raw, silent: action === 0 },
          );
        }
        if (action === 3) (this.unrecognized ??= []).push(raw);
        pos = next;
        continue;
      }
      this.type = type;
      this.valueStart = pos + 4;
      this.valueEnd = pos + length;
      this.next = next;
      return true;
    }
    return false;
  }

  /** Like `scan()`, but the parameter must be there and be of `type`. */
  expect(pos: number, end: number, type: number): void {
    if (!this.scan(pos, end)) this.fail(pos, `Missing ${parameterTypeName(type)} parameter`);
    if (this.type !== type) {
      this.fail(
        this.valueStart - 4,
        `Expected ${parameterTypeName(type)} parameter, found ${parameterTypeName(this.type)}`,
      );
    }
  }

  /** Reads an unsigned 16-bit integer at `pos`, which must lie before `end`. */
  u16(pos: number, end: number): number {
    if (end - pos < 2) this.fail(pos, "Truncated 16-bit field");
    return this.view.getUint16(pos);
  }

  /** Reads an unsigned 32-bit integer at `pos`, which must lie before `end`. */
  u32(pos: number, end: number): number {
    if (end - pos < 4) this.fail(pos, "Truncated 32-bit field");
    return this.view.getUint32(pos);
  }

  /** Reads a signed 32-bit integer at `pos`, which must lie before `end`. */
  i32(pos: number, end: number): number {
    if (end - pos < 4) this.fail(pos, "Truncated 32-bit field");
    return this.view.getInt32(pos);
  }

  /** A copy of the bytes in `[start, end)`. */
  copy(start: number, end: number): Uint8Array {
    return this.bytes.slice(start, end);
  }

  /**
   * The text form of the address parameter just found by `scan()`, or undefined when that
   * parameter is not an address.
   */
  address(): string | undefined {
    const n = this.valueEnd - this.valueStart;
    if (this.type === ParameterType.Ipv4Address) {
      if (n !== 4) this.fail(this.valueStart - 2, `IPv4 address of ${n} bytes`);
      return formatIpv4(this.bytes, this.valueStart);
    }
    if (this.type === ParameterType.Ipv6Address) {
      if (n !== 16) this.fail(this.valueStart - 2, `IPv6 address of ${n} bytes`);
      return formatIpv6(this.bytes, this.valueStart);
    }
    return undefined;
  }
}
