/**
 * The reading journal's rows. Readings that arrive together — one device, one event time, one receipt
 * (a Modbus poll block, an MQTT payload with several channels) — are one row: the device, the shape (its
 * channels, in order) and their values packed as float64. A ten-register poll is one insert, not ten.
 *
 * A reading's identity is still (device, channel, event time): a row is keyed (ts, device, part) and
 * written as part 0; when a device's (ts) is already there (a redelivery, or another payload at the same
 * instant) the channels the existing parts hold are duplicates, and any others go in as the next part.
 */
import type Database from 'better-sqlite3';
import type { ReadingSource } from '../../shared/events.ts';
import { type Db, hasTable, SOURCE_CODES } from './schema.ts';

/** What the journal keeps of a reading. */
export interface JournalRow {
  deviceId: string;
  channel: string;
  ts: number;
  value: number;
  receivedAt: number;
  source: ReadingSource;
}

/** At most this many readings in one row (a longer run is split). */
const MAX_ROW_READINGS = 128;

const SOURCE_NAMES = Object.fromEntries(Object.entries(SOURCE_CODES).map(([k, v]) => [v, k])) as Record<
  number,
  ReadingSource
>;

interface StoredRow {
  ts: number;
  device: number;
  shape: number;
  n: number;
  vals: Buffer;
  received_at: number;
  source: number;
}

export const JOURNAL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS journal_devices (device INTEGER PRIMARY KEY, device_id TEXT NOT NULL UNIQUE);
  -- The channels of a row, in the order of its values (a JSON array).
  CREATE TABLE IF NOT EXISTS journal_shapes (shape INTEGER PRIMARY KEY, channels TEXT NOT NULL UNIQUE);
  -- Keyed by event time first: appends land at the right edge of the b-tree, retention deletes from the
  -- left, and "rebuild open windows" is one range scan.
  CREATE TABLE IF NOT EXISTS journal (
    ts INTEGER NOT NULL,
    device INTEGER NOT NULL,
    part INTEGER NOT NULL,
    shape INTEGER NOT NULL,
    n INTEGER NOT NULL,
    vals BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    source INTEGER NOT NULL,
    PRIMARY KEY (ts, device, part)
  ) WITHOUT ROWID;
`;

/** Readings (not rows) in the journal table. */
const COUNT_READINGS = 'SELECT coalesce(sum(n), 0) AS n FROM journal';

/** Readings in the journal of `db` (either layout: rows of readings, or the one-reading-per-row table of before). */
export function journalReadingCount(db: Database.Database): number {
  let n = 0;
  if (hasTable(db, 'journal')) n += (db.prepare(COUNT_READINGS).get() as { n: number }).n;
  if (hasTable(db, 'readings'))
    n += (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n;
  return n;
}

/** What this process knows of a device's rows at one instant. */
interface InstantParts {
  ts: number;
  /** The part number the next row at this instant takes. */
  nextPart: number;
  /** The shapes of its rows. */
  shapes: number[];
  /** Their channels, worked out when a second message comes for the instant. */
  held: Set<string> | undefined;
}

export class JournalRows {
  readonly #db: Db;
  readonly #devices = new Map<string, number>();
  readonly #deviceNames = new Map<number, string>();
  readonly #shapes = new Map<string, number>();
  readonly #shapeChannels = new Map<number, string[]>();
  /** Readings (not rows) in the journal. */
  #count: number;
  /**
   * Per device, the parts (their shapes, by part number) at the latest instant this process wrote for it:
   * a device that sends one message per channel adds parts at one instant without reading them back.
   * Cleared on rollback and prune (it must never claim a part the table lacks).
   */
  readonly #latest = new Map<number, InstantParts>();
  readonly #s: {
    insert: Database.Statement<[number, number, number, number, number, Buffer, number, number]>;
    partsAt: Database.Statement<[number, number], { part: number; shape: number }>;
    insertDevice: Database.Statement<[string]>;
    insertShape: Database.Statement<[string]>;
    from: Database.Statement<[number], StoredRow>;
    prune: Database.Statement<[number, number, number], { n: number }>;
    oldest: Database.Statement<[], { ts: number }>;
  };

  constructor(db: Db) {
    this.#db = db;
    db.exec(JOURNAL_SCHEMA);
    this.#s = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO journal (ts, device, part, shape, n, vals, received_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      partsAt: db.prepare('SELECT part, shape FROM journal WHERE ts = ? AND device = ?'),
      insertDevice: db.prepare('INSERT INTO journal_devices (device_id) VALUES (?)'),
      insertShape: db.prepare('INSERT INTO journal_shapes (channels) VALUES (?)'),
      from: db.prepare(
        'SELECT ts, device, shape, n, vals, received_at, source FROM journal WHERE ts >= ? ORDER BY ts',
      ),
      // By event time, and never a row received within the retention (a backfill of old data keeps its
      // rows, and so its deduplication, as long as live data does).
      prune: db.prepare(
        `DELETE FROM journal WHERE (ts, device, part) IN
           (SELECT ts, device, part FROM journal WHERE ts < ? AND received_at < ? ORDER BY ts LIMIT ?)
         RETURNING n`,
      ),
      oldest: db.prepare('SELECT ts FROM journal ORDER BY ts LIMIT 1'),
    };
    this.#count = 0;
    this.reload();
  }

  #loadIds(): void {
    this.#devices.clear();
    this.#deviceNames.clear();
    this.#shapes.clear();
    this.#shapeChannels.clear();
    for (const r of this.#db.prepare('SELECT device, device_id FROM journal_devices').all() as {
      device: number;
      device_id: string;
    }[]) {
      this.#devices.set(r.device_id, r.device);
      this.#deviceNames.set(r.device, r.device_id);
    }
    for (const r of this.#db.prepare('SELECT shape, channels FROM journal_shapes').all() as {
      shape: number;
      channels: string;
    }[]) {
      const channels = JSON.parse(r.channels) as string[];
      this.#shapes.set(channels.join('\u0000'), r.shape);
      this.#shapeChannels.set(r.shape, channels);
    }
  }

  /** What is kept in memory, read from the table (at start, and after a rollback: ids it made are gone). */
  reload(): void {
    this.#latest.clear();
    this.#loadIds();
    this.#count = (this.#db.prepare(COUNT_READINGS).get() as { n: number }).n;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Journal `readings` (inside the caller's transaction), one row per run of readings that share device,
   * event time, receipt and source; `each` hears of every reading, in order, as new or a duplicate.
   */
  add<R extends JournalRow>(readings: readonly R[], each: (r: R, isNew: boolean) => void): void {
    let i = 0;
    while (i < readings.length) {
      const first = readings[i]!;
      let j = i + 1;
      while (j < readings.length && j - i < MAX_ROW_READINGS) {
        const r = readings[j]!;
        if (
          r.ts !== first.ts ||
          r.deviceId !== first.deviceId ||
          r.receivedAt !== first.receivedAt ||
          r.source !== first.source ||
          repeats(readings, i, j)
        )
          break;
        j++;
      }
      this.#addRow(readings, i, j, each);
      i = j;
    }
  }

  #addRow<R extends JournalRow>(
    readings: readonly R[],
    from: number,
    to: number,
    each: (r: R, isNew: boolean) => void,
    stale = false,
  ): void {
    const first = readings[from]!;
    const device = this.#deviceId(first.deviceId);
    let known = this.#latest.get(device);
    if (known?.ts !== first.ts) {
      // Not an instant this device has parts at (as far as this process knows): the common case.
      const shape = this.#insert(readings, from, to, device, 0);
      if (shape !== undefined) {
        if (!known) this.#latest.set(device, { ts: first.ts, nextPart: 1, shapes: [shape], held: undefined });
        else {
          known.ts = first.ts;
          known.nextPart = 1;
          known.shapes.length = 0;
          known.shapes.push(shape);
          known.held = undefined;
        }
        for (let k = from; k < to; k++) each(readings[k]!, true);
        return;
      }
      // The device has readings at this instant already (a redelivery, or written before a restart).
      known = this.#readParts(device, first.ts);
    }
    // Its channels there are duplicates; the others go in as the next part.
    known.held ??= this.#channelsOf(known.shapes);
    const held = known.held;
    let fresh: R[] | undefined;
    for (let k = from; k < to; k++) {
      const r = readings[k]!;
      if (held.has(r.channel)) fresh ??= readings.slice(from, k);
      else fresh?.push(r);
    }
    const rows = fresh ?? readings.slice(from, to);
    if (rows.length) {
      const shape = this.#insert(rows, 0, rows.length, device, known.nextPart);
      if (shape === undefined) {
        // What this process remembered does not match the table: read the parts, once.
        if (stale)
          throw new Error(`journal: device ${first.deviceId} at ${first.ts}: part ${known.nextPart} taken`);
        this.#readParts(device, first.ts);
        this.#addRow(readings, from, to, each, true);
        return;
      }
      known.nextPart++;
      known.shapes.push(shape);
      for (const r of rows) held.add(r.channel);
    }
    for (let k = from; k < to; k++) {
      const r = readings[k]!;
      each(r, fresh === undefined || fresh.includes(r));
    }
  }

  /** The parts at (device, ts) as the table has them, remembered as the device's latest instant. */
  #readParts(device: number, ts: number): InstantParts {
    const known: InstantParts = { ts, nextPart: 0, shapes: [], held: undefined };
    for (const p of this.#s.partsAt.all(ts, device)) {
      known.shapes.push(p.shape);
      known.nextPart = Math.max(known.nextPart, p.part + 1);
    }
    this.#latest.set(device, known);
    return known;
  }

  #channelsOf(shapes: readonly number[]): Set<string> {
    const held = new Set<string>();
    for (const shape of shapes) for (const c of this.#shapeChannels.get(shape) ?? []) held.add(c);
    return held;
  }

  /** Inserts a row; its shape id, or undefined when (ts, device, part) is taken. */
  #insert(
    readings: readonly JournalRow[],
    from: number,
    to: number,
    device: number,
    part: number,
  ): number | undefined {
    const n = to - from;
    const first = readings[from]!;
    const vals = Buffer.allocUnsafe(8 * n);
    let key = '';
    for (let k = 0; k < n; k++) {
      const r = readings[from + k]!;
      vals.writeDoubleLE(r.value, 8 * k);
      key = k === 0 ? r.channel : `${key}\u0000${r.channel}`;
    }
    const shape = this.#shapeId(key, readings, from, to);
    const info = this.#s.insert.run(
      first.ts,
      device,
      part,
      shape,
      n,
      vals,
      first.receivedAt,
      SOURCE_CODES[first.source],
    );
    if (info.changes === 0) return undefined;
    this.#count += n;
    return shape;
  }

  #deviceId(deviceId: string): number {
    let id = this.#devices.get(deviceId);
    if (id === undefined) {
      id = Number(this.#s.insertDevice.run(deviceId).lastInsertRowid);
      this.#devices.set(deviceId, id);
      this.#deviceNames.set(id, deviceId);
    }
    return id;
  }

  #shapeId(key: string, readings: readonly JournalRow[], from: number, to: number): number {
    let id = this.#shapes.get(key);
    if (id === undefined) {
      const channels = readings.slice(from, to).map((r) => r.channel);
      id = Number(this.#s.insertShape.run(JSON.stringify(channels)).lastInsertRowid);
      this.#shapes.set(key, id);
      this.#shapeChannels.set(id, channels);
    }
    return id;
  }

  /** Readings at or after `ts`, in event-time order. */
  *since(ts: number): Iterable<JournalRow> {
    for (const row of this.#s.from.iterate(ts)) {
      const deviceId = this.#deviceNames.get(row.device);
      const channels = this.#shapeChannels.get(row.shape);
      if (deviceId === undefined || !channels) continue;
      const source = SOURCE_NAMES[row.source] ?? 'replay';
      for (let k = 0; k < row.n; k++) {
        yield {
          deviceId,
          channel: channels[k]!,
          ts: row.ts,
          value: row.vals.readDoubleLE(8 * k),
          receivedAt: row.received_at,
          source,
        };
      }
    }
  }

  /**
   * Delete rows whose event time and receipt are both before their bounds, oldest first, at most `maxRows`
   * rows; returns the rows and the readings deleted.
   */
  prune(beforeTs: number, receivedBefore: number, maxRows: number): { rows: number; readings: number } {
    let readings = 0;
    const deleted = this.#s.prune.all(beforeTs, receivedBefore, maxRows);
    if (deleted.length) this.#latest.clear();
    for (const r of deleted) readings += r.n;
    this.#count -= readings;
    return { rows: deleted.length, readings };
  }

  get oldestTs(): number | undefined {
    return this.#s.oldest.get()?.ts;
  }

  /**
   * The one-reading-per-row `readings` table of earlier versions, moved into rows in one transaction (a
   * crash part way leaves it as it was) and dropped. Returns the readings moved.
   */
  migrateLegacy(): number {
    const db = this.#db;
    if (!hasTable(db, 'readings')) return 0;
    const chunk = db.prepare(
      `SELECT r.ts, s.device_id AS deviceId, s.channel, r.value, r.received_at AS receivedAt, r.source
       FROM readings r JOIN sensors s ON s.sensor = r.sensor
       WHERE r.ts >= ? AND r.ts < ? ORDER BY r.ts, s.device_id, r.received_at, r.source, s.channel`,
    );
    const next = db.prepare('SELECT min(ts) AS t FROM readings WHERE ts >= ?');
    let moved = 0;
    db.transaction(() => {
      // An hour of event time at a time keeps memory bounded for any journal size; empty hours are skipped.
      for (let t = (next.get(Number.MIN_SAFE_INTEGER) as { t: number | null }).t; t !== null; ) {
        const rows = (chunk.all(t, t + 3600_000) as (Omit<JournalRow, 'source'> & { source: number })[]).map(
          (r) => ({ ...r, source: SOURCE_NAMES[r.source] ?? 'replay' }),
        );
        this.add(rows, (_, isNew) => {
          if (isNew) moved++;
        });
        t = (next.get(t + 3600_000) as { t: number | null }).t;
      }
      db.exec('DROP TABLE readings');
    })();
    return moved;
  }
}

/** Whether readings[j]'s channel is already among readings[from..j). */
function repeats(readings: readonly JournalRow[], from: number, j: number): boolean {
  const c = readings[j]!.channel;
  for (let k = from; k < j; k++) if (readings[k]!.channel === c) return true;
  return false;
}
