/**
 * Per (student, course) aggregates of learning and admin events as of a cut-off, in one portable GROUP BY
 * (integer division for days, CASE inside aggregates), and their mapping to `EnrolmentFeatures`. Shared by
 * snapshots (every enrolment, paged) and the live course report (one course).
 */
import { DAY_MS, type EnrolmentFeatures, WEEK_MS } from '../reporting/engagement.ts';

const LEARNING = "source <> 'admin'";

/**
 * Per (student, course), events at or before the cut-off, one page after the (actor, course) key;
 * `byCourse` restricts it to one course (@courseId). Shared by snapshots and the live course report.
 */
export function enrolmentPageSql(byCourse: boolean): string {
  return `SELECT actor_id, course_id,
  SUM(CASE WHEN ${LEARNING} THEN count ELSE 0 END) AS events,
  COUNT(DISTINCT CASE WHEN ${LEARNING} THEN ts / ${DAY_MS} END) AS active_days,
  COUNT(DISTINCT CASE WHEN ${LEARNING} AND ts > @c28 THEN ts / ${DAY_MS} END) AS active_days_28,
  MIN(CASE WHEN ${LEARNING} THEN ts END) AS first_ts,
  MAX(CASE WHEN ${LEARNING} THEN ts END) AS last_ts,
  SUM(CASE WHEN ${LEARNING} AND ts > @c7 THEN count ELSE 0 END) AS last7,
  SUM(CASE WHEN ${LEARNING} AND ts > @c14 AND ts <= @c7 THEN count ELSE 0 END) AS prev7,
  SUM(CASE WHEN type IN ('assignment.submitted', 'assessment.submitted') THEN 1 ELSE 0 END) AS submissions,
  COUNT(DISTINCT CASE WHEN ${LEARNING} THEN object_id END) AS resources,
  AVG(CASE WHEN type = 'assessment.graded' AND max_score > 0 THEN score / max_score END) AS mean_score,
  SUM(CASE WHEN type = 'assessment.graded' AND max_score > 0 THEN 1 ELSE 0 END) AS graded,
  MAX(CASE WHEN type = 'enrolment.created' THEN ts END) AS enrolled_ts,
  MAX(CASE WHEN type = 'enrolment.withdrawn' THEN ts END) AS withdrawn_ts,
  MAX(CASE WHEN type = 'enrolment.completed' THEN ts END) AS completed_ts
FROM events
WHERE actor_id IS NOT NULL AND course_id IS NOT NULL AND ts <= @cutoff
  ${byCourse ? 'AND course_id = @courseId AND actor_id > @actor' : 'AND (actor_id > @actor OR (actor_id = @actor AND course_id > @course))'}
GROUP BY actor_id, course_id ORDER BY actor_id, course_id LIMIT @limit`;
}

/** The cut-off parameters of enrolmentPageSql. */
export function enrolmentParams(cutoffTs: number) {
  return {
    cutoff: cutoffTs,
    c7: cutoffTs - WEEK_MS,
    c14: cutoffTs - 2 * WEEK_MS,
    c28: cutoffTs - 4 * WEEK_MS,
  };
}

export interface EnrolmentRow {
  actor_id: string;
  course_id: string;
  events: number;
  active_days: number;
  active_days_28: number;
  first_ts: number | null;
  last_ts: number | null;
  last7: number;
  prev7: number;
  submissions: number;
  resources: number;
  mean_score: number | null;
  graded: number;
  enrolled_ts: number | null;
  withdrawn_ts: number | null;
  completed_ts: number | null;
}

export function features(r: EnrolmentRow): EnrolmentFeatures {
  return {
    studentId: r.actor_id,
    courseId: r.course_id,
    events: r.events,
    activeDays: r.active_days,
    activeDaysLast28: r.active_days_28,
    firstTs: r.first_ts,
    lastTs: r.last_ts,
    eventsLast7: r.last7,
    eventsPrev7: r.prev7,
    submissions: r.submissions,
    distinctResources: r.resources,
    meanScoreRatio: r.mean_score,
    graded: r.graded,
    enrolledTs: r.enrolled_ts,
    withdrawnTs: r.withdrawn_ts,
    completedTs: r.completed_ts,
  };
}
