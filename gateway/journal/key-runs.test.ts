import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CHUNK_KEYS, KEY_RUN_TABLES, KeyRuns, mergeRuns, type RunInfo } from './key-runs.ts';

function runsOn(): KeyRuns {
  const db = new Database(':memory:');
  db.exec(KEY_RUN_TABLES);
  return new KeyRuns(db);
}

/** Writes `pairs` (sorted by key) as run `run`. */
function write(runs: KeyRuns, run: number, pairs: readonly [number, number][]): RunInfo {
  const w = runs.writer(run);
  for (const [k, r] of pairs) w.push(k, r);
  const info = w.end();
  if (!info) throw new Error('empty run');
  return info;
}

function read(runs: KeyRuns, run: number): [number, number][] {
  const c = runs.cursor(run);
  const out: [number, number][] = [];
  while (c.next()) out.push([c.key, c.request]);
  return out;
}

describe('key runs', () => {
  it('write a run in chunks, read it back in order, and find its keys across chunk boundaries', () => {
    const runs = runsOn();
    // 53-bit keys, the largest included, over several chunks and a partial last one.
    const n = 3 * CHUNK_KEYS + 7;
    const pairs: [number, number][] = Array.from({ length: n }, (_, i) => [
      i === n - 1 ? Number.MAX_SAFE_INTEGER : 1_000_003 * i * 7919,
      1 + (i % 13),
    ]);
    expect(write(runs, 1, pairs)).toEqual({ run: 1, size: n, maxRequest: 13 });
    expect(runs.list()).toEqual([{ run: 1, size: n, maxRequest: 13 }]);
    expect(read(runs, 1)).toEqual(pairs);

    const asked = [0, 5, CHUNK_KEYS - 1, CHUNK_KEYS, CHUNK_KEYS + 1, 2 * CHUNK_KEYS, n - 1].map(
      (i) => pairs[i]![0],
    );
    const absent = [-1, 1, pairs[10]![0] + 1, pairs[CHUNK_KEYS - 1]![0] + 1, Number.MAX_SAFE_INTEGER - 1];
    const found = new Map<number, number>();
    runs.lookup(
      1,
      [...asked, ...absent].sort((a, b) => a - b),
      (k, r) => found.set(k, r),
    );
    expect(found).toEqual(new Map(asked.map((k) => [k, pairs.find((p) => p[0] === k)![1]])));
    expect(runs.writer(2).end()).toBeUndefined();
    expect(runs.list()).toHaveLength(1);
  });

  it('merge keeps the newest request of a key in several runs and leaves out rows pruned', () => {
    const runs = runsOn();
    const a = write(runs, 1, [
      [10, 1],
      [20, 1],
      [30, 2],
    ]);
    const b = write(runs, 2, [
      [15, 3],
      [20, 4],
      [40, 3],
    ]);
    const c = write(runs, 3, [
      [5, 5],
      [30, 6],
    ]);
    // Rows 1 and 2 are pruned: 10 goes, 20 and 30 keep their newer rows (their older pairs go too).
    const { info, dropped } = mergeRuns(runs, [a, b, c], 4, 2);
    expect(info).toEqual({ run: 4, size: 5, maxRequest: 6 });
    expect(dropped).toBe(3);
    expect(read(runs, 4)).toEqual([
      [5, 5],
      [15, 3],
      [20, 4],
      [30, 6],
      [40, 3],
    ]);
    expect(runs.list().map((r) => r.run)).toEqual([4]);
    expect(read(runs, 1)).toEqual([]);
  });
});
