/**
 * The gateway's durable store: the reading journal, the outbox and the quarantine in one SQLite file
 * (WAL, synchronous=FULL by default), with the few multi-table transactions the pipeline needs:
 *  - `commit`: a group of readings (and rejected payloads) in one transaction, before any ack. A reading
 *    already journaled is ignored by the primary key (device, channel, event time) and reported as a
 *    duplicate; one whose window has already closed (late, or a backfill of older data) is summed into its
 *    window's pending late correction in the same transaction, and `flushLate` sends each such window out
 *    as one late-correction aggregate once its backfill has moved on or gone quiet.
 *  - `closeWindows`: closed windows go to the outbox in the same transaction that advances the close
 *    watermark, which is what retires their journal rows from the open set (rows are then kept only for
 *    deduplication until `retentionMs`, and pruned). After a kill -9 the open windows are rebuilt from the
 *    rows at or after the watermark, so every acknowledged reading is counted once.
 */
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { AdminEvent, Aggregate, Reading } from '../../shared/events.ts';
import { aggregateItemId, windowStartOf } from '../aggregate/index.ts';
import { Outbox } from './outbox.ts';
import { type JournalRow, JournalRows } from './rows.ts';
import { BOOKING_TYPES, type Db, META_UPSERT, openDb, readMeta, reclaim } from './schema.ts';

export type { JournalRow } from './rows.ts';

export interface QuarantineEntry {
  at: number;
  source: string;
  deviceId: string | undefined;
  topic: string | undefined;
  code: string;
  message: string;
  payload: Uint8Array | undefined;
}

export interface CommitResult {
  /** Newly journaled readings whose window is still open. */
  fresh: Reading[];
  /** Newly journaled readings whose window had closed: summed into their window's late correction. */
  late: Reading[];
  /** Readings already in the journal: acknowledged again, not stored again. */
  duplicates: Reading[];
}

interface LateWindowRow {
  sensor: number;
  window_start: number;
  room_id: string;
  quantity: string;
  unit: string;
  n: number;
  v_sum: number;
  v_min: number;
  v_max: number;
  v_first: number;
  first_ts: number;
  v_last: number;
  last_ts: number;
  updated_at: number;
}

export interface StoreOptions {
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  quotaBytes: number;
  windowMs: number;
  /** A pending late window goes out once its sensor's late readings are this far past its end (120 s). */
  allowedLatenessMs?: number;
  forwardRaw: boolean;
  quarantineMaxRows: number;
  quarantineMaxPayloadBytes: number;
}

/** One room's quantity in one history bucket, as upserted into room_history. */
interface HistoryRow {
  room: string;
  quantity: string;
  bucket: number;
  n: number;
  sum: number;
  min: number;
  max: number;
}

/** The status page's chart resolution, and how long its history is kept (a day, and a margin). */
export const HISTORY_BUCKET_MS = 5 * 60_000;
export const HISTORY_KEEP_MS = 26 * 3600_000;

export class GatewayStore {
  readonly db: Db;
  readonly outbox: Outbox;
  readonly #rollbackResets: (() => void)[] = [];
  readonly #file: string;
  readonly #opts: StoreOptions;
  readonly #sensors = new Map<string, number>();
  readonly #sensorNames = new Map<number, { deviceId: string; channel: string }>();
  readonly #journal: JournalRows;
  #closedUntil: number;
  #quarantineRows: number;
  readonly #s: {
    insertSensor: Database.Statement<[string, string]>;
    setMeta: Database.Statement<[string, string]>;
    insertQuarantine: Database.Statement<
      [number, string, string | null, string | null, string, string, Buffer | null]
    >;
    trimQuarantine: Database.Statement<[number]>;
    addLate: Database.Statement<
      [
        {
          sensor: number;
          start: number;
          room: string;
          quantity: string;
          unit: string;
          v: number;
          ts: number;
          now: number;
        },
      ]
    >;
    dueLate: Database.Statement<[{ quietSince: number; behind: number; limit: number }], LateWindowRow>;
    dropLate: Database.Statement<[number, number]>;
    countLate: Database.Statement<[], { n: number }>;
    quarantine: Database.Statement<[number], Record<string, unknown>>;
    addHistory: Database.Statement<[HistoryRow]>;
    history: Database.Statement<
      [string, number],
      { quantity: string; bucket: number; n: number; v_sum: number; v_min: number; v_max: number }
    >;
    pruneHistory: Database.Statement<[number]>;
    quarantineOf: Database.Statement<[string, number], Record<string, unknown>>;
  };
  /** `within` runs inside the transaction (to queue what the new readings caused, atomically with them). */
  readonly commit: (
    readings: readonly Reading[],
    rejected: readonly QuarantineEntry[],
    now: number,
    within?: (result: CommitResult) => void,
  ) => CommitResult;
  readonly closeWindows: (aggregates: readonly Aggregate[], watermark: number, now: number) => void;
  /**
   * Sends every pending late window that is due (see `dueLate`) to the outbox as one late-correction
   * aggregate, in one transaction with its removal; returns how many went out.
   */
  readonly flushLate: (now: number, maxWindows?: number) => number;

  constructor(file: string, opts: StoreOptions) {
    this.#file = file;
    this.#opts = opts;
    this.db = openDb(file, opts.synchronous);
    const db = this.db;
    this.outbox = new Outbox(db, opts.quotaBytes);
    this.#s = {
      insertSensor: db.prepare('INSERT INTO sensors (device_id, channel) VALUES (?, ?)'),
      setMeta: db.prepare(META_UPSERT),
      insertQuarantine: db.prepare(
        'INSERT INTO quarantine (at, source, device_id, topic, code, message, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      trimQuarantine: db.prepare('DELETE FROM quarantine WHERE id <= (SELECT MAX(id) FROM quarantine) - ?'),
      addLate: db.prepare(
        `INSERT INTO late_windows (sensor, window_start, room_id, quantity, unit, n, v_sum, v_min, v_max,
           v_first, first_ts, v_last, last_ts, updated_at)
         VALUES (@sensor, @start, @room, @quantity, @unit, 1, @v, @v, @v, @v, @ts, @v, @ts, @now)
         ON CONFLICT (sensor, window_start) DO UPDATE SET
           n = n + 1, v_sum = v_sum + excluded.v_sum, v_min = min(v_min, excluded.v_min),
           v_max = max(v_max, excluded.v_max),
           v_first = CASE WHEN excluded.first_ts < first_ts THEN excluded.v_first ELSE v_first END,
           first_ts = min(first_ts, excluded.first_ts),
           v_last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.v_last ELSE v_last END,
           last_ts = max(last_ts, excluded.last_ts),
           room_id = excluded.room_id, updated_at = excluded.updated_at`,
      ),
      // Due: the sensor's late readings have moved past the window's end by the allowed lateness (a
      // backfill going forward), or nothing late arrived for it for that long (wall clock).
      dueLate: db.prepare(
        `WITH latest AS (SELECT sensor, max(last_ts) AS t FROM late_windows GROUP BY sensor)
         SELECT p.* FROM late_windows p JOIN latest l ON l.sensor = p.sensor
         WHERE p.updated_at <= @quietSince OR p.window_start + @behind <= l.t
         ORDER BY p.sensor, p.window_start LIMIT @limit`,
      ),
      dropLate: db.prepare('DELETE FROM late_windows WHERE sensor = ? AND window_start = ?'),
      countLate: db.prepare('SELECT count(*) AS n FROM late_windows'),
      quarantine: db.prepare(
        'SELECT id, at, source, device_id AS deviceId, topic, code, message, payload FROM quarantine ORDER BY id DESC LIMIT ?',
      ),
      addHistory: db.prepare(
        `INSERT INTO room_history (room_id, quantity, bucket, n, v_sum, v_min, v_max)
         VALUES (@room, @quantity, @bucket, @n, @sum, @min, @max)
         ON CONFLICT (room_id, quantity, bucket) DO UPDATE SET
           n = n + excluded.n, v_sum = v_sum + excluded.v_sum,
           v_min = min(v_min, excluded.v_min), v_max = max(v_max, excluded.v_max)`,
      ),
      history: db.prepare(
        `SELECT quantity, bucket, n, v_sum, v_min, v_max FROM room_history
         WHERE room_id = ? AND bucket >= ? ORDER BY quantity, bucket`,
      ),
      pruneHistory: db.prepare('DELETE FROM room_history WHERE bucket < ?'),
      // The quarantine is trimmed to quarantineMaxRows, so this scan is bounded.
      quarantineOf: db.prepare(
        'SELECT id, at, source, device_id AS deviceId, topic, code, message, payload FROM quarantine WHERE device_id = ? ORDER BY id DESC LIMIT ?',
      ),
    };
    for (const row of db.prepare('SELECT sensor, device_id, channel FROM sensors').all() as {
      sensor: number;
      device_id: string;
      channel: string;
    }[]) {
      this.#sensors.set(`${row.device_id}\u0000${row.channel}`, row.sensor);
      this.#sensorNames.set(row.sensor, { deviceId: row.device_id, channel: row.channel });
    }
    this.#closedUntil = Number(readMeta(db, 'closed_until') ?? 0);
    this.#journal = new JournalRows(db);
    this.#journal.migrateLegacy();
    this.#quarantineRows = (db.prepare('SELECT COUNT(*) AS n FROM quarantine').get() as { n: number }).n;

    type CommitArgs = [
      readonly Reading[],
      readonly QuarantineEntry[],
      number,
      ((r: CommitResult) => void) | undefined,
    ];
    const commitTx = this.transaction((...[readings, rejected, now, within]: CommitArgs) => {
      const result: CommitResult = { fresh: [], late: [], duplicates: [] };
      this.#journal.add(readings, (r, isNew) => {
        if (!isNew) {
          result.duplicates.push(r);
          return;
        }
        if (r.ts < this.#closedUntil) {
          this.#s.addLate.run({
            sensor: this.#sensorId(r.deviceId, r.channel),
            start: windowStartOf(r.ts, this.#opts.windowMs),
            room: r.roomId,
            quantity: r.quantity,
            unit: r.unit,
            v: r.value,
            ts: r.ts,
            now,
          });
          result.late.push(r);
        } else result.fresh.push(r);
        if (this.#opts.forwardRaw) this.outbox.add('raw', `raw:${r.deviceId}:${r.channel}:${r.ts}`, r, now);
      });
      for (const q of rejected) this.#quarantine(q);
      within?.(result);
      return result;
    });
    this.commit = commitTx;

    // Aggregates leave for the uplink and are added to their rooms' chart history in the same transaction:
    // summed per room, quantity and bucket first (one upsert for all the sensors of a room), and only for
    // buckets the history still keeps (a backfill of last term's data is not written to be pruned).
    const queueAggregates = (aggregates: readonly Aggregate[], now: number) => {
      const history = new Map<string, HistoryRow>();
      for (const a of aggregates) {
        this.outbox.add('aggregate', aggregateItemId(a), a, now);
        const bucket = Math.floor(a.windowStart / HISTORY_BUCKET_MS) * HISTORY_BUCKET_MS;
        if (bucket < now - HISTORY_KEEP_MS) continue;
        const key = `${a.roomId}\u0000${a.quantity}\u0000${bucket}`;
        const h = history.get(key);
        if (!h) {
          const row = {
            room: a.roomId,
            quantity: a.quantity,
            bucket,
            n: a.count,
            sum: a.sum,
            min: a.min,
            max: a.max,
          };
          history.set(key, row);
          continue;
        }
        h.n += a.count;
        h.sum += a.sum;
        h.min = Math.min(h.min, a.min);
        h.max = Math.max(h.max, a.max);
      }
      for (const h of history.values()) this.#s.addHistory.run(h);
    };
    const closeTx = this.transaction((aggregates: readonly Aggregate[], watermark: number, now: number) => {
      queueAggregates(aggregates, now);
      this.#s.setMeta.run('closed_until', String(watermark));
    });
    this.closeWindows = (aggregates, watermark, now) => {
      if (watermark <= this.#closedUntil && aggregates.length === 0) return;
      closeTx(aggregates, watermark, now);
      this.#closedUntil = Math.max(this.#closedUntil, watermark);
    };

    const flushTx = this.transaction((rows: readonly LateWindowRow[], now: number) => {
      const aggregates: Aggregate[] = [];
      for (const row of rows) {
        const a = this.#lateAggregate(row);
        if (a) aggregates.push(a);
        this.#s.dropLate.run(row.sensor, row.window_start);
      }
      queueAggregates(aggregates, now);
    });
    this.flushLate = (now, maxWindows = 5000) => {
      const { windowMs } = this.#opts;
      const allowedLatenessMs = this.#opts.allowedLatenessMs ?? 120_000;
      const rows = this.#s.dueLate.all({
        quietSince: now - allowedLatenessMs,
        behind: windowMs + allowedLatenessMs,
        limit: maxWindows,
      });
      if (rows.length) flushTx(rows, now);
      return rows.length;
    };
  }

  /**
   * A transaction over the store's database whose rollback also resets what the store keeps in memory
   * (outbox byte counts, sensor ids): every multi-row write, here or in the pipeline, goes through it.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const tx = this.db.transaction(fn);
    return (...args: A) => {
      try {
        return tx(...args);
      } catch (err) {
        this.#afterRollback();
        throw err;
      }
    };
  }

  /**
   * `reset` runs after every rolled-back transaction of the store, like the store's own resets: for what a
   * module built on the store keeps in memory of the file (the event journal's keys).
   */
  onRollback(reset: () => void): void {
    this.#rollbackResets.push(reset);
  }

  #afterRollback(): void {
    for (const reset of this.#rollbackResets) reset();
    this.outbox.reloadUsage();
    this.#journal.reload();
    // Sensor ids inserted by the rolled-back transaction no longer exist.
    const known = new Set(this.db.prepare('SELECT sensor FROM sensors').pluck().all() as number[]);
    for (const [key, id] of this.#sensors) {
      if (!known.has(id)) {
        this.#sensors.delete(key);
        this.#sensorNames.delete(id);
      }
    }
  }

  #sensorId(deviceId: string, channel: string): number {
    const key = `${deviceId}\u0000${channel}`;
    let id = this.#sensors.get(key);
    if (id === undefined) {
      id = Number(this.#s.insertSensor.run(deviceId, channel).lastInsertRowid);
      this.#sensors.set(key, id);
      this.#sensorNames.set(id, { deviceId, channel });
    }
    return id;
  }

  /** Keep something refused after it was accepted (an outbox item no event can hold). Inside a transaction. */
  addQuarantine(q: QuarantineEntry): void {
    this.#quarantine(q);
  }

  #quarantine(q: QuarantineEntry): void {
    const max = this.#opts.quarantineMaxPayloadBytes;
    const payload = q.payload ? Buffer.from(q.payload.subarray(0, max)) : null;
    this.#s.insertQuarantine.run(
      q.at,
      q.source,
      q.deviceId ?? null,
      q.topic ?? null,
      q.code,
      q.message,
      payload,
    );
    if (++this.#quarantineRows > this.#opts.quarantineMaxRows) {
      this.#s.trimQuarantine.run(this.#opts.quarantineMaxRows);
      this.#quarantineRows = this.#opts.quarantineMaxRows;
    }
  }

  /** Room booking events journaled after `receivedAt`, oldest first (the twins catch up after a restart). */
  *bookingEventsSince(receivedAt: number): Iterable<AdminEvent> {
    const rows = this.db
      .prepare(
        'SELECT body FROM event_requests WHERE bookings > 0 AND received_at > ? ORDER BY received_at, seq',
      )
      .pluck()
      .iterate(receivedAt) as Iterable<string>;
    for (const body of rows)
      for (const e of JSON.parse(body) as AdminEvent[]) if (BOOKING_TYPES.has(e.type)) yield e;
  }

  /** Late windows summed and not yet sent (see flushLate). */
  get pendingLateWindows(): number {
    return this.#s.countLate.get()!.n;
  }

  #lateAggregate(row: LateWindowRow): Aggregate | undefined {
    const name = this.#sensorNames.get(row.sensor);
    if (!name) return undefined;
    return {
      deviceId: name.deviceId,
      channel: name.channel,
      roomId: row.room_id,
      quantity: row.quantity as Aggregate['quantity'],
      unit: row.unit,
      windowStart: row.window_start,
      windowMs: this.#opts.windowMs,
      count: row.n,
      min: row.v_min,
      max: row.v_max,
      sum: row.v_sum,
      mean: row.v_sum / row.n,
      first: row.v_first,
      firstTs: row.first_ts,
      last: row.v_last,
      lastTs: row.last_ts,
      late: true,
    };
  }

  /** The close watermark: windows ending at or before it are in the outbox. */
  get closedUntil(): number {
    return this.#closedUntil;
  }

  /** Journal rows whose windows are still open (at or after the watermark), in event-time order. */
  *openRows(): Iterable<JournalRow> {
    yield* this.rowsSince(windowStartOf(this.#closedUntil, this.#opts.windowMs));
  }

  rowsSince(ts: number): Iterable<JournalRow> {
    return this.#journal.since(ts);
  }

  /**
   * Delete journal rows older than `beforeTs` (event time) that were also received before it, at most
   * `maxRows` rows (each a device's readings of one instant) per call; returns the rows and readings deleted.
   */
  prune(beforeTs: number, maxRows = 50_000): { rows: number; readings: number } {
    // Never prune what a still-open window needs.
    return this.#journal.prune(Math.min(beforeTs, this.#closedUntil), beforeTs, maxRows);
  }

  /**
   * A room's history since `sinceTs` (bucket start), per quantity: [bucket start, mean, min, max] rows in
   * time order, HISTORY_BUCKET_MS apart where there was data.
   */
  roomHistory(roomId: string, sinceTs: number): Record<string, [number, number, number, number][]> {
    const out: Record<string, [number, number, number, number][]> = {};
    for (const r of this.#s.history.all(roomId, sinceTs)) {
      const series = out[r.quantity] ?? [];
      series.push([r.bucket, r.v_sum / r.n, r.v_min, r.v_max]);
      out[r.quantity] = series;
    }
    return out;
  }

  /** Drop chart history older than `beforeTs`. */
  pruneHistory(beforeTs: number): number {
    return this.#s.pruneHistory.run(beforeTs).changes;
  }

  /** Hand free pages back to the filesystem, a bounded amount per call. */
  reclaimSpace(maxPages?: number): number {
    return reclaim(this.db, maxPages);
  }

  /** The newest quarantine entries of one device. */
  deviceQuarantine(deviceId: string, limit: number): Record<string, unknown>[] {
    return this.#s.quarantineOf.all(deviceId, limit).map((r) => ({
      ...r,
      payload: r.payload ? Buffer.from(r.payload as Buffer).toString('utf8') : null,
    }));
  }

  recentQuarantine(limit: number): Record<string, unknown>[] {
    return this.#s.quarantine.all(limit).map((r) => ({
      ...r,
      payload: r.payload ? Buffer.from(r.payload as Buffer).toString('utf8') : null,
    }));
  }

  addOutboxItem(
    cls: Parameters<Outbox['add']>[0],
    itemId: string,
    body: unknown,
    now: number,
  ): ReturnType<Outbox['add']> {
    return this.transaction(() => this.outbox.add(cls, itemId, body, now))();
  }

  journalStats(now: number): {
    rows: number;
    bytes: number;
    oldestAgeMs: number | null;
    quarantineRows: number;
  } {
    const oldest = this.#journal.oldestTs;
    return {
      rows: this.#journal.count,
      bytes: fileBytes(this.#file) + fileBytes(`${this.#file}-wal`),
      oldestAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
      quarantineRows: this.#quarantineRows,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
