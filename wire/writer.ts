/**
 * A growable big-endian byte writer for TLV-encoded messages.
 *
 * @module
 */

import { writeIpAddress } from "./address.ts";
import { ErrorCause, WireError } from "./errors.ts";

/** Largest value of a 16-bit length field: the size limit of a message and a parameter. */
export const MAX_LENGTH = 0xffff;

function invalid(what: string, value: unknown): WireError {
  return new WireError(ErrorCause.InvalidValues, `Invalid ${what}: ${String(value)}`);
}

/**
 * Writes messages into one reusable buffer; `finish()` copies out the bytes. Parameters are
 * opened with `begin()` and closed with `end()`, which fills in the length (header and value,
 * no padding) and pads to 4 bytes. The message length is the strict RFC one: it excludes the
 * padding after the last parameter.
 *
 * @example
 * ```ts
 * import { WireWriter } from "./writer.ts";
 * const w = new WireWriter();
 * w.reset();
 * const m = w.beginMessage(0x05, 0);
 * const p = w.begin(0x0009);
 * w.bytes(new TextEncoder().encode("EchoPool1"));
 * w.end(p);
 * w.endMessage(m);
 * w.finish().length; // 20
 * ```
 */
export class WireWriter {
  #buf: Uint8Array = new Uint8Array(4096);
  #view: DataView = new DataView(this.#buf.buffer);
  #pos = 0;
  #unpadded = 0;

  /** Starts a new message, forgetting what was written. */
  reset(): void {
    this.#pos = 0;
    this.#unpadded = 0;
  }

  /** The number of bytes written. */
  get position(): number {
    return this.#pos;
  }

  #room(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    if (need > 4 * MAX_LENGTH) {
      throw new WireError(ErrorCause.InvalidValues, "Message too long");
    }
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Writes an unsigned byte. */
  u8(value: number, what = "byte"): void {
    if ((value & 0xff) !== value) throw invalid(what, value);
    this.#room(1);
    this.#buf[this.#pos++] = value;
    this.#unpadded = this.#pos;
  }

  /** Writes an unsigned 16-bit integer. */
  u16(value: number, what = "16-bit field"): void {
    if ((value & 0xffff) !== value) throw invalid(what, value);
    this.#room(2);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
    this.#unpadded = this.#pos;
  }

  /** Writes an unsigned 32-bit integer. */
  u32(value: number, what = "32-bit field"): void {
    if ((value >>> 0) !== value) throw invalid(what, value);
    this.#room(4);
    this.#view.setUint32(this.#pos, value);
    this.#pos += 4;
    this.#unpadded = this.#pos;
  }

  /** Writes a signed 32-bit integer. */
  i32(value: number, what = "32-bit field"): void {
    if ((value | 0) !== value) throw invalid(what, value);
    this.#room(4);
    this.#view.setInt32(this.#pos, value);
    this.#pos += 4;
    this.#unpadded = this.#pos;
  }

  /** Writes bytes as they are. */
  bytes(data: Uint8Array): void {
    this.#room(data.length);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
    this.#unpadded = this.#pos;
  }

  /** Writes an IPv4 or IPv6 address as its parameter (type 0x0001 or 0x0002). */
  address(text: string): void {
    if (typeof text !== "string") throw invalid("IP address", text);
    this.#room(20);
    const start = this.#pos;
    const n = writeIpAddress(text, this.#buf, start + 4);
    this.#view.setUint16(start, n === 4 ? 0x0001 : 0x0002);
    this.#view.setUint16(start + 2, n + 4);
    this.#pos += n + 4;
    this.#unpadded = this.#pos;
  }

  /** Opens a parameter of the given type; returns its start for {@linkcode WireWriter.end}. */
  begin(type: number): number {
    const start = this.#pos;
    this.#room(4);
    this.#view.setUint32(start, type * 0x10000);
    this.#pos += 4;
    this.#unpadded = this.#pos;
    return start;
  }

  /** Closes a parameter opened at `start`: fills in its length and pads it to 4 bytes. */
  end(start: number): void {
    const length = this.#pos - start;
    if (length > MAX_LENGTH) throw new WireError(ErrorCause.InvalidValues, "Parameter too long");
    this.#view.setUint16(start + 2, length);
    this.#unpadded = this.#pos;
    const pad = (4 - (length & 3)) & 3;
    if (pad > 0) {
      this.#room(pad);
      for (let i = 0; i < pad; i++) this.#buf[this.#pos++] = 0;
    }
  }

  /** Opens a message: type, flags and a length to fill in; returns its start. */
  beginMessage(type: number, flags: number): number {
    const start = this.#pos;
    this.#room(4);
    this.#buf[start] = type;
    this.#buf[start + 1] = flags;
    this.#pos += 4;
    this.#unpadded = this.#pos;
    return start;
  }

  /** Closes a message: its length is the strict one, without the padding of its last part. */
  endMessage(start: number): void {
    const length = this.#unpadded - start;
    if (length > MAX_LENGTH) throw new WireError(ErrorCause.InvalidValues, "Message too long");
    this.#view.setUint16(start + 2, length);
  }

  /** A copy of the bytes written, padding included. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}
