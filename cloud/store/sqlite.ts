/**
 * The SQLite CloudStore: one WAL file, shared by any number of cloud processes (busy_timeout + IMMEDIATE
 * transactions serialise writers). applyBatch is the exactly-once point: the items, their dedupe keys,
 * the quarantine rows, the per-gateway counters and the partition's checkpoint commit in one transaction.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventPosition, PreparedEvent } from '../consume/prepare.ts';
import { eventColumns, type StoredEvent, type ValidItem } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import type { StateRow } from '../reporting/directory.ts';
import type { RoomPeriod } from '../reporting/room-analytics.ts';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import { ApplyTally, gatewayParams } from './apply-tally.ts';
import { BackgroundCheckpointer, type CheckpointStats } from './checkpointer.ts';
import { SqliteHistory } from './history.ts';
import { SqliteReads } from './reads.ts';
import { SqliteReportReads } from './report-reads.ts';
import { SqliteRiskReads } from './risk-reads.ts';
import { SqliteRoomPeriods } from './room-periods.ts';
import {
  DDL,
  DDL_V2_INDEXES,
  EVENT_COLUMNS_V2,
  GATEWAY_COLUMNS_V5,
  MIGRATE_AGGREGATES,
  MIGRATE_CAMPUS_KEYS,
  MIGRATE_KEYS_V6,
  MIGRATE_SENSORS_V7,
  ROOM_INDEXES,
  ROOM_STATE_COLUMNS_V3,
  SCHEMA_VERSION,
} from './schema.ts';
import { SensorMap } from './sensor-map.ts';
import { SqliteSnapshots } from './snapshots.ts';
import {
  ADOPT_ROOMS,
  aggregateParams,
  alertParams,
  batchParams,
  checkpointParams,
  claimStatement,
  eventColumnValues,
  eventParams,
  eventQuarantine,
  itemQuarantine,
  prepareAll,
  type QuarantineInput,
  quarantineParams,
  readingParams,
  SQL,
  twinParams,
} from './sql.ts';
import { type BaseWindow, SqliteBaseWindows } from './sqlite-bases.ts';
import type {
  Ambiguous,
  AnalyticsRow,
  ApplyResult,
  CheckpointRow,
  CloudStore,
  CourseEngagementRow,
  OwnershipRow,
  PartitionRef,
  RiskModelRecord,
  RiskScoreRow,
  RoomFilter,
  RoomWindows,
  SnapshotInfo,
  SnapshotOptions,
  SnapshotRow,
} from './types.ts';
import { FILL_SENSOR_WINDOWS, SpanTracker } from './window-seeks.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for unit tests. */
  file: string;
  synchronous?: 'FULL' | 'NORMAL' | 'EXTRA';
  busyTimeoutMs?: number;
  /** SQLite page cache per connection (default 64 MiB). */
  cacheSizeKiB?: number;
  /**
   * Checkpoints in a worker thread, which looks for new commits this often (default 1000 ms; ignored for
   * ':memory:').
   * null: the writer checkpoints itself at 32 MiB of WAL, inside the commit that crosses it.
   */
  checkpointDelayMs?: number | null;
}

type Stmts = { [K in keyof typeof SQL]: Database.Statement };

/** Runs `fn`, retrying every 25 ms for up to `ms` while SQLite answers SQLITE_BUSY. */
function untilNotBusy<T>(fn: () => T, ms: number): T {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
}

const PAGE_SIZE = 16_384;
/** The WAL size at which the writer checkpoints itself. */
const WAL_CHECKPOINT_BYTES = 32 * 1024 * 1024;
/** The same with a background checkpointer: only if the worker falls behind or fails. */
const WAL_SAFETY_NET_BYTES = 128 * 1024 * 1024;

/** `wal_autocheckpoint` counts pages: the page count for `bytes` of WAL. */
function setAutocheckpoint(db: Database.Database, bytes: number): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.ceil(bytes / pageSize)}`);
}

function openDatabase(opts: SqliteStoreOptions): Database.Database {
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file);
  const busyMs = opts.busyTimeoutMs ?? 10_000;
  db.pragma(`busy_timeout = ${busyMs}`);
  // 16 KiB pages for a new file (an existing one keeps its size: WAL files cannot change it). Measured while
  // the window key was sensor-major (each window went to one sensor's place in the unique index), larger
  // pages made the B-trees shallower and split less: the apply went from 0.30 to 0.33 of decode-only
  // (bench/README.md, apply). 64 KiB gave 0.35, but a small transaction then writes 3.3 times the bytes of
  // 4 KiB pages to the WAL (16 KiB: 1.7 times), and a live consumer commits small transactions all day.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  // Switching a new file to WAL needs an exclusive lock and does not wait on the busy handler: two cloud
  // processes opening one fresh store at once would fail with "database is locked". Retry for busyMs.
  untilNotBusy(() => db.pragma('journal_mode = WAL'), busyMs);
  db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
  // Window upserts and dedupe lookups touch pages all over the indexes: keep more of them cached.
  db.pragma(`cache_size = -${opts.cacheSizeKiB ?? 65_536}`);
  // Checkpoint the WAL less often (at 32 MiB): a page rewritten by many transactions is copied back once, not
  // each time. A file made before 16 KiB pages has 4 KiB ones. With a background checkpointer this is raised.
  setAutocheckpoint(db, WAL_CHECKPOINT_BYTES);
  db.transaction(() => {
    const spansNew = !db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sensor_windows'").get();
    db.exec(DDL);
    migrateEvents(db);
    addMissingColumns(db, 'room_state', ROOM_STATE_COLUMNS_V3);
    addMissingColumns(db, 'gateways', GATEWAY_COLUMNS_V5);
    migrateAggregates(db);
    if (spansNew) db.exec(FILL_SENSOR_WINDOWS);
    migrateKeys(db);
    db.exec(DDL_V2_INDEXES);
    db.exec(ROOM_INDEXES);
    db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run('schemaVersion', String(SCHEMA_VERSION));
  }).immediate();
  return db;
}

/**
 * An older file: add the columns a newer schema declares for `table` (nullable or defaulted) that it lacks;
 * returns the ones added.
 */
function addMissingColumns(
  db: Database.Database,
  table: string,
  cols: readonly (readonly [string, string])[],
): string[] {
  const have = new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name),
  );
  const added: string[] = [];
  for (const [name, type] of cols) {
    if (have.has(name)) continue;
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    added.push(name);
  }
  return added;
}

/**
 * A file from before version 10: its aggregates table rebuilt as a rowid table (until version 3 it was a
 * WITHOUT ROWID table) with the time-major unique key (schema.ts, AGGREGATES_DDL).
 */
function migrateAggregates(db: Database.Database): void {
  const keyColumns = db
    .prepare(
      `SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list('aggregates')
         WHERE "unique" = 1 ORDER BY name LIMIT 1)) ORDER BY seqno`,
    )
    .pluck()
    .all() as string[];
  if (keyColumns[0] !== 'window_ms') db.exec(MIGRATE_AGGREGATES);
}

/**
 * A file from before version 6: items and alerts re-keyed by gateway (schema.ts, MIGRATE_KEYS_V6); from
 * before version 7: sensors keyed by campus too (MIGRATE_SENSORS_V7); from before versions 8 and 9: rooms
 * and raw readings on their campus (MIGRATE_CAMPUS_KEYS).
 */
function migrateKeys(db: Database.Database): void {
  const key = db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').pluck();
  if ((key.all('items') as string[]).join() === 'item_id') db.exec(MIGRATE_KEYS_V6);
  const column = db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').pluck();
  if (!column.get('sensors', 'campus_id')) db.exec(MIGRATE_SENSORS_V7);
  for (const [table, sql] of Object.entries(MIGRATE_CAMPUS_KEYS))
    if (!column.get(table, 'campus_id')) db.exec(sql);
}

/** A version-1 file: add the reporting columns to `events` and fill them from each stored body. */
function migrateEvents(db: Database.Database): void {
  // Nothing added: a version-2 file already has them filled.
  if (addMissingColumns(db, 'events', EVENT_COLUMNS_V2).length === 0) return;
  const page = db.prepare(
    'SELECT event_id, body FROM events WHERE event_id > ? ORDER BY event_id LIMIT 5000',
  );
  const update = db.prepare(
    `UPDATE events SET ${EVENT_COLUMNS_V2.map(([name]) => `${name} = ?`).join(', ')} WHERE event_id = ?`,
  );
  let after = '';
  for (;;) {
    const rows = page.all(after) as { event_id: string; body: string }[];
    if (rows.length === 0) break;
    for (const r of rows) {
      update.run(
        ...eventColumnValues(eventColumns(JSON.parse(r.body) as Record<string, unknown>)),
        r.event_id,
      );
    }
    after = rows[rows.length - 1]!.event_id;
  }
}

export class SqliteCloudStore extends SqliteReads implements CloudStore {
  readonly #s: Stmts;
  /** Sensor ids by campus, device and channel (ids never change once committed; cleared on rollback). */
  readonly #sensors = new SensorMap<{ id: number; roomId: string }>();
  /** The window spans (sensor_windows) the apply extends (cleared on rollback). */
  readonly #spans = new SpanTracker();
  readonly #bases: SqliteBaseWindows;
  /** Each gateway's campus as the gateways table has it (null: named none yet; cleared on rollback). */
  readonly #gatewayCampus = new Map<string, string | null>();
  readonly #adoptRooms: Database.Statement[];
  readonly #apply: Database.Transaction<
    (p: PartitionRef, events: readonly PreparedEvent[], cp: EventPosition, now: number) => ApplyResult
  >;
  readonly #claim: Database.Transaction<(claims: readonly OwnershipRow[], now: number) => OwnershipRow[]>;

  readonly #snapshots: SqliteSnapshots;
  readonly #reports: SqliteReportReads;
  readonly #history: SqliteHistory;
  readonly #risk: SqliteRiskReads;
  readonly #rooms: SqliteRoomPeriods;
  readonly #version: { local: Database.Statement; others: Database.Statement };
  readonly #checkpointer: BackgroundCheckpointer | undefined;

  constructor(opts: SqliteStoreOptions) {
    super(openDatabase(opts));
    const db = this.db;
    const delayMs = opts.checkpointDelayMs === undefined ? 1000 : opts.checkpointDelayMs;
    if (delayMs !== null && opts.file !== ':memory:') {
      // Copying WAL frames back and syncing the file took ~10 % of the apply (bench/README.md, apply).
      this.#checkpointer = new BackgroundCheckpointer(opts.file, {
        delayMs,
        onFailure: () => {
          if (db.open) setAutocheckpoint(db, WAL_CHECKPOINT_BYTES);
        },
      });
      setAutocheckpoint(db, WAL_SAFETY_NET_BYTES);
    }
    // One set of room-period statements, shared by snapshots, live reports and facility risk.
    this.#rooms = new SqliteRoomPeriods(db, this.windowSeeks);
    this.#snapshots = new SqliteSnapshots(db, this.#rooms);
    this.#reports = new SqliteReportReads(db, this.#rooms);
    this.#history = new SqliteHistory(db);
    this.#risk = new SqliteRiskReads(db);
    // total_changes(): rows this connection changed; data_version: moves when another connection commits.
    this.#version = {
      local: db.prepare('SELECT total_changes() AS n').pluck(),
      others: db.prepare('PRAGMA data_version').pluck(),
    };
    this.#s = prepareAll(db, SQL);
    this.#bases = new SqliteBaseWindows(db, this.#s.upsertBase);
    this.#adoptRooms = ADOPT_ROOMS.map((sql) => db.prepare(sql));
    this.#apply = db.transaction((p, events, cp, now) => this.#applyEvents(p, events, cp, now));
    this.#claim = db.transaction((claims, now) => this.#claimAll(claims, now));
  }

  async applyBatch(
    partition: PartitionRef,
    events: readonly PreparedEvent[],
    checkpoint: EventPosition,
    now: number,
  ): Promise<ApplyResult> {
    // IMMEDIATE: take the write lock up front, so two processes never deadlock upgrading a read lock.
    try {
      return this.#apply.immediate(partition, events, checkpoint, now);
    } catch (err) {
      // Sensor ids created in the rolled-back transaction do not exist, nor rooms adopted: forget the caches.
      this.#sensors.clear();
      this.#gatewayCampus.clear();
      this.#spans.forget();
      throw err;
    }
  }

  #applyEvents(
    p: PartitionRef,
    events: readonly PreparedEvent[],
    cp: EventPosition,
    now: number,
  ): ApplyResult {
    const s = this.#s;
    const tally = new ApplyTally(now);
    const quarantine = (ev: PreparedEvent, q: QuarantineInput) => {
      s.insertQuarantine.run(...quarantineParams(now, p.partitionId, ev.position, q));
      tally.quarantine(q.code, q.gatewayId, ev.position.enqueuedTimeMs);
    };
    for (const ev of events) {
      if (!ev.ok) {
        quarantine(ev, eventQuarantine(ev));
        continue;
      }
      const h = ev.header;
      const d = tally.delta(h.gatewayId, ev.position.enqueuedTimeMs, h.campusId);
      if (s.batchExists.get(h.gatewayId, h.batchId)) {
        d.duplicateBatches++;
        continue;
      }
      if (h.campusId !== undefined) this.#campusNamed(h.gatewayId, h.campusId);
      let applied = 0;
      let duplicates = 0;
      const campusId = h.campusId ?? '';
      // Base windows go in many to a statement after the event's other items (the merge is order-independent).
      const bases: (BaseWindow & { item: ValidItem })[] = [];
      for (const item of ev.items) {
        if (item.cls === 'aggregate' && !item.value.late) {
          bases.push({ sensor: this.#sensorId(campusId, item.value), a: item.value, item });
          continue;
        }
        if (!this.#applyItem(h.gatewayId, campusId, item)) {
          duplicates++;
          continue;
        }
        applied++;
        tally.applied(d, item);
      }
      let appliedBases = 0;
      this.#bases.apply(bases, (b) => {
        this.#spans.note(b.sensor, b.a.windowMs, b.a.windowStart);
        appliedBases++;
        tally.applied(d, b.item);
      });
      applied += appliedBases;
      duplicates += bases.length - appliedBases;
      for (const bad of ev.invalid) quarantine(ev, itemQuarantine(h, bad));
      s.insertBatch.run(...batchParams(p.partitionId, ev, applied, duplicates, now));
      d.batches++;
      d.duplicateItems += duplicates;
    }
    // Every applied or skipped batch has its gateway's delta: the call's totals are their sums.
    for (const [gatewayId, d] of tally.deltas()) s.upsertGateway.run(...gatewayParams(gatewayId, d));
    this.windowSeeks.write(this.#spans);
    this.#writeCheckpoint({ ...p, sequenceNumber: cp.sequenceNumber, offset: cp.offset }, now);
    return tally.result();
  }

  /** A gateway's event names `campusId`: the first time it names that campus, its unnamed rooms move there. */
  #campusNamed(gatewayId: string, campusId: string): void {
    let stored = this.#gatewayCampus.get(gatewayId);
    if (stored === undefined) {
      const row = this.#s.gatewayCampus.get(gatewayId) as { campus_id: string | null } | undefined;
      stored = row?.campus_id ?? null;
    }
    if (stored !== campusId)
      for (const stmt of this.#adoptRooms) stmt.run({ campus: campusId, gateway: gatewayId });
    this.#gatewayCampus.set(gatewayId, campusId);
  }

  /** Applies one item (not a base window) unless its id was applied before; returns whether it was applied. */
  #applyItem(gatewayId: string, campusId: string, item: ValidItem): boolean {
    const s = this.#s;
    if (item.cls === 'aggregate') {
      // A late delta, deduped by item id. (A window's on-time aggregate is its base, applied at most once per
      // window whatever its id: SqliteBaseWindows.)
      const a = item.value;
      if (s.insertItem.run(gatewayId, item.id, item.cls).changes === 0) return false;
      const sensor = this.#sensorId(campusId, a);
      if (s.upsertDelta.run(...aggregateParams(sensor, a)).changes !== 1) return false;
      this.#spans.note(sensor, a.windowMs, a.windowStart);
      return true;
    }
    // An event's row is its dedupe record: its id is the LMS's, the same whichever gateway or import brings it.
    if (item.cls === 'event') return s.insertEvent.run(...eventParams(item.value, gatewayId)).changes === 1;
    if (s.insertItem.run(gatewayId, item.id, item.cls).changes === 0) return false;
    switch (item.cls) {
      case 'twin': {
        const t = twinParams(gatewayId, campusId, item.id, item.value);
        s.insertTwin.run(...t.change);
        s.upsertRoomState.run(...t.state);
        return true;
      }
      case 'alert':
        s.insertAlert.run(...alertParams(gatewayId, campusId, item.value));
        return true;
      case 'raw':
        s.insertReading.run(...readingParams(gatewayId, campusId, item.id, item.value));
        return true;
    }
  }

  /** The sensor's dictionary id, created on first sight; a sensor that moved rooms is updated. */
  #sensorId(
    campusId: string,
    a: { deviceId: string; channel: string; roomId: string; quantity: string; unit: string },
  ): number {
    const { deviceId, channel } = a;
    let entry = this.#sensors.get(campusId, deviceId, channel);
    if (!entry) {
      const find = () =>
        this.#s.findSensor.get(campusId, deviceId, channel) as
          | { sensor_id: number; room_id: string }
          | undefined;
      let row = find();
      if (!row) {
        // Not on this campus yet ('' is the campus of gateways that name none): a sensor recorded before its
        // gateway named a campus joins the first campus that names it; otherwise a new one.
        if (campusId !== '' && this.#s.adoptSensor.run(campusId, deviceId, channel).changes)
          this.#sensors.delete('', deviceId, channel);
        else this.#s.insertSensor.run(campusId, deviceId, channel, a.roomId, a.quantity, a.unit);
        row = find()!;
      }
      entry = { id: row.sensor_id, roomId: row.room_id };
      this.#sensors.set(campusId, deviceId, channel, entry);
    }
    if (entry.roomId !== a.roomId) {
      this.#s.moveSensor.run(a.roomId, entry.id);
      entry.roomId = a.roomId;
    }
    return entry.id;
  }

  #writeCheckpoint(c: CheckpointRow, now: number): void {
    this.#s.upsertCheckpoint.run(...checkpointParams(c, now));
  }

  async updateCheckpoint(checkpoint: CheckpointRow, now: number): Promise<void> {
    this.db.transaction(() => this.#writeCheckpoint(checkpoint, now)).immediate();
  }

  async claimOwnership(claims: readonly OwnershipRow[], now: number): Promise<OwnershipRow[]> {
    return this.#claim.immediate(claims, now);
  }

  #claimAll(claims: readonly OwnershipRow[], now: number): OwnershipRow[] {
    const won: OwnershipRow[] = [];
    for (const c of claims) {
      const etag = randomUUID();
      const { sql, params } = claimStatement(c, etag, now);
      if (this.#s[sql].run(...params).changes === 1) won.push({ ...c, etag, lastModifiedTimeInMs: now });
    }
    return won;
  }

  async roomStates(): Promise<StateRow[]> {
    return this.#reports.roomStates();
  }

  async alertCounts(since: number): Promise<Map<string, number>> {
    return this.#reports.alertCounts(since);
  }

  async roomWindows(
    roomId: string,
    quantity: string,
    from: number,
    to: number,
    campusId?: string,
  ): Promise<RoomWindows | Ambiguous | undefined> {
    return this.#reports.roomWindows(roomId, quantity, from, to, campusId);
  }

  async courseEngagement(
    courseId: string,
    cutoffTs: number,
    after: string,
    limit: number,
  ): Promise<CourseEngagementRow[]> {
    return this.#reports.courseEngagement(courseId, cutoffTs, after, limit);
  }

  async importEvents(events: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }> {
    return this.#history.importEvents(events);
  }

  async upsertCourses(courses: readonly CourseRecord[]): Promise<void> {
    this.#history.upsertCourses(courses);
  }

  async courses(): Promise<CourseRecord[]> {
    return this.#history.courses();
  }

  async dataVersion(): Promise<string> {
    return `${this.#version.local.get()}:${this.#version.others.get()}`;
  }

  async roomPeriods(from: number, to: number, filter?: RoomFilter): Promise<RoomPeriod[]> {
    return this.#rooms.periods(from, to, filter);
  }

  async riskInputs(courseId: string, startTs: number, cutTs: number): Promise<RiskInputs[]> {
    return this.#risk.riskInputs(courseId, startTs, cutTs);
  }

  async riskOutcomes(courseId: string): Promise<Map<string, Outcome>> {
    return this.#risk.outcomes(courseId);
  }

  async eventCourses(): Promise<{ courseId: string; firstTs: number }[]> {
    return this.#risk.eventCourses();
  }

  async saveRiskModel(m: RiskModelRecord): Promise<void> {
    this.#risk.saveModel(m);
  }

  async riskModels(): Promise<RiskModelRecord[]> {
    return this.#risk.models();
  }

  async replaceRiskScores(courseId: string, rows: readonly RiskScoreRow[]): Promise<void> {
    this.#risk.replaceScores(courseId, rows);
  }

  async riskScores(q: { studentId?: string; courseId?: string; top: number }): Promise<RiskScoreRow[]> {
    return this.#risk.scores(q);
  }

  async createSnapshot(opts: SnapshotOptions): Promise<SnapshotInfo> {
    return this.#snapshots.create(opts);
  }

  async analyticsRows(
    snapshotId: string,
    afterSeq: number,
    limit: number,
    metric?: string,
  ): Promise<AnalyticsRow[]> {
    return this.#snapshots.analytics(snapshotId, afterSeq, limit, metric);
  }

  async listSnapshots(opts: { limit: number; before?: string }): Promise<SnapshotInfo[]> {
    return this.#snapshots.list(opts.limit, opts.before);
  }

  async snapshot(snapshotId: string): Promise<SnapshotInfo | undefined> {
    return this.#snapshots.get(snapshotId);
  }

  async snapshotRows(snapshotId: string, afterSeq: number, limit: number): Promise<SnapshotRow[]> {
    return this.#snapshots.rows(snapshotId, afterSeq, limit);
  }

  /** The background checkpointer's figures; undefined when the writer checkpoints itself. */
  walCheckpoints(): CheckpointStats | undefined {
    return this.#checkpointer?.stats();
  }

  async close(): Promise<void> {
    // The worker's connection first: the last connection to close checkpoints and removes the WAL.
    await this.#checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
