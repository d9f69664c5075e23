/**
 * IPv4 and IPv6 addresses between their text form and their 4 or 16 bytes on the wire.
 *
 * @module
 */

import { ErrorCause, WireError } from "./errors.ts";

/**
 * Writes the bytes of an IPv4 or IPv6 address in text form into `out` at `offset`.
 * Returns 4 or 16, the number of bytes written. `out` must have 16 bytes of room.
 *
 * @example
 * ```ts
 * import { writeIpAddress } from "@rserpool/rserpool/wire";
 * const out = new Uint8Array(16);
 * writeIpAddress("127.0.0.1", out, 0); // 4; out starts 7f 00 00 01
 * ```
 */
export function writeIpAddress(text: string, out: Uint8Array, offset: number): 4 | 16 {
  if (parseIpv4(text, out, offset)) return 4;
  if (parseIpv6(text, out, offset)) return 16;
  throw new WireError(ErrorCause.InvalidValues, `Invalid IP address '${text}'`);
}

/**
 * The family of an address in text form, or undefined when it is not a valid address.
 *
 * @example
 * ```ts
 * import { ipAddressFamily } from "@rserpool/rserpool/wire";
 * ipAddressFamily("::1"); // "ipv6"
 * ```
 */
export function ipAddressFamily(text: string): "ipv4" | "ipv6" | undefined {
  const scratch = new Uint8Array(16);
  if (parseIpv4(text, scratch, 0)) return "ipv4";
  if (parseIpv6(text, scratch, 0)) return "ipv6";
  return undefined;
}

function parseIpv4(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // no leading zeros
      value = value * 10 + (c - 0x30);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function parseIpv6(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  if (n < 2 || n > 45) return false;
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  if (text.startsWith("::")) {
    gap = 0;
    i = 2;
    if (n === 2) return fillIpv6(groups, gap, out, offset);
  } else if (text.charCodeAt(0) === 0x3a) {
    return false;
  }
  while (i < n) {
    // An embedded IPv4 address ends the text.
    const rest = text.slice(i);
    if (!rest.includes(":") && rest.includes(".")) {
      const v4 = new Uint8Array(4);
      if (!parseIpv4(rest, v4, 0)) return false;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      i = n;
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0) return false;
    groups.push(value);
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = groups.length;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // a single trailing colon
    }
  }
  return fillIpv6(groups, gap, out, offset);
}

function fillIpv6(groups: number[], gap: number, out: Uint8Array, offset: number): boolean {
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const zeros = 8 - groups.length;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++];
    out[offset + 2 * k] = v >> 8;
    out[offset + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/**
 * The text form of the 4 bytes of an IPv4 address at `offset`.
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "@rserpool/rserpool/wire";
 * formatIpv4(new Uint8Array([127, 0, 0, 1]), 0); // "127.0.0.1"
 * ```
 */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * The RFC 5952 text form of the 16 bytes of an IPv6 address at `offset` (lower case, the
 * longest run of two or more zero groups shortened to `::`, IPv4-mapped addresses in mixed
 * notation).
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "@rserpool/rserpool/wire";
 * const b = new Uint8Array(16);
 * b[15] = 1;
 * formatIpv6(b, 0); // "::1"
 * ```
 */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const g = new Array<number>(8);
  for (let k = 0; k < 8; k++) g[k] = (bytes[offset + 2 * k] << 8) | bytes[offset + 2 * k + 1];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLength) {
      bestStart = k;
      bestLength = e - k;
    }
    k = e;
  }
  if (bestStart < 0) return g.map((v) => v.toString(16)).join(":");
  const head = g.slice(0, bestStart).map((v) => v.toString(16)).join(":");
  const tail = g.slice(bestStart + bestLength).map((v) => v.toString(16)).join(":");
  return `${head}::${tail}`;
}
