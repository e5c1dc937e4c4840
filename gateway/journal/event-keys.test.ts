import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { EventKeys, eventKey, journaledEventCount, KEYS_THROUGH } from './event-keys.ts';
import { EventJournal, GatewayStore, type QuarantineEntry } from './index.ts';
import { readMeta } from './schema.ts';
import { EVENT_STORE_OPTS, stored, T0, testEvent } from './test-support.ts';

const ev = testEvent;
/** Events `from` … `from + n - 1`. */
const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ev(from + i));
const FLUSH_AT = 5;

describe('eventKey', () => {
  it('is a fixed 53-bit function of the id (files hold it: a change needs a re-keying migration)', () => {
    expect([eventKey(''), eventKey('a'), eventKey('urn:uuid:00000000-0000-4000-8000-000000000001')]).toEqual([
      3_834_755_833_297_931, 1_506_219_705_545_139, 342_296_817_640_789,
    ]);
    const keys = new Set<number>();
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = eventKey(`urn:uuid:${randomUUID()}`);
      if (!Number.isSafeInteger(k) || k < 0) outOfRange++;
      keys.add(k);
    }
    expect(outOfRange).toBe(0);
    // 53 bits: among 100,000 random ids a repeated key has a chance of about 1 in 1.8 million.
    expect(keys.size).toBe(100_000);
  });
});

describe('EventKeys through the journal', () => {
  let dir = '';
  const stores: GatewayStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (file = join(dir, 'gateway.db')) => {
    const store = new GatewayStore(file, EVENT_STORE_OPTS);
    stores.push(store);
    const journal = new EventJournal(store, {
      maxRowsPerCommit: 10_000,
      now: () => T0,
      keysFlushAt: FLUSH_AT,
    });
    return { store, journal };
  };
  const through = (db: Database.Database) => Number(readMeta(db, KEYS_THROUGH) ?? 0);
  const runSizes = (db: Database.Database) =>
    db.prepare('SELECT size FROM event_key_run_info ORDER BY run').pluck().all() as number[];
  const indexed = (db: Database.Database) => runSizes(db).reduce((a, b) => a + b, 0);

  it('holds new keys in memory until enough wait, then indexes every row so far; a reopen reads the rest back', async () => {
    dir = tempDir();
    const { store, journal } = open();
    expect(await journal.submit([ev(1), ev(2)])).toMatchObject({ accepted: 2 });
    expect(await journal.submit([ev(3)])).toMatchObject({ accepted: 1 });
    expect(indexed(store.db)).toBe(0);
    expect(journal.rows()).toBe(3);
    // Repeats of events whose keys are only in memory.
    expect(await journal.submit([ev(1), ev(3)])).toEqual(stored(0, 2));
    // Reaching FLUSH_AT: all of them go into the table, and so does the row that reached it.
    expect(await journal.submit([ev(4), ev(5)])).toMatchObject({ accepted: 2 });
    expect(indexed(store.db)).toBe(5);
    const last = store.db.prepare('SELECT MAX(seq) FROM event_requests').pluck().get() as number;
    expect(through(store.db)).toBe(last);
    expect(await journal.submit([ev(6)])).toMatchObject({ accepted: 1 });
    expect(journaledEventCount(store.db)).toBe(6);
    store.close();

    // Reopened: ev(6) is in no index yet; its row says it is there.
    const again = open();
    expect(again.journal.rows()).toBe(6);
    expect(
      await again.journal.submit([ev(2), ev(6), { ...ev(4), actorId: 'p_CCCCCCCCCCCCCCCCCCCCCC' }, ev(7)]),
    ).toEqual(stored(1, 2, [ev(4).eventId]));
  });

  it('flushes each batch of keys as a run, merges four runs of a level into one, forgets what is pruned', async () => {
    dir = tempDir();
    const { store, journal } = open();
    // The first run from two requests (rows 1 and 2), then a run per request.
    expect(await journal.submit(events(0, 3))).toMatchObject({ accepted: 3 });
    expect(await journal.submit(events(10, 2))).toMatchObject({ accepted: 2 });
    for (let f = 1; f < 3; f++)
      expect(await journal.submit(events(100 * f, FLUSH_AT))).toMatchObject({ accepted: FLUSH_AT });
    expect(runSizes(store.db)).toEqual([FLUSH_AT, FLUSH_AT, FLUSH_AT]);
    // A run's chunk holds its pairs in key order (16 bytes each), found by its first key.
    const chunk = store.db
      .prepare('SELECT first_key, n, length(pairs) AS bytes FROM event_key_runs LIMIT 1')
      .get();
    expect(chunk).toMatchObject({ n: FLUSH_AT, bytes: 16 * FLUSH_AT });
    expect(journaledEventCount(store.db)).toBe(3 * FLUSH_AT);
    store.close();

    // Reopened (every key in a run, none in memory): ids of every run are known.
    const again = open();
    expect(again.journal.rows()).toBe(3 * FLUSH_AT);
    expect(await again.journal.submit([ev(1), ev(11), ev(204)])).toMatchObject({
      accepted: 0,
      duplicates: 3,
    });

    // The first request sent and past retention: its row goes; its pairs stay, dead, and are not found.
    const sent = again.store.outbox.peek('event', 1).map((r) => r.seq);
    again.store.transaction(() => again.store.outbox.remove('event', sent))();
    again.store.db.prepare('UPDATE event_requests SET received_at = ? WHERE seq > 1').run(T0 + 10);
    expect(again.journal.prune(T0 + 1, 1)).toBe(3);
    expect(again.journal.rows()).toBe(3 * FLUSH_AT - 3);
    expect(journaledEventCount(again.store.db)).toBe(3 * FLUSH_AT - 3);
    expect(runSizes(again.store.db)).toEqual([FLUSH_AT, FLUSH_AT, FLUSH_AT]);
    again.store.close();

    // Reopened (the dead count was kept): a pruned id is new again, the others still known. The fourth
    // run of the level merges the four, leaving out the pruned row's pairs and ev(1)'s older pair.
    const third = open();
    expect(third.journal.rows()).toBe(3 * FLUSH_AT - 3);
    expect(await third.journal.submit([ev(1), ev(11)])).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(await third.journal.submit(events(300, FLUSH_AT - 1))).toMatchObject({ accepted: FLUSH_AT - 1 });
    expect(runSizes(third.store.db)).toEqual([4 * FLUSH_AT - 3]);
    expect(third.journal.rows()).toBe(4 * FLUSH_AT - 3);
    expect(journaledEventCount(third.store.db)).toBe(4 * FLUSH_AT - 3);
    expect(await third.journal.submit([ev(1), ev(2), ev(203), ev(303)])).toMatchObject({
      accepted: 1,
      duplicates: 3,
    });

    // Everything sent and pruned: the runs go at the next flush, and nothing is known any more.
    const all = third.store.outbox.peek('event', 100).map((r) => r.seq);
    third.store.transaction(() => third.store.outbox.remove('event', all))();
    third.store.db.prepare('UPDATE event_requests SET received_at = ?').run(T0);
    expect(third.journal.prune(T0 + 1, 1_000)).toBe(4 * FLUSH_AT - 2);
    expect(third.journal.rows()).toBe(0);
    expect(await third.journal.submit(events(300, FLUSH_AT))).toMatchObject({ accepted: FLUSH_AT });
    expect(runSizes(third.store.db)).toEqual([FLUSH_AT]);
    expect(third.journal.rows()).toBe(FLUSH_AT);
    expect(journaledEventCount(third.store.db)).toBe(FLUSH_AT);
  });

  it('frees the keys of a row pruned out of order: its ids are new again, not clashes', async () => {
    dir = tempDir();
    const { store, journal } = open();
    // Rows 1 and 2 in one run, row 3 in the next.
    expect(await journal.submit(events(0, 2))).toMatchObject({ accepted: 2 });
    expect(await journal.submit(events(10, 3))).toMatchObject({ accepted: 3 });
    expect(await journal.submit(events(20, FLUSH_AT))).toMatchObject({ accepted: FLUSH_AT });
    expect(runSizes(store.db)).toEqual([FLUSH_AT, FLUSH_AT]);
    // Only row 2 is sent: row 1 still waits in the outbox, so row 2 is pruned before it (a hole).
    const second = store.outbox.peek('event', 100).filter((r) => r.itemId === 'req:2');
    expect(second).toHaveLength(1);
    store.transaction(() => store.outbox.remove('event', [second[0]!.seq]))();
    expect(journal.prune(T0 + 1, 1_000)).toBe(3);
    expect(journal.rows()).toBe(2 + FLUSH_AT);
    // Row 2's pairs are still in its run, above every row pruned in order: the lookup finds them, the
    // row is gone, so the ids are accepted as new (and keyed again), not held as clashes.
    expect(await journal.submit([ev(10), ev(11), ev(0)])).toEqual(stored(2, 1));
    const clashes = store.db.prepare('SELECT count(*) FROM event_key_clashes').pluck().get();
    expect(clashes).toBe(0);
    expect(await journal.submit([ev(10), ev(11)])).toEqual(stored(0, 2));
    expect(journal.rows()).toBe(4 + FLUSH_AT);
    expect(journaledEventCount(store.db)).toBe(4 + FLUSH_AT);
  });

  it('tells two ids with one key apart: the later is held by its full id, still deduplicated, then pruned', async () => {
    dir = tempDir();
    const first = open();
    // A key taken by another id of another row, as a colliding id would have it (written behind the
    // journal's back, so it is reopened to see it).
    expect(await first.journal.submit([ev(1)])).toMatchObject({ accepted: 1 });
    const row = first.store.db.prepare('SELECT MAX(seq) FROM event_requests').pluck().get() as number;
    const clashing = ev(2);
    // As the b-tree layout before runs held it: the reopen makes that table a run.
    first.store.db.exec('CREATE TABLE event_keys (key INTEGER PRIMARY KEY, request INTEGER NOT NULL)');
    first.store.db
      .prepare('INSERT INTO event_keys (key, request) VALUES (?, ?)')
      .run(eventKey(clashing.eventId), row);
    first.store.close();

    const { store, journal } = open();
    expect(
      store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'event_keys'").get(),
    ).toBeUndefined();
    expect(runSizes(store.db)).toEqual([1]);
    expect(await journal.submit([clashing])).toEqual(stored(1));
    const clashes = (db: Database.Database) =>
      db.prepare('SELECT event_id, request FROM event_key_clashes').all() as {
        event_id: string;
        request: number;
      }[];
    expect(clashes(store.db)).toEqual([{ event_id: clashing.eventId, request: row + 1 }]);
    expect(await journal.submit([clashing, { ...clashing, objectId: 'doc-2' }])).toEqual(
      stored(0, 1, [clashing.eventId]),
    );
    store.close();
    const again = open();
    expect(await again.journal.submit([clashing])).toMatchObject({ accepted: 0, duplicates: 1 });
    // Once sent and past retention, its entry goes with its row.
    const sent = again.store.outbox.peek('event', 10).map((r) => r.seq);
    again.store.transaction(() => again.store.outbox.remove('event', sent))();
    expect(again.journal.prune(T0 + 1)).toBe(2);
    expect(clashes(again.store.db)).toEqual([]);
    expect(await again.journal.submit([clashing])).toMatchObject({ accepted: 1 });
  });

  it('knows every id as the index outgrows its filter, and after pruning most of it', async () => {
    dir = tempDir();
    const store = new GatewayStore(join(dir, 'gateway.db'), { ...EVENT_STORE_OPTS, quotaBytes: 1e9 });
    stores.push(store);
    let now = T0;
    const journal = new EventJournal(store, { maxRowsPerCommit: 100_000, now: () => now });
    const n = 150_000; // past the smallest filter's capacity (65,536 keys), with the default flush size
    for (let from = 0; from < n; from += 10_000) {
      now = T0 + from;
      const batch = Array.from({ length: 10_000 }, (_, i) => ({ ...ev(from + i), receivedAt: now }));
      expect(await journal.submit(batch)).toMatchObject({ accepted: 10_000 });
    }
    expect(journal.rows()).toBe(n);
    const sample = (from: number) => Array.from({ length: 2_000 }, (_, i) => ev(from + i * 7));
    expect(await journal.submit(sample(0))).toMatchObject({ accepted: 0, duplicates: 2_000 });
    expect(await journal.submit(sample(n - 14_000))).toMatchObject({ accepted: 0, duplicates: 2_000 });
    // Sent, then most of it pruned: the filter is rebuilt without the pruned keys, the rest still known.
    const sent = store.outbox.peek('event', 1_000_000).map((r) => r.seq);
    store.transaction(() => store.outbox.remove('event', sent))();
    let pruned = 0;
    for (;;) {
      const k = journal.prune(T0 + 120_000, 10_000);
      if (k === 0) break;
      pruned += k;
    }
    expect(pruned).toBe(120_000);
    expect(journal.rows()).toBe(30_000);
    expect(await journal.submit(sample(n - 14_000))).toMatchObject({ accepted: 0, duplicates: 2_000 });
    expect(await journal.submit([ev(5), ev(n + 1)])).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it('rebuilds its filter a step per commit as the runs grow and after removals, never missing a key', () => {
    dir = tempDir();
    const store = new GatewayStore(join(dir, 'gateway.db'), EVENT_STORE_OPTS);
    stores.push(store);
    const keys = new EventKeys(store.db, { flushAt: 10_000 });
    const ids: string[] = [];
    const seqOf = new Map<string, number>();
    // A row per id (bodies are not read here): pruning is known by the rows left.
    const row = store.db.prepare(
      "INSERT INTO event_requests (seq, received_at, bookings, body) VALUES (?, 0, 0, '[]')",
    );
    const commit = (n: number) => {
      store.db.transaction(() => {
        for (let i = 0; i < n; i++) {
          const id = `urn:uuid:${randomUUID()}`;
          ids.push(id);
          seqOf.set(id, ids.length);
          row.run(ids.length);
          keys.add(id, eventKey(id), ids.length, false);
        }
        keys.beforeCommit(ids.length);
      })();
    };
    const missing = (of: readonly string[]) => {
      const found = keys.find(of.map(eventKey));
      return of.filter((id) => found.get(eventKey(id)) !== seqOf.get(id)).length;
    };
    const first = keys.filterStats().capacity;
    let sawRebuild = false;
    for (let c = 0; c < 25; c++) {
      commit(10_000);
      sawRebuild ||= keys.filterStats().rebuilding;
      expect(missing(ids.filter((_, i) => i % 97 === c))).toBe(0);
    }
    while (keys.filterStats().rebuilding) commit(0);
    expect(sawRebuild).toBe(true);
    expect(keys.filterStats().capacity).toBeGreaterThanOrEqual(ids.length);
    expect(keys.filterStats().capacity).toBeGreaterThan(first);
    expect(missing(ids)).toBe(0);

    // Remove 215,000 (more than half the filter's capacity): it goes stale, is rebuilt without them,
    // and still has every key left.
    store.db.transaction(() => {
      for (let i = 0; i < 215_000; i++) keys.drop(ids[i]!, i + 1);
      store.db.prepare('DELETE FROM event_requests WHERE seq <= 215000').run();
      keys.afterPrune();
    })();
    expect(keys.count()).toBe(35_000);
    expect(keys.filterStats().removed).toBeGreaterThan(keys.filterStats().capacity / 2);
    commit(0);
    expect(keys.filterStats().rebuilding).toBe(true);
    while (keys.filterStats().rebuilding) commit(0);
    expect(keys.filterStats()).toMatchObject({ removed: 0, added: 35_000 });
    expect(missing(ids.slice(215_000))).toBe(0);
    expect(keys.find(ids.slice(0, 1_000).map(eventKey)).size).toBe(0);
  });

  it('forgets the keys of a commit that rolled back', async () => {
    dir = tempDir();
    const { store, journal } = open();
    // A quarantine entry the table refuses (no code) fails the whole transaction, events and all.
    const broken = { at: T0, source: 'webhook', code: null, message: 'x' } as unknown as QuarantineEntry;
    await expect(journal.submit([ev(1), ev(2)], [broken])).rejects.toThrow(/NOT NULL/);
    expect(journal.rows()).toBe(0);
    expect(await journal.submit([ev(1), ev(2)])).toEqual(stored(2));
    expect(store.db.prepare('SELECT count(*) FROM event_key_clashes').pluck().get()).toBe(0);
    expect(journal.rows()).toBe(2);
  });

  it('keys the ids of a file from before keys (event_ids) at open', async () => {
    dir = tempDir();
    const file = join(dir, 'gateway.db');
    const first = open(file);
    expect(await first.journal.submit([ev(1), ev(2), ev(3)])).toMatchObject({ accepted: 3 });
    first.store.close();
    // The previous layout: each id in event_ids, naming its row; no keys.
    const old = new Database(file);
    old.exec(`
      CREATE TABLE event_ids (event_id TEXT PRIMARY KEY, request INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO event_ids SELECT json_extract(e.value, '$.eventId'), r.seq FROM event_requests r, json_each(r.body) e;
      DROP TABLE event_key_runs; DROP TABLE event_key_run_info; DROP TABLE event_key_clashes;`);
    old.prepare('DELETE FROM meta WHERE key = ?').run(KEYS_THROUGH);
    expect(journaledEventCount(old)).toBe(3);
    old.close();

    const { store, journal } = open(file);
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'event_ids'").get()).toBeUndefined();
    expect(indexed(store.db)).toBe(3);
    expect(journal.rows()).toBe(3);
    expect(await journal.submit([ev(3), ev(4)])).toMatchObject({ accepted: 1, duplicates: 1 });
  });
});
