/**
 * The SQLite store's history side: events imported from a file (deduplicated by event id, like events that
 * arrive through Event Hubs, and stored under the pseudo-gateway `import`) and the course catalogue.
 */
import type Database from 'better-sqlite3';
import type { StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import { eventParams, SQL } from './sql.ts';

export const IMPORT_GATEWAY = 'import';

export class SqliteHistory {
  readonly #q;
  readonly #import: Database.Transaction<(events: readonly StoredEvent[]) => number>;
  readonly #courses: Database.Transaction<(courses: readonly CourseRecord[]) => void>;

  constructor(db: Database.Database) {
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      insertEvent: q(SQL.insertEvent),
      upsertCourse: q(
        `INSERT INTO courses (course_id, name, start_ts, end_ts) VALUES (?,?,?,?)
         ON CONFLICT (course_id) DO UPDATE SET name = excluded.name, start_ts = excluded.start_ts,
           end_ts = excluded.end_ts`,
      ),
      upsertAssessment: q(
        `INSERT INTO course_assessments (course_id, assessment_id, kind, due_ts, weight) VALUES (?,?,?,?,?)
         ON CONFLICT (course_id, assessment_id) DO UPDATE SET kind = excluded.kind, due_ts = excluded.due_ts,
           weight = excluded.weight`,
      ),
      courses: q('SELECT course_id, name, start_ts, end_ts FROM courses ORDER BY course_id'),
      assessments: q(
        'SELECT course_id, assessment_id, kind, due_ts, weight FROM course_assessments ORDER BY course_id, due_ts, assessment_id',
      ),
    };
    this.#import = db.transaction((events) => {
      let inserted = 0;
      for (const e of events) {
        inserted += this.#q.insertEvent.run(...eventParams(e, IMPORT_GATEWAY)).changes;
      }
      return inserted;
    });
    this.#courses = db.transaction((courses) => {
      for (const c of courses) {
        this.#q.upsertCourse.run(c.courseId, c.name, c.startTs, c.endTs);
        for (const a of c.assessments)
          this.#q.upsertAssessment.run(c.courseId, a.assessmentId, a.kind, a.dueTs, a.weight);
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
    const byCourse = new Map<string, CourseRecord>();
    for (const r of this.#q.courses.all() as {
      course_id: string;
      name: string | null;
      start_ts: number;
      end_ts: number | null;
    }[])
      byCourse.set(r.course_id, {
        courseId: r.course_id,
        name: r.name,
        startTs: r.start_ts,
        endTs: r.end_ts,
        assessments: [],
      });
    for (const a of this.#q.assessments.all() as {
      course_id: string;
      assessment_id: string;
      kind: string | null;
      due_ts: number | null;
      weight: number | null;
    }[])
      byCourse.get(a.course_id)?.assessments.push({
        assessmentId: a.assessment_id,
        kind: a.kind,
        dueTs: a.due_ts,
        weight: a.weight,
      });
    return [...byCourse.values()];
  }
}
