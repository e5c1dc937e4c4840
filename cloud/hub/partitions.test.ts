import { describe, expect, it } from 'vitest';
import { fnv1a32, partitionForKey, partitionIndex, RoundRobin } from './partitions.ts';

describe('partitionForKey', () => {
  it('is FNV-1a 32 over UTF-8 (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('maps a key to the same partition every time, within range', () => {
    for (const key of ['gw-library', 'gw-sports-hall', 'ünïcödé', '']) {
      const p = partitionForKey(key, 4);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(4);
      expect(partitionForKey(key, 4)).toBe(p);
    }
  });

  it('spreads many keys over every partition', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionForKey(`gw-${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });

  it('refuses a partition count below one', () => {
    expect(() => partitionForKey('x', 0)).toThrow(RangeError);
  });
});

describe('RoundRobin', () => {
  it('cycles through the partitions', () => {
    const rr = new RoundRobin(3);
    expect([rr.next(), rr.next(), rr.next(), rr.next()]).toEqual([0, 1, 2, 0]);
  });
});

describe('partitionIndex', () => {
  it('accepts decimal ids within the partition count only', () => {
    expect(partitionIndex('0', 4)).toBe(0);
    expect(partitionIndex('3', 4)).toBe(3);
    for (const bad of ['4', '-1', '1.0', ' 1', '', 'x']) expect(partitionIndex(bad, 4)).toBeUndefined();
  });
});
