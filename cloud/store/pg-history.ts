/**
 * The PostgreSQL store's history side (SqliteHistory's counterpart, history.ts): events imported from a file,
 * deduplicated by event id and stored under the pseudo-gateway `import`, and the course catalogue. Same
 * statements (SQL.insertEvent, HISTORY_SQL) with `$n` placeholders; the rows become records the same way.
 *
 * An import is one transaction of multi-row INSERTs (IMPORT_CHUNK events a statement): a row per round trip
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
import { pgConsistentRead, pgPlaceholders, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import { SQL } from './sql.ts';

/** Events a statement: 13 parameters each, well under PostgreSQL's 65,535 a statement. */
export const IMPORT_CHUNK = 1000;

/** A single-row `INSERT … VALUES (?,…,?) …` as one inserting `rows` rows (the tuple repeated). */
export function multiRowInsert(sql: string, rows: number): string {
  const m = /VALUES\s*(\((?:\s*\?\s*,)*\s*\?\s*\))/i.exec(sql);
  if (!m || m.index === undefined) throw new Error('not a single-row INSERT … VALUES (?, …)');
  const tuple = m[1]!;
  const start = m.index + m[0].length - tuple.length;
  return `${sql.slice(0, start)}${Array.from({ length: rows }, () => tuple).join(',')}${sql.slice(start + tuple.length)}`;
}

const SQLS = pgSql(HISTORY_SQL);

export class PgHistory {
  readonly #pool: pg.Pool;
  /** Multi-row event inserts by row count (a full chunk, and the lengths of last chunks seen). */
  readonly #inserts = new Map<number, string>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  #insertEvents(rows: number): string {
    let text = this.#inserts.get(rows);
    if (!text) {
      text = pgPlaceholders(multiRowInsert(SQL.insertEvent, rows));
      if (this.#inserts.size > 16) this.#inserts.clear();
      this.#inserts.set(rows, text);
    }
    return text;
  }

  /** One transaction; returns how many were new (the rest had an event id already stored, or earlier in `events`). */
  async importEvents(events: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }> {
    const inserted = await pgTransaction(this.#pool, async (c) => {
      let n = 0;
      for (let i = 0; i < events.length; i += IMPORT_CHUNK) {
        const chunk = events.slice(i, i + IMPORT_CHUNK);
        const r = await c.query(this.#insertEvents(chunk.length), chunk.flatMap(importEventParams));
        n += r.rowCount ?? 0;
      }
      return n;
    });
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
