/**
 * Pool handles given as text or bytes.
 *
 * @module
 */

import { PoolError } from "./errors.ts";

/**
 * The bytes of a pool handle: a string is taken as UTF-8. Throws {@linkcode PoolError}
 * `invalid` for an empty handle.
 *
 * @example
 * ```ts
 * import { toPoolHandle } from "./pool_handle.ts";
 * toPoolHandle("EchoPool").length; // 8
 * ```
 */
export function toPoolHandle(poolHandle: string | Uint8Array): Uint8Array {
  const bytes = typeof poolHandle === "string"
    ? new TextEncoder().encode(poolHandle)
    : poolHandle.slice();
  if (bytes.length === 0) throw new PoolError("invalid", "The pool handle is empty");
  return bytes;
}

/**
 * Whether two pool handles are the same bytes.
 *
 * @example
 * ```ts
 * import { samePoolHandle } from "./pool_handle.ts";
 * samePoolHandle(new Uint8Array([1]), new Uint8Array([1])); // true
 * ```
 */
export function samePoolHandle(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
