/**
 * The handle table as ENRP hands it over: a snapshot of the handlespace (all PEs, or one
 * owner's) taken when a peer first asks, cut into HANDLE_TABLE_RESPONSE parts of at most N PEs
 * (RFC 5353, section 3.3.2: the M flag says more follows, and the peer asks again for it).
 *
 * A snapshot holds references to the stored PE parameters, not copies. Changes made after it
 * was taken reach the peer as HANDLE_UPDATEs; a PE removed in between may arrive once more in
 * a later part, which the PE checksum audit then corrects.
 *
 * @module
 */

import type { Handlespace } from "../handlespace/handlespace.ts";
import type { PoolElementParameter } from "../wire/types.ts";
import type { EnrpPoolEntry } from "./messages.ts";

/**
 * One PE of a handle table.
 *
 * @example
 * ```ts
 * import type { HandleTableItem } from "@rserpool/rserpool/enrp";
 * const item: HandleTableItem = {
 *   poolHandle: new TextEncoder().encode("EchoPool"),
 *   poolElement: {
 *     identifier: 1,
 *     homeRegistrarId: 7,
 *     registrationLife: 90_000,
 *     userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 *     policy: { name: "round-robin" },
 *   },
 * };
 * ```
 */
export interface HandleTableItem {
  /** The pool handle. */
  readonly poolHandle: Uint8Array;
  /** The PE. */
  readonly poolElement: PoolElementParameter;
}

/**
 * A part of a handle table: pools with their PEs, and whether more parts follow.
 *
 * @example
 * ```ts
 * import type { HandleTablePart } from "@rserpool/rserpool/enrp";
 * const last: HandleTablePart = { pools: [], more: false };
 * ```
 */
export interface HandleTablePart {
  /** Pools with at least one PE each. */
  pools: EnrpPoolEntry[];
  /** True when another part follows (the M flag). */
  more: boolean;
}

/**
 * A handle table being handed over in parts.
 *
 * @example
 * ```ts
 * import { Handlespace } from "@rserpool/rserpool/handlespace";
 * import { HandleTableExtract } from "@rserpool/rserpool/enrp";
 * const hs = new Handlespace();
 * const extract = HandleTableExtract.of(hs);
 * extract.next(128); // { pools: [], more: false }
 * ```
 */
export class HandleTableExtract {
  #items: HandleTableItem[];
  #position = 0;

  /** An extract of the given PEs, in this order. */
  constructor(items: HandleTableItem[]) {
    this.#items = items;
  }

  /** A snapshot of a handlespace: every PE, or those of one owner (the W flag). */
  static of(handlespace: Handlespace<unknown>, owner?: number): HandleTableExtract {
    const items: HandleTableItem[] = [];
    const entries = owner === undefined
      ? handlespace.poolElements()
      : handlespace.poolElementsOfOwner(owner);
    for (const e of entries) items.push({ poolHandle: e.poolHandle, poolElement: e.poolElement });
    return new HandleTableExtract(items);
  }

  /** PEs in the snapshot. */
  get size(): number {
    return this.#items.length;
  }

  /** PEs not handed over yet. */
  get remaining(): number {
    return this.#items.length - this.#position;
  }

  /** The next part: at most `max` PEs, grouped by pool. */
  next(max: number): HandleTablePart {
    const end = Math.min(this.#items.length, this.#position + Math.max(1, max));
    const pools: EnrpPoolEntry[] = [];
    let current: EnrpPoolEntry | undefined;
    for (let i = this.#position; i < end; i++) {
      const { poolHandle, poolElement } = this.#items[i];
      if (current === undefined || !sameHandle(current.poolHandle, poolHandle)) {
        current = { poolHandle, poolElements: [] };
        pools.push(current);
      }
      current.poolElements.push(poolElement);
    }
    this.#position = end;
    return { pools, more: end < this.#items.length };
  }
}

function sameHandle(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
