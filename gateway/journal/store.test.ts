import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../shared/events.ts';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { testReading } from '../../tests/helpers/readings.ts';
import { GatewayStore, type StoreOptions } from './index.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const OPTS: StoreOptions = {
  synchronous: 'FULL',
  quotaBytes: 10_000_000,
  windowMs: 60_000,
  forwardRaw: false,
  quarantineMaxRows: 5,
  quarantineMaxPayloadBytes: 16,
};

const reading = (ts: number, value = 21, deviceId = 'env-1', channel = 'temperature') =>
  testReading(ts, value, { deviceId, channel, quantity: 'temperature' });

function agg(windowStart: number, count: number): Aggregate {
  return {
    deviceId: 'env-1',
    channel: 'temperature',
    roomId: 'r-101',
    quantity: 'temperature',
    unit: '°C',
    windowStart,
    windowMs: 60_000,
    count,
    min: 1,
    max: 1,
    sum: count,
    mean: 1,
    first: 1,
    firstTs: windowStart,
    last: 1,
    lastTs: windowStart,
    late: false,
  };
}

describe('GatewayStore', () => {
  let dir: string;
  let file: string;
  let store: GatewayStore;
  beforeEach(() => {
    dir = tempDir();
    file = join(dir, 'gateway.db');
    store = new GatewayStore(file, OPTS);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('journals a reading once: a repeat of (device, channel, ts) is a duplicate', () => {
    const first = store.commit([reading(T0), reading(T0 + 1000)], [], T0);
    expect(first.fresh).toHaveLength(2);
    const again = store.commit([reading(T0, 99), reading(T0 + 2000)], [], T0);
    expect(again.duplicates.map((r) => r.value)).toEqual([99]);
    expect(again.fresh.map((r) => r.ts)).toEqual([T0 + 2000]);
    expect(store.journalStats(T0).rows).toBe(3);
    // a different channel or device at the same instant is a different reading
    const other = store.commit([reading(T0, 1, 'env-2'), reading(T0, 1, 'env-1', 'co2')], [], T0);
    expect(other.fresh).toHaveLength(2);
  });

  it('keeps the readings a device sends together as one row, and still knows each one by (device, channel, ts)', () => {
    const poll = ['voltage', 'current', 'power'].map((c, i) => reading(T0, 230 + i, 'mb-1', c));
    expect(store.commit(poll, [], T0).fresh).toHaveLength(3);
    const rows = store.db.prepare('SELECT n FROM journal').all() as { n: number }[];
    expect(rows).toEqual([{ n: 3 }]);
    // Another payload at the same instant: its known channels are duplicates, the new one is journaled.
    const again = store.commit([reading(T0, 1, 'mb-1', 'power'), reading(T0, 2, 'mb-1', 'energy')], [], T0);
    expect(again.duplicates.map((r) => r.channel)).toEqual(['power']);
    expect(again.fresh.map((r) => r.channel)).toEqual(['energy']);
    // A channel twice in one submission: the second is a duplicate of the first.
    const twice = store.commit([reading(T0 + 1, 5, 'mb-1'), reading(T0 + 1, 6, 'mb-1')], [], T0);
    expect(twice.fresh.map((r) => r.value)).toEqual([5]);
    expect(twice.duplicates.map((r) => r.value)).toEqual([6]);
    expect(store.journalStats(T0).rows).toBe(5);
    store.close();
    store = new GatewayStore(file, OPTS);
    expect(store.journalStats(T0).rows).toBe(5);
    expect([...store.rowsSince(0)].map((r) => [r.channel, r.ts, r.value])).toEqual([
      ['voltage', T0, 230],
      ['current', T0, 231],
      ['power', T0, 232],
      ['energy', T0, 2],
      ['temperature', T0 + 1, 5],
    ]);
    expect(store.commit(poll, [], T0).duplicates).toHaveLength(3);
    // Pruning counts readings, not rows.
    store.closeWindows([], T0 + 60_000, T0);
    expect(store.prune(T0 + 60_000)).toEqual({ rows: 3, readings: 5 });
    expect(store.journalStats(T0).rows).toBe(0);
  });

  it('takes a device that sends one message per channel at one instant as parts, without losing identity', () => {
    const at = (channel: string, value: number, receivedAt: number) => ({
      ...reading(T0, value, 'env-7', channel),
      receivedAt,
    });
    // Four messages, one per channel, each received a little later: one row each (parts 0..3).
    const channels = ['temperature', 'humidity', 'co2', 'light'];
    const first = store.commit(
      channels.map((c, i) => at(c, i, T0 + i)),
      [],
      T0,
    );
    expect(first.fresh).toHaveLength(4);
    const parts = store.db.prepare('SELECT part, n FROM journal ORDER BY part').all();
    expect(parts).toEqual(channels.map((_, part) => ({ part, n: 1 })));
    // A redelivery of two of them and a new channel, in separate commits.
    expect(store.commit([at('humidity', 9, T0 + 10)], [], T0).duplicates).toHaveLength(1);
    expect(store.commit([at('pressure', 1013, T0 + 11), at('co2', 9, T0 + 11)], [], T0)).toMatchObject({
      fresh: [{ channel: 'pressure' }],
      duplicates: [{ channel: 'co2' }],
    });
    // A rolled-back commit leaves nothing behind, in the table or in what the store remembers.
    expect(() =>
      store.commit([at('noise', 40, T0 + 12)], [], T0, () => {
        throw new Error('disk on fire');
      }),
    ).toThrow('disk on fire');
    expect(store.commit([at('noise', 41, T0 + 13)], [], T0).fresh.map((r) => r.value)).toEqual([41]);
    // After a restart (nothing remembered) the instant's parts are read back: still duplicates.
    store.close();
    store = new GatewayStore(file, OPTS);
    expect(store.commit([at('light', 3, T0 + 20), at('noise', 1, T0 + 20)], [], T0).duplicates).toHaveLength(
      2,
    );
    expect(store.commit([at('voc', 5, T0 + 21)], [], T0).fresh).toHaveLength(1);
    expect(store.journalStats(T0).rows).toBe(7);
    expect(new Set([...store.rowsSince(0)].map((r) => r.channel))).toEqual(
      new Set([...channels, 'pressure', 'noise', 'voc']),
    );
  });

  it('moves a journal of one reading per row (earlier versions) into rows, once and whole', () => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    dir = tempDir();
    file = join(dir, 'gateway.db');
    const legacy = new Database(file);
    legacy.exec(`
      CREATE TABLE sensors (sensor INTEGER PRIMARY KEY, device_id TEXT NOT NULL, channel TEXT NOT NULL,
        UNIQUE (device_id, channel));
      CREATE TABLE readings (ts INTEGER NOT NULL, sensor INTEGER NOT NULL, value REAL NOT NULL,
        received_at INTEGER NOT NULL, source INTEGER NOT NULL, PRIMARY KEY (ts, sensor)) WITHOUT ROWID;
      INSERT INTO sensors VALUES (1, 'env-1', 'temperature'), (2, 'env-1', 'co2'), (3, 'env-2', 'temperature');
      INSERT INTO readings VALUES
        (${T0}, 1, 21.5, ${T0 + 5}, 1), (${T0}, 2, 600, ${T0 + 5}, 1), (${T0}, 3, 19, ${T0 + 7}, 2),
        (${T0 + 7200_000}, 1, 22, ${T0 + 7200_000}, 1), (${T0 + 7200_000}, 2, 610, ${T0 + 7200_010}, 4);
    `);
    legacy.close();
    store = new GatewayStore(file, OPTS);
    expect(store.journalStats(T0).rows).toBe(5);
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'readings'").get()).toBeUndefined();
    expect([...store.rowsSince(0)].map((r) => [r.deviceId, r.channel, r.ts, r.value, r.source])).toEqual([
      ['env-1', 'co2', T0, 600, 'mqtt'],
      ['env-1', 'temperature', T0, 21.5, 'mqtt'],
      ['env-2', 'temperature', T0, 19, 'modbus'],
      ['env-1', 'temperature', T0 + 7200_000, 22, 'mqtt'],
      ['env-1', 'co2', T0 + 7200_000, 610, 'replay'],
    ]);
    // Still deduplicated after the move.
    const again = store.commit([reading(T0, 21.5), reading(T0 + 7200_000, 0, 'env-1', 'co2')], [], T0);
    expect(again.duplicates).toHaveLength(2);
    store.close();
    store = new GatewayStore(file, OPTS);
    expect(store.journalStats(T0).rows).toBe(5);
  });

  it('closing windows queues aggregates and advances the watermark atomically; reopening keeps both', () => {
    store.commit([reading(T0), reading(T0 + 60_000)], [], T0);
    store.closeWindows([agg(T0, 1)], T0 + 60_000, T0 + 200_000);
    expect(store.closedUntil).toBe(T0 + 60_000);
    expect(store.outbox.stats(T0 + 200_000).aggregate.rows).toBe(1);
    store.close();
    store = new GatewayStore(file, OPTS);
    expect(store.closedUntil).toBe(T0 + 60_000);
    expect(store.outbox.stats(T0).aggregate.rows).toBe(1);
    // only the reading of the still-open window is rebuilt
    expect([...store.openRows()].map((r) => r.ts)).toEqual([T0 + 60_000]);
  });

  it('sums late readings per window durably and sends each window as one correction when it is due', () => {
    store.closeWindows([], T0 + 60_000, T0);
    const res = store.commit([reading(T0 + 5000, 30), reading(T0 + 6000, 10)], [], T0 + 200_000);
    expect(res.late).toHaveLength(2);
    expect(res.fresh).toHaveLength(0);
    // a redelivery is a duplicate, not counted again
    expect(store.commit([reading(T0 + 5000, 30)], [], T0 + 200_000).duplicates).toHaveLength(1);
    // Not due yet (arrived just now); and it survives a restart (summed in the commit's transaction).
    expect(store.flushLate(T0 + 200_000)).toBe(0);
    store.close();
    store = new GatewayStore(file, OPTS);
    expect(store.pendingLateWindows).toBe(1);
    expect(store.flushLate(T0 + 200_000 + 120_000)).toBe(1);
    const rows = store.outbox.peek('aggregate', 10);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.body) as Aggregate).toMatchObject({
      late: true,
      windowStart: T0,
      count: 2,
      sum: 40,
      min: 10,
      max: 30,
      first: 30,
      firstTs: T0 + 5000,
      last: 10,
      lastTs: T0 + 6000,
    });
    expect(store.pendingLateWindows).toBe(0);
  });

  it('sends a backfill window by window as its readings move on, one correction per window', () => {
    store.closeWindows([], T0 + 100 * 60_000, T0);
    // Ten minutes of old data, three readings a minute, arriving in one burst.
    const old = Array.from({ length: 30 }, (_, i) => reading(T0 + i * 20_000, i));
    store.commit(old, [], T0 + 200 * 60_000);
    // Minutes 0-6 lie 2 min (the lateness) behind the newest reading (minute 9): out at once.
    expect(store.flushLate(T0 + 200 * 60_000)).toBe(7);
    expect(store.pendingLateWindows).toBe(3);
    const corrections = store.outbox.peek('aggregate', 100).map((r) => JSON.parse(r.body) as Aggregate);
    expect(corrections.map((a) => [a.windowStart - T0, a.count, a.sum])).toEqual(
      Array.from({ length: 7 }, (_, m) => [m * 60_000, 3, 3 * m * 3 + 3]),
    );
    expect(new Set(store.outbox.peek('aggregate', 100).map((r) => r.itemId)).size).toBe(7);
  });

  it('keeps a bounded quarantine with truncated payloads', () => {
    for (let i = 0; i < 8; i++) {
      store.commit(
        [],
        [
          {
            at: T0 + i,
            source: 'mqtt',
            deviceId: 'env-1',
            topic: 't',
            code: 'CT_ERR_NOT_JSON',
            message: `bad ${i}`,
            payload: Buffer.alloc(100, 65),
          },
        ],
        T0,
      );
    }
    const rows = store.recentQuarantine(100);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatchObject({ message: 'bad 7', code: 'CT_ERR_NOT_JSON' });
    expect(String(rows[0]!.payload)).toHaveLength(16);
  });

  it('prunes old rows but never rows of open windows', () => {
    store.commit([reading(T0), reading(T0 + 120_000)], [], T0);
    expect(store.prune(T0 + 1_000_000).readings).toBe(0); // watermark still 0: everything is open
    store.closeWindows([], T0 + 60_000, T0);
    expect(store.prune(T0 + 1_000_000).readings).toBe(1);
    expect(store.journalStats(T0).rows).toBe(1);
  });

  it('under its quota the outbox drops raw first, then the oldest aggregates, and refuses events', () => {
    store.close();
    store = new GatewayStore(file, { ...OPTS, quotaBytes: 2000 });
    const body = { pad: 'x'.repeat(100) }; // about 150 bytes an item
    for (let i = 0; i < 6; i++) expect(store.addOutboxItem('raw', `raw-${i}`, body, T0 + i)).toBe('stored');
    for (let i = 0; i < 6; i++)
      expect(store.addOutboxItem('aggregate', `agg-${i}`, body, T0 + i)).toBe('stored');
    let s = store.outbox.stats(T0);
    expect(s.raw.rows + s.aggregate.rows).toBe(12);
    // more aggregates: raw goes first
    for (let i = 6; i < 12; i++) store.addOutboxItem('aggregate', `agg-${i}`, body, T0 + i);
    s = store.outbox.stats(T0);
    expect(s.raw.rows).toBe(0);
    expect(s.raw.dropped).toBe(6);
    expect(s.aggregate.rows).toBeGreaterThan(6);
    // events displace the oldest aggregates, and once only events are left a new event is refused
    let refused = 0;
    for (let i = 0; i < 20; i++)
      if (store.addOutboxItem('event', `ev-${i}`, body, T0) === 'refused') refused++;
    s = store.outbox.stats(T0);
    expect(s.aggregate.rows).toBe(0);
    expect(s.event.rows).toBe(20 - refused);
    expect(refused).toBeGreaterThan(0);
    expect(s.event.dropped).toBe(refused);
    const kept = store.outbox.peek('event', 100).map((r) => r.itemId);
    expect(kept[0]).toBe('ev-0'); // the oldest events are never the ones dropped
    // the byte count matches the disk after all that
    const onDisk = (store.db.prepare('SELECT SUM(bytes) AS b FROM outbox_event').get() as { b: number }).b;
    expect(s.event.bytes).toBe(onDisk);
    expect(store.addOutboxItem('event', 'ev-0', body, T0)).toBe('duplicate');
  });

  it('gives the disk back once a backlog is gone', () => {
    const body = { pad: 'y'.repeat(2000) };
    store.db.transaction(() => {
      for (let i = 0; i < 2000; i++) store.outbox.add('aggregate', `a-${i}`, body, T0);
    })();
    const pages = () => store.db.pragma('page_count', { simple: true }) as number;
    const full = pages();
    store.db.transaction(() =>
      store.outbox.remove(
        'aggregate',
        store.outbox.peek('aggregate', 5000).map((r) => r.seq),
      ),
    )();
    expect(store.reclaimSpace(100_000)).toBeGreaterThan(0);
    expect(pages()).toBeLessThan(full / 4);
    expect(store.outbox.stats(T0).aggregate).toMatchObject({ rows: 0, bytes: 0 });
  });

  it('also queues each new raw reading when forwardRaw is on, once however often it is resent', () => {
    store.close();
    store = new GatewayStore(file, { ...OPTS, forwardRaw: true });
    store.commit([reading(T0), reading(T0 + 1000)], [], T0);
    store.commit([reading(T0), reading(T0 + 2000)], [], T0);
    const raw = store.outbox.peek('raw', 10);
    expect(raw.map((r) => r.itemId)).toEqual([
      `raw:env-1:temperature:${T0}`,
      `raw:env-1:temperature:${T0 + 1000}`,
      `raw:env-1:temperature:${T0 + 2000}`,
    ]);
  });

  it('rolls a failed group commit back whole, and forgets sensor ids it had made', () => {
    expect(() =>
      store.commit([reading(T0, 1, 'env-9')], [], T0, () => {
        throw new Error('disk on fire');
      }),
    ).toThrow('disk on fire');
    expect(store.journalStats(T0).rows).toBe(0);
    // the same reading commits afterwards, under a sensor id that really exists
    expect(store.commit([reading(T0, 1, 'env-9')], [], T0).fresh).toHaveLength(1);
    store.close();
    store = new GatewayStore(file, OPTS);
    expect([...store.openRows()].map((r) => [r.deviceId, r.ts])).toEqual([['env-9', T0]]);
  });

  it('keeps its outbox counts true when any transaction through it rolls back', () => {
    const failing = store.transaction(() => {
      store.outbox.add('alert', 'a-1', { x: 1 }, T0);
      throw new Error('boom');
    });
    expect(() => failing()).toThrow('boom');
    expect(store.outbox.stats(T0).alert).toMatchObject({ rows: 0, bytes: 0 });
    expect(store.addOutboxItem('alert', 'a-1', { x: 1 }, T0)).toBe('stored');
    expect(store.outbox.stats(T0).alert.rows).toBe(1);
  });

  it('removes a sent batch by its seqs and keeps the counts in step with the disk', () => {
    store.transaction(() => {
      for (let i = 0; i < 5; i++) store.outbox.add('twin', `t-${i}`, { i, pad: 'x'.repeat(i * 10) }, T0);
    })();
    const rows = store.outbox.peek('twin', 10);
    const gone = [rows[0]!.seq, rows[3]!.seq, 99_999];
    store.transaction(() => store.outbox.remove('twin', gone))();
    const left = store.outbox.peek('twin', 10);
    expect(left.map((r) => r.itemId)).toEqual(['t-1', 't-2', 't-4']);
    const stats = store.outbox.stats(T0).twin;
    expect(stats.rows).toBe(3);
    expect(stats.bytes).toBe(left.reduce((a, r) => a + r.bytes, 0));
    store.transaction(() => store.outbox.remove('twin', [left[1]!.seq]))();
    expect(store.outbox.stats(T0).twin).toMatchObject({ rows: 2, bytes: left[0]!.bytes + left[2]!.bytes });
    store.outbox.reloadUsage();
    expect(store.outbox.stats(T0).twin).toMatchObject({ rows: 2, bytes: left[0]!.bytes + left[2]!.bytes });
  });
});
