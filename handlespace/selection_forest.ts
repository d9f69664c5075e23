/**
 * The selection sets of all pools: one treap per pool over shared typed arrays indexed by PE
 * slot (slot 0 is the nil sentinel). Nodes are ordered by three numeric keys `(k0, k1, k2)`;
 * a tree built with `weighted` also keeps subtree sums of the node weights, for sampling by
 * weight in O(log n). All operations are O(log n) expected; nothing scans a pool.
 *
 * Internal to the handlespace.
 *
 * @module
 */

/** The selection sets of all pools (a forest of treaps keyed by slot). */
export class SelectionForest {
  #left: Int32Array;
  #right: Int32Array;
  #parent: Int32Array;
  #prio: Uint32Array;
  #k0: Float64Array;
  #k1: Float64Array;
  #k2: Float64Array;
  #weight: Float64Array;
  #sum: Float64Array;
  #seed = 0x2545f491;

  /** Creates storage for `capacity` slots (slot 0 included). */
  constructor(capacity: number) {
    this.#left = new Int32Array(capacity);
    this.#right = new Int32Array(capacity);
    this.#parent = new Int32Array(capacity);
    this.#prio = new Uint32Array(capacity);
    this.#k0 = new Float64Array(capacity);
    this.#k1 = new Float64Array(capacity);
    this.#k2 = new Float64Array(capacity);
    this.#weight = new Float64Array(capacity);
    this.#sum = new Float64Array(capacity);
  }

  /** Grows the storage to `capacity` slots, keeping the contents. */
  grow(capacity: number): void {
    this.#left = growInt32(this.#left, capacity);
    this.#right = growInt32(this.#right, capacity);
    this.#parent = growInt32(this.#parent, capacity);
    const prio = new Uint32Array(capacity);
    prio.set(this.#prio);
    this.#prio = prio;
    this.#k0 = growFloat64(this.#k0, capacity);
    this.#k1 = growFloat64(this.#k1, capacity);
    this.#k2 = growFloat64(this.#k2, capacity);
    this.#weight = growFloat64(this.#weight, capacity);
    this.#sum = growFloat64(this.#sum, capacity);
  }

  /** Sets the keys of a slot that is not in a tree. */
  setKeys(slot: number, k0: number, k1: number, k2: number): void {
    this.#k0[slot] = k0;
    this.#k1[slot] = k1;
    this.#k2[slot] = k2;
  }

  /** Whether the keys of a slot equal the ones given. */
  hasKeys(slot: number, k0: number, k1: number, k2: number): boolean {
    return this.#k0[slot] === k0 && this.#k1[slot] === k1 && this.#k2[slot] === k2;
  }

  /** The keys of a slot. */
  key0(slot: number): number {
    return this.#k0[slot];
  }

  /** The weight of a slot. */
  weight(slot: number): number {
    return this.#weight[slot];
  }

  /** The sum of the weights of a tree. */
  total(root: number): number {
    return this.#sum[root];
  }

  /** Inserts a slot (keys and weight set) into the tree of `root`; returns the new root. */
  insert(root: number, x: number, weight: number, weighted: boolean): number {
    const left = this.#left, right = this.#right, parent = this.#parent;
    const k0 = this.#k0, k1 = this.#k1, k2 = this.#k2, sum = this.#sum;
    left[x] = 0;
    right[x] = 0;
    let s = this.#seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#seed = s;
    this.#prio[x] = s >>> 0;
    this.#weight[x] = weighted ? weight : 0;
    sum[x] = weighted ? weight : 0;
    if (root === 0) {
      parent[x] = 0;
      return x;
    }
    const a0 = k0[x], a1 = k1[x], a2 = k2[x];
    let p = 0;
    let cur = root;
    let goLeft = false;
    while (cur !== 0) {
      p = cur;
      if (weighted) sum[cur] += weight;
      const b0 = k0[cur];
      goLeft = a0 < b0 || (a0 === b0 && (a1 < k1[cur] || (a1 === k1[cur] && a2 < k2[cur])));
      cur = goLeft ? left[cur] : right[cur];
    }
    parent[x] = p;
    if (goLeft) left[p] = x;
    else right[p] = x;
    const prio = this.#prio;
    const px = prio[x];
    while (parent[x] !== 0 && px > prio[parent[x]]) this.#rotateUp(x, weighted);
    return parent[x] === 0 ? x : root;
  }

  /** Removes a slot from the tree of `root`; returns the new root. */
  remove(root: number, x: number, weighted: boolean): number {
    const left = this.#left, right = this.#right, parent = this.#parent, prio = this.#prio;
    let w = 0;
    if (weighted) {
      w = this.#weight[x];
      if (w !== 0) {
        const sum = this.#sum;
        for (let n = x; n !== 0; n = parent[n]) sum[n] -= w;
        this.#weight[x] = 0;
      }
    }
    while (left[x] !== 0 && right[x] !== 0) {
      const c = prio[left[x]] > prio[right[x]] ? left[x] : right[x];
      if (parent[x] === 0) root = c;
      this.#rotateUp(c, weighted);
    }
    const child = left[x] !== 0 ? left[x] : right[x];
    const p = parent[x];
    if (child !== 0) parent[child] = p;
    if (p === 0) root = child;
    else if (left[p] === x) left[p] = child;
    else right[p] = child;
    left[x] = 0;
    right[x] = 0;
    parent[x] = 0;
    if (weighted) {
      this.#weight[x] = w;
      this.#sum[x] = w;
    }
    return root;
  }

  #rotateUp(x: number, weighted: boolean): void {
    const left = this.#left, right = this.#right, parent = this.#parent;
    const p = parent[x];
    const g = parent[p];
    if (left[p] === x) {
      const b = right[x];
      left[p] = b;
      if (b !== 0) parent[b] = p;
      right[x] = p;
    } else {
      const b = left[x];
      right[p] = b;
      if (b !== 0) parent[b] = p;
      left[x] = p;
    }
    parent[p] = x;
    parent[x] = g;
    if (g !== 0) {
      if (left[g] === p) left[g] = x;
      else right[g] = x;
    }
    if (weighted) {
      const sum = this.#sum, weight = this.#weight;
      sum[p] = weight[p] + sum[left[p]] + sum[right[p]];
      sum[x] = weight[x] + sum[left[x]] + sum[right[x]];
    }
  }

  /** Changes the weight of a slot in a weighted tree (its keys stay). */
  setWeight(x: number, weight: number): void {
    const delta = weight - this.#weight[x];
    if (delta === 0) return;
    this.#weight[x] = weight;
    const parent = this.#parent, sum = this.#sum;
    for (let n = x; n !== 0; n = parent[n]) sum[n] += delta;
  }

  /** The first slot of a tree in key order (0 when empty). */
  first(root: number): number {
    const left = this.#left;
    if (root === 0) return 0;
    while (left[root] !== 0) root = left[root];
    return root;
  }

  /** The slot after `x` in key order (0 at the end). */
  next(x: number): number {
    const left = this.#left, right = this.#right, parent = this.#parent;
    if (right[x] !== 0) {
      x = right[x];
      while (left[x] !== 0) x = left[x];
      return x;
    }
    let p = parent[x];
    while (p !== 0 && right[p] === x) {
      x = p;
      p = parent[p];
    }
    return p;
  }

  /**
   * Like {@linkcode sample}, but as if the given slots (keys in `k0` unique in the tree) had
   * weight 0, without changing the tree: `0 <= r < total(root) - their weights`. O(k log n)
   * for k excluded slots.
   */
  sampleExcluding(root: number, r: number, excluded: readonly number[]): number {
    const left = this.#left, right = this.#right, sum = this.#sum, weight = this.#weight;
    const k0 = this.#k0;
    const m = excluded.length;
    let lo = -Infinity;
    let n = root;
    let last = 0;
    while (n !== 0) {
      const key = k0[n];
      let l = sum[left[n]];
      let self = weight[n];
      for (let j = 0; j < m; j++) {
        const x = excluded[j];
        const kx = k0[x];
        if (kx > lo && kx < key) l -= weight[x];
        else if (x === n) self = 0;
      }
      if (r < l) {
        n = left[n];
        continue;
      }
      r -= l;
      if (self > 0) last = n;
      if (r < self) return n;
      r -= self;
      lo = key;
      n = right[n];
    }
    return last;
  }

  /**
   * The slot whose cumulative weight range (in key order) holds `r`, for `0 <= r < total(root)`.
   */
  sample(root: number, r: number): number {
    const left = this.#left, right = this.#right, sum = this.#sum, weight = this.#weight;
    let n = root;
    let last = 0;
    while (n !== 0) {
      const l = sum[left[n]];
      if (r < l) {
        n = left[n];
        continue;
      }
      r -= l;
      const w = weight[n];
      if (w > 0) last = n;
      if (r < w) return n;
      r -= w;
      n = right[n];
    }
    return last;
  }
}

function growInt32(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

function growFloat64(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}
