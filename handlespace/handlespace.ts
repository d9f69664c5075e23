/**
 * The handlespace: pools keyed by pool handle, each holding its pool elements with their
 * policy data, selection state, timer and owner (RFC 5351, 5352, 5353, 5356).
 *
 * Storage is by slot: every PE has a slot number into typed arrays shared by all pools (keys,
 * tree links, timer positions, owner links, selection state), plus three plain arrays for its
 * pool, its Pool Element parameter and the caller's user data. A pool holds:
 * - an index by PE ID (a `Map` from PE ID to slot),
 * - a selection set (a treap over the slots, see {@linkcode SelectionPolicy}), ordered by the
 *   policy's sort key for the ordered policies, or by PE ID with subtree weight sums for the
 *   random ones.
 * The handlespace holds one timer set (a heap by expiry) and, per owner (home registrar ID), a
 * linked list of its PEs and the unfolded sum of its PE checksum.
 *
 * @module
 */

import type {
  PolicyName,
  PoolElementParameter,
  TransportParameter,
  TransportUse,
} from "../wire/types.ts";
import { ErrorCause } from "../wire/errors.ts";
import type { SelectionPolicy, SelectionState } from "../policy/types.ts";
import { selectionPolicy } from "../policy/registry.ts";
import type { RandomSource } from "../policy/random_source.ts";
import { HandlespaceError } from "./errors.ts";
import { poolHandleKey } from "./pool_handle.ts";
import { finishChecksum, peChecksum, wordSum } from "./checksum.ts";
import { SelectionForest } from "./selection_forest.ts";
import { TimerHeap } from "./timer_heap.ts";

/**
 * Options of a {@linkcode Handlespace}.
 *
 * @example
 * ```ts
 * import { Handlespace, type HandlespaceOptions } from "@rserpool/rserpool/handlespace";
 * let now = 0;
 * const options: HandlespaceOptions = { clock: () => now, maxIncrement: 1, maxPools: 1000 };
 * const hs = new Handlespace(options);
 * ```
 */
export interface HandlespaceOptions {
  /** Current time in milliseconds. Default `Date.now`. */
  clock?: () => number;
  /** Random floats in `[0, 1)` for the random policies. Default `Math.random`. */
  random?: RandomSource;
  /**
   * How many of the PEs a resolution selects are advanced (get a new sequence number, use a
   * weighted round robin turn, accumulate degradation): the first `maxIncrement` of them, all
   * of them when 0. Default 1, as RSPLIB's registrar.
   */
  maxIncrement?: number;
  /** Most pools; more answer Lack of Resources. Default 100,000. */
  maxPools?: number;
  /** Most PEs in one pool; more answer Lack of Resources. Default 2^20 (1,048,576). */
  maxPoolElementsPerPool?: number;
  /** Most PEs in all pools; more answer Lack of Resources. Default 4,194,304. */
  maxPoolElements?: number;
  /** Longest pool handle in bytes; longer answer Invalid Values. Default 32 (as RSPLIB). */
  maxPoolHandleLength?: number;
}

/**
 * Options of {@linkcode Handlespace.registerPoolElement}.
 *
 * @example
 * ```ts
 * import type { RegisterOptions } from "@rserpool/rserpool/handlespace";
 * const options: RegisterOptions<string> = { userData: "association 4", expiresAt: 90_000 };
 * ```
 */
export interface RegisterOptions<T> {
  /**
   * Data of the caller kept with the PE (e.g. the association it registered on). An update
   * without it keeps the PE's user data.
   */
  userData?: T;
  /**
   * Absolute time (ms) when the PE expires, `Infinity` for never. Default: now plus the PE's
   * registration life, never for a life of -1.
   */
  expiresAt?: number;
  /**
   * Accept a PE ID that another owner (home registrar) holds in the pool and move it to the
   * new owner (an ENRP update after the PE changed its home registrar). Default false: Non-unique
   * PE Identifier.
   */
  allowOwnerChange?: boolean;
}

/**
 * Options of {@linkcode Handlespace.selectPoolElements}.
 *
 * @example
 * ```ts
 * import type { SelectOptions } from "@rserpool/rserpool/handlespace";
 * const options: SelectOptions = { maxIncrement: 0 }; // advance every selected PE
 * ```
 */
export interface SelectOptions {
  /** Overrides the handlespace's max-increment for this selection. */
  maxIncrement?: number;
}

/**
 * A PE as the handlespace holds it.
 *
 * @example
 * ```ts
 * import type { PoolElementEntry } from "@rserpool/rserpool/handlespace";
 * function describe(e: PoolElementEntry<unknown>): string {
 *   return `${e.poolElement.identifier} owned by ${e.owner}, expires at ${e.expiresAt}`;
 * }
 * ```
 */
export interface PoolElementEntry<T> {
  /** The pool handle (shared by the pool's entries: do not modify). */
  readonly poolHandle: Uint8Array;
  /** The Pool Element parameter as registered (with the current home registrar ID). */
  readonly poolElement: PoolElementParameter;
  /** The home registrar ID that owns the PE. */
  readonly owner: number;
  /** When the PE joined the pool (ms). */
  readonly registeredAt: number;
  /** When the PE registered last (ms). */
  readonly updatedAt: number;
  /** When the PE's timer is due (ms), `Infinity` when it has none. */
  readonly expiresAt: number;
  /** The PE's sequence number (ordered policies: its place among PEs of equal key). */
  readonly sequence: number;
  /** The accumulated degradation (degradation policies), 0 after a registration. */
  readonly degradation: number;
  /** The caller's data given at registration. */
  readonly userData: T | undefined;
}

/**
 * What {@linkcode Handlespace.registerPoolElement} did.
 *
 * @example
 * ```ts
 * import type { RegistrationResult } from "@rserpool/rserpool/handlespace";
 * function log(r: RegistrationResult<unknown>): string {
 *   return r.isNew ? "new PE" : "updated PE";
 * }
 * ```
 */
export interface RegistrationResult<T> {
  /** True when the PE was not in the pool before. */
  readonly isNew: boolean;
  /** The PE after the registration. */
  readonly entry: PoolElementEntry<T>;
}

/**
 * A pool as the handlespace holds it.
 *
 * @example
 * ```ts
 * import type { PoolInfo } from "@rserpool/rserpool/handlespace";
 * const describe = (p: PoolInfo) => `${p.size} PEs, ${p.policy} over ${p.protocol}`;
 * ```
 */
export interface PoolInfo {
  /** The pool handle (do not modify). */
  readonly poolHandle: Uint8Array;
  /** The pool's policy, fixed by its first PE. */
  readonly policy: PolicyName;
  /** The pool's user transport protocol, fixed by its first PE. */
  readonly protocol: TransportParameter["protocol"];
  /**
   * Whether the pool's PEs take data only or data plus control (SCTP and TCP), fixed by its
   * first PE; undefined for transports without the field.
   */
  readonly transportUse: TransportUse | undefined;
  /** The number of PEs. */
  readonly size: number;
}

interface PoolState {
  readonly key: string;
  readonly handle: Uint8Array;
  readonly handleSum: number;
  readonly policy: SelectionPolicy;
  readonly weighted: boolean;
  readonly protocol: TransportParameter["protocol"];
  readonly transportUse: TransportUse | undefined;
  readonly index: Map<number, number>;
  root: number;
  size: number;
}

interface OwnerState {
  head: number;
  size: number;
  sum: number;
}

const INITIAL_CAPACITY = 1024;

/**
 * The handlespace of a registrar (or the cache of a pool user): pools, their PEs, handle
 * resolution by each pool's policy, expiry timers on an injected clock, ownership by home
 * registrar with the RFC 5353 PE checksum per owner, kept incrementally.
 *
 * Register, deregister, select and timer operations are O(log n) in the pool size (expected,
 * the selection sets are treaps); nothing scans a pool. Consistency follows RFC 5352/5356: the
 * first PE fixes a pool's policy and transport protocol; a PE with another policy gets
 * Inconsistent Pooling Policy, another transport Inconsistent Transport Type, data only beside
 * data plus control Inconsistent Data/Control Configuration, a PE ID held by
 * another owner Non-unique PE Identifier (each a {@linkcode HandlespaceError} with that cause
 * code). A pool exists while it has PEs; when its only PE registers again with another policy
 * or transport, the pool takes them.
 *
 * @example Register, resolve, expire
 * ```ts
 * import { Handlespace } from "@rserpool/rserpool/handlespace";
 * let now = 0;
 * const hs = new Handlespace({ clock: () => now });
 * const handle = new TextEncoder().encode("EchoPool");
 * for (const id of [1, 2, 3]) {
 *   hs.registerPoolElement(handle, {
 *     identifier: id,
 *     homeRegistrarId: 0x1111,
 *     registrationLife: 30_000,
 *     userTransport: { protocol: "tcp", port: 7, transportUse: "data", addresses: ["10.0.0.1"] },
 *     policy: { name: "round-robin" },
 *   });
 * }
 * hs.selectPoolElements(handle, 2).map((e) => e.poolElement.identifier); // [1, 2]
 * hs.selectPoolElements(handle, 2).map((e) => e.poolElement.identifier); // [2, 3]
 * now = 30_000;
 * hs.expire().length; // 3
 * ```
 */
export class Handlespace<T = unknown> {
  readonly #clock: () => number;
  readonly #random: RandomSource;
  readonly #maxIncrement: number;
  readonly #maxPools: number;
  readonly #maxPerPool: number;
  readonly #maxTotal: number;
  readonly #maxHandleLength: number;

  readonly #pools = new Map<string, PoolState>();
  readonly #owners = new Map<number, OwnerState>();
  #size = 0;
  #sequence = 1;

  // Slot storage (slot 0 unused: it is the trees' nil)
  #capacity = INITIAL_CAPACITY;
  #highWater = 1;
  #freeHead = 0;
  readonly #forest = new SelectionForest(INITIAL_CAPACITY);
  readonly #timers = new TimerHeap(INITIAL_CAPACITY);
  readonly #poolOf: (PoolState | undefined)[] = [undefined];
  readonly #param: (PoolElementParameter | undefined)[] = [undefined];
  readonly #user: (T | undefined)[] = [undefined];
  #id = new Uint32Array(INITIAL_CAPACITY);
  #owner = new Uint32Array(INITIAL_CAPACITY);
  #ownerPrev = new Int32Array(INITIAL_CAPACITY);
  #ownerNext = new Int32Array(INITIAL_CAPACITY);
  #registeredAt = new Float64Array(INITIAL_CAPACITY);
  #updatedAt = new Float64Array(INITIAL_CAPACITY);
  #seq = new Float64Array(INITIAL_CAPACITY);
  #degradation = new Float64Array(INITIAL_CAPACITY);
  #round = new Float64Array(INITIAL_CAPACITY);
  #turns = new Float64Array(INITIAL_CAPACITY);

  readonly #state: SelectionState = { degradation: 0, round: 0, turns: 0 };
  readonly #chosen: number[] = [];
  readonly #chosenWeight: number[] = [];

  /** Creates an empty handlespace. */
  constructor(options: HandlespaceOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#maxIncrement = options.maxIncrement ?? 1;
    this.#maxPools = options.maxPools ?? 100_000;
    this.#maxPerPool = options.maxPoolElementsPerPool ?? 1_048_576;
    this.#maxTotal = options.maxPoolElements ?? 4_194_304;
    this.#maxHandleLength = options.maxPoolHandleLength ?? 32;
  }

  /** The number of PEs in all pools. */
  get size(): number {
    return this.#size;
  }

  /** The number of pools. */
  get poolCount(): number {
    return this.#pools.size;
  }

  /**
   * Registers a new PE into a pool (creating the pool), or updates a PE of the same ID and
   * owner: its parameter, policy data (resetting its accumulated degradation), expiry and user
   * data. Throws {@linkcode HandlespaceError} with the RFC error cause when it refuses.
   */
  registerPoolElement(
    poolHandle: Uint8Array,
    poolElement: PoolElementParameter,
    options: RegisterOptions<T> = {},
  ): RegistrationResult<T> {
    const policy = this.#validate(poolHandle, poolElement);
    const now = this.#clock();
    const expiresAt = options.expiresAt ??
      (poolElement.registrationLife < 0 ? Infinity : now + poolElement.registrationLife);
    const key = poolHandleKey(poolHandle);
    let pool = this.#pools.get(key);
    const id = poolElement.identifier;
    const owner = poolElement.homeRegistrarId;
    const protocol = poolElement.userTransport.protocol;
    const t = poolElement.userTransport;
    const use = t.protocol === "sctp" || t.protocol === "tcp" ? t.transportUse : undefined;
    let isNew = true;
    let registeredAt = now;
    if (pool !== undefined) {
      const slot = pool.index.get(id | 0);
      if (slot !== undefined) {
        if (this.#owner[slot] !== owner && options.allowOwnerChange !== true) {
          throw new HandlespaceError(
            ErrorCause.NonUniquePeIdentifier,
            `PE identifier ${hex(id)} is registered by another registrar`,
          );
        }
        if (pool.policy !== policy || pool.protocol !== protocol || pool.transportUse !== use) {
          if (pool.size > 1) this.#checkConsistency(pool, policy, protocol, use);
          // The pool's only PE changes the pool's policy or transport: start the pool anew
          registeredAt = this.#registeredAt[slot];
          this.#removeSlot(slot);
          pool = undefined;
          isNew = false;
        } else {
          this.#update(pool, slot, poolElement, now, expiresAt, options);
          return { isNew: false, entry: this.#entry(slot) };
        }
      } else {
        this.#checkConsistency(pool, policy, protocol, use);
        if (pool.size >= this.#maxPerPool) {
          throw new HandlespaceError(ErrorCause.LackOfResources, "Pool is full");
        }
      }
    }
    if (this.#size >= this.#maxTotal) {
      throw new HandlespaceError(ErrorCause.LackOfResources, "Handlespace is full");
    }
    if (pool === undefined) {
      if (this.#pools.size >= this.#maxPools) {
        throw new HandlespaceError(ErrorCause.LackOfResources, "Too many pools");
      }
      pool = {
        key,
        handle: poolHandle.slice(),
        handleSum: wordSum(poolHandle),
        policy,
        weighted: policy.kind === "random",
        protocol,
        transportUse: use,
        index: new Map(),
        root: 0,
        size: 0,
      };
      this.#pools.set(key, pool);
    }
    const slot = this.#allocate();
    this.#poolOf[slot] = pool;
    this.#param[slot] = poolElement;
    this.#user[slot] = options.userData;
    this.#id[slot] = id;
    this.#registeredAt[slot] = registeredAt;
    this.#updatedAt[slot] = now;
    this.#seq[slot] = this.#sequence++;
    const state = this.#state;
    state.degradation = 0;
    state.round = 0;
    state.turns = 0;
    policy.initialize(
      poolElement.policy,
      state,
      pool.root === 0 ? 0 : this.#round[this.#forest.first(pool.root)],
    );
    this.#storeState(slot);
    this.#link(pool, slot);
    pool.index.set(id | 0, slot);
    pool.size++;
    this.#size++;
    this.#addOwner(slot, owner, pool);
    this.#timers.set(slot, expiresAt);
    return { isNew, entry: this.#entry(slot) };
  }

  /** Removes a PE; returns it, or `undefined` when there was no such PE. */
  deregisterPoolElement(
    poolHandle: Uint8Array,
    identifier: number,
  ): PoolElementEntry<T> | undefined {
    const slot = this.#find(poolHandle, identifier);
    if (slot === 0) return undefined;
    const entry = this.#entry(slot);
    this.#removeSlot(slot);
    return entry;
  }

  /**
   * Handle resolution: selects up to `maxItems` PEs of a pool by its policy and advances the
   * selection state (see {@linkcode HandlespaceOptions.maxIncrement}). Returns an empty array
   * for an unknown pool (and for a random policy whose PEs all have weight 0).
   */
  selectPoolElements(
    poolHandle: Uint8Array,
    maxItems: number,
    options: SelectOptions = {},
  ): PoolElementEntry<T>[] {
    const pool = this.#pools.get(poolHandleKey(poolHandle));
    if (pool === undefined || maxItems < 1) return [];
    const n = maxItems < pool.size ? Math.floor(maxItems) : pool.size;
    const maxIncrement = options.maxIncrement ?? this.#maxIncrement;
    const forest = this.#forest;
    const chosen = this.#chosen;
    chosen.length = 0;
    const policy = pool.policy;
    if (!pool.weighted) {
      for (let s = forest.first(pool.root); s !== 0 && chosen.length < n; s = forest.next(s)) {
        chosen.push(s);
      }
      const advance = maxIncrement === 0 || maxIncrement > chosen.length
        ? chosen.length
        : maxIncrement;
      for (let i = 0; i < advance; i++) {
        const slot = chosen[i];
        pool.root = forest.remove(pool.root, slot, false);
        this.#seq[slot] = this.#sequence++;
        this.#loadState(slot);
        policy.advance(this.#param[slot]!.policy, this.#state);
        this.#storeState(slot);
        this.#link(pool, slot);
      }
    } else {
      // Draw without replacement: each draw is over the weights of the PEs not drawn yet.
      // For a few PEs the drawn ones are skipped during the descent (no tree writes); for
      // many they are set to weight 0 until the end. Both give the same PE for the same r.
      const weights = this.#chosenWeight;
      weights.length = 0;
      const few = n <= 8;
      let total = forest.total(pool.root);
      for (let i = 0; i < n; i++) {
        if (total < 1) break;
        let r = Math.floor(this.#random() * total);
        if (r >= total) r = total - 1;
        const slot = few
          ? forest.sampleExcluding(pool.root, r, chosen)
          : forest.sample(pool.root, r);
        if (slot === 0) break;
        chosen.push(slot);
        const w = forest.weight(slot);
        weights.push(w);
        total -= w;
        if (!few) forest.setWeight(slot, 0);
      }
      if (!few) { for (let i = 0; i < chosen.length; i++) forest.setWeight(chosen[i], weights[i]); }
      const advance = maxIncrement === 0 || maxIncrement > chosen.length
        ? chosen.length
        : maxIncrement;
      for (let i = 0; i < advance; i++) {
        const slot = chosen[i];
        this.#seq[slot] = this.#sequence++;
        this.#loadState(slot);
        const p = this.#param[slot]!.policy;
        policy.advance(p, this.#state);
        this.#storeState(slot);
        forest.setWeight(slot, policy.weight(p, this.#state));
      }
    }
    const result: PoolElementEntry<T>[] = new Array(chosen.length);
    for (let i = 0; i < chosen.length; i++) result[i] = this.#entry(chosen[i]);
    return result;
  }

  /** One PE of a pool, or `undefined`. */
  getPoolElement(poolHandle: Uint8Array, identifier: number): PoolElementEntry<T> | undefined {
    const slot = this.#find(poolHandle, identifier);
    return slot === 0 ? undefined : this.#entry(slot);
  }

  /** A pool, or `undefined` when it has no PEs. */
  getPool(poolHandle: Uint8Array): PoolInfo | undefined {
    const pool = this.#pools.get(poolHandleKey(poolHandle));
    return pool === undefined ? undefined : poolInfo(pool);
  }

  /** All pools, in the order they were created. */
  *pools(): IterableIterator<PoolInfo> {
    for (const pool of this.#pools.values()) yield poolInfo(pool);
  }

  /**
   * The PEs of a pool (in registration order), or of all pools when no handle is given. The
   * PE just yielded may be removed during iteration.
   */
  *poolElements(poolHandle?: Uint8Array): IterableIterator<PoolElementEntry<T>> {
    if (poolHandle !== undefined) {
      const pool = this.#pools.get(poolHandleKey(poolHandle));
      if (pool === undefined) return;
      for (const slot of pool.index.values()) yield this.#entry(slot);
      return;
    }
    for (const pool of this.#pools.values()) {
      for (const slot of pool.index.values()) yield this.#entry(slot);
    }
  }

  /**
   * The PEs of a pool in the order of its selection set (by key for the ordered policies, by
   * PE ID for the random ones), without advancing anything.
   */
  *selectionOrder(poolHandle: Uint8Array): IterableIterator<PoolElementEntry<T>> {
    const pool = this.#pools.get(poolHandleKey(poolHandle));
    if (pool === undefined) return;
    const forest = this.#forest;
    for (let s = forest.first(pool.root); s !== 0; s = forest.next(s)) yield this.#entry(s);
  }

  /**
   * The PEs owned by a home registrar. The PE just yielded may be removed or change owner
   * during iteration.
   */
  *poolElementsOfOwner(owner: number): IterableIterator<PoolElementEntry<T>> {
    const state = this.#owners.get(owner);
    if (state === undefined) return;
    let slot = state.head;
    while (slot !== 0) {
      const next = this.#ownerNext[slot];
      yield this.#entry(slot);
      slot = next;
    }
  }

  /** The number of PEs owned by a home registrar. */
  ownerSize(owner: number): number {
    return this.#owners.get(owner)?.size ?? 0;
  }

  /** The home registrar IDs that own PEs. */
  owners(): number[] {
    return [...this.#owners.keys()];
  }

  /**
   * Takeover: moves every PE of owner `from` to owner `to` (their parameter's home registrar
   * ID included). Returns the number of PEs moved.
   */
  changeOwner(from: number, to: number): number {
    if (from === to) return this.ownerSize(from);
    const state = this.#owners.get(from);
    if (state === undefined) return 0;
    let moved = 0;
    let slot = state.head;
    while (slot !== 0) {
      const next = this.#ownerNext[slot];
      const pool = this.#poolOf[slot]!;
      this.#removeOwner(slot, pool);
      this.#param[slot] = { ...this.#param[slot]!, homeRegistrarId: to };
      this.#addOwner(slot, to, pool);
      moved++;
      slot = next;
    }
    return moved;
  }

  /**
   * The PE checksum (RFC 5353) over the PEs of an owner, kept incrementally; `0xffff` for an
   * owner without PEs.
   */
  ownerChecksum(owner: number): number {
    return finishChecksum(this.#owners.get(owner)?.sum ?? 0);
  }

  /** The PE checksum of an owner computed from scratch (for checking the incremental one). */
  computeOwnerChecksum(owner: number): number {
    const items: { poolHandle: Uint8Array; identifier: number }[] = [];
    for (const e of this.poolElementsOfOwner(owner)) {
      items.push({ poolHandle: e.poolHandle, identifier: e.poolElement.identifier });
    }
    return peChecksum(items);
  }

  /** The time (ms) the next PE timer is due, `Infinity` when none runs. */
  nextExpiry(): number {
    const slot = this.#timers.peek();
    return slot === 0 ? Infinity : this.#timers.due(slot);
  }

  /**
   * Sets when a PE expires (absolute ms, `Infinity` for never), e.g. a keep-alive timeout.
   * Returns false when there is no such PE.
   */
  setExpiry(poolHandle: Uint8Array, identifier: number, expiresAt: number): boolean {
    const slot = this.#find(poolHandle, identifier);
    if (slot === 0) return false;
    this.#timers.set(slot, expiresAt);
    return true;
  }

  /**
   * Returns every PE whose timer is due at the clock's current time and stops their timers;
   * the PEs stay registered (a registrar sends keep-alives on such timers and sets new ones
   * with {@linkcode Handlespace.setExpiry}).
   */
  takeDue(): PoolElementEntry<T>[] {
    const now = this.#clock();
    const timers = this.#timers;
    const due: PoolElementEntry<T>[] = [];
    for (let slot = timers.peek(); slot !== 0 && timers.due(slot) <= now; slot = timers.peek()) {
      due.push(this.#entry(slot));
      timers.set(slot, Infinity);
    }
    return due;
  }

  /** Removes every PE whose timer is due at the clock's current time; returns them. */
  expire(): PoolElementEntry<T>[] {
    const now = this.#clock();
    const timers = this.#timers;
    const expired: PoolElementEntry<T>[] = [];
    for (let slot = timers.peek(); slot !== 0 && timers.due(slot) <= now; slot = timers.peek()) {
      expired.push(this.#entry(slot));
      this.#removeSlot(slot);
    }
    return expired;
  }

  // ---- internals ----

  #validate(poolHandle: Uint8Array, pe: PoolElementParameter): SelectionPolicy {
    if (poolHandle.length === 0 || poolHandle.length > this.#maxHandleLength) {
      throw new HandlespaceError(
        ErrorCause.InvalidValues,
        `Pool handle length ${poolHandle.length} is out of range`,
      );
    }
    if (!isU32(pe.identifier)) {
      throw new HandlespaceError(ErrorCause.InvalidValues, "PE identifier is not a 32-bit value");
    }
    if (!isU32(pe.homeRegistrarId)) {
      throw new HandlespaceError(
        ErrorCause.InvalidValues,
        "Home registrar identifier is not a 32-bit value",
      );
    }
    if (!Number.isInteger(pe.registrationLife) || pe.registrationLife < -1) {
      throw new HandlespaceError(ErrorCause.InvalidValues, "Registration life is invalid");
    }
    const policy = selectionPolicy(pe.policy.name);
    if (policy === undefined) {
      throw new HandlespaceError(
        ErrorCause.InvalidValues,
        "Pool member selection policy is unknown",
      );
    }
    return policy;
  }

  #checkConsistency(
    pool: PoolState,
    policy: SelectionPolicy,
    protocol: string,
    use: TransportUse | undefined,
  ): void {
    if (pool.policy !== policy) {
      throw new HandlespaceError(
        ErrorCause.InconsistentPoolingPolicy,
        `Pool uses policy ${pool.policy.name}, not ${policy.name}`,
      );
    }
    if (pool.protocol !== protocol) {
      throw new HandlespaceError(
        ErrorCause.InconsistentTransportType,
        `Pool uses transport ${pool.protocol}, not ${protocol}`,
      );
    }
    if (pool.transportUse !== use) {
      // RSPLIB refuses to mix them, and its PUs fail on a resolution that does.
      throw new HandlespaceError(
        ErrorCause.InconsistentDataControlConfiguration,
        `Pool uses transport for ${pool.transportUse}, not ${use}`,
      );
    }
  }

  #update(
    pool: PoolState,
    slot: number,
    pe: PoolElementParameter,
    now: number,
    expiresAt: number,
    options: RegisterOptions<T>,
  ): void {
    const owner = pe.homeRegistrarId;
    if (this.#owner[slot] !== owner) {
      this.#removeOwner(slot, pool);
      this.#addOwner(slot, owner, pool);
    }
    this.#param[slot] = pe;
    if (options.userData !== undefined) this.#user[slot] = options.userData;
    this.#updatedAt[slot] = now;
    this.#loadState(slot);
    pool.policy.reset(pe.policy, this.#state);
    this.#storeState(slot);
    const forest = this.#forest;
    if (pool.weighted) {
      forest.setWeight(slot, pool.policy.weight(pe.policy, this.#state));
    } else {
      const k0 = pool.policy.sortKey(pe.policy, this.#state);
      const k1 = pool.policy.subKey(pe.policy, this.#state);
      if (!forest.hasKeys(slot, k0, k1, this.#seq[slot])) {
        pool.root = forest.remove(pool.root, slot, false);
        this.#link(pool, slot);
      }
    }
    this.#timers.set(slot, expiresAt);
  }

  /** Computes the keys (or weight) of a slot from its state and inserts it into its pool's set. */
  #link(pool: PoolState, slot: number): void {
    const forest = this.#forest;
    const policy = pool.policy;
    const p = this.#param[slot]!.policy;
    const state = this.#state;
    if (pool.weighted) {
      forest.setKeys(slot, this.#id[slot], 0, 0);
      pool.root = forest.insert(pool.root, slot, policy.weight(p, state), true);
    } else {
      forest.setKeys(slot, policy.sortKey(p, state), policy.subKey(p, state), this.#seq[slot]);
      pool.root = forest.insert(pool.root, slot, 0, false);
    }
  }

  #loadState(slot: number): void {
    const state = this.#state;
    state.degradation = this.#degradation[slot];
    state.round = this.#round[slot];
    state.turns = this.#turns[slot];
  }

  #storeState(slot: number): void {
    const state = this.#state;
    this.#degradation[slot] = state.degradation;
    this.#round[slot] = state.round;
    this.#turns[slot] = state.turns;
  }

  #find(poolHandle: Uint8Array, identifier: number): number {
    const pool = this.#pools.get(poolHandleKey(poolHandle));
    if (pool === undefined) return 0;
    return pool.index.get(identifier | 0) ?? 0;
  }

  #removeSlot(slot: number): void {
    const pool = this.#poolOf[slot]!;
    pool.root = this.#forest.remove(pool.root, slot, pool.weighted);
    pool.index.delete(this.#id[slot] | 0);
    pool.size--;
    this.#size--;
    this.#removeOwner(slot, pool);
    this.#timers.remove(slot);
    this.#poolOf[slot] = undefined;
    this.#param[slot] = undefined;
    this.#user[slot] = undefined;
    if (pool.size === 0) this.#pools.delete(pool.key);
    this.#ownerNext[slot] = this.#freeHead;
    this.#freeHead = slot;
  }

  #addOwner(slot: number, owner: number, pool: PoolState): void {
    let state = this.#owners.get(owner);
    if (state === undefined) {
      state = { head: 0, size: 0, sum: 0 };
      this.#owners.set(owner, state);
    }
    this.#owner[slot] = owner;
    this.#ownerPrev[slot] = 0;
    this.#ownerNext[slot] = state.head;
    if (state.head !== 0) this.#ownerPrev[state.head] = slot;
    state.head = slot;
    state.size++;
    const id = this.#id[slot];
    state.sum += pool.handleSum + (id >>> 16) + (id & 0xffff);
  }

  #removeOwner(slot: number, pool: PoolState): void {
    const owner = this.#owner[slot];
    const state = this.#owners.get(owner)!;
    const prev = this.#ownerPrev[slot], next = this.#ownerNext[slot];
    if (prev !== 0) this.#ownerNext[prev] = next;
    else state.head = next;
    if (next !== 0) this.#ownerPrev[next] = prev;
    this.#ownerPrev[slot] = 0;
    this.#ownerNext[slot] = 0;
    state.size--;
    const id = this.#id[slot];
    state.sum -= pool.handleSum + (id >>> 16) + (id & 0xffff);
    if (state.size === 0) this.#owners.delete(owner);
  }

  #allocate(): number {
    if (this.#freeHead !== 0) {
      const slot = this.#freeHead;
      this.#freeHead = this.#ownerNext[slot];
      this.#ownerNext[slot] = 0;
      return slot;
    }
    if (this.#highWater === this.#capacity) this.#grow(this.#capacity * 2);
    return this.#highWater++;
  }

  #grow(capacity: number): void {
    this.#forest.grow(capacity);
    this.#timers.grow(capacity);
    this.#id = growU32(this.#id, capacity);
    this.#owner = growU32(this.#owner, capacity);
    this.#ownerPrev = growI32(this.#ownerPrev, capacity);
    this.#ownerNext = growI32(this.#ownerNext, capacity);
    this.#registeredAt = growF64(this.#registeredAt, capacity);
    this.#updatedAt = growF64(this.#updatedAt, capacity);
    this.#seq = growF64(this.#seq, capacity);
    this.#degradation = growF64(this.#degradation, capacity);
    this.#round = growF64(this.#round, capacity);
    this.#turns = growF64(this.#turns, capacity);
    this.#capacity = capacity;
  }

  #entry(slot: number): PoolElementEntry<T> {
    return {
      poolHandle: this.#poolOf[slot]!.handle,
      poolElement: this.#param[slot]!,
      owner: this.#owner[slot],
      registeredAt: this.#registeredAt[slot],
      updatedAt: this.#updatedAt[slot],
      expiresAt: this.#timers.due(slot),
      sequence: this.#seq[slot],
      degradation: this.#degradation[slot],
      userData: this.#user[slot],
    };
  }
}

function poolInfo(pool: PoolState): PoolInfo {
  return {
    poolHandle: pool.handle,
    policy: pool.policy.name,
    protocol: pool.protocol,
    transportUse: pool.transportUse,
    size: pool.size,
  };
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}

function growU32(a: Uint32Array, capacity: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(capacity);
  b.set(a);
  return b;
}

function growI32(a: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}
