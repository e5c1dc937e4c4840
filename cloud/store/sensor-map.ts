/**
 * Values by three keys in nested maps, so that hot loops build no key strings: SensorMap (campus, device,
 * channel) for the SQLite store's sensor-id cache and the PostgreSQL apply's sensors of one call; the
 * PostgreSQL apply's base windows seen in a call (sensor, size, start); the window spans known to an apply
 * (sensor, size, phase: window-seeks.ts).
 */
export class NestedMap<A, B, C, T> {
  readonly #byA = new Map<A, Map<B, Map<C, T>>>();

  get(a: A, b: B, c: C): T | undefined {
    return this.#byA.get(a)?.get(b)?.get(c);
  }

  set(a: A, b: B, c: C, value: T): void {
    let byB = this.#byA.get(a);
    if (!byB) {
      byB = new Map();
      this.#byA.set(a, byB);
    }
    let byC = byB.get(b);
    if (!byC) {
      byC = new Map();
      byB.set(b, byC);
    }
    byC.set(c, value);
  }

  delete(a: A, b: B, c: C): void {
    this.#byA.get(a)?.get(b)?.delete(c);
  }

  clear(): void {
    this.#byA.clear();
  }

  /** Every value with its keys. */
  *entries(): Generator<[A, B, C, T]> {
    for (const [a, byB] of this.#byA)
      for (const [b, byC] of byB) for (const [c, v] of byC) yield [a, b, c, v];
  }
}

/** Values by (campus, device, channel). */
export class SensorMap<T> extends NestedMap<string, string, string, T> {}
