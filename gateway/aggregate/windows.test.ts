import { describe, expect, it } from 'vitest';
import { testReading } from '../../tests/helpers/readings.ts';
import { aggregateItemId, closeWatermark, lateCorrection, WindowSet } from './windows.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const cfg = { windowMs: 60_000, allowedLatenessMs: 120_000 };
const r = (ts: number, value: number, deviceId = 'env-1') => testReading(ts, value, { deviceId });

describe('window aggregation', () => {
  it('folds count, min, max, sum, mean, first and last by event time', () => {
    const set = new WindowSet(cfg);
    set.add(r(T0 + 30_000, 700));
    set.add(r(T0 + 10_000, 500)); // out of order: becomes `first`
    set.add(r(T0 + 50_000, 600));
    set.add(r(T0 + 61_000, 900)); // next window
    const [a] = set.closedBy(T0 + 60_000);
    expect(a).toMatchObject({
      windowStart: T0,
      count: 3,
      min: 500,
      max: 700,
      sum: 1800,
      mean: 600,
      first: 500,
      firstTs: T0 + 10_000,
      last: 600,
      lastTs: T0 + 50_000,
      late: false,
    });
    expect(set.closedBy(T0 + 60_000)).toHaveLength(1);
    set.evict(T0 + 60_000);
    expect(set.size).toBe(1);
    expect(set.closedBy(T0 + 60_000)).toHaveLength(0);
  });

  it('closes a window only after the allowed lateness has passed', () => {
    expect(closeWatermark(T0 + 60_000 + 119_999, cfg)).toBe(T0);
    expect(closeWatermark(T0 + 60_000 + 120_000, cfg)).toBe(T0 + 60_000);
  });

  it('keeps sensors apart and gives each window a stable id', () => {
    const set = new WindowSet(cfg);
    set.add(r(T0, 1, 'a'));
    set.add(r(T0, 2, 'b'));
    const ids = set
      .closedBy(T0 + 60_000)
      .map(aggregateItemId)
      .sort();
    expect(ids).toEqual([`agg:a:co2:${T0}:60000`, `agg:b:co2:${T0}:60000`]);
    const late = lateCorrection(r(T0 + 5, 3), 60_000);
    expect(late).toMatchObject({ late: true, count: 1, windowStart: T0 });
    expect(aggregateItemId(late)).toBe(`late:env-1:co2:${T0 + 5}`);
  });
});
