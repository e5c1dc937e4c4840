/**
 * The PostgreSQL store's dropout-risk side (SqliteRiskReads' counterpart, risk-reads.ts): per-student
 * aggregates of a course's events at or before a cut-off, outcomes, trained models and scores. Same statements
 * (RISK_SQL) with `$n` placeholders; the rows become records through the same functions.
 */
import type pg from 'pg';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import { bulk, bulkSql, pgConsistentRead, pgNamed, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import {
  type EventCourseDbRow,
  eventCoursesFromRows,
  modelParams,
  type OutcomeDbRow,
  outcomesFromRows,
  ParsedModels,
  RISK_SQL,
  type RiskInputsDbRow,
  type RiskScoreDbRow,
  riskInputsFromRows,
  riskInputsParams,
  type SubmissionDbRow,
  scoreFromRow,
  scoreParams,
  scoresQuery,
} from './risk-reads.ts';
import type { RiskModelRecord, RiskScoreRow } from './types.ts';

const { inputs, submissions, outcomes, ...positional } = RISK_SQL;
const NAMED = { inputs: pgNamed(inputs), submissions: pgNamed(submissions), outcomes: pgNamed(outcomes) };
const SQLS = pgSql(positional);
const INSERT_SCORES = bulkSql(RISK_SQL.insertScore, [
  'text',
  'text',
  'text',
  'float8',
  'integer',
  'text',
  'bigint',
]);

type Row<T> = T & pg.QueryResultRow;

export class PgRiskReads {
  readonly #pool: pg.Pool;
  readonly #models = new ParsedModels();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async riskInputs(courseId: string, startTs: number, cutTs: number): Promise<RiskInputs[]> {
    const p = riskInputsParams(courseId, startTs, cutTs);
    return pgConsistentRead(this.#pool, async (c) => {
      const subs = await pgRows<Row<SubmissionDbRow>>(
        c,
        NAMED.submissions.text,
        NAMED.submissions.values(p.submissions),
      );
      const rows = await pgRows<Row<RiskInputsDbRow>>(c, NAMED.inputs.text, NAMED.inputs.values(p.inputs));
      return riskInputsFromRows(courseId, rows, subs);
    });
  }

  async outcomes(courseId: string): Promise<Map<string, Outcome>> {
    return outcomesFromRows(
      await pgRows<Row<OutcomeDbRow>>(
        this.#pool,
        NAMED.outcomes.text,
        NAMED.outcomes.values({ course: courseId }),
      ),
    );
  }

  /** Every course with events, and the time of its first event (a start for courses the catalogue lacks). */
  async eventCourses(): Promise<{ courseId: string; firstTs: number }[]> {
    return eventCoursesFromRows(await pgRows<Row<EventCourseDbRow>>(this.#pool, SQLS.courses));
  }

  async saveModel(m: RiskModelRecord): Promise<void> {
    await this.#pool.query(SQLS.saveModel, [...modelParams(m)]);
  }

  /** Newest first; each body read and parsed once (ParsedModels). */
  async models(): Promise<RiskModelRecord[]> {
    const ids = (await pgRows<{ model_id: string }>(this.#pool, SQLS.modelIds)).map((r) => r.model_id);
    for (const id of this.#models.missing(ids)) {
      const [row] = await pgRows<{ body: string }>(this.#pool, SQLS.modelBody, [id]);
      if (!row) throw new Error(`risk model ${id} vanished`);
      this.#models.add(id, row.body);
    }
    return this.#models.list(ids);
  }

  /** Replaces a course's scores in one transaction. */
  async replaceScores(courseId: string, rows: readonly RiskScoreRow[]): Promise<void> {
    await pgTransaction(this.#pool, async (c) => {
      await c.query(SQLS.deleteScores, [courseId]);
      // Multi-row inserts, as an import's (a course may have thousands of enrolments).
      await bulk(c, INSERT_SCORES, rows.map(scoreParams));
    });
  }

  async scores(q: { studentId?: string; courseId?: string; top: number }): Promise<RiskScoreRow[]> {
    const { sql, params } = scoresQuery(q);
    return (await pgRows<Row<RiskScoreDbRow>>(this.#pool, SQLS[sql], params)).map(scoreFromRow);
  }
}
