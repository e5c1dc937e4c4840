/**
 * The SQLite store's dropout-risk side: per-student aggregates of one course's events at or before a cut-off
 * (features), outcomes (labels, from admin events at any time, kept apart), and trained models and scores.
 */
import type Database from 'better-sqlite3';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import type { RiskModelRecord, RiskScoreRow } from './types.ts';

const DAY = 86_400_000;
// Activity: every learning event but grades (a grade is the tutor's action, not the student's).
const L = "source <> 'admin' AND type <> 'assessment.graded'";

const INPUTS = `SELECT actor_id,
  SUM(CASE WHEN ${L} THEN count ELSE 0 END) AS clicks,
  SUM(CASE WHEN ${L} AND ts < @start THEN count ELSE 0 END) AS clicks_before,
  SUM(CASE WHEN ${L} AND ts >= @start THEN count ELSE 0 END) AS clicks_since,
  SUM(CASE WHEN ${L} AND ts > @cut - ${7 * DAY} THEN count ELSE 0 END) AS last7,
  SUM(CASE WHEN ${L} AND ts > @cut - ${14 * DAY} AND ts <= @cut - ${7 * DAY} THEN count ELSE 0 END) AS prev7,
  COUNT(DISTINCT CASE WHEN ${L} THEN ts / ${DAY} END) AS active_days,
  COUNT(DISTINCT CASE WHEN ${L} AND ts > @cut - ${14 * DAY} THEN ts / ${DAY} END) AS active14,
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

export class SqliteRiskReads {
  readonly #q;
  readonly #parsed = new Map<string, RiskModelRecord>();

  constructor(db: Database.Database) {
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      inputs: q(INPUTS),
      submissions: q(SUBMISSIONS),
      outcomes: q(OUTCOMES),
      courses: q(
        'SELECT course_id, MIN(ts) AS first_ts FROM events WHERE course_id IS NOT NULL GROUP BY course_id ORDER BY course_id',
      ),
      saveModel: q(
        `INSERT INTO risk_models (model_id, created_at, cutoff_day, body) VALUES (?,?,?,?)
         ON CONFLICT (model_id) DO NOTHING`,
      ),
      modelIds: q('SELECT model_id FROM risk_models ORDER BY created_at DESC, model_id').pluck(),
      modelBody: q('SELECT body FROM risk_models WHERE model_id = ?').pluck(),
      deleteScores: q('DELETE FROM risk_scores WHERE course_id = ?'),
      insertScore: q(
        `INSERT INTO risk_scores (course_id, student_id, model_id, probability, course_day, factors, computed_at)
         VALUES (?,?,?,?,?,?,?)`,
      ),
      studentScores: q('SELECT * FROM risk_scores WHERE student_id = ? ORDER BY course_id'),
      courseScores: q(
        'SELECT * FROM risk_scores WHERE course_id = ? ORDER BY probability DESC, student_id LIMIT ?',
      ),
      topScores: q('SELECT * FROM risk_scores ORDER BY probability DESC, course_id, student_id LIMIT ?'),
    };
    this.#replace = db.transaction((courseId: string, rows: readonly RiskScoreRow[]) => {
      this.#q.deleteScores.run(courseId);
      for (const r of rows)
        this.#q.insertScore.run(
          r.courseId,
          r.studentId,
          r.modelId,
          r.probability,
          r.courseDay,
          JSON.stringify(r.factors),
          r.computedAt,
        );
    });
  }

  readonly #replace: Database.Transaction<(courseId: string, rows: readonly RiskScoreRow[]) => void>;

  riskInputs(courseId: string, startTs: number, cutTs: number): RiskInputs[] {
    const subs = new Map<string, Map<string, number>>();
    for (const s of this.#q.submissions.all({ course: courseId, cut: cutTs }) as {
      actor_id: string;
      object_id: string;
      first_ts: number;
    }[]) {
      let m = subs.get(s.actor_id);
      if (!m) {
        m = new Map();
        subs.set(s.actor_id, m);
      }
      m.set(s.object_id, s.first_ts);
    }
    const rows = this.#q.inputs.all({ course: courseId, start: startTs, cut: cutTs }) as {
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
    }[];
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

  outcomes(courseId: string): Map<string, Outcome> {
    const rows = this.#q.outcomes.all({ course: courseId }) as {
      actor_id: string;
      withdrawn_ts: number | null;
      completed_ts: number | null;
    }[];
    return new Map(
      rows.map((r) => [r.actor_id, { withdrawnTs: r.withdrawn_ts, completedTs: r.completed_ts }]),
    );
  }

  /** Every course with events, and the time of its first event (a start for courses the catalogue lacks). */
  eventCourses(): { courseId: string; firstTs: number }[] {
    return (this.#q.courses.all() as { course_id: string; first_ts: number }[]).map((r) => ({
      courseId: r.course_id,
      firstTs: r.first_ts,
    }));
  }

  saveModel(m: RiskModelRecord): void {
    this.#q.saveModel.run(m.modelId, m.createdAt, m.cutoffDay, JSON.stringify(m));
  }

  /**
   * Newest first. A model row never changes once written (its id is a hash of its content), so each body
   * is parsed once: a prediction does not re-read a forest of trees from JSON.
   */
  models(): RiskModelRecord[] {
    return (this.#q.modelIds.all() as string[]).map((id) => {
      let m = this.#parsed.get(id);
      if (!m) {
        m = JSON.parse(this.#q.modelBody.get(id) as string) as RiskModelRecord;
        this.#parsed.set(id, m);
      }
      return m;
    });
  }

  /** Replaces a course's scores in one transaction. */
  replaceScores(courseId: string, rows: readonly RiskScoreRow[]): void {
    this.#replace.immediate(courseId, rows);
  }

  scores(q: { studentId?: string; courseId?: string; top: number }): RiskScoreRow[] {
    const rows = (
      q.studentId !== undefined
        ? this.#q.studentScores.all(q.studentId)
        : q.courseId !== undefined
          ? this.#q.courseScores.all(q.courseId, q.top)
          : this.#q.topScores.all(q.top)
    ) as {
      course_id: string;
      student_id: string;
      model_id: string;
      probability: number;
      course_day: number;
      factors: string;
      computed_at: number;
    }[];
    return rows.map((r) => ({
      courseId: r.course_id,
      studentId: r.student_id,
      modelId: r.model_id,
      probability: r.probability,
      courseDay: r.course_day,
      factors: JSON.parse(r.factors),
      computedAt: r.computed_at,
    }));
  }
}
