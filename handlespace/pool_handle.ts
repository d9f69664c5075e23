/**
 * Pool handles as map keys.
 *
 * @module
 */

/**
 * A string with one character per byte of a pool handle (latin1), usable as a map key.
 *
 * @example
 * ```ts
 * import { poolHandleKey } from "@rserpool/rserpool/handlespace";
 * poolHandleKey(new Uint8Array([0x41, 0xff])); // "A\u00ff"
 * ```
 */
export function poolHandleKey(poolHandle: Uint8Array): string {
  let key = "";
  for (let i = 0; i < poolHandle.length; i++) key += String.fromCharCode(poolHandle[i]);
  return key;
}
