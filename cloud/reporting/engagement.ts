/**
 * A student's engagement in one course as of a cut-off, from the learning and admin events the cloud holds.
 * Pure: the store aggregates events per (student, course) into `EnrolmentFeatures` (one SQL GROUP BY, see
 * store/snapshots.ts); this module turns them into the state a snapshot keeps and the score analytics
 * reports. The score is defined here once, in words and code (docs in cloud/README.md "Engagement").
 */

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** What the store aggregates per (student, course) over events with ts ≤ cut-off. */
export interface EnrolmentFeatures {
  studentId: string;
  courseId: string;
  /** Learning events (every source but admin). */
  events: number;
  activeDays: number;
  /** Distinct days with a learning event in the 28 days to the cut-off. */
  activeDaysLast28: number;
  firstTs: number | null;
  lastTs: number | null;
  /** Learning events in the 7 days to the cut-off, and in the 7 days before those. */
  eventsLast7: number;
  eventsPrev7: number;
  submissions: number;
  distinctResources: number;
  /** Mean of score / maxScore over graded assessments (null when none). */
  meanScoreRatio: number | null;
  graded: number;
  /** Latest admin enrolment events. */
  enrolledTs: number | null;
  withdrawnTs: number | null;
  completedTs: number | null;
}

export type EnrolmentStatus = 'enrolled' | 'withdrawn' | 'completed' | 'unknown';

/** What a snapshot row keeps for a (student, course) (its `state` column, as JSON). */
export interface EngagementState {
  status: EnrolmentStatus;
  events: number;
  activeDays: number;
  activeDaysLast28: number;
  distinctResources: number;
  submissions: number;
  graded: number;
  /** Mean assessment score in percent, one decimal (null when nothing graded). */
  meanScorePct: number | null;
  firstActivityTs: number | null;
  lastActivityTs: number | null;
  /** Whole days from the last learning event to the cut-off (null with no activity). */
  daysSinceLastActivity: number | null;
  eventsLast7Days: number;
  eventsPrev7Days: number;
  /** Learning events per week since the start (enrolment or first activity), at least one week. */
  eventsPerWeek: number;
  trend: 'rising' | 'steady' | 'falling' | 'none';
  /** 0–100, see `engagementScore`. */
  engagementScore: number;
  /** 1 when the student is still enrolled but disengaged: score < 25 or no activity for 14 days. */
  riskFlag: 0 | 1;
}

/** The latest of enrolment, withdrawal and completion decides; none of them is 'unknown'. */
export function enrolmentStatus(
  f: Pick<EnrolmentFeatures, 'enrolledTs' | 'withdrawnTs' | 'completedTs'>,
): EnrolmentStatus {
  const marks: [EnrolmentStatus, number | null][] = [
    ['enrolled', f.enrolledTs],
    ['completed', f.completedTs],
    ['withdrawn', f.withdrawnTs],
  ];
  let best: EnrolmentStatus = 'unknown';
  let bestTs = -Infinity;
  // Ties go to the later entry in `marks` (a withdrawal stamped with its enrolment's time still counts).
  for (const [status, ts] of marks) {
    if (ts !== null && ts >= bestTs) {
      best = status;
      bestTs = ts;
    }
  }
  return best;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * Engagement score, 0–100, as of the cut-off. Four parts, each 0…1:
 * - regularity (35 %): distinct active days in the last 28 days, full at 12 (three days a week);
 * - volume (25 %): learning events per week over the last 14 days, full at 20;
 * - trend (20 %): the last 7 days against the 7 before: 1 when not falling, else their ratio
 *   (a student with no activity in either week scores 0 here);
 * - submissions (20 %): submissions against one per fortnight since the start, full at that pace.
 */
export function engagementScore(f: EnrolmentFeatures, cutoffTs: number): number {
  const regularity = clamp01(f.activeDaysLast28 / 12);
  const volume = clamp01((f.eventsLast7 + f.eventsPrev7) / 2 / 20);
  let trend = 0;
  if (f.eventsLast7 + f.eventsPrev7 > 0)
    trend = f.eventsLast7 >= f.eventsPrev7 ? 1 : f.eventsLast7 / f.eventsPrev7;
  const fortnights = Math.max(1, weeksSinceStart(f, cutoffTs) / 2);
  const submissions = clamp01(f.submissions / fortnights);
  return Math.round(100 * (0.35 * regularity + 0.25 * volume + 0.2 * trend + 0.2 * submissions));
}

/** Weeks from enrolment (or first activity) to the cut-off, at least 1. */
function weeksSinceStart(f: EnrolmentFeatures, cutoffTs: number): number {
  const starts = [f.enrolledTs, f.firstTs].filter((t): t is number => t !== null);
  if (starts.length === 0) return 1;
  return Math.max(1, (cutoffTs - Math.min(...starts)) / WEEK_MS);
}

function trendOf(last7: number, prev7: number): EngagementState['trend'] {
  if (last7 === 0 && prev7 === 0) return 'none';
  // Within a quarter of the previous week (or one event) counts as steady.
  const band = Math.max(1, prev7 * 0.25);
  if (last7 > prev7 + band) return 'rising';
  if (last7 < prev7 - band) return 'falling';
  return 'steady';
}

export function engagementState(f: EnrolmentFeatures, cutoffTs: number): EngagementState {
  const status = enrolmentStatus(f);
  const score = engagementScore(f, cutoffTs);
  const daysSince = f.lastTs === null ? null : Math.floor((cutoffTs - f.lastTs) / DAY_MS);
  const stillEnrolled = status === 'enrolled' || status === 'unknown';
  const disengaged = score < 25 || daysSince === null || daysSince >= 14;
  return {
    status,
    events: f.events,
    activeDays: f.activeDays,
    activeDaysLast28: f.activeDaysLast28,
    distinctResources: f.distinctResources,
    submissions: f.submissions,
    graded: f.graded,
    meanScorePct: f.meanScoreRatio === null ? null : round1(100 * f.meanScoreRatio),
    firstActivityTs: f.firstTs,
    lastActivityTs: f.lastTs,
    daysSinceLastActivity: daysSince,
    eventsLast7Days: f.eventsLast7,
    eventsPrev7Days: f.eventsPrev7,
    eventsPerWeek: round1(f.events / weeksSinceStart(f, cutoffTs)),
    trend: trendOf(f.eventsLast7, f.eventsPrev7),
    engagementScore: score,
    riskFlag: stillEnrolled && disengaged ? 1 : 0,
  };
}

/** The row's time in a snapshot: the last thing known about the enrolment at the cut-off. */
export function enrolmentSnapshotTs(f: EnrolmentFeatures, cutoffTs: number): number {
  const ts = [f.lastTs, f.enrolledTs, f.withdrawnTs, f.completedTs].filter((t): t is number => t !== null);
  return ts.length === 0 ? cutoffTs : Math.max(...ts);
}
