/**
 * The SQLite store's snapshots: one IMMEDIATE transaction reads every room's state and every (student,
 * course)'s engagement as of the cut-off and writes them as rows that are never changed again. Enrolments
 * are aggregated in pages (keyset on the (actor_id, course_id, ts) index), so a campus with 100k enrolments
 * never holds them all in memory. Portable SQL: integer division for days, CASE inside aggregates.
 */
import type Database from 'better-sqlite3';
import { isoSeconds } from '../reporting/csv.ts';
import { engagementState, enrolmentSnapshotTs } from '../reporting/engagement.ts';
import { roomFacilityRisk } from '../reporting/facility-risk.ts';
import { openHoursMask, roomAnalytics } from '../reporting/room-analytics.ts';
import { roomSnapshots } from '../reporting/rooms.ts';
import { type EnrolmentRow, enrolmentPageSql, enrolmentParams, features } from './enrolments.ts';
import type { SqliteRoomPeriods } from './room-periods.ts';
import {
  type AnalyticsRow,
  DEFAULT_ANALYTICS,
  type SnapshotInfo,
  type SnapshotOptions,
  type SnapshotRow,
  type SnapshotTrigger,
} from './types.ts';

const PAGE = 2000;
/** Result ids are `/`-separated: a course id that is a URL is percent-encoded so the id splits cleanly. */
const enc = encodeURIComponent;
interface SnapshotDbRow {
  snapshot_id: string;
  cutoff_ts: number;
  created_at: number;
  trigger: string;
  rooms: number;
  enrolments: number;
  results: number;
  period_from: number;
}

function info(r: SnapshotDbRow): SnapshotInfo {
  return {
    snapshotId: r.snapshot_id,
    cutoffTs: r.cutoff_ts,
    createdAt: r.created_at,
    trigger: r.trigger as SnapshotTrigger,
    rooms: r.rooms,
    enrolments: r.enrolments,
    results: r.results,
    periodFrom: r.period_from,
  };
}

export class SqliteSnapshots {
  readonly #q;
  readonly #rooms: SqliteRoomPeriods;
  readonly #create: Database.Transaction<(opts: SnapshotOptions) => SnapshotInfo>;

  constructor(db: Database.Database, rooms: SqliteRoomPeriods) {
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      enrolmentPage: q(enrolmentPageSql(false)),
      idTaken: q('SELECT 1 AS x FROM snapshots WHERE snapshot_id = ?'),
      insertSnapshot: q(
        `INSERT INTO snapshots (snapshot_id, cutoff_ts, created_at, trigger, rooms, enrolments, results, period_from)
         VALUES (?,?,?,?,?,?,?,?)`,
      ),
      insertResult: q(
        `INSERT INTO analytics_results (snapshot_id, seq, result_id, metric, value, student_id, course_id,
           facility_id, computed_ts) VALUES (?,?,?,?,?,?,?,?,?)`,
      ),
      analytics: q(
        `SELECT seq, result_id, metric, value, student_id, course_id, facility_id, computed_ts FROM analytics_results
         WHERE snapshot_id = @id AND seq > @after AND (@metric IS NULL OR metric = @metric) ORDER BY seq LIMIT @limit`,
      ),
      insertRow: q(
        `INSERT INTO snapshot_rows (snapshot_id, seq, student_id, course_id, facility_id, snapshot_ts, state)
         VALUES (?,?,?,?,?,?,?)`,
      ),
      get: q('SELECT * FROM snapshots WHERE snapshot_id = ?'),
      list: q('SELECT * FROM snapshots ORDER BY snapshot_id DESC LIMIT ?'),
      listBefore: q('SELECT * FROM snapshots WHERE snapshot_id < ? ORDER BY snapshot_id DESC LIMIT ?'),
      rows: q(
        `SELECT seq, student_id, course_id, facility_id, snapshot_ts, state FROM snapshot_rows
         WHERE snapshot_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
    };
    this.#rooms = rooms;
    this.#create = db.transaction((opts) => this.#build(opts));
  }

  /** IMMEDIATE: the copy is consistent (no apply commits in between) and two builders never interleave. */
  create(opts: SnapshotOptions): SnapshotInfo {
    return this.#create.immediate(opts);
  }

  #build({ cutoffTs, now, trigger, analytics = DEFAULT_ANALYTICS }: SnapshotOptions): SnapshotInfo {
    const q = this.#q;
    const snapshotId = this.#freeId(isoSeconds(cutoffTs));
    let seq = 0;
    let resultSeq = 0;
    // One analytics row: its id is `<subject id>/<metric>`.
    const result = (
      subject: string,
      metric: string,
      value: number,
      s: string | null,
      c: string | null,
      f: string | null,
    ) => q.insertResult.run(snapshotId, resultSeq++, `${subject}/${metric}`, metric, value, s, c, f, now);
    const rooms = roomSnapshots(this.#rooms.keyStates(cutoffTs));
    for (const room of rooms) {
      q.insertRow.run(snapshotId, seq++, null, null, room.roomId, room.ts, JSON.stringify(room.state));
    }
    const periodFrom = cutoffTs - analytics.periodMs;
    const open = openHoursMask(periodFrom, cutoffTs, analytics.openHours, analytics.timeZone);
    for (const p of this.#rooms.periods(periodFrom, cutoffTs)) {
      const metrics = roomAnalytics(p, open);
      const risk = roomFacilityRisk(p, metrics);
      for (const m of [...metrics, { metric: 'facility_risk', value: risk.score }])
        result(`room/${enc(p.roomId)}`, m.metric, m.value, null, null, p.roomId);
    }
    let enrolments = 0;
    const params = { ...enrolmentParams(cutoffTs), actor: '', course: '', limit: PAGE };
    for (;;) {
      const page = q.enrolmentPage.all(params) as EnrolmentRow[];
      for (const r of page) {
        const f = features(r);
        const state = engagementState(f, cutoffTs);
        q.insertRow.run(
          snapshotId,
          seq++,
          f.studentId,
          f.courseId,
          null,
          enrolmentSnapshotTs(f, cutoffTs),
          JSON.stringify(state),
        );
        const id = `enrolment/${enc(f.studentId)}/${enc(f.courseId)}`;
        result(id, 'engagement_score', state.engagementScore, f.studentId, f.courseId, null);
        result(id, 'risk_flag', state.riskFlag, f.studentId, f.courseId, null);
      }
      enrolments += page.length;
      const last = page[page.length - 1];
      if (!last || page.length < PAGE) break;
      params.actor = last.actor_id;
      params.course = last.course_id;
    }
    q.insertSnapshot.run(snapshotId, cutoffTs, now, trigger, rooms.length, enrolments, resultSeq, periodFrom);
    return {
      snapshotId,
      cutoffTs,
      createdAt: now,
      trigger,
      rooms: rooms.length,
      enrolments,
      results: resultSeq,
      periodFrom,
    };
  }

  /** The cut-off's ISO time, or with `-1`, `-2`… when a snapshot with that cut-off exists. */
  #freeId(base: string): string {
    if (!this.#q.idTaken.get(base)) return base;
    for (let n = 1; ; n++) {
      const id = `${base}-${n}`;
      if (!this.#q.idTaken.get(id)) return id;
    }
  }

  list(limit: number, before?: string): SnapshotInfo[] {
    const rows = (
      before === undefined ? this.#q.list.all(limit) : this.#q.listBefore.all(before, limit)
    ) as SnapshotDbRow[];
    return rows.map(info);
  }

  get(snapshotId: string): SnapshotInfo | undefined {
    const r = this.#q.get.get(snapshotId) as SnapshotDbRow | undefined;
    return r ? info(r) : undefined;
  }

  analytics(snapshotId: string, afterSeq: number, limit: number, metric?: string): AnalyticsRow[] {
    return (
      this.#q.analytics.all({ id: snapshotId, after: afterSeq, limit, metric: metric ?? null }) as {
        seq: number;
        result_id: string;
        metric: string;
        value: number;
        student_id: string | null;
        course_id: string | null;
        facility_id: string | null;
        computed_ts: number;
      }[]
    ).map((r) => ({
      seq: r.seq,
      resultId: r.result_id,
      metric: r.metric,
      value: r.value,
      computedTs: r.computed_ts,
      studentId: r.student_id,
      courseId: r.course_id,
      facilityId: r.facility_id,
    }));
  }

  rows(snapshotId: string, afterSeq: number, limit: number): SnapshotRow[] {
    return (
      this.#q.rows.all(snapshotId, afterSeq, limit) as {
        seq: number;
        student_id: string | null;
        course_id: string | null;
        facility_id: string | null;
        snapshot_ts: number;
        state: string;
      }[]
    ).map((r) => ({
      seq: r.seq,
      studentId: r.student_id,
      courseId: r.course_id,
      facilityId: r.facility_id,
      snapshotTs: r.snapshot_ts,
      state: r.state,
    }));
  }
}
