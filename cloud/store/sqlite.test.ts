import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Aggregate } from '../../shared/events.ts';
import type { PreparedEvent } from '../consume/prepare.ts';
import { BackgroundCheckpointer } from './checkpointer.ts';
import {
  agg,
  aggItem,
  P0,
  poisonedBatch,
  prepared,
  rawReading,
  roomOf,
  sharedStoreContract,
  storeContract,
  windowEvent,
  windowsOf,
} from './contract.ts';
import { SNAPSHOT_EVENTS, snapshotContract } from './contract-snapshots.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { SqliteCloudStore } from './sqlite.ts';

storeContract('SQLite in memory', () => new SqliteCloudStore({ file: ':memory:' }));
snapshotContract('SQLite in memory', () => new SqliteCloudStore({ file: ':memory:' }));

const dir = mkdtempSync(join(tmpdir(), 'ct-store-'));
let n = 0;
storeContract('SQLite file', () => new SqliteCloudStore({ file: join(dir, `s${n++}.db`) }));

afterAll(() => rmSync(dir, { recursive: true, force: true }));
sharedStoreContract('SQLite, two processes on one file', () => {
  const file = join(dir, `shared${n++}.db`);
  return [new SqliteCloudStore({ file }), new SqliteCloudStore({ file })];
});

describe('SQLite store sensor dictionary', () => {
  it('forgets sensor ids created by a rolled-back transaction', async () => {
    const s = new SqliteCloudStore({ file: ':memory:' });
    try {
      const poisoned = poisonedBatch('p', { windowStart: 0, deviceId: 'new-1' });
      await expect(s.applyBatch(P0, [poisoned], poisoned.position, 1)).rejects.toThrow();
      // new-2 takes the id new-1 had in the rolled-back transaction; new-1 must get a fresh one.
      const two = prepared('aggregate', 'gw-1', 'b2', [
        aggItem(agg({ windowStart: 0, deviceId: 'new-2', count: 2 })),
      ]);
      const one = prepared('aggregate', 'gw-1', 'b1', [
        aggItem(agg({ windowStart: 0, deviceId: 'new-1', count: 1 })),
      ]);
      await s.applyBatch(P0, [two, one], one.position, 2);
      const range = { from: 0, to: 60_000, limit: 10 };
      expect((await windowsOf(s, 'new-1', 'temperature', range))?.map((w) => w.count)).toEqual([1]);
      expect((await windowsOf(s, 'new-2', 'temperature', range))?.map((w) => w.count)).toEqual([2]);
    } finally {
      await s.close();
    }
  });

  it('moves a sensor to the room its latest aggregate names', async () => {
    const s = new SqliteCloudStore({ file: ':memory:' });
    try {
      const a = prepared('aggregate', 'gw-1', 'r1', [aggItem(agg({ windowStart: 0, roomId: 'old' }))]);
      const b = prepared('aggregate', 'gw-1', 'r2', [aggItem(agg({ windowStart: 60_000, roomId: 'new' }))]);
      await s.applyBatch(P0, [a, b], b.position, 1);
      const w = await windowsOf(s, 'env-1', 'temperature', { from: 0, to: 120_000, limit: 10 });
      expect(w?.map((x) => x.roomId)).toEqual(['new', 'new']);
    } finally {
      await s.close();
    }
  });
});

describe('SQLite store checkpoints', () => {
  it('checkpoints in a worker thread after an apply, the writer keeping a 128 MiB safety net', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ct-store-ckpt-'));
    const file = join(own, 'c.db');
    const s = new SqliteCloudStore({ file, checkpointDelayMs: 10 });
    try {
      expect(s.db.pragma('wal_autocheckpoint', { simple: true })).toBe(8192);
      expect(s.walCheckpoints()).toMatchObject({ runs: 0, frames: 0, running: true });
      const windows = Array.from({ length: 500 }, (_, i) => agg({ windowStart: i * 60_000 }));
      const ev = prepared('aggregate', 'gw-1', 'b1', windows.map(aggItem));
      await s.applyBatch(P0, [ev], ev.position, 1);
      await vi.waitFor(() => expect(s.walCheckpoints()?.runs).toBeGreaterThan(0), { timeout: 5000 });
      expect(s.walCheckpoints()).toMatchObject({ busy: 0, lastError: null, running: true });
      expect(s.walCheckpoints()?.frames).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
    // The worker closed its connection: the store's close was the last one, which removes the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
    rmSync(own, { recursive: true, force: true });
  });

  it('hands checkpoints back to the writer when the worker fails', async () => {
    const onFailure = vi.fn();
    const c = new BackgroundCheckpointer(join(dir, 'no-such.db'), { delayMs: 10, onFailure });
    await vi.waitFor(() => expect(onFailure).toHaveBeenCalledTimes(1), { timeout: 5000 });
    expect(c.stats()).toMatchObject({
      running: false,
      lastError: expect.stringMatching(/no-such\.db|unable to open/),
    });
    await c.close();
    expect(onFailure).toHaveBeenCalledTimes(1);
  });

  it('leaves checkpoints to the writer when asked to', async () => {
    const s = new SqliteCloudStore({ file: join(dir, `w${n++}.db`), checkpointDelayMs: null });
    expect(s.walCheckpoints()).toBeUndefined();
    expect(s.db.pragma('wal_autocheckpoint', { simple: true })).toBe(2048);
    await s.close();
  });
});

/**
 * A migration test on an older file: a store made now is fed `events` (each applied in its own call), then
 * `sql` run on the closed file turns it into the older layout; `check` gets a store reopened on it. The
 * directory goes afterwards, whatever happens.
 */
/** The aggregates table as an older version made it (`key`: its key clause and table options), rows kept. */
function olderAggregates(key: string): string {
  return `ALTER TABLE aggregates RENAME TO a_now;
    CREATE TABLE aggregates (
      sensor_id INTEGER NOT NULL, window_ms INTEGER NOT NULL, window_start INTEGER NOT NULL,
      count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
      first_value REAL NOT NULL, first_ts INTEGER NOT NULL, last_value REAL NOT NULL, last_ts INTEGER NOT NULL,
      items INTEGER NOT NULL, has_base INTEGER NOT NULL,
      ${key};
    INSERT INTO aggregates SELECT * FROM a_now;
    DROP TABLE a_now;`;
}

/**
 * The migrated windows (0, 60 and 120 s) kept their base records: the same windows again are duplicates,
 * a new one applies.
 */
async function expectBasesKept(s: SqliteCloudStore, windows: readonly Aggregate[]): Promise<void> {
  const again = prepared('aggregate', 'gw-1', 'b2', [...windows, agg({ windowStart: 180_000 })].map(aggItem));
  const r = await s.applyBatch(P0, [again], again.position, 2);
  expect(r).toMatchObject({ itemsApplied: { aggregate: 1 }, duplicateItems: 3 });
  const range = { from: 0, to: 240_000, limit: 10 };
  expect((await windowsOf(s, 'env-1', 'temperature', range))?.map((w) => w.windowStart)).toEqual([
    0, 60_000, 120_000, 180_000,
  ]);
}

async function onOlderFile(
  tag: string,
  events: readonly PreparedEvent[],
  sql: string,
  check: (s: SqliteCloudStore) => Promise<void>,
): Promise<void> {
  const own = mkdtempSync(join(tmpdir(), `ct-store-${tag}-`));
  const file = join(own, `${tag}.db`);
  try {
    const made = new SqliteCloudStore({ file, checkpointDelayMs: null });
    for (const [i, ev] of events.entries()) await made.applyBatch(P0, [ev], ev.position, i + 1);
    await made.close();
    const old = new Database(file);
    old.exec(sql);
    old.close();
    const s = new SqliteCloudStore({ file, checkpointDelayMs: null });
    try {
      await check(s);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
}

/** An alert as the migration tests store it before rewriting the file to an older layout. */
const ALERT = { alertId: 'al-1', ts: 5, severity: 'warning', code: 'co2_high', roomId: 'r1', message: 'm' };

describe('SQLite store migration', () => {
  it('adds the occupancy detail column to a version-2 room_state and keeps its rows', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ct-store-v2-'));
    const file = join(own, 'v2.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE room_state (
      room_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, ts INTEGER NOT NULL,
      reasons TEXT NOT NULL, item_id TEXT NOT NULL, gateway_id TEXT NOT NULL,
      PRIMARY KEY (room_id, kind, subject)) WITHOUT ROWID;
      INSERT INTO room_state VALUES ('r1', 'occupancy', '', 'occupied', 5, '["basis co2"]', 'i1', 'gw-1');`);
    old.close();
    const s = new SqliteCloudStore({ file });
    try {
      expect((await roomOf(s, 'r1', 5))?.state.occupancy).toEqual({
        state: 'occupied',
        ts: 5,
        reasons: ['basis co2'],
        gatewayId: 'gw-1',
      });
      const change = { roomId: 'r1', ts: 9, kind: 'occupancy', from: 'occupied', to: 'vacant', reasons: [] };
      const item = { id: 'twin:r1:9', body: { ...change, probability: 0.2, basis: 'light' } };
      const batch = prepared('twin', 'gw-1', 't1', [item]);
      await s.applyBatch(P0, [batch], batch.position, 1);
      expect((await roomOf(s, 'r1', 5))?.state.occupancy).toMatchObject({
        state: 'vacant',
        probability: 0.2,
        basis: 'light',
      });
    } finally {
      await s.close();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('rebuilds a version-3 aggregates table (WITHOUT ROWID) as a rowid table and keeps its windows', async () => {
    const windows = [0, 60_000, 120_000].map((windowStart) => agg({ windowStart }));
    // The aggregates table as version 3 created it, holding the same rows.
    const v3 = `${olderAggregates('PRIMARY KEY (sensor_id, window_ms, window_start)) WITHOUT ROWID')}
      UPDATE meta SET value = '3' WHERE key = 'schemaVersion';`;
    await onOlderFile('v3', [prepared('aggregate', 'gw-1', 'b1', windows.map(aggItem))], v3, async (s) => {
      const sql = s.db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'aggregates'").pluck().get();
      expect(sql).not.toMatch(/WITHOUT ROWID/);
      expect(s.db.prepare("SELECT value FROM meta WHERE key = 'schemaVersion'").pluck().get()).toBe(
        String(SCHEMA_VERSION),
      );
      const range = { from: 0, to: 180_000, limit: 10 };
      expect((await windowsOf(s, 'env-1', 'temperature', range))?.map((w) => w.windowStart)).toEqual([
        0, 60_000, 120_000,
      ]);
      await expectBasesKept(s, windows);
    });
  });

  it("re-keys a version-9 aggregates table time-major and fills the sensors' window spans from it", async () => {
    const windows = [0, 60_000, 120_000].map((windowStart) => agg({ windowStart }));
    const hourly = agg({ windowStart: 3_600_000, windowMs: 3_600_000, deviceId: 'env-2' });
    // Version 9: the key sensor-major, no sensor_windows.
    const v9 = `${olderAggregates('UNIQUE (sensor_id, window_ms, window_start))')}
      DROP TABLE sensor_windows;
      UPDATE meta SET value = '9' WHERE key = 'schemaVersion';`;
    const events = [prepared('aggregate', 'gw-1', 'b1', [...windows, hourly].map(aggItem))];
    await onOlderFile('v9', events, v9, async (s) => {
      const key = s.db
        .prepare(
          `SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list('aggregates')
             WHERE "unique" = 1)) ORDER BY seqno`,
        )
        .pluck()
        .all();
      expect(key).toEqual(['window_ms', 'window_start', 'sensor_id']);
      expect(
        s.db.prepare('SELECT window_ms, phase, first_start, last_start FROM sensor_windows ORDER BY 1').all(),
      ).toEqual([
        { window_ms: 60_000, phase: 0, first_start: 0, last_start: 120_000 },
        { window_ms: 3_600_000, phase: 0, first_start: 3_600_000, last_start: 3_600_000 },
      ]);
      const range = { from: 0, to: 7_200_000, limit: 10 };
      expect((await windowsOf(s, 'env-1', 'temperature', range))?.map((w) => w.windowStart)).toEqual([
        0, 60_000, 120_000,
      ]);
      expect((await windowsOf(s, 'env-2', 'temperature', range))?.map((w) => w.windowMs)).toEqual([
        3_600_000,
      ]);
      await expectBasesKept(s, windows);
    });
  });

  it('makes a new file with 16 KiB pages and keeps the 4 KiB pages of an older file, checkpointing both at 32 MiB', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ct-store-pages-'));
    const pragmas = (s: SqliteCloudStore) => ({
      pageSize: s.db.pragma('page_size', { simple: true }),
      autocheckpoint: s.db.pragma('wal_autocheckpoint', { simple: true }),
    });
    try {
      const fresh = new SqliteCloudStore({ file: join(own, 'new.db'), checkpointDelayMs: null });
      expect(pragmas(fresh)).toEqual({ pageSize: 16_384, autocheckpoint: 2048 });
      await fresh.close();
      // A file an earlier release made, with SQLite's default page size and a window in it.
      const file = join(own, 'old.db');
      const old = new Database(file);
      old.pragma('page_size = 4096');
      old.pragma('journal_mode = WAL');
      old.close();
      const first = new SqliteCloudStore({ file });
      const ev = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 0 }))]);
      await first.applyBatch(P0, [ev], ev.position, 1);
      await first.close();
      const reopened = new SqliteCloudStore({ file, checkpointDelayMs: null });
      expect(pragmas(reopened)).toEqual({ pageSize: 4096, autocheckpoint: 8192 });
      expect(
        await windowsOf(reopened, 'env-1', 'temperature', { from: 0, to: 60_000, limit: 10 }),
      ).toHaveLength(1);
      await reopened.close();
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('keys the sensors of a version-6 file by campus, keeping their ids and windows', async () => {
    const window = (batch: string, windowStart: number, count: number, campusId?: string) =>
      windowEvent('gw-1', batch, { windowStart, count }, campusId);
    // The sensors table as version 6 had it: no campus, keyed by device and channel.
    const v6 = `ALTER TABLE sensors RENAME TO s7;
      CREATE TABLE sensors (sensor_id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,
        channel TEXT NOT NULL, room_id TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
        UNIQUE (device_id, channel));
      INSERT INTO sensors SELECT sensor_id, device_id, channel, room_id, quantity, unit FROM s7;
      DROP TABLE s7;
      UPDATE meta SET value = '6' WHERE key = 'schemaVersion';`;
    await onOlderFile('v6', [window('b1', 0, 5)], v6, async (s) => {
      expect(s.db.prepare('SELECT sensor_id, campus_id, device_id FROM sensors').all()).toEqual([
        { sensor_id: 1, campus_id: '', device_id: 'env-1' },
      ]);
      const range = { from: 0, to: 60_000, limit: 10 };
      expect((await windowsOf(s, 'env-1', 'temperature', range))?.map((w) => w.count)).toEqual([5]);
      // The same gateway's window again is still a duplicate.
      const again = window('b2', 0, 5);
      expect(await s.applyBatch(P0, [again], again.position, 2)).toMatchObject({ duplicateItems: 1 });
      // Upgraded, it names its campus: the sensor (id 1, its windows) joins that campus.
      const north = window('b3', 60_000, 9, 'north');
      await s.applyBatch(P0, [north], north.position, 3);
      const all = { ...range, to: 120_000 };
      expect((await windowsOf(s, 'env-1', 'temperature', all, 'north'))?.map((w) => w.count)).toEqual([5, 9]);
      expect(await windowsOf(s, 'env-1', 'temperature', all, '')).toBeUndefined();
      expect(s.db.prepare('SELECT sensor_id, campus_id FROM sensors').all()).toEqual([
        { sensor_id: 1, campus_id: 'north' },
      ]);
    });
  });

  it("keys the rooms of a version-7 file by campus, each row on its gateway's campus", async () => {
    const twin = (gw: string, batch: string, room: string, ts: number, campusId?: string) =>
      prepared(
        'twin',
        gw,
        batch,
        [
          {
            id: `twin:${room}:${ts}`,
            body: { roomId: room, kind: 'occupancy', ts, from: '', to: 'occupied', reasons: [] },
          },
        ],
        { campusId },
      );
    const alert = { ...ALERT };
    const events = [
      twin('gw-1', 'b1', 'r1', 5, 'north'),
      prepared('alert', 'gw-1', 'b2', [{ id: 'al-1', body: { ...alert } }], { campusId: 'north' }),
      twin('gw-0', 'b3', 'r2', 5),
    ];
    // twin_changes, alerts and room_state as version 7 had them: no campus, indexes without it.
    const v7 = `DROP INDEX twin_changes_room; DROP INDEX twin_changes_key; DROP INDEX alerts_room;
      ALTER TABLE twin_changes DROP COLUMN campus_id;
      ALTER TABLE alerts DROP COLUMN campus_id;
      ALTER TABLE room_state RENAME TO rs8;
      CREATE TABLE room_state (
        room_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, ts INTEGER NOT NULL,
        reasons TEXT NOT NULL, item_id TEXT NOT NULL, gateway_id TEXT NOT NULL, detail TEXT,
        PRIMARY KEY (room_id, kind, subject)) WITHOUT ROWID;
      INSERT INTO room_state SELECT room_id, kind, subject, state, ts, reasons, item_id, gateway_id, detail FROM rs8;
      DROP TABLE rs8;
      CREATE INDEX twin_changes_room ON twin_changes (room_id, ts);
      CREATE INDEX twin_changes_key ON twin_changes (room_id, kind, subject, ts);
      CREATE INDEX alerts_room ON alerts (room_id, ts);
      UPDATE meta SET value = '7' WHERE key = 'schemaVersion';`;
    await onOlderFile('v7', events, v7, async (s) => {
      const r1 = await roomOf(s, 'r1', 5);
      expect(r1).toMatchObject({ campusId: 'north', recentAlerts: [alert] });
      expect(r1?.state.occupancy).toMatchObject({ state: 'occupied', ts: 5, gatewayId: 'gw-1' });
      expect(await roomOf(s, 'r2', 5)).toMatchObject({ campusId: null });
      expect(s.db.prepare('SELECT campus_id, room_id FROM twin_changes ORDER BY room_id').all()).toEqual([
        { campus_id: 'north', room_id: 'r1' },
        { campus_id: '', room_id: 'r2' },
      ]);
      const columns = (index: string) =>
        s.db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(index);
      expect(['twin_changes_room', 'twin_changes_key', 'alerts_room'].map(columns)).toEqual([
        ['room_id', 'campus_id', 'ts'],
        ['room_id', 'campus_id', 'kind', 'subject', 'ts'],
        ['room_id', 'campus_id', 'ts'],
      ]);
      // The same room id from another campus is another room; north's r1 takes its next change.
      const later = [twin('gw-1', 'b4', 'r1', 9, 'north'), twin('gw-9', 'b5', 'r1', 7, 'south')];
      await s.applyBatch(P0, later, later[1]!.position, 4);
      expect((await roomOf(s, 'r1', 5, 'north'))?.state.occupancy).toMatchObject({ ts: 9 });
      expect((await roomOf(s, 'r1', 5, 'south'))?.state.occupancy).toMatchObject({ ts: 7 });
    });
  });

  it("puts the raw readings of a version-8 file on their gateway's campus", async () => {
    const reading = rawReading({ ts: 5, receivedAt: 6 });
    const events = [
      prepared('raw', 'gw-1', 'b1', [{ id: 'raw-1', body: { ...reading } }], { campusId: 'north' }),
      prepared('raw', 'gw-0', 'b2', [{ id: 'raw-2', body: { ...reading, deviceId: 'env-7' } }]),
    ];
    const v8 = `DROP INDEX readings_sensor; ALTER TABLE readings DROP COLUMN campus_id;
      CREATE INDEX readings_sensor ON readings (device_id, channel, ts);
      UPDATE meta SET value = '8' WHERE key = 'schemaVersion';`;
    await onOlderFile('v8', events, v8, async (s) => {
      expect(s.db.prepare('SELECT device_id, campus_id FROM readings ORDER BY device_id').all()).toEqual([
        { device_id: 'env-7', campus_id: '' },
        { device_id: 'env-9', campus_id: 'north' },
      ]);
      const range = { from: 0, to: 100, limit: 10 };
      expect(await s.sensorWindows('env-9', 'co2', range, 'north')).toEqual([]);
      expect(
        s.db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all('readings_sensor'),
      ).toEqual(['device_id', 'channel', 'campus_id', 'ts']);
    });
  });

  it('re-keys the items and alerts of a version-5 file by gateway, keeping what they record', async () => {
    const alert = { ...ALERT };
    const alertEvent = (gw: string, batch: string) =>
      prepared('alert', gw, batch, [{ id: 'al-1', body: alert }]);
    // Items and alerts as version 5 kept them, keyed by their ids alone, with an event's id among the items.
    const v5 = `DROP TABLE items;
      CREATE TABLE items (item_id TEXT PRIMARY KEY, cls TEXT NOT NULL, gateway_id TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO items VALUES ('al-1', 'alert', 'gw-1'), ('e-1', 'event', 'gw-1');
      ALTER TABLE alerts RENAME TO a6;
      CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, ts INTEGER NOT NULL,
        severity TEXT NOT NULL, code TEXT NOT NULL, room_id TEXT, device_id TEXT, message TEXT NOT NULL);
      INSERT INTO alerts SELECT alert_id, gateway_id, ts, severity, code, room_id, device_id, message FROM a6;
      DROP TABLE a6;
      UPDATE meta SET value = '5' WHERE key = 'schemaVersion';`;
    await onOlderFile('v5', [alertEvent('gw-1', 'b1')], v5, async (s) => {
      const key = (t: string) =>
        s.db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').pluck().all(t);
      expect([key('items'), key('alerts')]).toEqual([
        ['gateway_id', 'item_id'],
        ['gateway_id', 'alert_id'],
      ]);
      expect(s.db.prepare('SELECT gateway_id, item_id, cls FROM items').all()).toEqual([
        { gateway_id: 'gw-1', item_id: 'al-1', cls: 'alert' },
      ]);
      expect((await roomOf(s, 'r1', 5))?.recentAlerts).toEqual([alert]);
      const resent = alertEvent('gw-1', 'b2');
      expect(await s.applyBatch(P0, [resent], resent.position, 2)).toMatchObject({ duplicateItems: 1 });
      const other = alertEvent('gw-2', 'b3');
      expect(await s.applyBatch(P0, [other], other.position, 3)).toMatchObject({
        itemsApplied: { alert: 1 },
      });
      expect((await roomOf(s, 'r1', 5))?.recentAlerts).toHaveLength(2);
    });
  });

  it('adds the campus column to the gateways of a version-4 file, keeping their counters', async () => {
    const first = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 0 }))]);
    // The gateways table as version 4 had it: no campus column.
    const v4 = `ALTER TABLE gateways DROP COLUMN campus_id; UPDATE meta SET value = '4' WHERE key = 'schemaVersion';`;
    await onOlderFile('v4', [first], v4, async (s) => {
      expect(await s.gateways()).toMatchObject([{ gatewayId: 'gw-1', campusId: null, batchesApplied: 1 }]);
      const next = windowEvent('gw-1', 'b2', { windowStart: 60_000 }, 'north');
      await s.applyBatch(P0, [next], next.position, 2);
      expect(await s.gateways()).toMatchObject([{ gatewayId: 'gw-1', campusId: 'north', batchesApplied: 2 }]);
    });
  });

  it('adds the reporting columns to a version-1 file and fills them from the stored bodies', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ct-store-v1-'));
    const file = join(own, 'v1.db');
    // A version-1 events table, as the store created it before reporting existed.
    const old = new Database(file);
    old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schemaVersion', '1');
      CREATE TABLE events (event_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, ts INTEGER NOT NULL,
        type TEXT NOT NULL, body TEXT NOT NULL);`);
    const insert = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    for (const e of SNAPSHOT_EVENTS) {
      const b = e.body as { eventId: string; ts: number; type: string };
      insert.run(b.eventId, 'gw-1', b.ts, b.type, JSON.stringify(b));
    }
    old.close();
    const s = new SqliteCloudStore({ file });
    try {
      const row = s.db
        .prepare(
          'SELECT source, actor_id, course_id, object_id, score, max_score FROM events WHERE event_id = ?',
        )
        .get('e7');
      expect(row).toEqual({
        source: 'caliper',
        actor_id: 'p_a',
        course_id: 'c1',
        object_id: 'a1',
        score: 8,
        max_score: 10,
      });
      expect(s.db.prepare("SELECT value FROM meta WHERE key = 'schemaVersion'").get()).toEqual({
        value: String(SCHEMA_VERSION),
      });
      const snap = await s.createSnapshot({
        cutoffTs: 1_800_000_000_000,
        now: 1_800_000_000_000,
        trigger: 'cli',
      });
      expect(snap.enrolments).toBe(3);
    } finally {
      await s.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
