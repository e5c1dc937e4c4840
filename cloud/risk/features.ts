/**
 * Dropout-risk features of one student in one course as of a cut-off day, from learning and admin events
 * only. Pure. What the store hands in (`RiskInputs`) is aggregated over events at or before the cut-off;
 * outcomes (withdrawn / completed) come in separately and are only ever used as labels, so no feature can
 * see the label or anything after the cut-off (a test shuffles post-cut-off events to prove it).
 */

export const DAY_MS = 86_400_000;

/** Aggregates of one student's events in one course at or before the cut-off (store/risk-reads.ts). */
export interface RiskInputs {
  studentId: string;
  courseId: string;
  /** Learning actions (events weighted by their count), grades excluded. */
  clicks: number;
  clicksBeforeStart: number;
  /** Actions from the course start to the cut-off. */
  clicksSinceStart: number;
  clicksLast7: number;
  clicksPrev7: number;
  activeDays: number;
  activeDaysLast14: number;
  lastActivityTs: number | null;
  distinctResources: number;
  meanScore: number | null;
  graded: number;
  registeredTs: number | null;
  /** First submission time per assessment id (submissions at or before the cut-off). */
  submissions: ReadonlyMap<string, number>;
}

export interface CourseFrame {
  courseId: string;
  startTs: number;
  cutTs: number;
  /** Assessments with a due date. */
  assessments: readonly { assessmentId: string; dueTs: number }[];
}

export interface FeatureDef {
  name: string;
  /** What it measures, in words a tutor reads. */
  label: string;
  /** Shown with the value: how to print it. */
  unit: string;
}

export const FEATURES: readonly FeatureDef[] = [
  { name: 'log_clicks', label: 'learning activity so far', unit: 'actions' },
  { name: 'log_clicks_before_start', label: 'activity before the course started', unit: 'actions' },
  { name: 'log_clicks_last7', label: 'activity in the last 7 days', unit: 'actions' },
  { name: 'trend', label: 'last week against the week before', unit: 'log ratio' },
  { name: 'log_active_days', label: 'days with any activity', unit: 'days' },
  { name: 'active_days_last14', label: 'active days in the last 14', unit: 'days' },
  { name: 'days_since_last', label: 'days since the last activity', unit: 'days' },
  { name: 'no_activity', label: 'no activity at all', unit: 'yes/no' },
  { name: 'submissions_on_time', label: 'assessments submitted on time', unit: 'assessments' },
  { name: 'submissions_late', label: 'assessments submitted late', unit: 'assessments' },
  { name: 'submissions_missing', label: 'assessments due and not submitted', unit: 'assessments' },
  { name: 'mean_score', label: 'mean assessment score', unit: '%' },
  { name: 'has_grade', label: 'has any grade yet', unit: 'yes/no' },
  { name: 'registration_lead_days', label: 'days registered before the start', unit: 'days' },
  { name: 'log_clicks_since_start', label: 'activity since the course started', unit: 'actions' },
  { name: 'rel_clicks', label: 'activity against the course median', unit: 'log ratio' },
  { name: 'rel_clicks_last7', label: 'last 7 days against the course median', unit: 'log ratio' },
  { name: 'rel_active_days', label: 'active days against the course median', unit: 'log ratio' },
];

/**
 * What the whole cohort of a course did by the same cut-off (medians of log activity). Courses differ a lot
 * in how many clicks they ask for; activity relative to the cohort carries over from one course to another.
 * Computed from every student's inputs at the cut-off: no outcome, nothing after the cut-off.
 */
export interface Cohort {
  medianLogClicks: number;
  medianLogLast7: number;
  medianLogActiveDays: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function cohortOf(all: readonly RiskInputs[]): Cohort {
  return {
    medianLogClicks: median(all.map((r) => Math.log1p(r.clicks))),
    medianLogLast7: median(all.map((r) => Math.log1p(r.clicksLast7))),
    medianLogActiveDays: median(all.map((r) => Math.log1p(r.activeDays))),
  };
}

/** Days since the last activity are capped here (and used when there was none). */
const DAYS_SINCE_CAP = 60;

/** The submissions-against-due-dates counts for assessments due at or before the cut-off. */
export function submissionCounts(
  frame: CourseFrame,
  submissions: ReadonlyMap<string, number>,
): { onTime: number; late: number; missing: number } {
  let onTime = 0;
  let late = 0;
  let missing = 0;
  for (const a of frame.assessments) {
    if (a.dueTs > frame.cutTs) continue;
    const at = submissions.get(a.assessmentId);
    // Due dates are days: anything submitted by the end of the due day is on time.
    if (at === undefined) missing++;
    else if (at < a.dueTs + DAY_MS) onTime++;
    else late++;
  }
  return { onTime, late, missing };
}

/** The feature vector, in FEATURES order. */
export function featureVector(frame: CourseFrame, r: RiskInputs, cohort: Cohort): number[] {
  const s = submissionCounts(frame, r.submissions);
  const daysSince =
    r.lastActivityTs === null
      ? DAYS_SINCE_CAP
      : Math.min(DAYS_SINCE_CAP, Math.floor((frame.cutTs - r.lastActivityTs) / DAY_MS));
  const lead =
    r.registeredTs === null ? 0 : Math.max(-60, Math.min(365, (frame.startTs - r.registeredTs) / DAY_MS));
  return [
    Math.log1p(r.clicks),
    Math.log1p(r.clicksBeforeStart),
    Math.log1p(r.clicksLast7),
    Math.log1p(r.clicksLast7) - Math.log1p(r.clicksPrev7),
    Math.log1p(r.activeDays),
    r.activeDaysLast14,
    daysSince,
    r.lastActivityTs === null ? 1 : 0,
    s.onTime,
    s.late,
    s.missing,
    r.meanScore === null ? 0 : 100 * r.meanScore,
    r.graded > 0 ? 1 : 0,
    lead,
    Math.log1p(r.clicksSinceStart),
    Math.log1p(r.clicks) - cohort.medianLogClicks,
    Math.log1p(r.clicksLast7) - cohort.medianLogLast7,
    Math.log1p(r.activeDays) - cohort.medianLogActiveDays,
  ];
}

/** A feature's value as a person reads it (the raw count, not its logarithm). */
export function displayValue(name: string, x: number): number {
  const v = name.startsWith('log_') ? Math.expm1(x) : x;
  return Math.round(v * 10) / 10;
}

export interface Outcome {
  withdrawnTs: number | null;
  completedTs: number | null;
}

/** 1 = dropped out (withdrawn, the latest outcome), 0 = completed, null = not known yet. */
export function label(o: Outcome | undefined): 0 | 1 | null {
  if (!o) return null;
  if (o.withdrawnTs !== null && (o.completedTs === null || o.withdrawnTs > o.completedTs)) return 1;
  if (o.completedTs !== null) return 0;
  return null;
}
