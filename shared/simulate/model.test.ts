import { describe, expect, it } from 'vitest';
import { peopleAt, type SimDevice, sampleDevice } from './model.ts';

const base: SimDevice = {
  deviceId: 'env-1',
  roomId: 'r-101',
  capacity: 40,
  channels: [
    { name: 'co2', quantity: 'co2' },
    { name: 'temperature', quantity: 'temperature' },
    { name: 'light', quantity: 'light' },
  ],
};
/** Every 10 minutes of a teaching week (Monday 2026-11-30 00:00 UTC on). */
const WEEK = Array.from({ length: 7 * 144 }, (_, i) => Date.UTC(2026, 10, 30) + i * 600_000);

describe('simulated campus model', () => {
  it('is deterministic: the same device, seed and time give the same readings', () => {
    for (const ts of WEEK.slice(0, 200)) {
      expect(sampleDevice(base, ts)).toEqual(sampleDevice({ ...base }, ts));
      expect(sampleDevice({ ...base, seed: 's1' }, ts)).toEqual(sampleDevice({ ...base, seed: 's1' }, ts));
    }
  });

  it('draws another timetable for another seed, still only in teaching hours on weekdays', () => {
    const occupied = (seed?: string) =>
      WEEK.map((ts) => sampleDevice({ ...base, ...(seed ? { seed } : {}) }, ts).light! > 200);
    const a = occupied();
    const b = occupied('another');
    expect(a).not.toEqual(b);
    for (const occ of [a, b]) {
      occ.forEach((o, i) => {
        const d = new Date(WEEK[i]!);
        if (d.getUTCDay() === 0 || d.getUTCDay() === 6 || d.getUTCHours() < 9 || d.getUTCHours() >= 18)
          expect(o).toBe(false);
      });
      // Some lectures, not all hours.
      const share = occ.filter(Boolean).length / occ.length;
      expect(share).toBeGreaterThan(0.05);
      expect(share).toBeLessThan(0.4);
    }
  });

  it('follows people: CO2 higher and lights on while a room is occupied', () => {
    for (const ts of WEEK) {
      const people = peopleAt('r-101', 40, ts);
      const r = sampleDevice(base, ts);
      if (people > 20) expect(r.co2).toBeGreaterThan(700);
      if (people === 0) expect(r.co2).toBeLessThan(460);
      expect(r.light! > 200).toBe(people > 0);
    }
  });
});
