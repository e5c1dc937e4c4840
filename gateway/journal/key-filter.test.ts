import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventKey } from './event-keys.ts';
import { KeyFilter } from './key-filter.ts';

describe('KeyFilter', () => {
  it('has every key added, and says "maybe" for about 1 % of others at capacity', () => {
    const filter = new KeyFilter(100_000);
    expect(filter.capacity).toBeGreaterThanOrEqual(100_000);
    const added = Array.from({ length: filter.capacity }, () => eventKey(`urn:uuid:${randomUUID()}`));
    for (const k of added) filter.add(k);
    expect(added.filter((k) => !filter.mayHave(k))).toEqual([]);
    let maybe = 0;
    const others = 100_000;
    for (let i = 0; i < others; i++) if (filter.mayHave(eventKey(`other-${i}`))) maybe++;
    expect(maybe / others).toBeLessThan(0.03);
    expect(maybe).toBeGreaterThan(0);
  });

  it('rounds its bits up to a power of two, with a floor for small sets', () => {
    expect(new KeyFilter(0).bytes).toBe(new KeyFilter(65_536).bytes);
    const f = new KeyFilter(1_000_000);
    expect(Number.isInteger(Math.log2(f.bytes))).toBe(true);
    expect(f.capacity * 10).toBeLessThanOrEqual(f.bytes * 8);
  });
});
