/**
 * The event journal's dedupe index, built for the ids LMSs send: random UUIDs. Indexed one by one, each
 * random id dirties its own page of a b-tree (a group commit of 300 events wrote ~300 index pages to the
 * WAL, and checkpoints copied them back), so the index had cost 5× the rest of the journal per event.
 *
 * Here an id is known by its key, a 53-bit hash (`eventKey`), in a table (key → the request row that holds
 * the event). New keys wait in memory (`pending`, a typed-array KeyTable, at most `flushAt`) and go into a
 * table together, sorted, in the transaction that reaches `flushAt`: a page is written once per flush
 * instead of once per event. A batch of random keys still touches every page of the table it goes into,
 * so flushes go into a small table, `event_keys_recent`, which is merged whole into the large one,
 * `event_keys`, only once it holds sqrt(2 × flushAt × large) keys: the bytes written per key then grow
 * with the square root of the index, not with the index (at 1.4 M keys, ~80 bytes of table per key
 * instead of ~180; at 35 M, ~400 instead of ~4,500). `meta.event_keys_through` is the last request row
 * whose keys are in the tables; rows after it are durable (their bodies hold their ids), and their keys
 * are read back from them at open or after a rollback (a rolled-back transaction's keys are then gone
 * again). A key says "maybe": the journal reads the event out of the row it names to be sure. Two ids
 * with one key (rare: among a million ids, in about one journal of 18,000) are still told apart: the
 * later id goes into `event_key_clashes` by its full id, which is looked at whenever that table is not
 * empty. A Bloom filter of the tables' keys (`KeyFilter`) spares them a lookup for nearly every new id.
 */
import type Database from 'better-sqlite3';
import { KeyFilter } from './key-filter.ts';
import { KeyTable } from './key-table.ts';
import { type Db, hasTable, META_UPSERT, readMeta } from './schema.ts';

/** The meta key holding the last request seq whose keys are in the key tables. */
export const KEYS_THROUGH = 'event_keys_through';

/**
 * An event id's key: 53 bits (a safe integer, stored as SQLite INTEGER) from two 32-bit multiplicative
 * hashes over the id's UTF-16 code units. Stored in files: never change it without re-keying them.
 */
export function eventKey(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x27d4eb2f ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 13;
  b = Math.imul(b, 0x9e3779b1);
  b ^= b >>> 16;
  return (b >>> 11) * 0x1_0000_0000 + (a >>> 0);
}

/**
 * The tables (created by the schema). Flushed keys go into the small `event_keys_recent` first, and all of
 * it into `event_keys` now and then (EventKeys.#flush): a key is in one of the two.
 */
export const EVENT_KEY_TABLES = `
  CREATE TABLE IF NOT EXISTS event_keys (
    key INTEGER PRIMARY KEY,
    request INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS event_keys_recent (
    key INTEGER PRIMARY KEY,
    request INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS event_key_clashes (
    event_id TEXT PRIMARY KEY,
    request INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Files from before keys held each id in `event_ids` (event_id → request): their ids become keys (an id
 * whose key another id already has, a clash), and every row's keys are then in the table.
 */
export function migrateEventIds(db: Db): void {
  if (!hasTable(db, 'event_ids')) return;
  db.function('event_key', { deterministic: true }, (id: unknown) => eventKey(String(id)));
  db.transaction(() => {
    db.exec(`
      CREATE TEMP TABLE event_key_migration AS
        SELECT event_key(event_id) AS key, event_id, request FROM event_ids;
      CREATE INDEX temp.event_key_migration_key ON event_key_migration (key, event_id);
      INSERT OR IGNORE INTO event_keys (key, request)
        SELECT key, request FROM event_key_migration ORDER BY key, event_id;
      INSERT INTO event_key_clashes (event_id, request)
        SELECT event_id, request FROM event_key_migration m
        WHERE event_id > (SELECT MIN(event_id) FROM event_key_migration o WHERE o.key = m.key);
      DROP TABLE temp.event_key_migration;
      DROP TABLE event_ids;
    `);
    const last = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM event_requests').pluck().get() as number;
    db.prepare(META_UPSERT).run(KEYS_THROUGH, String(last));
  })();
}

function keysThrough(db: Db): number {
  return Number(readMeta(db, KEYS_THROUGH) ?? 0);
}

/**
 * The events journaled, read from any file (backup, check, tests): indexed keys, clashes, and the events
 * of rows not yet indexed; older layouts as their gateway counted them.
 */
export function journaledEventCount(db: Db): number {
  const n = (sql: string, ...args: unknown[]) =>
    db
      .prepare(sql)
      .pluck()
      .get(...args) as number;
  if (hasTable(db, 'event_keys')) {
    const through = keysThrough(db);
    return (
      n('SELECT count(*) FROM event_keys') +
      (hasTable(db, 'event_keys_recent') ? n('SELECT count(*) FROM event_keys_recent') : 0) +
      n('SELECT count(*) FROM event_key_clashes') +
      n('SELECT COALESCE(SUM(json_array_length(body)), 0) FROM event_requests WHERE seq > ?', through) -
      n('SELECT count(*) FROM event_key_clashes WHERE request > ?', through)
    );
  }
  if (hasTable(db, 'event_ids')) return n('SELECT count(*) FROM event_ids');
  return hasTable(db, 'events') ? n('SELECT count(*) FROM events') : 0;
}

/** Keys per multi-row statement (lookups: 1 parameter each; inserts: 2). */
const KEYS_PER_STATEMENT = 128;

/** A statement for each count of keys, prepared on first use: `sql(n)` is the one for n keys. */
function perCount<S extends Database.Statement<number[]>>(
  db: Db,
  sql: (n: number) => string,
): (n: number) => S {
  const prepared = new Map<number, S>();
  return (n) => {
    let stmt = prepared.get(n);
    if (!stmt) {
      stmt = db.prepare(sql(n)) as S;
      prepared.set(n, stmt);
    }
    return stmt;
  };
}
/** Keys a commit reads into a filter being rebuilt (a few ms). */
const REBUILD_STEP = 20_000;

export class EventKeys {
  readonly #db: Db;
  readonly #flushAt: number;
  readonly #findOf: (n: number) => Database.Statement<number[], { key: number; request: number }>;
  readonly #insertOf: (n: number) => Database.Statement<number[]>;
  readonly #clash: Database.Statement<[string], number>;
  readonly #addClash: Database.Statement<[string, number]>;
  readonly #dropKey: Database.Statement<[number, number]>;
  readonly #dropRecentKey: Database.Statement<[number, number]>;
  readonly #merge: () => void;
  readonly #dropClash: Database.Statement<[string, number]>;
  readonly #setThrough: Database.Statement<[string, string]>;
  /**
   * Keys of rows after `#through`, not yet in a table. What a transaction changes here and in the counts
   * below is changed at once: a rolled-back transaction's changes are read back out of the file (`reload`).
   */
  readonly #pending = new KeyTable();
  #through = 0;
  #clashes = 0;
  /**
   * Rows in `event_keys` and `event_keys_recent` (of them, `#recent`), and a filter that has every one of
   * their keys (and some that left); none until the first build has read the tables (then every key is
   * looked up there).
   */
  #indexed = 0;
  #recent = 0;
  #filter: KeyFilter | undefined;
  /** Keys removed from the table since the filter was built: past half its capacity, it is rebuilt. */
  #removed = 0;
  /**
   * The filter being built (from open, or again when full or stale after removals), a step of REBUILD_STEP
   * keys per commit in key order, so that neither a start nor a commit reads a large table in one go: it
   * gets every key flushed meanwhile, and replaces the current one once it has read the whole table.
   */
  #next: { filter: KeyFilter; after: number; removed: number } | undefined;
  readonly #scan: Database.Statement<[{ after: number; limit: number }], number>;

  constructor(db: Db, opts: { flushAt: number }) {
    this.#db = db;
    this.#flushAt = opts.flushAt;
    this.#clash = db
      .prepare('SELECT request FROM event_key_clashes WHERE event_id = ?')
      .pluck() as Database.Statement<[string], number>;
    this.#addClash = db.prepare('INSERT INTO event_key_clashes (event_id, request) VALUES (?, ?)');
    this.#dropKey = db.prepare('DELETE FROM event_keys WHERE key = ? AND request = ?');
    this.#dropRecentKey = db.prepare('DELETE FROM event_keys_recent WHERE key = ? AND request = ?');
    const merge = db.prepare(
      'INSERT INTO event_keys (key, request) SELECT key, request FROM event_keys_recent ORDER BY key',
    );
    const clearRecent = db.prepare('DELETE FROM event_keys_recent');
    this.#merge = () => {
      merge.run();
      clearRecent.run();
    };
    this.#dropClash = db.prepare('DELETE FROM event_key_clashes WHERE event_id = ? AND request = ?');
    this.#setThrough = db.prepare(META_UPSERT);
    this.#scan = db
      .prepare(
        `SELECT key FROM event_keys WHERE key > @after
         UNION ALL SELECT key FROM event_keys_recent WHERE key > @after ORDER BY key LIMIT @limit`,
      )
      .pluck() as unknown as Database.Statement<[{ after: number; limit: number }], number>;
    this.#findOf = perCount(db, (n) => {
      const keys = Array(n).fill('?').join(', ');
      return `SELECT key, request FROM event_keys WHERE key IN (${keys})
              UNION ALL SELECT key, request FROM event_keys_recent WHERE key IN (${keys})`;
    });
    this.#insertOf = perCount(
      db,
      (n) => `INSERT INTO event_keys_recent (key, request) VALUES ${Array(n).fill('(?, ?)').join(', ')}`,
    );
    this.reload();
  }

  /** The filter's state (for tests). */
  filterStats(): { capacity: number; added: number; removed: number; rebuilding: boolean } {
    const f = this.#filter;
    return {
      capacity: f?.capacity ?? 0,
      added: f?.added ?? 0,
      removed: this.#removed,
      rebuilding: !!this.#next,
    };
  }

  /**
   * Start a build when there is no filter yet (with room for as many keys again), or it is full or stale;
   * then read the next step of the table into it.
   */
  #rebuildStep(): void {
    const f = this.#filter;
    if (!this.#next && (!f || f.added > f.capacity || this.#removed > f.capacity / 2))
      this.#next = { filter: new KeyFilter(2 * this.#indexed), after: -1, removed: this.#removed };
    const next = this.#next;
    if (!next) return;
    const keys = this.#scan.all({ after: next.after, limit: REBUILD_STEP });
    for (const k of keys) next.filter.add(k);
    if (keys.length === REBUILD_STEP) {
      next.after = keys.at(-1)!;
      return;
    }
    this.#filter = next.filter;
    this.#removed -= next.removed;
    this.#next = undefined;
  }

  /**
   * Read the state back from the file: at open, and after a rolled-back transaction (whatever it added
   * or removed in memory is then undone).
   */
  reload(): void {
    this.#through = keysThrough(this.#db);
    this.#recent = this.#db.prepare('SELECT count(*) FROM event_keys_recent').pluck().get() as number;
    this.#indexed =
      this.#recent + (this.#db.prepare('SELECT count(*) FROM event_keys').pluck().get() as number);
    this.#clashes = this.#db.prepare('SELECT count(*) FROM event_key_clashes').pluck().get() as number;
    const clashed = new Set(
      this.#db
        .prepare('SELECT event_id FROM event_key_clashes WHERE request > ?')
        .pluck()
        .all(this.#through) as string[],
    );
    this.#pending.clear();
    const rows = this.#db
      .prepare('SELECT seq, body FROM event_requests WHERE seq > ? ORDER BY seq')
      .iterate(this.#through) as IterableIterator<{ seq: number; body: string }>;
    for (const r of rows)
      for (const e of JSON.parse(r.body) as { eventId: string }[])
        if (!clashed.has(e.eventId)) this.#pending.set(eventKey(e.eventId), r.seq);
  }

  /** Whether any id is held by its full id (a clash): then `clashOf` must be asked for every id. */
  get hasClashes(): boolean {
    return this.#clashes > 0;
  }

  /** The request rows named by these keys (those that have one): pending, this transaction's, indexed. */
  find(keys: readonly number[]): Map<number, number> {
    const found = new Map<number, number>();
    const ask: number[] = [];
    for (const k of keys) {
      const seq = this.#pending.get(k);
      if (seq !== undefined) found.set(k, seq);
      else if (!this.#filter || this.#filter.mayHave(k)) ask.push(k);
    }
    for (let from = 0; from < ask.length; from += KEYS_PER_STATEMENT) {
      const part = ask.slice(from, from + KEYS_PER_STATEMENT);
      for (const r of this.#findOf(part.length).all(...part, ...part)) found.set(r.key, r.request);
    }
    return found;
  }

  /** The request row holding this id when it is a clash. */
  clashOf(id: string): number | undefined {
    return this.#clash.get(id);
  }

  /** Within the journal's transaction: a new event's key (or its id, when `clash`) names request `seq`. */
  add(id: string, key: number, seq: number, clash: boolean): void {
    if (clash) {
      this.#addClash.run(id, seq);
      this.#clashes++;
    } else this.#pending.set(key, seq);
  }

  /**
   * Within the journal's transaction, last: once enough keys wait, all of them go into the table sorted,
   * and request rows through `throughSeq` (every row written so far) are indexed.
   */
  beforeCommit(throughSeq: number): void {
    this.#flush(throughSeq);
    this.#rebuildStep();
  }

  #flush(throughSeq: number): void {
    if (this.#pending.size < this.#flushAt) return;
    const keys = this.#pending.sortedKeys();
    const params: number[] = [];
    for (let from = 0; from < keys.length; from += KEYS_PER_STATEMENT) {
      const to = Math.min(from + KEYS_PER_STATEMENT, keys.length);
      params.length = 0;
      for (let i = from; i < to; i++) params.push(keys[i]!, this.#pending.get(keys[i]!)!);
      this.#insertOf(to - from).run(...params);
    }
    this.#indexed += keys.length;
    this.#recent += keys.length;
    // The recent table is rewritten by every flush, the large one only when the recent one is merged
    // into it, at sqrt(2 × flushAt × large) keys, which balances the two. (A batch of random keys touches
    // every page of the table it goes into: at 1.4 M keys in one table, 25 MB written per flush.)
    const large = this.#indexed - this.#recent;
    if (this.#recent >= Math.max(this.#flushAt, Math.sqrt(2 * this.#flushAt * large))) {
      this.#merge();
      this.#recent = 0;
    }
    this.#setThrough.run(KEYS_THROUGH, String(throughSeq));
    this.#through = throughSeq;
    this.#pending.clear();
    // A key of a transaction that then rolls back stays in the filter: a "maybe" too many, never a miss.
    for (const k of keys) {
      this.#filter?.add(k);
      this.#next?.filter.add(k);
    }
  }

  /** Within a pruning transaction: forget an event of request `seq`. */
  drop(id: string, seq: number): void {
    const key = eventKey(id);
    if (seq > this.#through) {
      if (this.#pending.get(key) === seq) this.#pending.delete(key);
    } else if (this.#dropRecentKey.run(key, seq).changes > 0) {
      this.#indexed--;
      this.#recent--;
      this.#removed++;
    } else if (this.#dropKey.run(key, seq).changes > 0) {
      this.#indexed--;
      this.#removed++;
    }
    if (this.#clashes > 0 && this.#dropClash.run(id, seq).changes > 0) this.#clashes--;
  }

  /** Events known: indexed, pending and clashes. */
  count(): number {
    return this.#indexed + this.#pending.size + this.#clashes;
  }
}
