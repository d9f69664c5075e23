/**
 * Address scopes: an association made on a loopback address keeps to loopback peer addresses,
 * one made on a private address to private ones, and so on, so that the other addresses a peer
 * lists in its INIT (usrsctp lists every address of its host) are never used out of scope.
 *
 * @module
 */

/** The scope of an address. */
export type AddressScope = "loopback" | "link-local" | "private" | "global";

/**
 * The scope of an IPv4 or IPv6 address in text form.
 *
 * @example
 * ```ts
 * import { addressScope } from "./scope.ts";
 * addressScope("127.0.0.1"); // "loopback"
 * addressScope("10.1.2.3"); // "private"
 * ```
 */
export function addressScope(address: string): AddressScope {
  const a = address.toLowerCase();
  if (a.includes(":")) {
    if (a === "::1") return "loopback";
    if (a.startsWith("::ffff:")) return addressScope(a.slice(7));
    if (/^fe[89ab]/.test(a)) return "link-local";
    if (/^f[cd]/.test(a)) return "private";
    return "global";
  }
  const [x, y] = a.split(".").map(Number);
  if (x === 127) return "loopback";
  if (x === 169 && y === 254) return "link-local";
  if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return "private";
  if (x === 100 && y >= 64 && y <= 127) return "private";
  return "global";
}

/**
 * The peer addresses usable for an association first made with `contacted`: those of the same
 * scope and of an address family the local side has, `contacted` itself first.
 *
 * @example
 * ```ts
 * import { scopedPeerAddresses } from "./scope.ts";
 * scopedPeerAddresses("127.0.0.1", ["10.0.0.5", "127.0.0.1", "192.168.1.9"], ["ipv4"]);
 * // ["127.0.0.1"]
 * ```
 */
export function scopedPeerAddresses(
  contacted: string,
  listed: readonly string[],
  families: readonly ("ipv4" | "ipv6")[],
): string[] {
  const scope = addressScope(contacted);
  const out = [contacted];
  for (const a of listed) {
    if (out.includes(a)) continue;
    const family = a.includes(":") ? "ipv6" : "ipv4";
    if (!families.includes(family)) continue;
    if (addressScope(a) !== scope) continue;
    out.push(a);
  }
  return out;
}
