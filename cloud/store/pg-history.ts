/**
 * The PostgreSQL store's history side (SqliteHistory's counterpart, history.ts): events imported from a file,
 * deduplicated by event id and stored under the pseudo-gateway `import`, and the course catalogue. Same
 * statements (SQL.insertEvent, HISTORY_SQL) with `$n` placeholders; the rows become records the same way.
 *
 * An import is one transaction of set-based INSERTs (bulk): a row per round trip
 * would make a history file of a hundred thousand events take minutes on a networked database.
 */
import type pg from 'pg';
import type { StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import {
  type AssessmentDbRow,
  type CourseDbRow,
  courseParams,
  coursesFromRows,
  HISTORY_SQL,
  importEventParams,
} from './history.ts';
import { PG_INSERT_EVENT } from './pg-apply.ts';
import { bulk, pgConsistentRead, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import { SQL } from './sql.ts';

const SQLS = pgSql(HISTORY_SQL);

export class PgHistory {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** One transaction; returns how many were new (the rest had an event id already stored, or earlier in `events`). */
  async importEvents(events: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }> {
    const inserted = await pgTransaction(
      this.#pool,
      async (c) => (await bulk(c, PG_INSERT_EVENT, events.map(importEventParams)))?.rows.length ?? 0,
    );
    return { inserted, duplicates: events.length - inserted };
  }

  async upsertCourses(courses: readonly CourseRecord[]): Promise<void> {
    await pgTransaction(this.#pool, async (c) => {
      for (const course of courses) {
        const p = courseParams(course);
        await c.query(SQLS.upsertCourse, [...p.course]);
        for (const a of p.assessments) await c.query(SQLS.upsertAssessment, [...a]);
      }
    });
  }

  async courses(): Promise<CourseRecord[]> {
    // One snapshot for both reads: a concurrent upsert cannot give a course without its assessments.
    return pgConsistentRead(this.#pool, async (c) =>
      coursesFromRows(
        await pgRows<CourseDbRow & pg.QueryResultRow>(c, SQLS.courses),
        await pgRows<AssessmentDbRow & pg.QueryResultRow>(c, SQLS.assessments),
      ),
    );
  }
}
