// A naive reference handlespace for the model-based test: arrays, sorting and linear scans,
// written from the policy rules as documented, sharing no code with handlespace/ or policy/.

import type { PoolElementParameter } from "../../wire/types.ts";

const MAX = 0xffffffff;

export interface RefPe {
  id: number;
  owner: number;
  param: PoolElementParameter;
  seq: number;
  degradation: number;
  round: number;
  turns: number;
  expiresAt: number;
}

interface RefPool {
  key: string;
  handle: Uint8Array;
  policy: string;
  protocol: string;
  pes: RefPe[];
}

export interface RefLimits {
  maxPools: number;
  maxPerPool: number;
  maxTotal: number;
  maxHandleLength: number;
}

export class RefError extends Error {
  constructor(readonly code: number) {
    super(`cause ${code}`);
  }
}

const ORDERED = new Set([
  "round-robin",
  "weighted-round-robin",
  "priority",
  "least-used",
  "least-used-degradation",
  "priority-least-used",
  "priority-least-used-degradation",
  "least-used-dpf",
  "least-used-degradation-dpf",
]);

const DEGRADING = new Set([
  "least-used-degradation",
  "priority-least-used-degradation",
  "least-used-degradation-dpf",
  "randomized-least-used-degradation",
  "randomized-priority-least-used-degradation",
]);

const KNOWN = new Set([
  ...ORDERED,
  "random",
  "weighted-random",
  "weighted-random-dpf",
  "randomized-least-used",
  "randomized-priority-least-used",
  "randomized-least-used-degradation",
  "randomized-priority-least-used-degradation",
]);

function sat(v: number): number {
  return Math.min(MAX, Math.max(0, v));
}

function headroom(v: number): number {
  return Math.max(1, Math.min(MAX, MAX - v));
}

function f(pe: RefPe, field: string): number {
  // deno-lint-ignore no-explicit-any
  return ((pe.param.policy as any)[field] ?? 0) as number;
}

function keyOf(pe: RefPe): [number, number] {
  const p = pe.param.policy.name;
  const load = f(pe, "load");
  switch (p) {
    case "round-robin":
      return [0, 0];
    case "weighted-round-robin":
      return [pe.round, pe.turns];
    case "priority":
      return [-f(pe, "priority"), 0];
    case "least-used":
      return [load, 0];
    case "least-used-degradation":
      return [sat(load + pe.degradation), 0];
    case "priority-least-used":
      return [sat(load + f(pe, "loadDegradation")), 0];
    case "priority-least-used-degradation":
      return [sat(load + f(pe, "loadDegradation") + pe.degradation), 0];
    case "least-used-dpf":
      return [sat(load + Math.round(f(pe, "distance") * f(pe, "loadDpf"))), 0];
    case "least-used-degradation-dpf":
      return [
        sat(load + pe.degradation + Math.round(f(pe, "distance") * f(pe, "loadDpf"))),
        0,
      ];
  }
  throw new Error("not ordered");
}

function weightOf(pe: RefPe): number {
  const p = pe.param.policy.name;
  const load = f(pe, "load");
  switch (p) {
    case "random":
      return 1;
    case "weighted-random":
      return Math.min(MAX, Math.max(0, Math.floor(f(pe, "weight"))));
    case "weighted-random-dpf": {
      const w = Math.min(MAX, Math.max(0, Math.floor(f(pe, "weight"))));
      if (w === 0) return 0;
      return Math.max(1, w - Math.round(w * f(pe, "distance") * f(pe, "weightDpf") / MAX));
    }
    case "randomized-least-used":
      return headroom(load);
    case "randomized-priority-least-used":
      return headroom(load + f(pe, "loadDegradation"));
    case "randomized-least-used-degradation":
      return headroom(load + pe.degradation);
    case "randomized-priority-least-used-degradation":
      return headroom(load + f(pe, "loadDegradation") + pe.degradation);
  }
  throw new Error("not random");
}

function keyString(h: Uint8Array): string {
  return Array.from(h, (b) => String.fromCharCode(b)).join("");
}

export class ReferenceHandlespace {
  pools = new Map<string, RefPool>();
  seq = 1;

  constructor(
    readonly clock: () => number,
    readonly random: () => number,
    readonly maxIncrement: number,
    readonly limits: RefLimits,
  ) {}

  get size(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.pes.length;
    return n;
  }

  sorted(pool: RefPool): RefPe[] {
    if (ORDERED.has(pool.policy)) {
      return [...pool.pes].sort((a, b) => {
        const ka = keyOf(a), kb = keyOf(b);
        return ka[0] - kb[0] || ka[1] - kb[1] || a.seq - b.seq;
      });
    }
    return [...pool.pes].sort((a, b) => a.id - b.id);
  }

  register(
    handle: Uint8Array,
    param: PoolElementParameter,
    opts: { expiresAt?: number; allowOwnerChange?: boolean } = {},
  ): boolean {
    if (handle.length === 0 || handle.length > this.limits.maxHandleLength) throw new RefError(3);
    if (!KNOWN.has(param.policy.name)) throw new RefError(3);
    const now = this.clock();
    const expiresAt = opts.expiresAt ??
      (param.registrationLife < 0 ? Infinity : now + param.registrationLife);
    const key = keyString(handle);
    let pool = this.pools.get(key);
    const protocol = param.userTransport.protocol;
    let isNew = true;
    if (pool) {
      const pe = pool.pes.find((x) => x.id === param.identifier);
      if (pe) {
        if (pe.owner !== param.homeRegistrarId && !opts.allowOwnerChange) throw new RefError(4);
        if (pool.policy !== param.policy.name || pool.protocol !== protocol) {
          if (pool.pes.length > 1) {
            if (pool.policy !== param.policy.name) throw new RefError(5);
            throw new RefError(7);
          }
          this.pools.delete(key);
          pool = undefined;
          isNew = false;
        } else {
          pe.owner = param.homeRegistrarId;
          pe.param = param;
          pe.degradation = 0;
          if (pool.policy === "weighted-round-robin") {
            pe.turns = Math.min(pe.turns, Math.max(1, f(pe, "weight")));
          }
          pe.expiresAt = expiresAt;
          return false;
        }
      } else {
        if (pool.policy !== param.policy.name) throw new RefError(5);
        if (pool.protocol !== protocol) throw new RefError(7);
        if (pool.pes.length >= this.limits.maxPerPool) throw new RefError(6);
      }
    }
    if (this.size >= this.limits.maxTotal) throw new RefError(6);
    if (!pool) {
      if (this.pools.size >= this.limits.maxPools) throw new RefError(6);
      pool = { key, handle: handle.slice(), policy: param.policy.name, protocol, pes: [] };
      this.pools.set(key, pool);
    }
    const pe: RefPe = {
      id: param.identifier,
      owner: param.homeRegistrarId,
      param,
      seq: this.seq++,
      degradation: 0,
      round: 0,
      turns: 0,
      expiresAt,
    };
    if (pool.policy === "weighted-round-robin") {
      const first = this.sorted(pool)[0];
      pe.round = first ? first.round : 0;
      pe.turns = Math.max(1, f(pe, "weight"));
    }
    pool.pes.push(pe);
    return isNew;
  }

  deregister(handle: Uint8Array, id: number): RefPe | undefined {
    const pool = this.pools.get(keyString(handle));
    if (!pool) return undefined;
    const i = pool.pes.findIndex((x) => x.id === id);
    if (i < 0) return undefined;
    const [pe] = pool.pes.splice(i, 1);
    if (pool.pes.length === 0) this.pools.delete(pool.key);
    return pe;
  }

  #advance(pool: RefPool, pe: RefPe): void {
    pe.seq = this.seq++;
    if (pool.policy === "weighted-round-robin") {
      if (pe.turns > 1) pe.turns--;
      else {
        pe.round++;
        pe.turns = Math.max(1, f(pe, "weight"));
      }
    }
    if (DEGRADING.has(pool.policy)) {
      pe.degradation = sat(pe.degradation + f(pe, "loadDegradation"));
    }
  }

  select(handle: Uint8Array, k: number): number[] {
    const pool = this.pools.get(keyString(handle));
    if (!pool || k < 1) return [];
    const n = Math.min(k, pool.pes.length);
    let chosen: RefPe[];
    if (ORDERED.has(pool.policy)) {
      chosen = this.sorted(pool).slice(0, n);
    } else {
      const order = this.sorted(pool);
      chosen = [];
      for (let i = 0; i < n; i++) {
        let total = 0;
        for (const pe of order) if (!chosen.includes(pe)) total += weightOf(pe);
        if (total < 1) break;
        let r = Math.floor(this.random() * total);
        if (r >= total) r = total - 1;
        let pick: RefPe | undefined;
        for (const pe of order) {
          if (chosen.includes(pe)) continue;
          const w = weightOf(pe);
          if (r < w) {
            pick = pe;
            break;
          }
          r -= w;
        }
        if (!pick) break;
        chosen.push(pick);
      }
    }
    const adv = this.maxIncrement === 0
      ? chosen.length
      : Math.min(this.maxIncrement, chosen.length);
    for (let i = 0; i < adv; i++) this.#advance(pool, chosen[i]);
    return chosen.map((pe) => pe.id);
  }

  expire(): string[] {
    const now = this.clock();
    const out: string[] = [];
    for (const pool of [...this.pools.values()]) {
      for (const pe of [...pool.pes]) {
        if (pe.expiresAt <= now) {
          out.push(`${pool.key}/${pe.id}`);
          this.deregister(pool.handle, pe.id);
        }
      }
    }
    return out.sort();
  }

  nextExpiry(): number {
    let m = Infinity;
    for (const pool of this.pools.values()) {
      for (const pe of pool.pes) m = Math.min(m, pe.expiresAt);
    }
    return m;
  }

  setExpiry(handle: Uint8Array, id: number, t: number): boolean {
    const pe = this.pools.get(keyString(handle))?.pes.find((x) => x.id === id);
    if (!pe) return false;
    pe.expiresAt = t;
    return true;
  }

  changeOwner(from: number, to: number): number {
    let n = 0;
    for (const pool of this.pools.values()) {
      for (const pe of pool.pes) {
        if (pe.owner === from) {
          pe.owner = to;
          pe.param = { ...pe.param, homeRegistrarId: to };
          n++;
        }
      }
    }
    return n;
  }

  /** RFC 1071 over padded handle + big-endian PE ID, byte by byte. */
  checksum(owner: number): number {
    let sum = 0;
    for (const pool of this.pools.values()) {
      for (const pe of pool.pes) {
        if (pe.owner !== owner) continue;
        const bytes = [...pool.handle];
        while (bytes.length % 4 !== 0) bytes.push(0);
        bytes.push(
          (pe.id >>> 24) & 0xff,
          (pe.id >>> 16) & 0xff,
          (pe.id >>> 8) & 0xff,
          pe.id & 0xff,
        );
        for (let i = 0; i < bytes.length; i += 2) {
          sum += (bytes[i] << 8) | bytes[i + 1];
          sum = (sum & 0xffff) + (sum >>> 16);
        }
      }
    }
    return ~sum & 0xffff;
  }
}
