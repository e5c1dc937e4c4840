/**
 * The PostgreSQL CloudStore (issue 11), the whole interface: exactly-once apply (pg-apply.ts, set-based),
 * the Event Hubs checkpoint store and the ingest reads, held to the store contract (contract.ts);
 * snapshots, live reporting reads and room periods (pg-snapshots.ts, pg-report-reads.ts,
 * pg-room-periods.ts), held to the snapshot contract; history import and dropout risk (pg-history.ts,
 * pg-risk-reads.ts). The statements are the SQLite store's portable text with `$n` placeholders, and the
 * logic around them is the SQLite store's own, shared.
 *
 * applyBatch is one READ COMMITTED transaction: the items, their dedupe keys, the quarantine rows, the
 * per-gateway counters and the partition's checkpoint commit together or not at all. Concurrent writers
 * (two consumers on one database) are serialised by PostgreSQL's row locks on the keys they share; a
 * transaction that loses a race (deadlock, a batch id inserted meanwhile) is rolled back and run again.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { MergedWindow } from '../consume/merge.ts';
import type { EventPosition, PreparedEvent } from '../consume/prepare.ts';
import type { StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import type { StateRow } from '../reporting/directory.ts';
import type { RoomPeriod } from '../reporting/room-analytics.ts';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import { distributeOnCitus } from './citus.ts';
import { ExistingWindows, pgApplyEvents } from './pg-apply.ts';
import { PgHistory } from './pg-history.ts';
import { pgAlertCounts, pgCourseEngagement, pgRoomStates, pgRoomWindows } from './pg-report-reads.ts';
import { PgRiskReads } from './pg-risk-reads.ts';
import { pgRoomPeriods } from './pg-room-periods.ts';
import { migrate } from './pg-schema.ts';
import {
  pgAnalyticsRows,
  pgCreateSnapshot,
  pgListSnapshots,
  pgSnapshot,
  pgSnapshotRows,
} from './pg-snapshots.ts';
import { PG_SCHEMA_NAME, PG_TYPES, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import { pgSensorWindows } from './pg-window-seeks.ts';
import {
  type AlertRow,
  type CheckpointDbRow,
  checkpointFromRow,
  type GatewayRow,
  gatewayFromRow,
  type OwnershipDbRow,
  ownershipFromRow,
  pickCampus,
  pickSensor,
  type QuarantineDbRow,
  quarantineFromRow,
  READ_SQL,
  type RoomStateDbRow,
  roomViewOf,
  type SensorRow,
  type WindowRow,
  windowFromRow,
} from './reads.ts';
import { checkpointParams, claimStatement, SQL } from './sql.ts';
import type {
  Ambiguous,
  AnalyticsRow,
  ApplyResult,
  CheckpointRow,
  ClassCounts,
  CloudStore,
  CourseEngagementRow,
  GatewaySummary,
  OwnershipRow,
  PartitionRef,
  QuarantineEntry,
  QueryRange,
  RiskModelRecord,
  RiskScoreRow,
  RoomFilter,
  RoomView,
  RoomWindows,
  SnapshotInfo,
  SnapshotOptions,
  SnapshotRow,
} from './types.ts';
import { SpanTracker } from './window-seeks.ts';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Tables live in this schema (created if missing); default: the server's search_path (public). */
  schema?: string;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

const W = pgSql(SQL);
const R = pgSql(READ_SQL);

export class PostgresCloudStore implements CloudStore {
  readonly #pool: pg.Pool;
  /** Each gateway's campus as the gateways table has it (pg-apply.ts adoptRooms; cleared on rollback). */
  readonly #gatewayCampus = new Map<string, string | null>();
  /** The sensors' window spans committed transactions wrote (each apply tracks its own over these). */
  readonly #spans = new SpanTracker();
  readonly #history: PgHistory;
  readonly #risk: PgRiskReads;

  /** The database has the citus extension: reads Citus cannot plan take their Citus form. */
  readonly #onCitus: boolean;

  private constructor(pool: pg.Pool, onCitus: boolean) {
    this.#pool = pool;
    this.#onCitus = onCitus;
    this.#history = new PgHistory(pool);
    this.#risk = new PgRiskReads(pool);
  }

  /**
   * Connects, creates the schema if asked for one, applies the migrations it lacks and, on a Citus
   * database, distributes the tables it has not distributed yet (citus.ts).
   */
  static async open(opts: PostgresStoreOptions, now = Date.now()): Promise<PostgresCloudStore> {
    if (opts.schema !== undefined && !PG_SCHEMA_NAME.test(opts.schema))
      throw new Error(`store schema ${JSON.stringify(opts.schema)}: lower-case letters, digits and _ only`);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      types: PG_TYPES,
      // JIT compiling a statement costs more than running these (a set-based apply took seconds with it).
      options: `-c jit=off${opts.schema ? ` -c search_path=${opts.schema}` : ''}`,
    });
    // An idle connection the server dropped (restart, failover) is discarded by the pool and replaced on
    // the next query; without a listener its error would end the process.
    pool.on('error', () => {});
    let onCitus = false;
    try {
      const client = await pool.connect();
      try {
        await migrate(client, now, opts.schema);
        ({ onCitus } = await distributeOnCitus(client, opts.schema));
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresCloudStore(pool, onCitus);
  }

  /** One transaction, run again from the start when it lost a race with another writer. */
  #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return pgTransaction(this.#pool, fn);
  }

  async applyBatch(
    p: PartitionRef,
    events: readonly PreparedEvent[],
    cp: EventPosition,
    now: number,
  ): Promise<ApplyResult> {
    // New windows by a plain insert; when one exists, the call again as the upsert (pg-apply.ts, NewBases).
    for (const how of ['insert', 'upsert'] as const) {
      try {
        let attempt = 0;
        let spans = new SpanTracker(this.#spans);
        const result = await this.#tx((c) => {
          // Run again after a lost race (pgTransaction): what the lost attempt cached was never stored.
          if (attempt++ > 0) this.#gatewayCampus.clear();
          spans = new SpanTracker(this.#spans);
          return pgApplyEvents(c, p, events, cp, now, { gatewayCampus: this.#gatewayCampus, spans }, how);
        });
        spans.commit();
        return result;
      } catch (err) {
        // Campuses recorded in the rolled-back transaction are not stored: forget what was cached.
        this.#gatewayCampus.clear();
        if (!(how === 'insert' && err instanceof ExistingWindows)) throw err;
      }
    }
    throw new Error('unreachable: the upsert either applies or throws');
  }

  async updateCheckpoint(checkpoint: CheckpointRow, now: number): Promise<void> {
    await this.#pool.query(W.upsertCheckpoint, [...checkpointParams(checkpoint, now)]);
  }

  async claimOwnership(claims: readonly OwnershipRow[], now: number): Promise<OwnershipRow[]> {
    return this.#tx(async (c) => {
      const won: OwnershipRow[] = [];
      for (const claim of claims) {
        const etag = randomUUID();
        const { sql, params } = claimStatement(claim, etag, now);
        if ((await c.query(W[sql], [...params])).rowCount === 1)
          won.push({ ...claim, etag, lastModifiedTimeInMs: now });
      }
      return won;
    });
  }

  async #rows<T extends pg.QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return pgRows<T>(this.#pool, sql, params);
  }

  async listCheckpoints(ns: string, eventHubName: string, consumerGroup: string): Promise<CheckpointRow[]> {
    const rows = await this.#rows<CheckpointDbRow>(R.listCheckpoints, [ns, eventHubName, consumerGroup]);
    return rows.map(checkpointFromRow);
  }

  async listOwnership(ns: string, eventHubName: string, consumerGroup: string): Promise<OwnershipRow[]> {
    const rows = await this.#rows<OwnershipDbRow>(R.listOwnership, [ns, eventHubName, consumerGroup]);
    return rows.map(ownershipFromRow);
  }

  /**
   * The WAL insert position: it moves with every write to the database server (any database), so a
   * cached answer is never kept past a change (at worst dropped for a change elsewhere).
   */
  async dataVersion(): Promise<string> {
    return (await this.#rows<{ v: string }>('SELECT pg_current_wal_insert_lsn()::text AS v'))[0]!.v;
  }

  async gateways(): Promise<GatewaySummary[]> {
    return (await this.#rows<GatewayRow>(R.gateways)).map(gatewayFromRow);
  }

  async room(
    roomId: string,
    alertsLimit: number,
    campusId?: string,
  ): Promise<RoomView | Ambiguous | undefined> {
    type CampusRow = { campus_id: string };
    let rows = await this.#rows<CampusRow>(R.roomCampuses, [roomId, roomId]);
    // Whether the room ever had a change is asked only when it has no state and no alert (as on SQLite).
    if (rows.length === 0) rows = await this.#rows<CampusRow>(R.roomKnown, [roomId]);
    const campus = pickCampus(
      rows.map((r) => r.campus_id),
      campusId,
    );
    if (typeof campus !== 'string') return campus;
    const [states, alerts] = await Promise.all([
      this.#rows<RoomStateDbRow>(R.roomState, [roomId, campus]),
      this.#rows<AlertRow>(R.roomAlerts, [roomId, campus, alertsLimit]),
    ]);
    return roomViewOf(roomId, campus, states, alerts);
  }

  async sensorWindows(
    deviceId: string,
    channel: string,
    range: QueryRange,
    campusId?: string,
  ): Promise<MergedWindow[] | Ambiguous | undefined> {
    const sensor = pickSensor(await this.#rows<SensorRow>(R.sensor, [deviceId, channel]), campusId);
    if (sensor && 'campuses' in sensor) return sensor;
    if (!sensor) {
      const raw = await this.#rows(R.rawKnown, [deviceId, channel, campusId ?? null]);
      return raw.length ? [] : undefined;
    }
    const { from, to, limit } = range;
    const rows = await pgSensorWindows<WindowRow>(this.#pool, sensor.sensor_id, from, to, limit);
    return rows.map((r) => windowFromRow(deviceId, channel, sensor, r));
  }

  async quarantine(limit: number): Promise<{ total: number; entries: QuarantineEntry[] }> {
    const [[count], rows] = await Promise.all([
      this.#rows<{ n: number }>(R.quarantineCount),
      this.#rows<QuarantineDbRow>(R.quarantineList, [limit]),
    ]);
    return { total: count!.n, entries: rows.map(quarantineFromRow) };
  }

  async counts(): Promise<{ items: ClassCounts; readingsRepresented: number; quarantined: number }> {
    const [[items], [readings], [quarantined]] = await Promise.all([
      this.#rows<ClassCounts>(R.itemTotals),
      this.#rows<{ n: number }>(R.readings),
      this.#rows<{ n: number }>(R.quarantineCount),
    ]);
    return { items: { ...items! }, readingsRepresented: readings!.n, quarantined: quarantined!.n };
  }

  async roomStates(): Promise<StateRow[]> {
    return pgRoomStates(this.#pool);
  }

  async alertCounts(since: number): Promise<Map<string, number>> {
    return pgAlertCounts(this.#pool, since);
  }

  async roomWindows(
    roomId: string,
    quantity: string,
    from: number,
    to: number,
    campusId?: string,
  ): Promise<RoomWindows | Ambiguous | undefined> {
    return pgRoomWindows(this.#pool, roomId, quantity, from, to, campusId);
  }

  async roomPeriods(from: number, to: number, filter?: RoomFilter): Promise<RoomPeriod[]> {
    return pgRoomPeriods(this.#pool, from, to, filter, this.#onCitus);
  }

  async courseEngagement(
    courseId: string,
    cutoffTs: number,
    after: string,
    limit: number,
  ): Promise<CourseEngagementRow[]> {
    return pgCourseEngagement(this.#pool, courseId, cutoffTs, after, limit);
  }

  /** In one transaction (see pg-snapshots.ts). */
  async createSnapshot(opts: SnapshotOptions): Promise<SnapshotInfo> {
    return pgCreateSnapshot(this.#pool, opts, this.#onCitus);
  }

  async listSnapshots(opts: { limit: number; before?: string }): Promise<SnapshotInfo[]> {
    return pgListSnapshots(this.#pool, opts.limit, opts.before);
  }

  async snapshot(snapshotId: string): Promise<SnapshotInfo | undefined> {
    return pgSnapshot(this.#pool, snapshotId);
  }

  async snapshotRows(snapshotId: string, afterSeq: number, limit: number): Promise<SnapshotRow[]> {
    return pgSnapshotRows(this.#pool, snapshotId, afterSeq, limit);
  }

  async analyticsRows(
    snapshotId: string,
    afterSeq: number,
    limit: number,
    metric?: string,
  ): Promise<AnalyticsRow[]> {
    return pgAnalyticsRows(this.#pool, snapshotId, afterSeq, limit, metric);
  }

  async importEvents(events: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }> {
    return this.#history.importEvents(events);
  }

  async upsertCourses(courses: readonly CourseRecord[]): Promise<void> {
    return this.#history.upsertCourses(courses);
  }

  async courses(): Promise<CourseRecord[]> {
    return this.#history.courses();
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
    return this.#risk.saveModel(m);
  }

  async riskModels(): Promise<RiskModelRecord[]> {
    return this.#risk.models();
  }

  async replaceRiskScores(courseId: string, rows: readonly RiskScoreRow[]): Promise<void> {
    return this.#risk.replaceScores(courseId, rows);
  }

  async riskScores(q: { studentId?: string; courseId?: string; top: number }): Promise<RiskScoreRow[]> {
    return this.#risk.scores(q);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
