import { describe, expect, it } from 'vitest';
import { energyAgainstBaseline, facilityRisk, openWorkOrders } from './facility-risk.ts';

const H = 3_600_000;
const W = 7 * 24 * H;
const T = 1_800_000_000_000 - (1_800_000_000_000 % H);

describe('facility risk', () => {
  it('compares energy with the same hours in earlier weeks', () => {
    const windows = [
      // This period, two hours: 6 and 4 kWh.
      { windowStart: T, kwh: 6 },
      { windowStart: T + H, kwh: 3 },
      { windowStart: T + H + 1800_000, kwh: 1 },
      // Hour 1 one and two weeks earlier: 4 and 2 → mean 3; hour 2 has no history.
      { windowStart: T - W, kwh: 4 },
      { windowStart: T - 2 * W, kwh: 2 },
      // Five weeks ago: outside the baseline.
      { windowStart: T - 5 * W, kwh: 100 },
    ];
    // Only hour 1 has a baseline: 6 against 3.
    expect(energyAgainstBaseline(windows, T, T + 2 * H)).toEqual({ actualKwh: 6, baselineKwh: 3 });
    expect(energyAgainstBaseline(windows.slice(0, 3), T, T + 2 * H)).toEqual({
      actualKwh: 0,
      baselineKwh: null,
    });
  });

  it('tracks open work orders by id', () => {
    const ev = (type: string, ts: number, id: string, priority: 'urgent' | 'low' | null = null) => ({
      type,
      ts,
      workOrderId: id,
      priority,
    });
    const orders = openWorkOrders(
      [
        ev('workorder.opened', 1, 'w1', 'low'),
        ev('workorder.opened', 2, 'w2', 'urgent'),
        ev('workorder.closed', 3, 'w1'),
        ev('workorder.opened', 9, 'w3'),
      ],
      5,
    );
    expect(orders).toEqual([{ workOrderId: 'w2', priority: 'urgent', openedTs: 2 }]);
  });

  it('adds its four parts, each capped, with reasons in words', () => {
    // comfort 120 of 240 min → 15; offline 20 % → 5; energy 30 % over → 25 × 0.6 = 15; one normal order → 10.
    const r = facilityRisk({
      comfortViolationMinutes: 120,
      deviceOfflineShare: 0.2,
      energy: { actualKwh: 13, baselineKwh: 10 },
      workOrders: [{ workOrderId: 'w1', priority: 'normal', openedTs: 1 }],
    });
    expect(r).toEqual({
      score: 45,
      parts: { comfort: 15, sensors: 5, energy: 15, workOrders: 10 },
      reasons: [
        'comfort outside its band for 120 minutes',
        'sensors offline 20 % of the time',
        'energy 13 kWh, 30 % over its usual 10 kWh for these hours',
        '1 open work order (w1 normal)',
      ],
    });
    const worst = facilityRisk({
      comfortViolationMinutes: 1000,
      deviceOfflineShare: 1,
      energy: { actualKwh: 50, baselineKwh: 10 },
      workOrders: [
        { workOrderId: 'a', priority: 'urgent', openedTs: 1 },
        { workOrderId: 'b', priority: null, openedTs: 2 },
      ],
    });
    expect(worst.score).toBe(100);
    const calm = facilityRisk({
      comfortViolationMinutes: 0,
      deviceOfflineShare: 0,
      energy: { actualKwh: 8, baselineKwh: 10 },
      workOrders: [],
    });
    expect(calm).toEqual({
      score: 0,
      parts: { comfort: 0, sensors: 0, energy: 0, workOrders: 0 },
      reasons: [],
    });
  });
});
