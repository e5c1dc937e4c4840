/**
 * The PostgreSQL CloudStore (issue 11), ingest side so far: exactly-once apply, the Event Hubs checkpoint
 * store and the ingest reads (IngestStore), held to the same contract as SQLite (contract.ts). The
 * statements are the SQLite store's portable text (sql.ts, reads.ts) with `$n` placeholders.
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
import type { ValidItem } from '../consume/validate.ts';
import { ApplyTally, gatewayParams } from './apply-tally.ts';
import { migrate } from './pg-schema.ts';
import { PG_TYPES, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import {
  type AlertRow,
  type CheckpointDbRow,
  checkpointFromRow,
  type GatewayRow,
  gatewayFromRow,
  type OwnershipDbRow,
  ownershipFromRow,
  type QuarantineDbRow,
  quarantineFromRow,
  READ_SQL,
  type RoomStateDbRow,
  roomViewOf,
  type SensorRow,
  type WindowRow,
  windowFromRow,
} from './reads.ts';
import {
  aggregateParams,
  alertParams,
  batchParams,
  eventParams,
  eventQuarantine,
  itemQuarantine,
  type QuarantineInput,
  quarantineParams,
  readingParams,
  SQL,
  twinParams,
} from './sql.ts';
import type {
  ApplyResult,
  CheckpointRow,
  ClassCounts,
  GatewaySummary,
  IngestStore,
  OwnershipRow,
  PartitionRef,
  QuarantineEntry,
  QueryRange,
  RoomView,
} from './types.ts';

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

const isIdent = (s: string) => /^[a-z_][a-z0-9_]{0,62}$/.test(s);

export class PostgresCloudStore implements IngestStore {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects, creates the schema if asked for one, and applies the migrations it lacks. */
  static async open(opts: PostgresStoreOptions, now = Date.now()): Promise<PostgresCloudStore> {
    if (opts.schema !== undefined && !isIdent(opts.schema))
      throw new Error(`store schema ${JSON.stringify(opts.schema)}: lower-case letters, digits and _ only`);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      types: PG_TYPES,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // An idle connection the server dropped (restart, failover) is discarded by the pool and replaced on
    // the next query; without a listener its error would end the process.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      try {
        await migrate(client, now, opts.schema);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresCloudStore(pool);
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
    return this.#tx(async (c) => {
      const tally = new ApplyTally(now);
      const sensors = new Map<string, number>();
      const quarantine = async (ev: PreparedEvent, q: QuarantineInput) => {
        await c.query(W.insertQuarantine, [...quarantineParams(now, p.partitionId, ev.position, q)]);
        tally.quarantine(q.code, q.gatewayId, ev.position.enqueuedTimeMs);
      };
      for (const ev of events) {
        if (!ev.ok) {
          await quarantine(ev, eventQuarantine(ev));
          continue;
        }
        const h = ev.header;
        const d = tally.delta(h.gatewayId, ev.position.enqueuedTimeMs);
        if ((await c.query(W.batchExists, [h.gatewayId, h.batchId])).rowCount) {
          d.duplicateBatches++;
          continue;
        }
        let applied = 0;
        let duplicates = 0;
        for (const item of ev.items) {
          if (!(await this.#applyItem(c, sensors, h.gatewayId, item))) {
            duplicates++;
            continue;
          }
          applied++;
          tally.applied(d, item);
        }
        for (const bad of ev.invalid) await quarantine(ev, itemQuarantine(h, bad));
        await c.query(W.insertBatch, [...batchParams(p.partitionId, ev, applied, duplicates, now)]);
        d.batches++;
        d.duplicateItems += duplicates;
      }
      for (const [gatewayId, d] of tally.deltas())
        await c.query(W.upsertGateway, [...gatewayParams(gatewayId, d)]);
      await this.#writeCheckpoint(c, { ...p, sequenceNumber: cp.sequenceNumber, offset: cp.offset }, now);
      return tally.result();
    });
  }

  /** Applies one item unless it was applied before (see SqliteCloudStore); returns whether it was. */
  async #applyItem(
    c: pg.PoolClient,
    sensors: Map<string, number>,
    gatewayId: string,
    item: ValidItem,
  ): Promise<boolean> {
    const changed = async (sql: string, params: readonly unknown[]) =>
      (await c.query(sql, [...params])).rowCount === 1;
    if (item.cls === 'aggregate') {
      const a = item.value;
      const base = !a.late;
      if (!base && !(await changed(W.insertItem, [item.id, item.cls, gatewayId]))) return false;
      const sensor = await this.#sensorId(c, sensors, a);
      return changed(base ? W.upsertBase : W.upsertDelta, aggregateParams(sensor, a));
    }
    if (!(await changed(W.insertItem, [item.id, item.cls, gatewayId]))) return false;
    switch (item.cls) {
      case 'twin': {
        const t = twinParams(gatewayId, item.id, item.value);
        await c.query(W.insertTwin, [...t.change]);
        await c.query(W.upsertRoomState, [...t.state]);
        return true;
      }
      case 'alert':
        await c.query(W.insertAlert, [...alertParams(gatewayId, item.value)]);
        return true;
      case 'event':
        await c.query(W.insertEvent, [...eventParams(item.value, gatewayId)]);
        return true;
      case 'raw':
        await c.query(W.insertReading, [...readingParams(gatewayId, item.id, item.value)]);
        return true;
    }
  }

  /** The sensor's id (created on first sight; a sensor that moved rooms is updated), cached per call. */
  async #sensorId(
    c: pg.PoolClient,
    cache: Map<string, number>,
    a: { deviceId: string; channel: string; roomId: string; quantity: string; unit: string },
  ): Promise<number> {
    const key = `${a.deviceId}\u0000${a.channel}\u0000${a.roomId}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    await c.query(W.insertSensor, [a.deviceId, a.channel, a.roomId, a.quantity, a.unit]);
    const row = (await c.query<{ sensor_id: number; room_id: string }>(W.findSensor, [a.deviceId, a.channel]))
      .rows[0]!;
    if (row.room_id !== a.roomId) await c.query(W.moveSensor, [a.roomId, row.sensor_id]);
    cache.set(key, row.sensor_id);
    return row.sensor_id;
  }

  async #writeCheckpoint(c: pg.PoolClient, cp: CheckpointRow, now: number): Promise<void> {
    await c.query(W.upsertCheckpoint, [
      cp.fullyQualifiedNamespace,
      cp.eventHubName,
      cp.consumerGroup,
      cp.partitionId,
      cp.sequenceNumber,
      cp.offset,
      now,
    ]);
  }

  async updateCheckpoint(checkpoint: CheckpointRow, now: number): Promise<void> {
    await this.#tx((c) => this.#writeCheckpoint(c, checkpoint, now));
  }

  async claimOwnership(claims: readonly OwnershipRow[], now: number): Promise<OwnershipRow[]> {
    return this.#tx(async (c) => {
      const won: OwnershipRow[] = [];
      for (const claim of claims) {
        const etag = randomUUID();
        const key = [
          claim.fullyQualifiedNamespace,
          claim.eventHubName,
          claim.consumerGroup,
          claim.partitionId,
        ];
        // Compare-and-set: a claim without an etag may only create; with one, it must match the current row.
        const r = claim.etag
          ? await c.query(W.claimExisting, [claim.ownerId, etag, now, ...key, claim.etag])
          : await c.query(W.claimNew, [...key, claim.ownerId, etag, now]);
        if (r.rowCount === 1) won.push({ ...claim, etag, lastModifiedTimeInMs: now });
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

  async room(roomId: string, alertsLimit: number): Promise<RoomView | undefined> {
    const [states, alerts, known] = await Promise.all([
      this.#rows<RoomStateDbRow>(R.roomState, [roomId]),
      this.#rows<AlertRow>(R.roomAlerts, [roomId, alertsLimit]),
      this.#rows(R.roomKnown, [roomId]),
    ]);
    return roomViewOf(roomId, states, alerts, () => known.length > 0);
  }

  async sensorWindows(
    deviceId: string,
    channel: string,
    range: QueryRange,
  ): Promise<MergedWindow[] | undefined> {
    const [sensor] = await this.#rows<SensorRow>(R.sensor, [deviceId, channel]);
    if (!sensor) return (await this.#rows(R.rawKnown, [deviceId, channel])).length ? [] : undefined;
    const rows = await this.#rows<WindowRow>(R.windows, [
      sensor.sensor_id,
      range.from,
      range.to,
      range.limit,
    ]);
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

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
