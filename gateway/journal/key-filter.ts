/**
 * A Bloom filter over event keys (already 53-bit hashes, so the probes are cut from the key itself): "not
 * here" is certain, "maybe" is wrong for about 1 % of absent keys at capacity. It spares the dedupe index a
 * b-tree lookup for nearly every new event. Nothing is ever removed: the owner builds a new one when its
 * capacity is reached or after many removals from the set it stands for.
 */
const BITS_PER_KEY = 10;
const PROBES = 4;
const MIN_CAPACITY = 65_536;

export class KeyFilter {
  readonly capacity: number;
  readonly #bits: Int32Array;
  readonly #mask: number;
  #added = 0;

  /** Room for `capacity` keys (at least MIN_CAPACITY; the bit count is rounded up to a power of two). */
  constructor(capacity: number) {
    let bits = 32;
    while (bits < Math.max(capacity, MIN_CAPACITY) * BITS_PER_KEY) bits *= 2;
    this.#bits = new Int32Array(bits / 32);
    this.#mask = bits - 1;
    this.capacity = Math.floor(bits / BITS_PER_KEY);
  }

  /** Keys added (repeats included). */
  get added(): number {
    return this.#added;
  }

  get bytes(): number {
    return this.#bits.byteLength;
  }

  add(key: number): void {
    const lo = key >>> 0;
    const step = (Math.floor(key / 0x1_0000_0000) * 0x9e3779b1) | 1;
    for (let i = 0, h = lo; i < PROBES; i++, h = (h + step) | 0) {
      const bit = h & this.#mask;
      this.#bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.#added++;
  }

  mayHave(key: number): boolean {
    const lo = key >>> 0;
    const step = (Math.floor(key / 0x1_0000_0000) * 0x9e3779b1) | 1;
    for (let i = 0, h = lo; i < PROBES; i++, h = (h + step) | 0) {
      const bit = h & this.#mask;
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
