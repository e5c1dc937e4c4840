import { describe, expect, it } from 'vitest';
import { agg, aggItem, P0, prepared, windowSeekFixture, windowsOf } from './contract.ts';
import { SqliteCloudStore } from './sqlite.ts';
import { phaseOf, SPAN_AHEAD, SpanTracker, startsIn } from './window-seeks.ts';

describe('window spans', () => {
  it('phaseOf is in [0, size) for starts before and after the epoch', () => {
    expect(phaseOf(120_000, 60_000)).toBe(0);
    expect(phaseOf(127_000, 60_000)).toBe(7_000);
    expect(phaseOf(-53_000, 60_000)).toBe(7_000);
  });

  it('startsIn gives the first and last start of a span inside [from, to)', () => {
    const span = { ms: 60_000, phase: 7_000, first: 7_000, last: 607_000 };
    expect(startsIn(span, 0, 1_000_000)).toEqual({ first: 7_000, last: 607_000 });
    expect(startsIn(span, 8_000, 607_000)).toEqual({ first: 67_000, last: 547_000 });
    expect(startsIn(span, 67_000, 67_001)).toEqual({ first: 67_000, last: 67_000 });
    expect(startsIn(span, 68_000, 127_000)).toBeUndefined();
    expect(startsIn(span, 700_000, 800_000)).toBeUndefined();
    // Bounds between two milliseconds: the windows starting at or after `from` and before `to`.
    expect(startsIn(span, 66_999.5, 127_000.5)).toEqual({ first: 67_000, last: 127_000 });
  });

  it('SpanTracker hands out each extended span once, written SPAN_AHEAD windows past its newest start', () => {
    const t = new SpanTracker();
    const ahead = SPAN_AHEAD * 60_000;
    t.note(1, 60_000, 120_000);
    t.note(1, 60_000, 0);
    t.note(1, 60_000, 60_000);
    t.note(2, 60_000, 5_000);
    expect(t.take()).toEqual([
      { sensor: 1, span: { ms: 60_000, phase: 0, first: 0, last: 120_000 + ahead } },
      { sensor: 2, span: { ms: 60_000, phase: 5_000, first: 5_000, last: 5_000 + ahead } },
    ]);
    // Inside the written bound: nothing to write.
    t.note(1, 60_000, 120_000 + ahead);
    expect(t.take()).toEqual([]);
    t.note(1, 60_000, 180_000 + ahead);
    expect(t.take()).toEqual([
      { sensor: 1, span: { ms: 60_000, phase: 0, first: 0, last: 180_000 + 2 * ahead } },
    ]);
    t.forget();
    t.note(1, 60_000, 60_000);
    expect(t.take()).toEqual([
      { sensor: 1, span: { ms: 60_000, phase: 0, first: 60_000, last: 60_000 + ahead } },
    ]);
  });
});

describe('SpanTracker over committed spans (concurrent transactions)', () => {
  it('writes what committed transactions did not, and adds its spans to them only once committed', () => {
    const ahead = SPAN_AHEAD * 60_000;
    const committed = new SpanTracker();
    const first = new SpanTracker(committed);
    first.note(1, 60_000, 0);
    expect(first.take()).toEqual([{ sensor: 1, span: { ms: 60_000, phase: 0, first: 0, last: ahead } }]);
    // Another transaction in flight knows nothing of the first one's spans until it commits.
    const second = new SpanTracker(committed);
    second.note(1, 60_000, 60_000);
    expect(second.take()).toHaveLength(1);
    first.commit();
    // The second one rolled back: committed has only the first one's span.
    const third = new SpanTracker(committed);
    third.note(1, 60_000, 120_000);
    expect(third.take()).toEqual([]);
    third.note(1, 60_000, ahead + 60_000);
    expect(third.take()).toEqual([
      { sensor: 1, span: { ms: 60_000, phase: 0, first: ahead + 60_000, last: 2 * ahead + 60_000 } },
    ]);
    third.commit();
    expect(committed.covers(1, 60_000, 0)).toBe(true);
    expect(committed.covers(1, 60_000, 2 * ahead + 60_000)).toBe(true);
    expect(committed.covers(1, 60_000, 2 * ahead + 120_000)).toBe(false);
    expect(committed.covers(2, 60_000, 0)).toBe(false);
  });
});

interface Row {
  window_start: number;
  window_ms: number;
  count: number;
}

describe('SQLite window reads by seeks', () => {
  it('give what a scan of the windows gives, for every sensor, range and limit (randomized)', async () => {
    const s = new SqliteCloudStore({ file: ':memory:' });
    try {
      const { events, reads } = windowSeekFixture(23);
      for (const [i, ev] of events.entries()) await s.applyBatch(P0, [ev], ev.position, i + 1);

      const sensorId = s.db.prepare('SELECT sensor_id FROM sensors WHERE device_id = ?').pluck();
      const scan = s.db.prepare(`SELECT window_start, window_ms, count FROM aggregates
        WHERE sensor_id = ? AND window_start >= ? AND window_start < ? ORDER BY window_start, window_ms LIMIT ?`);
      let compared = 0;
      for (const { device, range } of reads) {
        const { from, to, limit } = range;
        const want = (scan.all(sensorId.get(device), from, to, limit) as Row[]).map((r) => [
          r.window_start,
          r.window_ms,
          r.count,
        ]);
        const got = (await windowsOf(s, device, 'temperature', { from, to, limit }))!.map((w) => [
          w.windowStart,
          w.windowMs,
          w.count,
        ]);
        expect(got).toEqual(want);
        compared += want.length;
      }
      // The comparison saw windows (not only empty ranges), late deltas merged in among them.
      expect(compared).toBeGreaterThan(2_000);
      // A room's windows (read per sensor by size, then start) are the windows a scan finds for its sensors.
      const key = (r: { start: number; ms: number; count: number }) => `${r.start}/${r.ms}/${r.count}`;
      const roomScan = (
        s.db
          .prepare(`SELECT window_start, window_ms, count FROM aggregates WHERE window_start >= ? AND window_start < ?
            AND sensor_id IN (SELECT sensor_id FROM sensors WHERE room_id = 'r1')`)
          .all(600_000, 20_000_000) as Row[]
      )
        .map((r) => key({ start: r.window_start, ms: r.window_ms, count: r.count }))
        .sort();
      const room = await s.roomWindows('r1', 'temperature', 600_000, 20_000_000);
      if (!room || !('windows' in room)) throw new Error('no room windows');
      expect(
        room.windows.map((w) => key({ start: w.windowStart, ms: w.windowMs, count: w.count })).sort(),
      ).toEqual(roomScan);
      expect(roomScan.length).toBeGreaterThan(500);
    } finally {
      await s.close();
    }
  });
});

describe('SQLite base windows, many to a statement', () => {
  it('applies the new windows of a run and counts the one that exists as a duplicate', async () => {
    const s = new SqliteCloudStore({ file: ':memory:' });
    try {
      const first = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 50 * 60_000 }))]);
      await s.applyBatch(P0, [first], first.position, 1);
      // 128 windows, one of them the window above: the run's insert fails, each window is upserted.
      const run = Array.from({ length: 128 }, (_, i) => agg({ windowStart: i * 60_000 }));
      const ev = prepared('aggregate', 'gw-1', 'b2', run.map(aggItem));
      const r = await s.applyBatch(P0, [ev], ev.position, 2);
      expect(r).toMatchObject({ itemsApplied: { aggregate: 127 }, duplicateItems: 1 });
      const ws = await windowsOf(s, 'env-1', 'temperature', { from: 0, to: 128 * 60_000, limit: 1_000 });
      expect(ws).toHaveLength(128);
      expect(ws!.every((w) => w.count === 10)).toBe(true);
      expect((await s.counts()).readingsRepresented).toBe(1_280);
    } finally {
      await s.close();
    }
  });

  it('merges a base into a window that has only a late delta, and takes a base given twice once', async () => {
    const s = new SqliteCloudStore({ file: ':memory:' });
    try {
      const late = agg({ windowStart: 0, late: true, count: 2, sum: 40, min: 19, max: 21 });
      const ev1 = prepared('aggregate', 'gw-1', 'b1', [aggItem(late)]);
      await s.applyBatch(P0, [ev1], ev1.position, 1);
      const base = agg({ windowStart: 0 });
      const other = agg({ windowStart: 60_000 });
      const ev2 = prepared('aggregate', 'gw-1', 'b2', [aggItem(base), aggItem(other)]);
      const ev3 = prepared('aggregate', 'gw-1', 'b3', [
        aggItem(base),
        aggItem(agg({ windowStart: 120_000 })),
      ]);
      const r = await s.applyBatch(P0, [ev2, ev3], ev3.position, 2);
      expect(r).toMatchObject({ itemsApplied: { aggregate: 3 }, duplicateItems: 1 });
      const [w0] = (await windowsOf(s, 'env-1', 'temperature', { from: 0, to: 60_000, limit: 10 }))!;
      expect(w0).toMatchObject({ count: 12, sum: 250, min: 19, max: 22 });
    } finally {
      await s.close();
    }
  });
});
