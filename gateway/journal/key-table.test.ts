import { describe, expect, it } from 'vitest';
import { eventKey } from './event-keys.ts';
import { KeyTable } from './key-table.ts';

/** A reproducible stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

describe('KeyTable', () => {
  it('answers as a Map would through sets, overwrites, deletes and growth', () => {
    const table = new KeyTable();
    const map = new Map<number, number>();
    const next = random(7);
    const keys: number[] = [];
    for (let n = 0; n < 60_000; n++) {
      const r = next();
      if (r < 0.6 || keys.length === 0) {
        const key = eventKey(`urn:uuid:${n}`);
        keys.push(key);
        table.set(key, n);
        map.set(key, n);
      } else if (r < 0.7) {
        const key = keys[Math.floor(next() * keys.length)]!;
        table.set(key, -n);
        map.set(key, -n);
      } else {
        const key = keys[Math.floor(next() * keys.length)]!;
        expect(table.delete(key)).toBe(map.delete(key));
      }
    }
    expect(table.size).toBe(map.size);
    for (const k of keys) expect(table.get(k)).toBe(map.get(k));
    expect([...table.sortedKeys()]).toEqual([...map.keys()].sort((a, b) => a - b));
  });

  it('keeps every key of a crowded run findable when one of them goes', () => {
    // Keys that differ only above their low 32 bits share a home slot: one long run, wrapping past the end.
    const table = new KeyTable();
    const home = 1023;
    const crowd = Array.from({ length: 40 }, (_, i) => (i + 1) * 0x1_0000_0000 + home);
    crowd.forEach((k, i) => {
      table.set(k, i);
    });
    const neighbour = 0x5_0000_0000 + 3;
    table.set(neighbour, 99);
    for (const gone of [crowd[0]!, crowd[17]!, crowd[39]!]) expect(table.delete(gone)).toBe(true);
    expect(table.delete(crowd[0]!)).toBe(false);
    crowd.forEach((k, i) => {
      expect(table.get(k)).toBe([0, 17, 39].includes(i) ? undefined : i);
    });
    expect(table.get(neighbour)).toBe(99);
    expect(table.size).toBe(38);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(crowd[1]!)).toBeUndefined();
    expect(table.sortedKeys().length).toBe(0);
  });

  it('keeps the largest keys exactly (53 bits)', () => {
    const table = new KeyTable();
    const big = Number.MAX_SAFE_INTEGER;
    table.set(big, 1);
    table.set(0, 2);
    expect(table.get(big)).toBe(1);
    expect(table.get(0)).toBe(2);
    expect([...table.sortedKeys()]).toEqual([0, big]);
  });
});
