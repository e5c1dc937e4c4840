import { describe, expect, it } from 'vitest';
import { planAdmission } from './policy.ts';

const usage = (raw: number, aggregate: number, twin = 0, event = 0, alert = 0) => ({
  raw: { rows: 1, bytes: raw },
  aggregate: { rows: 1, bytes: aggregate },
  twin: { rows: 1, bytes: twin },
  event: { rows: 1, bytes: event },
  alert: { rows: 1, bytes: alert },
});

describe('planAdmission', () => {
  it('admits what fits', () => {
    expect(planAdmission(usage(10, 10), 100, 'aggregate', 10)).toEqual({ evict: [], refuse: false });
  });
  it('drops raw first, then oldest aggregates', () => {
    expect(planAdmission(usage(30, 60), 100, 'event', 50)).toEqual({
      evict: [
        { cls: 'raw', bytes: 30 },
        { cls: 'aggregate', bytes: 10 },
      ],
      refuse: false,
    });
  });
  it('never drops events or alerts: a new event that cannot fit is refused', () => {
    expect(planAdmission(usage(0, 0, 0, 90, 10), 100, 'event', 5)).toEqual({ evict: [], refuse: true });
  });
  it('an aggregate never displaces twin changes', () => {
    expect(planAdmission(usage(0, 0, 95), 100, 'aggregate', 10).refuse).toBe(true);
    expect(planAdmission(usage(0, 50, 45), 100, 'twin', 10).evict).toEqual([{ cls: 'aggregate', bytes: 5 }]);
  });
});
