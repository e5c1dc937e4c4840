/**
 * The SQLite store's snapshots: one IMMEDIATE transaction reads every room's state and every (student,
 * course)'s engagement as of the cut-off and writes them as rows that are never changed again. Enrolments
 * are aggregated in pages (keyset on the (actor_id, course_id, ts) index), so a campus with 100k enrolments
 * never holds them all in memory. Portable SQL: integer division for days, CASE inside aggregates.
 *
 * What a snapshot is made of the rows read (SnapshotBuilder), the statements (SNAPSHOT_SQL) and the mapping
 * of the rows read back are shared with the PostgreSQL store (pg-snapshots.ts).
 */
import type Database from 'better-sqlite3';
import { isoSeconds } from '../reporting/csv.ts';
import { engagementState, enrolmentSnapshotTs } from '../reporting/engagement.ts';
import { roomFacilityRisk } from '../reporting/facility-risk.ts';
import { openHoursMask, type RoomPeriod, roomAnalytics } from '../reporting/room-analytics.ts';
import { facilityIds, type RoomKeyState, roomSnapshots } from '../reporting/rooms.ts';
import { type EnrolmentRow, enrolmentPageSql, enrolmentParams, features } from './enrolments.ts';
import type { SqliteRoomPeriods } from './room-periods.ts';
import { prepareAll } from './sql.ts';
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

/**
 * The snapshot statements: `?` placeholders, except `analytics` and `enrolmentPage` (`@name`). Their
 * parameters: insertSnapshot `snapshotParams`, insertRow and insertResult SnapshotBuilder's writes,
 * analytics `analyticsParams`, enrolmentPage SnapshotBuilder's `page`.
 */
export const SNAPSHOT_SQL = {
  idTaken: 'SELECT 1 AS x FROM snapshots WHERE snapshot_id = ?',
  insertSnapshot: `INSERT INTO snapshots (snapshot_id, cutoff_ts, created_at, trigger, rooms, enrolments, results, period_from)
         VALUES (?,?,?,?,?,?,?,?)`,
  insertResult: `INSERT INTO analytics_results (snapshot_id, seq, result_id, metric, value, student_id, course_id,
           facility_id, computed_ts) VALUES (?,?,?,?,?,?,?,?,?)`,
  insertRow: `INSERT INTO snapshot_rows (snapshot_id, seq, student_id, course_id, facility_id, snapshot_ts, state)
         VALUES (?,?,?,?,?,?,?)`,
  get: 'SELECT * FROM snapshots WHERE snapshot_id = ?',
  list: 'SELECT * FROM snapshots ORDER BY snapshot_id DESC LIMIT ?',
  listBefore: 'SELECT * FROM snapshots WHERE snapshot_id < ? ORDER BY snapshot_id DESC LIMIT ?',
  rows: `SELECT seq, student_id, course_id, facility_id, snapshot_ts, state FROM snapshot_rows
         WHERE snapshot_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
} as const;

/** Named (`@id`, `@after`, `@metric`, `@limit`): see analyticsParams. The CAST types a NULL @metric for PostgreSQL. */
export const ANALYTICS_SQL = `SELECT seq, result_id, metric, value, student_id, course_id, facility_id, computed_ts FROM analytics_results
         WHERE snapshot_id = @id AND seq > @after AND (CAST(@metric AS TEXT) IS NULL OR metric = @metric) ORDER BY seq LIMIT @limit`;

/** Every enrolment, one page after the (actor, course) key: SnapshotBuilder's `page` are its parameters. */
export const ENROLMENT_PAGE_SQL = enrolmentPageSql(false);

export interface SnapshotDbRow {
  snapshot_id: string;
  cutoff_ts: number;
  created_at: number;
  trigger: string;
  rooms: number;
  enrolments: number;
  results: number;
  period_from: number;
}

export function snapshotInfoOf(r: SnapshotDbRow): SnapshotInfo {
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

/** insertSnapshot's parameters. */
export function snapshotParams(i: SnapshotInfo): unknown[] {
  return [i.snapshotId, i.cutoffTs, i.createdAt, i.trigger, i.rooms, i.enrolments, i.results, i.periodFrom];
}

export interface AnalyticsDbRow {
  seq: number;
  result_id: string;
  metric: string;
  value: number;
  student_id: string | null;
  course_id: string | null;
  facility_id: string | null;
  computed_ts: number;
}

export function analyticsParams(snapshotId: string, afterSeq: number, limit: number, metric?: string) {
  return { id: snapshotId, after: afterSeq, limit, metric: metric ?? null };
}

export function analyticsRowOf(r: AnalyticsDbRow): AnalyticsRow {
  return {
    seq: r.seq,
    resultId: r.result_id,
    metric: r.metric,
    value: r.value,
    computedTs: r.computed_ts,
    studentId: r.student_id,
    courseId: r.course_id,
    facilityId: r.facility_id,
  };
}

export interface SnapshotRowDbRow {
  seq: number;
  student_id: string | null;
  course_id: string | null;
  facility_id: string | null;
  snapshot_ts: number;
  state: string;
}

export function snapshotRowOf(r: SnapshotRowDbRow): SnapshotRow {
  return {
    seq: r.seq,
    studentId: r.student_id,
    courseId: r.course_id,
    facilityId: r.facility_id,
    snapshotTs: r.snapshot_ts,
    state: r.state,
  };
}

/** The ids a snapshot with this cut-off may get, in order: its ISO time, then with `-1`, `-2`… */
export function* snapshotIds(cutoffTs: number): Generator<string> {
  const base = isoSeconds(cutoffTs);
  yield base;
  for (let n = 1; ; n++) yield `${base}-${n}`;
}

/** Rows to insert: insertRow's and insertResult's parameters, in seq order. */
export interface SnapshotWrites {
  rows: unknown[][];
  results: unknown[][];
}

/**
 * One snapshot's content, made of what the store reads inside its transaction, in this order: `rooms`
 * (every key's state at the cut-off), `periods` (the room periods of [periodFrom, cutoffTs)), then
 * `enrolments` for each page read with `page` while it is defined. Each returns the rows to insert;
 * `info()` is the snapshot row, written last.
 */
export class SnapshotBuilder {
  readonly snapshotId: string;
  readonly cutoffTs: number;
  readonly periodFrom: number;
  /** The next enrolment page's parameters (ENROLMENT_PAGE_SQL); undefined once the last page was read. */
  page: (ReturnType<typeof enrolmentParams> & { actor: string; course: string; limit: number }) | undefined;
  readonly #opts: Required<SnapshotOptions>;
  #seq = 0;
  #resultSeq = 0;
  #rooms = 0;
  #enrolments = 0;

  constructor(snapshotId: string, opts: SnapshotOptions) {
    this.snapshotId = snapshotId;
    this.#opts = { ...opts, analytics: opts.analytics ?? DEFAULT_ANALYTICS };
    this.cutoffTs = opts.cutoffTs;
    this.periodFrom = opts.cutoffTs - this.#opts.analytics.periodMs;
    this.page = { ...enrolmentParams(opts.cutoffTs), actor: '', course: '', limit: PAGE };
  }

  /** One analytics row: its id is `<subject id>/<metric>`. */
  #result(
    subject: string,
    metric: string,
    value: number,
    s: string | null,
    c: string | null,
    f: string | null,
  ) {
    return [
      this.snapshotId,
      this.#resultSeq++,
      `${subject}/${metric}`,
      metric,
      value,
      s,
      c,
      f,
      this.#opts.now,
    ];
  }

  /**
   * Every room's state at the cut-off (`keyStates`: one row each) and its analytics and facility risk over
   * the period (`periods`). A room's facility id is its room id, or `<campus>/<room id>` for a room id that
   * more than one campus has in this snapshot; its state row says its campus (null: none named).
   */
  facilities(keyStates: readonly RoomKeyState[], periods: readonly RoomPeriod[]): SnapshotWrites {
    const rooms = roomSnapshots(keyStates);
    const facilityId = facilityIds([...rooms, ...periods]);
    this.#rooms += rooms.length;
    const rows = rooms.map((room) => [
      this.snapshotId,
      this.#seq++,
      null,
      null,
      facilityId(room),
      room.ts,
      JSON.stringify({ campusId: room.campusId || null, ...room.state }),
    ]);
    const { analytics } = this.#opts;
    const open = openHoursMask(this.periodFrom, this.cutoffTs, analytics.openHours, analytics.timeZone);
    const results: unknown[][] = [];
    for (const p of periods) {
      const metrics = roomAnalytics(p, open);
      const risk = roomFacilityRisk(p, metrics);
      const f = facilityId(p);
      for (const m of [...metrics, { metric: 'facility_risk', value: risk.score }])
        results.push(this.#result(`room/${enc(f)}`, m.metric, m.value, null, null, f));
    }
    return { rows, results };
  }

  /** One page of enrolments (read with `page`): a row and two results each; moves `page` on. */
  enrolments(page: readonly EnrolmentRow[]): SnapshotWrites {
    const { cutoffTs } = this;
    const out: SnapshotWrites = { rows: [], results: [] };
    for (const r of page) {
      const f = features(r);
      const state = engagementState(f, cutoffTs);
      out.rows.push([
        this.snapshotId,
        this.#seq++,
        f.studentId,
        f.courseId,
        null,
        enrolmentSnapshotTs(f, cutoffTs),
        JSON.stringify(state),
      ]);
      const id = `enrolment/${enc(f.studentId)}/${enc(f.courseId)}`;
      out.results.push(
        this.#result(id, 'engagement_score', state.engagementScore, f.studentId, f.courseId, null),
      );
      out.results.push(this.#result(id, 'risk_flag', state.riskFlag, f.studentId, f.courseId, null));
    }
    this.#enrolments += page.length;
    const last = page[page.length - 1];
    this.page =
      !this.page || !last || page.length < PAGE
        ? undefined
        : { ...this.page, actor: last.actor_id, course: last.course_id };
    return out;
  }

  info(): SnapshotInfo {
    return {
      snapshotId: this.snapshotId,
      cutoffTs: this.cutoffTs,
      createdAt: this.#opts.now,
      trigger: this.#opts.trigger,
      rooms: this.#rooms,
      enrolments: this.#enrolments,
      results: this.#resultSeq,
      periodFrom: this.periodFrom,
    };
  }
}

export class SqliteSnapshots {
  readonly #q;
  readonly #rooms: SqliteRoomPeriods;
  readonly #create: Database.Transaction<(opts: SnapshotOptions) => SnapshotInfo>;

  constructor(db: Database.Database, rooms: SqliteRoomPeriods) {
    this.#q = prepareAll(db, {
      ...SNAPSHOT_SQL,
      enrolmentPage: ENROLMENT_PAGE_SQL,
      analytics: ANALYTICS_SQL,
    });
    this.#rooms = rooms;
    this.#create = db.transaction((opts) => this.#build(opts));
  }

  /** IMMEDIATE: the copy is consistent (no apply commits in between) and two builders never interleave. */
  create(opts: SnapshotOptions): SnapshotInfo {
    return this.#create.immediate(opts);
  }

  #build(opts: SnapshotOptions): SnapshotInfo {
    const q = this.#q;
    const write = (w: SnapshotWrites) => {
      for (const r of w.rows) q.insertRow.run(...r);
      for (const r of w.results) q.insertResult.run(...r);
    };
    let snapshotId = '';
    for (snapshotId of snapshotIds(opts.cutoffTs)) if (!q.idTaken.get(snapshotId)) break;
    const b = new SnapshotBuilder(snapshotId, opts);
    write(b.facilities(this.#rooms.keyStates(b.cutoffTs), this.#rooms.periods(b.periodFrom, b.cutoffTs)));
    while (b.page) write(b.enrolments(q.enrolmentPage.all(b.page) as EnrolmentRow[]));
    const info = b.info();
    q.insertSnapshot.run(...snapshotParams(info));
    return info;
  }

  list(limit: number, before?: string): SnapshotInfo[] {
    const rows = (
      before === undefined ? this.#q.list.all(limit) : this.#q.listBefore.all(before, limit)
    ) as SnapshotDbRow[];
    return rows.map(snapshotInfoOf);
  }

  get(snapshotId: string): SnapshotInfo | undefined {
    const r = this.#q.get.get(snapshotId) as SnapshotDbRow | undefined;
    return r ? snapshotInfoOf(r) : undefined;
  }

  analytics(snapshotId: string, afterSeq: number, limit: number, metric?: string): AnalyticsRow[] {
    const rows = this.#q.analytics.all(
      analyticsParams(snapshotId, afterSeq, limit, metric),
    ) as AnalyticsDbRow[];
    return rows.map(analyticsRowOf);
  }

  rows(snapshotId: string, afterSeq: number, limit: number): SnapshotRow[] {
    return (this.#q.rows.all(snapshotId, afterSeq, limit) as SnapshotRowDbRow[]).map(snapshotRowOf);
  }
}
