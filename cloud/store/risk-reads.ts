/**
 * The SQLite store's dropout-risk side: per-student aggregates of one course's events at or before a cut-off
 * (features), outcomes (labels, from admin events at any time, kept apart), and trained models and scores.
 * The statements (RISK_SQL) and what turns rows into records are shared with the PostgreSQL store
 * (pg-risk-reads.ts), which runs the same text with `$n` placeholders.
 */
import type Database from 'better-sqlite3';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import { prepareAll } from './sql.ts';
import type { RiskModelRecord, RiskScoreRow } from './types.ts';

const DAY = 86_400_000;
// Activity: every learning event but grades (a grade is the tutor's action, not the student's).
const L = "source <> 'admin' AND type <> 'assessment.graded'";

// Windows are written `ts + span > @cut`, not `ts > @cut - span`: with the parameter on its own,
// PostgreSQL types it from ts (BIGINT), not from the INTEGER literal (which an epoch-ms cut-off overflows).
const INPUTS = `SELECT actor_id,
  SUM(CASE WHEN ${L} THEN count ELSE 0 END) AS clicks,
  SUM(CASE WHEN ${L} AND ts < @start THEN count ELSE 0 END) AS clicks_before,
  SUM(CASE WHEN ${L} AND ts >= @start THEN count ELSE 0 END) AS clicks_since,
  SUM(CASE WHEN ${L} AND ts + ${7 * DAY} > @cut THEN count ELSE 0 END) AS last7,
  SUM(CASE WHEN ${L} AND ts + ${14 * DAY} > @cut AND ts + ${7 * DAY} <= @cut THEN count ELSE 0 END) AS prev7,
  COUNT(DISTINCT CASE WHEN ${L} THEN ts / ${DAY} END) AS active_days,
  COUNT(DISTINCT CASE WHEN ${L} AND ts + ${14 * DAY} > @cut THEN ts / ${DAY} END) AS active14,
  MAX(CASE WHEN ${L} THEN ts END) AS last_ts,
  COUNT(DISTINCT CASE WHEN ${L} THEN object_id END) AS resources,
  AVG(CASE WHEN type = 'assessment.graded' AND max_score > 0 THEN score / max_score END) AS mean_score,
  SUM(CASE WHEN type = 'assessment.graded' AND max_score > 0 THEN 1 ELSE 0 END) AS graded,
  MIN(CASE WHEN type = 'enrolment.created' THEN ts END) AS registered_ts
FROM events WHERE course_id = @course AND actor_id IS NOT NULL AND ts <= @cut
GROUP BY actor_id ORDER BY actor_id`;

const SUBMISSIONS = `SELECT actor_id, object_id, MIN(ts) AS first_ts FROM events
WHERE course_id = @course AND actor_id IS NOT NULL AND object_id IS NOT NULL AND ts <= @cut
  AND type IN ('assignment.submitted', 'assessment.submitted')
GROUP BY actor_id, object_id`;

const OUTCOMES = `SELECT actor_id,
  MAX(CASE WHEN type = 'enrolment.withdrawn' THEN ts END) AS withdrawn_ts,
  MAX(CASE WHEN type = 'enrolment.completed' THEN ts END) AS completed_ts
FROM events WHERE course_id = @course AND actor_id IS NOT NULL
  AND type IN ('enrolment.withdrawn', 'enrolment.completed')
GROUP BY actor_id`;

/** The risk statements: INPUTS, SUBMISSIONS and OUTCOMES with `@name` parameters, the rest with `?`. */
export const RISK_SQL = {
  inputs: INPUTS,
  submissions: SUBMISSIONS,
  outcomes: OUTCOMES,
  courses:
    'SELECT course_id, MIN(ts) AS first_ts FROM events WHERE course_id IS NOT NULL GROUP BY course_id ORDER BY course_id',
  saveModel: `INSERT INTO risk_models (model_id, created_at, cutoff_day, body) VALUES (?,?,?,?)
    ON CONFLICT (model_id) DO NOTHING`,
  modelIds: 'SELECT model_id FROM risk_models ORDER BY created_at DESC, model_id',
  modelBody: 'SELECT body FROM risk_models WHERE model_id = ?',
  deleteScores: 'DELETE FROM risk_scores WHERE course_id = ?',
  insertScore: `INSERT INTO risk_scores (course_id, student_id, model_id, probability, course_day, factors, computed_at)
    VALUES (?,?,?,?,?,?,?)`,
  studentScores: 'SELECT * FROM risk_scores WHERE student_id = ? ORDER BY course_id',
  courseScores: 'SELECT * FROM risk_scores WHERE course_id = ? ORDER BY probability DESC, student_id LIMIT ?',
  topScores: 'SELECT * FROM risk_scores ORDER BY probability DESC, course_id, student_id LIMIT ?',
} as const;

export interface RiskInputsDbRow {
  actor_id: string;
  clicks: number;
  clicks_before: number;
  clicks_since: number;
  last7: number;
  prev7: number;
  active_days: number;
  active14: number;
  last_ts: number | null;
  resources: number;
  mean_score: number | null;
  graded: number;
  registered_ts: number | null;
}

export interface SubmissionDbRow {
  actor_id: string;
  object_id: string;
  first_ts: number;
}

export interface OutcomeDbRow {
  actor_id: string;
  withdrawn_ts: number | null;
  completed_ts: number | null;
}

export interface EventCourseDbRow {
  course_id: string;
  first_ts: number;
}

export interface RiskScoreDbRow {
  course_id: string;
  student_id: string;
  model_id: string;
  probability: number;
  course_day: number;
  factors: string;
  computed_at: number;
}

/** The parameters of RISK_SQL.inputs (`inputs`) and RISK_SQL.submissions (`submissions`). */
export function riskInputsParams(courseId: string, startTs: number, cutTs: number) {
  return {
    inputs: { course: courseId, start: startTs, cut: cutTs },
    submissions: { course: courseId, cut: cutTs },
  };
}

/** One course's feature inputs from the rows of RISK_SQL.inputs and RISK_SQL.submissions. */
export function riskInputsFromRows(
  courseId: string,
  rows: readonly RiskInputsDbRow[],
  submissions: readonly SubmissionDbRow[],
): RiskInputs[] {
  const subs = new Map<string, Map<string, number>>();
  for (const s of submissions) {
    let m = subs.get(s.actor_id);
    if (!m) {
      m = new Map();
      subs.set(s.actor_id, m);
    }
    m.set(s.object_id, s.first_ts);
  }
  return rows.map((r) => ({
    studentId: r.actor_id,
    courseId,
    clicks: r.clicks,
    clicksBeforeStart: r.clicks_before,
    clicksSinceStart: r.clicks_since,
    clicksLast7: r.last7,
    clicksPrev7: r.prev7,
    activeDays: r.active_days,
    activeDaysLast14: r.active14,
    lastActivityTs: r.last_ts,
    distinctResources: r.resources,
    meanScore: r.mean_score,
    graded: r.graded,
    registeredTs: r.registered_ts,
    submissions: subs.get(r.actor_id) ?? new Map(),
  }));
}

export function outcomesFromRows(rows: readonly OutcomeDbRow[]): Map<string, Outcome> {
  return new Map(rows.map((r) => [r.actor_id, { withdrawnTs: r.withdrawn_ts, completedTs: r.completed_ts }]));
}

export function eventCoursesFromRows(
  rows: readonly EventCourseDbRow[],
): { courseId: string; firstTs: number }[] {
  return rows.map((r) => ({ courseId: r.course_id, firstTs: r.first_ts }));
}

/** The parameters of RISK_SQL.saveModel: the whole record is the body. */
export function modelParams(m: RiskModelRecord) {
  return [m.modelId, m.createdAt, m.cutoffDay, JSON.stringify(m)] as const;
}

/**
 * Parsed model bodies by id. A model row never changes once written (its id is a hash of its content), so
 * each body is parsed once: a prediction does not re-read a forest of trees from JSON.
 */
export class ParsedModels {
  readonly #parsed = new Map<string, RiskModelRecord>();

  /** The ids (of RISK_SQL.modelIds) whose body is still to be read (RISK_SQL.modelBody) and `add`ed. */
  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.#parsed.has(id));
  }

  add(id: string, body: string): void {
    this.#parsed.set(id, JSON.parse(body) as RiskModelRecord);
  }

  /** The models of `ids`, in that order (each added before). */
  list(ids: readonly string[]): RiskModelRecord[] {
    return ids.map((id) => {
      const m = this.#parsed.get(id);
      if (!m) throw new Error(`risk model ${id} not read`);
      return m;
    });
  }
}

/** The parameters of RISK_SQL.insertScore. */
export function scoreParams(r: RiskScoreRow) {
  return [
    r.courseId,
    r.studentId,
    r.modelId,
    r.probability,
    r.courseDay,
    JSON.stringify(r.factors),
    r.computedAt,
  ] as const;
}

/** Which statement answers a scores query, and its parameters: a student's, a course's top, or everyone's top. */
export function scoresQuery(q: { studentId?: string; courseId?: string; top: number }): {
  sql: 'studentScores' | 'courseScores' | 'topScores';
  params: readonly (string | number)[];
} {
  if (q.studentId !== undefined) return { sql: 'studentScores', params: [q.studentId] };
  if (q.courseId !== undefined) return { sql: 'courseScores', params: [q.courseId, q.top] };
  return { sql: 'topScores', params: [q.top] };
}

export function scoreFromRow(r: RiskScoreDbRow): RiskScoreRow {
  return {
    courseId: r.course_id,
    studentId: r.student_id,
    modelId: r.model_id,
    probability: r.probability,
    courseDay: r.course_day,
    factors: JSON.parse(r.factors),
    computedAt: r.computed_at,
  };
}

export class SqliteRiskReads {
  readonly #q: { [K in keyof typeof RISK_SQL]: Database.Statement };
  readonly #models = new ParsedModels();
  readonly #replace: Database.Transaction<(courseId: string, rows: readonly RiskScoreRow[]) => void>;

  constructor(db: Database.Database) {
    this.#q = prepareAll(db, RISK_SQL);
    this.#replace = db.transaction((courseId: string, rows: readonly RiskScoreRow[]) => {
      this.#q.deleteScores.run(courseId);
      for (const r of rows) this.#q.insertScore.run(...scoreParams(r));
    });
  }

  riskInputs(courseId: string, startTs: number, cutTs: number): RiskInputs[] {
    const p = riskInputsParams(courseId, startTs, cutTs);
    return riskInputsFromRows(
      courseId,
      this.#q.inputs.all(p.inputs) as RiskInputsDbRow[],
      this.#q.submissions.all(p.submissions) as SubmissionDbRow[],
    );
  }

  outcomes(courseId: string): Map<string, Outcome> {
    return outcomesFromRows(this.#q.outcomes.all({ course: courseId }) as OutcomeDbRow[]);
  }

  /** Every course with events, and the time of its first event (a start for courses the catalogue lacks). */
  eventCourses(): { courseId: string; firstTs: number }[] {
    return eventCoursesFromRows(this.#q.courses.all() as EventCourseDbRow[]);
  }

  saveModel(m: RiskModelRecord): void {
    this.#q.saveModel.run(...modelParams(m));
  }

  /** Newest first; each body parsed once (ParsedModels). */
  models(): RiskModelRecord[] {
    const ids = (this.#q.modelIds.all() as { model_id: string }[]).map((r) => r.model_id);
    for (const id of this.#models.missing(ids))
      this.#models.add(id, (this.#q.modelBody.get(id) as { body: string }).body);
    return this.#models.list(ids);
  }

  /** Replaces a course's scores in one transaction. */
  replaceScores(courseId: string, rows: readonly RiskScoreRow[]): void {
    this.#replace.immediate(courseId, rows);
  }

  scores(q: { studentId?: string; courseId?: string; top: number }): RiskScoreRow[] {
    const { sql, params } = scoresQuery(q);
    return (this.#q[sql].all(...params) as RiskScoreDbRow[]).map(scoreFromRow);
  }
}
