import { describe, expect, it } from 'vitest';
import { MINUTE_MS, openHoursMask, perMinute, roomAnalytics } from './room-analytics.ts';

const DAY = 86_400_000;
// 2026-03-29 is the day British clocks go forward (01:00 UTC becomes 02:00 BST).
const MARCH_29 = Date.UTC(2026, 2, 29);

describe('room analytics', () => {
  it('judges each minute at its midpoint', () => {
    const t = {
      initial: 'vacant',
      changes: [
        { ts: 10 * MINUTE_MS, state: 'occupied' },
        { ts: 12 * MINUTE_MS + 40_000, state: 'vacant' },
      ],
    };
    // Minute 12's midpoint (12:30) is before the change at 12:40: still occupied.
    expect(perMinute(t, 8 * MINUTE_MS, 15 * MINUTE_MS)).toEqual([
      'vacant',
      'vacant',
      'occupied',
      'occupied',
      'occupied',
      'vacant',
      'vacant',
    ]);
    expect(perMinute({ initial: null, changes: [] }, 0, 2 * MINUTE_MS)).toEqual([null, null]);
  });

  it('reads open hours in local time, daylight saving included', () => {
    const utc = openHoursMask(MARCH_29, MARCH_29 + DAY, '08:00-18:00', 'UTC');
    expect(utc.filter(Boolean)).toHaveLength(600);
    expect(utc.indexOf(true)).toBe(8 * 60);
    const london = openHoursMask(MARCH_29, MARCH_29 + DAY, '08:00-18:00', 'Europe/London');
    // 08:00 BST is 07:00 UTC on that day.
    expect(london.indexOf(true)).toBe(7 * 60);
    expect(london.filter(Boolean)).toHaveLength(600);
    // Overnight hours wrap around midnight.
    expect(openHoursMask(MARCH_29, MARCH_29 + DAY, '22:00-06:00', 'UTC').filter(Boolean)).toHaveLength(
      8 * 60,
    );
    expect(() => openHoursMask(0, DAY, '8-18', 'UTC')).toThrow(/08:00-18:00/);
  });

  it('leaves out what it has nothing to judge by, and integrates power when there is no energy register', () => {
    const base = {
      roomId: 'r',
      campusId: '',
      from: 0,
      to: 60 * MINUTE_MS,
      health: new Map(),
      co2: [],
      energy: [],
      power: [],
    };
    const open = new Array(60).fill(true);
    expect(roomAnalytics(base, open)).toEqual([]);
    const withPower = roomAnalytics(
      {
        ...base,
        power: [[{ windowStart: 0, windowMs: 30 * MINUTE_MS, mean: 3, first: 3, last: 3 }]],
        occupancy: { initial: 'unknown', changes: [] },
      },
      open,
    );
    // 3 kW for half an hour; an occupancy that was never known gives no utilization.
    expect(withPower).toEqual([{ metric: 'energy_kwh', value: 1.5 }]);
    // A CO2 window that runs past the period counts only its minutes inside it.
    const co2 = roomAnalytics(
      {
        ...base,
        co2: [[{ windowStart: 55 * MINUTE_MS, windowMs: 10 * MINUTE_MS, mean: 1500, first: 0, last: 0 }]],
      },
      open,
    );
    expect(co2).toEqual([{ metric: 'co2_over_1000_minutes', value: 5 }]);
  });
});
