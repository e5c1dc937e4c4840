import { describe, expect, it } from 'vitest';
import { activity, DEFAULT_COHORT, type LmsCohort, statementsBetween } from './lms.ts';

const DAY = 86_400_000;
const TERM = Date.UTC(2026, 8, 7); // a Monday
const cohort: LmsCohort = { ...DEFAULT_COHORT, termStart: TERM, students: 50, perHour: 1 };
const actorOf = (s: Record<string, unknown>) => (s.actor as { account: { name: string } }).account.name;

describe('simulated LMS cohort', () => {
  it('is deterministic, with stable unique ids, only on weekdays 08-22 UTC', () => {
    const week = statementsBetween(cohort, TERM, TERM + 7 * DAY);
    expect(statementsBetween(cohort, TERM, TERM + 7 * DAY)).toEqual(week);
    expect(new Set(week.map((s) => s.id)).size).toBe(week.length);
    for (const s of week) {
      const d = new Date(String(s.timestamp));
      expect(d.getUTCDay()).toBeGreaterThanOrEqual(1);
      expect(d.getUTCDay()).toBeLessThanOrEqual(5);
      expect(d.getUTCHours()).toBeGreaterThanOrEqual(8);
      expect(d.getUTCHours()).toBeLessThan(22);
      expect(String(s.id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // Splitting the span does not change what is sent (a live simulator posts it interval by interval).
    const split = [
      ...statementsBetween(cohort, TERM, TERM + 3.3 * DAY),
      ...statementsBetween(cohort, TERM + 3.3 * DAY, TERM + 7 * DAY),
    ];
    expect(split).toEqual(week);
    expect(week.length).toBeGreaterThan(50 * 5 * 14 * 0.5);
    expect(statementsBetween({ ...cohort, seed: 'other' }, TERM, TERM + DAY)).not.toEqual(
      statementsBetween(cohort, TERM, TERM + DAY),
    );
  });

  it('lets a share of the students fall silent after disengageAfterDays, the rest carry on', () => {
    const disengaging = Array.from({ length: cohort.students }, (_, s) => s).filter(
      (s) => activity(cohort, s, TERM + 30 * DAY) === 0,
    );
    expect(disengaging.length).toBeGreaterThan(cohort.students * 0.1);
    expect(disengaging.length).toBeLessThan(cohort.students * 0.35);
    const early = statementsBetween(cohort, TERM, TERM + 14 * DAY).map(actorOf);
    const late = new Set(statementsBetween(cohort, TERM + 21 * DAY, TERM + 28 * DAY).map(actorOf));
    for (const s of disengaging) {
      expect(early).toContain(`student-${s}`);
      expect(late.has(`student-${s}`)).toBe(false);
    }
    expect(late.size).toBeGreaterThan(cohort.students - disengaging.length - 3);
  });
});
