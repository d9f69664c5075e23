/**
 * Serial number arithmetic of 32-bit TSNs (RFC 9260, 1.6; RFC 1982).
 *
 * @module
 */

/**
 * Whether TSN `a` comes before `b`, modulo 2^32.
 *
 * @example
 * ```ts
 * import { tsnLt } from "./tsn.ts";
 * tsnLt(0xffffffff, 0); // true: 0 follows 2^32 - 1
 * ```
 */
export function tsnLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * Whether TSN `a` comes before `b` or equals it, modulo 2^32.
 *
 * @example
 * ```ts
 * import { tsnLe } from "./tsn.ts";
 * tsnLe(5, 5); // true
 * ```
 */
export function tsnLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
