/**
 * Per-source admission state (pure; time is an argument): a token bucket for the rate limit, and a
 * bounded replay cache of signatures seen within the timestamp tolerance.
 */

export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Take one token: 0 when granted, else the ms until one is available. */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSec) / 1000);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSec);
  }
}

export type ReplayVerdict = 'new' | 'replay' | 'full';

/**
 * Signatures seen in the last `windowMs` (twice the tolerance: a timestamp may be up to the tolerance
 * ahead or behind). Bounded: when full of unexpired entries it answers 'full' rather than forget one, so
 * a flood cannot open a replay window (the caller answers 429).
 */
export class ReplayCache {
  readonly #seen = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    readonly maxEntries: number,
  ) {}

  check(key: string, now: number): ReplayVerdict {
    const expires = this.#seen.get(key);
    if (expires !== undefined && expires > now) return 'replay';
    this.#sweep(now);
    if (this.#seen.size >= this.maxEntries) return 'full';
    this.#seen.delete(key);
    this.#seen.set(key, now + this.windowMs);
    return 'new';
  }

  /** Forget a request that stored nothing (429/503), so the sender may retry it as it is. */
  release(key: string): void {
    this.#seen.delete(key);
  }

  get size(): number {
    return this.#seen.size;
  }

  #sweep(now: number): void {
    // Insertion order is expiry order (same window for all), so expired entries are at the front.
    for (const [key, expires] of this.#seen) {
      if (expires > now) break;
      this.#seen.delete(key);
    }
  }
}
