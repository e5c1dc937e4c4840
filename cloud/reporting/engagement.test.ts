import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  type EnrolmentFeatures,
  engagementScore,
  engagementState,
  enrolmentSnapshotTs,
  enrolmentStatus,
} from './engagement.ts';

const C = 1_800_000_000_000;

function f(over: Partial<EnrolmentFeatures> = {}): EnrolmentFeatures {
  return {
    studentId: 'p_1',
    courseId: 'c1',
    events: 0,
    activeDays: 0,
    activeDaysLast28: 0,
    firstTs: null,
    lastTs: null,
    eventsLast7: 0,
    eventsPrev7: 0,
    submissions: 0,
    distinctResources: 0,
    meanScoreRatio: null,
    graded: 0,
    enrolledTs: null,
    withdrawnTs: null,
    completedTs: null,
    ...over,
  };
}

describe('engagement', () => {
  it('takes the latest enrolment mark as the status; a withdrawal wins a tie', () => {
    expect(enrolmentStatus(f())).toBe('unknown');
    expect(enrolmentStatus(f({ enrolledTs: 5 }))).toBe('enrolled');
    expect(enrolmentStatus(f({ enrolledTs: 5, withdrawnTs: 9 }))).toBe('withdrawn');
    expect(enrolmentStatus(f({ enrolledTs: 10, withdrawnTs: 9 }))).toBe('enrolled'); // re-enrolled
    expect(enrolmentStatus(f({ enrolledTs: 9, withdrawnTs: 9 }))).toBe('withdrawn');
    expect(enrolmentStatus(f({ enrolledTs: 1, completedTs: 9 }))).toBe('completed');
  });

  it('scores 100 for a regular, busy, steady student who submits every fortnight', () => {
    const full = f({
      enrolledTs: C - 28 * DAY_MS,
      activeDaysLast28: 12,
      eventsLast7: 20,
      eventsPrev7: 20,
      submissions: 2,
    });
    expect(engagementScore(full, C)).toBe(100);
    // Half the regularity costs 17.5 points; a week that halves costs 10 (trend) + 6.25 (volume).
    expect(engagementScore({ ...full, activeDaysLast28: 6 }, C)).toBe(83);
    expect(engagementScore({ ...full, eventsLast7: 10 }, C)).toBe(84);
    expect(engagementScore(f(), C)).toBe(0);
  });

  it('flags an enrolled student with no activity for 14 days, not one who withdrew or completed', () => {
    const quiet = f({
      enrolledTs: C - 60 * DAY_MS,
      events: 40,
      activeDays: 20,
      activeDaysLast28: 12,
      lastTs: C - 14 * DAY_MS,
      firstTs: C - 50 * DAY_MS,
    });
    expect(engagementState(quiet, C)).toMatchObject({
      daysSinceLastActivity: 14,
      riskFlag: 1,
      trend: 'none',
    });
    expect(engagementState({ ...quiet, lastTs: C - 13 * DAY_MS }, C).riskFlag).toBe(0);
    expect(engagementState({ ...quiet, withdrawnTs: C - DAY_MS }, C).riskFlag).toBe(0);
    expect(engagementState({ ...quiet, completedTs: C - DAY_MS }, C).riskFlag).toBe(0);
  });

  it('calls a change within a quarter of the previous week steady', () => {
    const t = (last7: number, prev7: number) =>
      engagementState(f({ eventsLast7: last7, eventsPrev7: prev7 }), C).trend;
    expect([t(0, 0), t(1, 0), t(2, 0), t(10, 8), t(11, 8), t(6, 8), t(5, 8)]).toEqual([
      'none',
      'steady',
      'rising',
      'steady',
      'rising',
      'steady',
      'falling',
    ]);
  });

  it('dates a row by the last thing known about the enrolment', () => {
    expect(enrolmentSnapshotTs(f(), C)).toBe(C);
    expect(enrolmentSnapshotTs(f({ enrolledTs: 3, lastTs: 7, withdrawnTs: 5 }), C)).toBe(7);
  });
});
