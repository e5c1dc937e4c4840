import { describe, expect, it } from 'vitest';
import { backoffDelayMs, type ClassView, DrainBudget, etaSeconds, pickNext, RateMeter } from './policy.ts';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const cfg = {
  liveWindowMs: 120_000,
  lingerMs: { alert: 0, twin: 5_000, event: 2_000, aggregate: 5_000, raw: 10_000 },
  idleMs: 1_000,
};
const none: ClassView[] = (['alert', 'twin', 'event', 'aggregate', 'raw'] as const).map((cls) => ({
  cls,
  oldestLiveAt: null,
  hasBacklog: false,
}));
function views(patch: Partial<Record<ClassView['cls'], Partial<ClassView>>>): ClassView[] {
  return none.map((v) => ({ ...v, ...patch[v.cls] }));
}

describe('pickNext', () => {
  it('waits the idle interval when nothing is queued', () => {
    expect(pickNext(none, T0, cfg, 0)).toEqual({ kind: 'wait', ms: 1_000 });
  });

  it('sends live classes by priority once they have lingered', () => {
    const v = views({ aggregate: { oldestLiveAt: T0 - 6_000 }, twin: { oldestLiveAt: T0 - 6_000 } });
    expect(pickNext(v, T0, cfg, 0)).toEqual({ kind: 'live', cls: 'twin', since: T0 - 120_000 });
    // An alert goes at once, ahead of everything.
    const withAlert = views({ alert: { oldestLiveAt: T0 }, twin: { oldestLiveAt: T0 - 6_000 } });
    expect(pickNext(withAlert, T0, cfg, 0)).toMatchObject({ kind: 'live', cls: 'alert' });
  });

  it('waits out the linger of a young class instead of sending a tiny event', () => {
    const v = views({ twin: { oldestLiveAt: T0 - 1_000 } });
    expect(pickNext(v, T0, cfg, 0)).toEqual({ kind: 'wait', ms: 1_000 });
    const w = views({ event: { oldestLiveAt: T0 - 1_500 } });
    expect(pickNext(w, T0, cfg, 0)).toEqual({ kind: 'wait', ms: 500 });
  });

  it('puts live data before the backlog, and drains the backlog only within its budget', () => {
    const v = views({
      aggregate: { oldestLiveAt: T0 - 10_000, hasBacklog: true },
      alert: { hasBacklog: true },
    });
    expect(pickNext(v, T0, cfg, 0)).toMatchObject({ kind: 'live', cls: 'aggregate' });
    const backlogOnly = views({ aggregate: { hasBacklog: true }, alert: { hasBacklog: true } });
    expect(pickNext(backlogOnly, T0, cfg, 0)).toEqual({ kind: 'backlog', cls: 'alert' });
    expect(pickNext(backlogOnly, T0, cfg, 250)).toEqual({ kind: 'wait', ms: 250 });
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter and stays within [base/2, max]', () => {
    const b = { baseMs: 500, maxMs: 60_000 };
    expect(backoffDelayMs(0, b, 0)).toBe(250);
    expect(backoffDelayMs(0, b, 1)).toBe(500);
    expect(backoffDelayMs(3, b, 1)).toBe(4_000);
    expect(backoffDelayMs(20, b, 1)).toBe(60_000);
    expect(backoffDelayMs(20, b, 0)).toBe(250);
    const spread = new Set([0.1, 0.5, 0.9].map((r) => backoffDelayMs(5, b, r)));
    expect(spread.size).toBe(3);
  });
});

describe('DrainBudget', () => {
  it('lets one event through, then makes the backlog wait for its bytes at the configured rate', () => {
    const budget = new DrainBudget(1_000_000, T0);
    expect(budget.waitMs(T0)).toBe(0);
    budget.spend(3_000_000, T0); // one big event may overdraw: 1 MB burst − 3 MB = −2 MB
    expect(budget.waitMs(T0)).toBe(2_001);
    expect(budget.waitMs(T0 + 2_001)).toBe(0);
  });

  it('is not put into debt by a clock stepped back', () => {
    const budget = new DrainBudget(1_000_000, T0);
    expect(budget.waitMs(T0 - 3_600_000)).toBe(0);
    budget.spend(500_000, T0 - 3_600_000);
    expect(budget.waitMs(T0 - 3_600_000)).toBe(0);
  });

  it('never waits when uncapped', () => {
    const budget = new DrainBudget(0, T0);
    budget.spend(1e12, T0);
    expect(budget.waitMs(T0)).toBe(0);
  });
});

describe('RateMeter and ETA', () => {
  it('averages over its window and forgets old samples', () => {
    const m = new RateMeter(10_000);
    m.add(100, T0);
    m.add(100, T0 + 4_000);
    expect(m.perSec(T0 + 4_000)).toBe(50);
    expect(m.perSec(T0 + 20_000)).toBe(0);
    expect(etaSeconds(1_000, 50)).toBe(20);
    expect(etaSeconds(0, 0)).toBe(0);
    expect(etaSeconds(10, 0)).toBeNull();
    // A lone send a minute ago does not water down a drain that just started.
    const meter = new RateMeter(60_000);
    meter.add(1, 0);
    meter.add(500, 58_000);
    meter.add(500, 59_000);
    expect(meter.perSec(59_000)).toBe(1000);
    expect(etaSeconds(10_000, meter.perSec(59_000))).toBe(10);
  });
});
