/**
 * A map from event keys (53-bit hashes, eventKey) to request seqs, on typed arrays: open addressing with
 * linear probing, slots picked by the key's low bits (already well mixed). Unlike a `Map` of such keys,
 * whose keys are heap numbers (beyond 31 bits), it holds no object per entry, so the 131,072 keys waiting
 * for a flush cost the garbage collector nothing to trace, and a lookup touches one or two cache lines.
 */
const TWO_32 = 0x1_0000_0000;
const MIN_SLOTS = 1024;
/** Grown past this share of slots in use. */
const MAX_LOAD = 0.7;

export class KeyTable {
  #lo = new Uint32Array(MIN_SLOTS);
  /** The key's high bits + 1: 0 marks an empty slot. */
  #hi = new Uint32Array(MIN_SLOTS);
  #seq = new Float64Array(MIN_SLOTS);
  #mask = MIN_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  #slot(lo: number, hi: number): number {
    let i = lo & this.#mask;
    for (;;) {
      const h = this.#hi[i]!;
      if (h === 0 || (h === hi && this.#lo[i] === lo)) return i;
      i = (i + 1) & this.#mask;
    }
  }

  get(key: number): number | undefined {
    const i = this.#slot(key >>> 0, Math.floor(key / TWO_32) + 1);
    return this.#hi[i] === 0 ? undefined : this.#seq[i];
  }

  set(key: number, seq: number): void {
    const lo = key >>> 0;
    const hi = Math.floor(key / TWO_32) + 1;
    let i = this.#slot(lo, hi);
    if (this.#hi[i] === 0) {
      if (this.#size + 1 > (this.#mask + 1) * MAX_LOAD) {
        this.#grow();
        i = this.#slot(lo, hi);
      }
      this.#lo[i] = lo;
      this.#hi[i] = hi;
      this.#size++;
    }
    this.#seq[i] = seq;
  }

  /** Remove `key`; later keys of its run shift back, so no lookup ever stops short of them. */
  delete(key: number): boolean {
    let i = this.#slot(key >>> 0, Math.floor(key / TWO_32) + 1);
    if (this.#hi[i] === 0) return false;
    const mask = this.#mask;
    for (let j = (i + 1) & mask; this.#hi[j] !== 0; j = (j + 1) & mask) {
      const home = this.#lo[j]! & mask;
      // Move j back into the hole at i when its home slot is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.#lo[i] = this.#lo[j]!;
        this.#hi[i] = this.#hi[j]!;
        this.#seq[i] = this.#seq[j]!;
        i = j;
      }
    }
    this.#hi[i] = 0;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#hi.fill(0);
    this.#size = 0;
  }

  /** The keys, ascending. */
  sortedKeys(): Float64Array {
    const keys = new Float64Array(this.#size);
    let n = 0;
    for (let i = 0; i <= this.#mask; i++) {
      const h = this.#hi[i]!;
      if (h !== 0) keys[n++] = (h - 1) * TWO_32 + this.#lo[i]!;
    }
    return keys.sort();
  }

  #grow(): void {
    const lo = this.#lo;
    const hi = this.#hi;
    const seq = this.#seq;
    const slots = 2 * lo.length;
    this.#lo = new Uint32Array(slots);
    this.#hi = new Uint32Array(slots);
    this.#seq = new Float64Array(slots);
    this.#mask = slots - 1;
    for (let i = 0; i < lo.length; i++) {
      if (hi[i] === 0) continue;
      const j = this.#slot(lo[i]!, hi[i]!);
      this.#lo[j] = lo[i]!;
      this.#hi[j] = hi[i]!;
      this.#seq[j] = seq[i]!;
    }
  }
}
