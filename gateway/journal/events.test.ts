import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { LearningEvent } from '../../shared/events.ts';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { ROW_MAX_CHARS, ROW_MAX_EVENTS, requestItemId, sameEvent } from './events.ts';
import { EventJournal, GatewayStore, type OutboxRow } from './index.ts';
import { EVENT_STORE_OPTS, stored, T0, testEvent } from './test-support.ts';

const OPTS = EVENT_STORE_OPTS;
const ev = testEvent;

/** The wire items of peeked outbox rows: a request row's events, each under its own id. */
const itemsOf = (rows: readonly OutboxRow[]) =>
  rows.flatMap((r) =>
    (JSON.parse(r.body) as LearningEvent[]).map((e) => ({ seq: r.seq, id: e.eventId, event: e })),
  );

describe('EventJournal', () => {
  let dir = '';
  let store: GatewayStore | undefined;
  afterEach(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (quotaBytes = OPTS.quotaBytes) => {
    dir = tempDir();
    store = new GatewayStore(join(dir, 'gateway.db'), { ...OPTS, quotaBytes });
    return { store, journal: new EventJournal(store, { maxRowsPerCommit: 10_000, now: () => T0 }) };
  };

  it('stores each event once, with its outbox item, in one commit for concurrent submissions', async () => {
    const { store, journal } = open();
    let commits = 0;
    journal.onCommit = () => commits++;
    const results = await Promise.all([
      journal.submit([ev(1), ev(2)]),
      journal.submit([ev(2), ev(3)]),
      journal.submit([ev(3)]),
    ]);
    expect(commits).toBe(1);
    expect(results).toEqual([stored(2), stored(1, 1), stored(0, 1)]);
    expect(journal.rows()).toBe(3);
    // A row per submission with new events, holding those events.
    const rows = store.outbox.peek('event', 10);
    expect(rows.map((r) => r.items)).toEqual([2, 1]);
    expect(rows.map((r) => r.itemId)).toEqual([requestItemId(1), requestItemId(2)]);
    const items = itemsOf(rows);
    expect(items.map((i) => i.id)).toEqual([ev(1).eventId, ev(2).eventId, ev(3).eventId]);
    expect(items[0]!.event).toEqual(ev(1));
    expect(await journal.submit([ev(1)])).toEqual(stored(0, 1));
    expect(store.outbox.stats(T0).event.rows).toBe(3);
  });

  it('refuses a submission that does not fit the outbox as a whole, storing nothing of it', async () => {
    const { store, journal } = open(1500);
    const [small, big] = await Promise.all([
      journal.submit([ev(1)]),
      journal.submit(Array.from({ length: 20 }, (_, i) => ev(100 + i))),
    ]);
    expect(small).toMatchObject({ status: 'stored', accepted: 1 });
    expect(big).toMatchObject({ status: 'refused' });
    expect(journal.rows()).toBe(1);
    expect(store.outbox.stats(T0).event.rows).toBe(1);
    // A resend of what is stored is still an idempotent success when full.
    expect(await journal.submit([ev(1)])).toEqual(stored(0, 1));
  });

  it('near the quota, stores a submission whose new events fit once its resent ones are discounted', async () => {
    const itemBytes = Buffer.byteLength(JSON.stringify(ev(1))) + ev(1).eventId.length + 32;
    // Room for two items: one stored + two counted as new would not fit, one stored + one new does.
    const { store, journal } = open(Math.floor(2.5 * itemBytes));
    expect(await journal.submit([ev(1)])).toEqual(stored(1));
    expect(await journal.submit([ev(1), ev(2)])).toEqual(stored(1, 1));
    expect(journal.rows()).toBe(2);
    expect(itemsOf(store.outbox.peek('event', 10)).map((i) => i.id)).toEqual([ev(1).eventId, ev(2).eventId]);
  });

  it('prunes events received before the retention cutoff once sent, oldest first', async () => {
    const { store, journal } = open();
    await Promise.all([
      journal.submit([{ ...ev(1), receivedAt: T0 - 10_000 }]),
      journal.submit([
        { ...ev(2), receivedAt: T0 - 6_000 },
        { ...ev(3), receivedAt: T0 - 5_000 },
      ]),
      journal.submit([ev(4)]),
    ]);
    // Not while they wait in the outbox: their bodies are kept in the journal only.
    expect(journal.prune(T0 - 1_000)).toBe(0);
    const waiting = store.outbox.peek('event', 10);
    expect(itemsOf(waiting).map((i) => i.id)).toEqual([1, 2, 3, 4].map((n) => ev(n).eventId));
    // Once sent, they go, oldest request first, all of a request at once.
    store.transaction(() => store.outbox.remove('event', [waiting[0]!.seq, waiting[1]!.seq]))();
    expect(journal.prune(T0 - 1_000, 1)).toBe(1);
    expect(journal.rows()).toBe(3);
    // A request row goes whole, even past the chunk.
    expect(journal.prune(T0 - 1_000, 1)).toBe(2);
    expect(journal.prune(T0 - 1_000)).toBe(0);
    expect(journal.rows()).toBe(1);
    expect(itemsOf(store.outbox.peek('event', 10)).map((i) => i.id)).toEqual([ev(4).eventId]);
    // A pruned id is forgotten: sent again after retention, it is a new event.
    expect(await journal.submit([ev(1)])).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('cuts a large submission into request rows, and tells repeats and conflicts within and across them', async () => {
    const { store, journal } = open();
    const n = ROW_MAX_EVENTS * 2 + 10;
    const many = Array.from({ length: n }, (_, i) => ev(1_000 + i));
    expect(await journal.submit(many)).toEqual(stored(n));
    const rows = store.outbox.peek('event', 10_000);
    expect(rows.map((r) => r.items)).toEqual([ROW_MAX_EVENTS, ROW_MAX_EVENTS, 10]);
    expect(itemsOf(rows).map((i) => i.id)).toEqual(many.map((e) => e.eventId));
    expect(store.outbox.stats(T0).event.rows).toBe(n);
    // The uplink's peek stops at the row that reaches its item limit.
    expect(store.outbox.peek('event', ROW_MAX_EVENTS + 1).map((r) => r.items)).toEqual([
      ROW_MAX_EVENTS,
      ROW_MAX_EVENTS,
    ]);
    // A resend with one new event, one repeated twice in the same submission, and one changed.
    const changed = { ...ev(1_005), actorId: 'p_BBBBBBBBBBBBBBBBBBBBBB' };
    const result = await journal.submit([ev(1_003), ev(5_000), ev(5_000), changed, ev(1_004)]);
    expect(result).toEqual(stored(1, 3, [changed.eventId]));
    expect(journal.rows()).toBe(n + 1);
    const last = store.outbox.peek('event', 10_000).at(-1)!;
    expect(itemsOf([last]).map((i) => i.id)).toEqual([ev(5_000).eventId]);
    // New events on both sides of a repeat: the row holds just them, whole.
    expect(await journal.submit([ev(6_000), ev(1_000), ev(6_001)])).toMatchObject({ accepted: 2 });
    const around = store.outbox.peek('event', 10_000).at(-1)!;
    expect(itemsOf([around]).map((i) => i.event)).toEqual([ev(6_000), ev(6_001)]);
    // Large events: as many per row as fit in ROW_MAX_CHARS.
    const big = Array.from({ length: 5 }, (_, i) => ({
      ...ev(9_000 + i),
      objectId: 'x'.repeat(ROW_MAX_CHARS / 2.5),
    }));
    expect(await journal.submit(big)).toMatchObject({ accepted: 5 });
    expect(
      store.outbox
        .peek('event', 10_000)
        .slice(-3)
        .map((r) => r.items),
    ).toEqual([2, 2, 1]);
  });

  it('opens a file from before request rows: queued events still go out, and their ids still dedupe', async () => {
    dir = tempDir();
    const file = join(dir, 'gateway.db');
    const legacy = new Database(file);
    legacy.exec(`
      CREATE TABLE events (event_id TEXT PRIMARY KEY, source TEXT NOT NULL, type TEXT NOT NULL,
        ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX events_received ON events (received_at);
      CREATE TABLE outbox_event (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL, bytes INTEGER NOT NULL, body TEXT NOT NULL);`);
    const booking = {
      eventId: 'booking-1',
      source: 'admin',
      type: 'room.booked',
      roomId: 'r1',
      ts: T0,
      receivedAt: T0 - 2_000,
    };
    const old = [ev(1), ev(2), booking];
    for (const [i, e] of old.entries()) {
      const text = JSON.stringify(e);
      legacy
        .prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)')
        .run(e.eventId, e.source, e.type, e.ts, e.receivedAt - i, text);
    }
    // ev(1) was sent already; ev(2) and the booking wait, each referring to its events row.
    for (const e of old.slice(1))
      legacy
        .prepare("INSERT INTO outbox_event (item_id, created_at, bytes, body) VALUES (?, ?, 100, '')")
        .run(e.eventId, T0);
    legacy.close();

    store = new GatewayStore(file, OPTS);
    const journal = new EventJournal(store, { maxRowsPerCommit: 10_000, now: () => T0 });
    expect(journal.rows()).toBe(3);
    expect(store.outbox.stats(T0).event).toMatchObject({ rows: 2, bytes: 200 });
    expect(itemsOf(store.outbox.peek('event', 10)).map((i) => i.event)).toEqual([ev(2), booking]);
    expect([...store.bookingEventsSince(0)]).toEqual([booking]);
    expect(await journal.submit([ev(1), ev(2), ev(3)])).toMatchObject({ accepted: 1, duplicates: 2 });
    expect(itemsOf(store.outbox.peek('event', 10)).map((i) => i.id)).toEqual(
      [ev(2), booking, ev(3)].map((e) => e.eventId),
    );
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'events'").get()).toBeUndefined();
  });

  it('quarantines rejections in the same commit', async () => {
    const { store, journal } = open();
    await journal.submit(
      [],
      [
        {
          at: T0,
          source: 'webhook:xapi',
          deviceId: undefined,
          topic: '/webhooks/lms/xapi',
          code: 'CT_ERR_SCHEMA',
          message: 'x',
          payload: Buffer.from('y'.repeat(100)),
        },
      ],
    );
    const q = store.recentQuarantine(5);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ source: 'webhook:xapi', code: 'CT_ERR_SCHEMA', payload: 'y'.repeat(64) });
  });
});

describe('sameEvent (idempotency)', () => {
  const e = {
    eventId: 'x',
    source: 'caliper',
    type: 'resource.viewed',
    ts: 100,
    receivedAt: 500,
    actorId: 'p_1',
  };
  const like = (over: Record<string, unknown>) => ({ ...e, ...over });
  it('ignores when the gateway received it, and a time the sender never gave', () => {
    expect(sameEvent(like({}), like({ receivedAt: 900 }))).toBe(true);
    expect(sameEvent(like({ ts: 500, receivedAt: 500 }), like({ ts: 900, receivedAt: 900 }))).toBe(true);
  });
  it('tells a changed event apart', () => {
    expect(sameEvent(like({}), like({ ts: 101 }))).toBe(false);
    expect(sameEvent(like({}), like({ actorId: 'p_2' }))).toBe(false);
    // A time given on one copy only is a change.
    expect(sameEvent(like({ ts: 500, receivedAt: 500 }), like({ ts: 100, receivedAt: 900 }))).toBe(false);
  });
});
