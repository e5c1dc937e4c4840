/**
 * The SQLite store's history side: events imported from a file (deduplicated by event id, like events that
 * arrive through Event Hubs, and stored under the pseudo-gateway `import`) and the course catalogue. The
 * statements (HISTORY_SQL, SQL.insertEvent) and what turns rows into records are shared with the PostgreSQL
 * store (pg-history.ts).
 */
import type Database from 'better-sqlite3';
import type { StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import { eventParams, SQL } from './sql.ts';

export const IMPORT_GATEWAY = 'import';

export const HISTORY_SQL = {
  upsertCourse: `INSERT INTO courses (course_id, name, start_ts, end_ts) VALUES (?,?,?,?)
    ON CONFLICT (course_id) DO UPDATE SET name = excluded.name, start_ts = excluded.start_ts,
      end_ts = excluded.end_ts`,
  upsertAssessment: `INSERT INTO course_assessments (course_id, assessment_id, kind, due_ts, weight) VALUES (?,?,?,?,?)
    ON CONFLICT (course_id, assessment_id) DO UPDATE SET kind = excluded.kind, due_ts = excluded.due_ts,
      weight = excluded.weight`,
  courses: 'SELECT course_id, name, start_ts, end_ts FROM courses ORDER BY course_id',
  // NULLS FIRST: SQLite's default order for NULL, spelled out so PostgreSQL (NULLS LAST) gives the same.
  assessments: `SELECT course_id, assessment_id, kind, due_ts, weight FROM course_assessments
    ORDER BY course_id, due_ts NULLS FIRST, assessment_id`,
} as const;

/** The parameters of SQL.insertEvent for an imported event. */
export const importEventParams = (e: StoredEvent) => eventParams(e, IMPORT_GATEWAY);

/** The parameters of HISTORY_SQL.upsertCourse (`course`) and HISTORY_SQL.upsertAssessment (`assessments`). */
export function courseParams(c: CourseRecord) {
  return {
    course: [c.courseId, c.name, c.startTs, c.endTs] as const,
    assessments: c.assessments.map((a) => [c.courseId, a.assessmentId, a.kind, a.dueTs, a.weight] as const),
  };
}

export interface CourseDbRow {
  course_id: string;
  name: string | null;
  start_ts: number;
  end_ts: number | null;
}

export interface AssessmentDbRow {
  course_id: string;
  assessment_id: string;
  kind: string | null;
  due_ts: number | null;
  weight: number | null;
}

/** The catalogue from the rows of HISTORY_SQL.courses and HISTORY_SQL.assessments. */
export function coursesFromRows(
  courses: readonly CourseDbRow[],
  assessments: readonly AssessmentDbRow[],
): CourseRecord[] {
  const byCourse = new Map<string, CourseRecord>();
  for (const r of courses)
    byCourse.set(r.course_id, {
      courseId: r.course_id,
      name: r.name,
      startTs: r.start_ts,
      endTs: r.end_ts,
      assessments: [],
    });
  for (const a of assessments)
    byCourse.get(a.course_id)?.assessments.push({
      assessmentId: a.assessment_id,
      kind: a.kind,
      dueTs: a.due_ts,
      weight: a.weight,
    });
  return [...byCourse.values()];
}

export class SqliteHistory {
  readonly #q;
  readonly #import: Database.Transaction<(events: readonly StoredEvent[]) => number>;
  readonly #courses: Database.Transaction<(courses: readonly CourseRecord[]) => void>;

  constructor(db: Database.Database) {
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      insertEvent: q(SQL.insertEvent),
      upsertCourse: q(HISTORY_SQL.upsertCourse),
      upsertAssessment: q(HISTORY_SQL.upsertAssessment),
      courses: q(HISTORY_SQL.courses),
      assessments: q(HISTORY_SQL.assessments),
    };
    this.#import = db.transaction((events) => {
      let inserted = 0;
      for (const e of events) inserted += this.#q.insertEvent.run(...importEventParams(e)).changes;
      return inserted;
    });
    this.#courses = db.transaction((courses) => {
      for (const c of courses) {
        const p = courseParams(c);
        this.#q.upsertCourse.run(...p.course);
        for (const a of p.assessments) this.#q.upsertAssessment.run(...a);
      }
    });
  }

  /** One transaction; returns how many were new (the rest had an event id already stored). */
  importEvents(events: readonly StoredEvent[]): { inserted: number; duplicates: number } {
    const inserted = this.#import.immediate(events);
    return { inserted, duplicates: events.length - inserted };
  }

  upsertCourses(courses: readonly CourseRecord[]): void {
    this.#courses.immediate(courses);
  }

  courses(): CourseRecord[] {
    return coursesFromRows(
      this.#q.courses.all() as CourseDbRow[],
      this.#q.assessments.all() as AssessmentDbRow[],
    );
  }
}
