/**
 * The event journal's dedupe index, built for the ids LMSs send: random UUIDs. Indexed one by one, each
 * random id dirties its own page of a b-tree (a group commit of 300 events wrote ~300 index pages to the
 * WAL, and checkpoints copied them back), so the index had cost 5× the rest of the journal per event.
 *
 * Here an id is known by its key, a 53-bit hash (`eventKey`), mapped to the request row that holds the
 * event. New keys wait in memory (`pending`, a typed-array KeyTable, at most `flushAt`) and are written
 * together, sorted, as one run (key-runs.ts: chunks of pairs, written in order) in the transaction that
 * reaches `flushAt`. Before runs, flushes went into b-tree tables, and each flush of random keys rewrote
 * every page of the table it went into: a third of the webhook main thread's time, in stalls of ~0.3 s.
 * Runs are merged as in a log-structured merge tree: four runs of a level become one of the next, up to
 * MAX_MERGED_KEYS, so a lookup seeks a few runs. Nothing is deleted from a run: a pruned row's pairs are
 * dead (counted in `meta.event_keys_dead`), ignored by lookups once every row up to theirs is gone, left
 * out by the next merge, and gone with their run once all of its rows are; a key is taken again only when
 * the row it names is gone, so a key's newest pair is the one that counts. `meta.event_keys_through` is
 * the last request row whose keys are in the runs; rows after it are durable (their bodies hold their
 * ids), and their keys are read back from them at open or after a rollback (a rolled-back transaction's
 * keys are then gone again). A key says "maybe": the journal reads the event out of the row it names to
 * be sure. Two ids with one key (rare: among a million ids, in about one journal of 18,000) are still told
 * apart: the later id goes into `event_key_clashes` by its full id, which is looked at whenever that table
 * is not empty. A Bloom filter of the runs' live keys (`KeyFilter`) spares them a lookup for nearly every
 * new id.
 */
import type Database from 'better-sqlite3';
import { KeyFilter } from './key-filter.ts';
import { KEY_RUN_TABLES, KeyRuns, mergeRuns, type RunInfo } from './key-runs.ts';
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
 * The tables (created by the schema): flushed keys in runs (key-runs.ts), ids that share a key with an
 * earlier id by their full id.
 */
export const EVENT_KEY_TABLES = `
  ${KEY_RUN_TABLES}
  CREATE TABLE IF NOT EXISTS event_key_clashes (
    event_id TEXT PRIMARY KEY,
    request INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** The meta key holding how many pairs of the runs name rows since pruned (not yet merged away). */
export const KEYS_DEAD = 'event_keys_dead';

/** The b-tree key tables of the layout before runs, those this file has. */
function legacyKeyTables(db: Db): string[] {
  return ['event_keys', 'event_keys_recent'].filter((t) => hasTable(db, t));
}

/**
 * Files from before runs: their ids become runs. Before keys, each id was in `event_ids` (event_id →
 * request): its key goes into `event_keys` (an id whose key another id already has, a clash), as the next
 * layout had it. That layout's b-tree tables, `event_keys` and `event_keys_recent`, each become a run.
 */
export function migrateEventKeys(db: Db): void {
  if (hasTable(db, 'event_ids')) {
    db.function('event_key', { deterministic: true }, (id: unknown) => eventKey(String(id)));
    db.transaction(() => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS event_keys (key INTEGER PRIMARY KEY, request INTEGER NOT NULL);
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
  const legacy = legacyKeyTables(db);
  if (legacy.length === 0) return;
  db.transaction(() => {
    const runs = new KeyRuns(db);
    let run =
      (db.prepare('SELECT COALESCE(MAX(run), 0) FROM event_key_run_info').pluck().get() as number) + 1;
    for (const table of legacy) {
      // A page at a time, in key order (a table cannot be read while the runs are written).
      const page = db.prepare(`SELECT key, request FROM ${table} WHERE key > ? ORDER BY key LIMIT 65536`);
      const writer = runs.writer(run++);
      let after = -1;
      for (;;) {
        const rows = page.all(after) as { key: number; request: number }[];
        for (const r of rows) writer.push(r.key, r.request);
        if (rows.length < 65_536) break;
        after = rows.at(-1)!.key;
      }
      writer.end();
      db.exec(`DROP TABLE ${table}`);
    }
  })();
}

function keysThrough(db: Db): number {
  return Number(readMeta(db, KEYS_THROUGH) ?? 0);
}

/**
 * The events journaled, read from any file (backup, check, tests): indexed keys (less those naming pruned
 * rows), clashes, and the events of rows not yet indexed; older layouts as their gateway counted them.
 */
export function journaledEventCount(db: Db): number {
  const n = (sql: string, ...args: unknown[]) =>
    db
      .prepare(sql)
      .pluck()
      .get(...args) as number;
  const hasRuns = hasTable(db, 'event_key_run_info');
  const legacy = legacyKeyTables(db);
  if (hasRuns || legacy.length > 0) {
    const through = keysThrough(db);
    let indexed = 0;
    if (hasRuns)
      indexed +=
        n('SELECT COALESCE(SUM(size), 0) FROM event_key_run_info') - Number(readMeta(db, KEYS_DEAD) ?? 0);
    for (const t of legacy) indexed += n(`SELECT count(*) FROM ${t}`);
    return (
      indexed +
      n('SELECT count(*) FROM event_key_clashes') +
      n('SELECT COALESCE(SUM(json_array_length(body)), 0) FROM event_requests WHERE seq > ?', through) -
      n('SELECT count(*) FROM event_key_clashes WHERE request > ?', through)
    );
  }
  if (hasTable(db, 'event_ids')) return n('SELECT count(*) FROM event_ids');
  return hasTable(db, 'events') ? n('SELECT count(*) FROM events') : 0;
}

/**
 * Every indexed key and the newest request row it names (pruned ones included), read from the runs: for
 * checks and tests, not for the hot path.
 */
export function indexedKeys(db: Db): Map<number, number> {
  const runs = new KeyRuns(db);
  const keys = new Map<number, number>();
  for (const r of runs.list()) {
    const c = runs.cursor(r.run);
    while (c.next()) if (c.request > (keys.get(c.key) ?? -1)) keys.set(c.key, c.request);
  }
  return keys;
}

/** Runs merged at once: four of a level make one of the next. */
const MERGE_FANIN = 4;
/**
 * Runs are not merged past this many keys (~40 MB): a merge is written in one commit, on the event loop
 * (four runs of ~524,000 into one of ~2.1 M: ~0.6 s). With the default flush, runs then hold ~131,000,
 * ~524,000 or ~2.1 M keys: at 10 M keys, ~5 of the largest and a few smaller, each one seek for a key the
 * filter is unsure of.
 */
const MAX_MERGED_KEYS = 2_621_440;
/** Chunks a commit reads into a filter being rebuilt (~20,000 keys, a few ms). */
const REBUILD_CHUNKS = 40;

export class EventKeys {
  readonly #db: Db;
  readonly #flushAt: number;
  readonly #runs: KeyRuns;
  readonly #clash: Database.Statement<[string], number>;
  readonly #addClash: Database.Statement<[string, number]>;
  readonly #dropClash: Database.Statement<[string, number]>;
  readonly #setMeta: Database.Statement<[string, string]>;
  readonly #oldestRow: Database.Statement<[], number | null>;
  /**
   * Keys of rows after `#through`, not yet in a run. What a transaction changes here and in the state
   * below is changed at once: a rolled-back transaction's changes are read back out of the file (`reload`).
   */
  readonly #pending = new KeyTable();
  #through = 0;
  #clashes = 0;
  /** The runs, oldest first, and how many of their pairs name pruned rows. */
  #list: RunInfo[] = [];
  #dead = 0;
  /** Every request row through this one is pruned: a pair naming one is as good as gone. */
  #prunedThrough = 0;
  /**
   * A filter that has every live key of the runs (and some that left); none until the first build has
   * read them (then every key is looked up in the runs).
   */
  #filter: KeyFilter | undefined;
  /** Keys pruned since the filter was built: past half its capacity, it is rebuilt. */
  #removed = 0;
  /**
   * The filter being built (from open, or again when full or stale after removals), REBUILD_CHUNKS chunks
   * per commit in (run, first key) order, so that neither a start nor a commit reads a large index in one
   * go: it gets every key flushed meanwhile (a merge writes its run after every run it merged, so the
   * build reads that too), and replaces the current one once it has read every run.
   */
  #next: { filter: KeyFilter; run: number; firstKey: number; removed: number } | undefined;

  constructor(db: Db, opts: { flushAt: number }) {
    this.#db = db;
    this.#flushAt = opts.flushAt;
    this.#runs = new KeyRuns(db);
    this.#clash = db
      .prepare('SELECT request FROM event_key_clashes WHERE event_id = ?')
      .pluck() as Database.Statement<[string], number>;
    this.#addClash = db.prepare('INSERT INTO event_key_clashes (event_id, request) VALUES (?, ?)');
    this.#dropClash = db.prepare('DELETE FROM event_key_clashes WHERE event_id = ? AND request = ?');
    this.#setMeta = db.prepare(META_UPSERT);
    this.#oldestRow = db.prepare('SELECT MIN(seq) FROM event_requests').pluck() as Database.Statement<
      [],
      number | null
    >;
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

  /** Live keys in the runs: their pairs less the dead ones. */
  get #indexed(): number {
    let pairs = 0;
    for (const r of this.#list) pairs += r.size;
    return pairs - this.#dead;
  }

  /**
   * Start a build when there is no filter yet (with room for as many keys again), or it is full or stale;
   * then read the next step of the runs into it.
   */
  #rebuildStep(): void {
    const f = this.#filter;
    if (!this.#next && (!f || f.added > f.capacity || this.#removed > f.capacity / 2))
      this.#next = {
        filter: new KeyFilter(2 * this.#indexed),
        run: -1,
        firstKey: -1,
        removed: this.#removed,
      };
    const next = this.#next;
    if (!next) return;
    const chunks = this.#runs.scan(next.run, next.firstKey, REBUILD_CHUNKS);
    for (const c of chunks) {
      for (let i = 0; i < c.n; i++) if (c.pairs[c.n + i]! > this.#prunedThrough) next.filter.add(c.pairs[i]!);
      next.run = c.run;
      next.firstKey = c.firstKey;
    }
    if (chunks.length === REBUILD_CHUNKS) return;
    this.#filter = next.filter;
    this.#removed -= next.removed;
    this.#next = undefined;
  }

  /** Rows through this one are gone: the oldest row left, or every row indexed so far when none is. */
  #readPrunedThrough(): number {
    const oldest = this.#oldestRow.get();
    return oldest === null || oldest === undefined ? this.#through : oldest - 1;
  }

  /**
   * Read the state back from the file: at open, and after a rolled-back transaction (whatever it added
   * or removed in memory is then undone).
   */
  reload(): void {
    this.#through = keysThrough(this.#db);
    this.#list = this.#runs.list();
    this.#dead = Number(readMeta(this.#db, KEYS_DEAD) ?? 0);
    this.#prunedThrough = this.#readPrunedThrough();
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

  /**
   * The request rows named by these keys (those that have one): pending, this transaction's, indexed
   * (the newest row a key names, unless that is one through `#prunedThrough`). A row named may still be
   * gone (pruned out of order): the caller reads it to be sure.
   */
  find(keys: readonly number[]): Map<number, number> {
    const found = new Map<number, number>();
    const ask: number[] = [];
    for (const k of keys) {
      const seq = this.#pending.get(k);
      if (seq !== undefined) found.set(k, seq);
      else if (!this.#filter || this.#filter.mayHave(k)) ask.push(k);
    }
    if (ask.length === 0 || this.#list.length === 0) return found;
    // Newest run first: a run's pairs are newer than those of every run before it (a merge takes the
    // newest runs), so a key's first hit is its newest pair, and older runs are not asked for it.
    let left = ask.sort((a, b) => a - b);
    const floor = this.#prunedThrough;
    const hits = new Set<number>();
    for (let i = this.#list.length - 1; i >= 0 && left.length > 0; i--) {
      const r = this.#list[i]!;
      if (r.maxRequest <= floor) continue;
      hits.clear();
      this.#runs.lookup(r.run, left, (key, request) => {
        hits.add(key);
        if (request > floor) found.set(key, request);
      });
      if (hits.size > 0) left = left.filter((k) => !hits.has(k));
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
   * Within the journal's transaction, last: once enough keys wait, all of them go into a new run, and
   * request rows through `throughSeq` (every row written so far) are indexed.
   */
  beforeCommit(throughSeq: number): void {
    this.#flush(throughSeq);
    this.#rebuildStep();
  }

  #flush(throughSeq: number): void {
    if (this.#pending.size < this.#flushAt) return;
    const keys = this.#pending.sortedKeys();
    const writer = this.#runs.writer(this.#nextRun());
    for (const k of keys) writer.push(k, this.#pending.get(k)!);
    const info = writer.end();
    if (info) this.#list.push(info);
    this.#compact();
    this.#setMeta.run(KEYS_THROUGH, String(throughSeq));
    this.#through = throughSeq;
    this.#pending.clear();
    // A key of a transaction that then rolls back stays in the filter: a "maybe" too many, never a miss.
    for (const k of keys) {
      this.#filter?.add(k);
      this.#next?.filter.add(k);
    }
  }

  #nextRun(): number {
    return (this.#list.at(-1)?.run ?? 0) + 1;
  }

  /**
   * Runs whose every row is pruned go; then while the newest MERGE_FANIN runs are of one level (a level
   * being a size of about flushAt × MERGE_FANIN^level) and no larger than MAX_MERGED_KEYS together, they
   * become one run: each key is rewritten about once per level, and a lookup seeks
   * ~(MERGE_FANIN - 1) runs per level plus the largest runs.
   */
  #compact(): void {
    const deadBefore = this.#dead;
    for (const r of this.#list.filter((r) => r.maxRequest <= this.#prunedThrough)) {
      this.#runs.delete(r.run);
      this.#dead -= r.size;
    }
    this.#list = this.#list.filter((r) => r.maxRequest > this.#prunedThrough);
    const level = (size: number) =>
      Math.max(0, Math.round(Math.log(size / this.#flushAt) / Math.log(MERGE_FANIN)));
    for (;;) {
      const tail = this.#list.slice(-MERGE_FANIN);
      if (tail.length < MERGE_FANIN) break;
      const l = level(tail[0]!.size);
      if (tail.some((r) => level(r.size) !== l)) break;
      if (tail.reduce((sum, r) => sum + r.size, 0) > MAX_MERGED_KEYS) break;
      const { info, dropped } = mergeRuns(this.#runs, tail, this.#nextRun(), this.#prunedThrough);
      this.#list.splice(-MERGE_FANIN, MERGE_FANIN, ...(info ? [info] : []));
      this.#dead -= dropped;
    }
    if (this.#dead !== deadBefore) this.#setMeta.run(KEYS_DEAD, String(this.#dead));
  }

  /** Within a pruning transaction: forget an event of request `seq` (its row is being deleted). */
  drop(id: string, seq: number): void {
    if (this.#clashes > 0 && this.#dropClash.run(id, seq).changes > 0) {
      this.#clashes--;
      return;
    }
    if (seq > this.#through) {
      const key = eventKey(id);
      if (this.#pending.get(key) === seq) this.#pending.delete(key);
      return;
    }
    // Its pair stays in its run, dead, until a merge leaves it out or its whole run goes.
    this.#dead++;
    this.#removed++;
  }

  /** Within a pruning transaction, after its drops and deletes: what is now gone is known as gone. */
  afterPrune(): void {
    this.#setMeta.run(KEYS_DEAD, String(this.#dead));
    this.#prunedThrough = this.#readPrunedThrough();
  }

  /** Events known: indexed, pending and clashes. */
  count(): number {
    return this.#indexed + this.#pending.size + this.#clashes;
  }
}
