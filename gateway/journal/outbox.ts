/**
 * The outbox: what waits to go to Event Hubs, a table per class so that priorities and the quota policy
 * are per class. Every item has a stable id from the moment it is written (the cloud applies each id at
 * most once). Methods run inside the caller's transaction; byte and row counts are kept in memory.
 */
import type Database from 'better-sqlite3';
import { type ClassUsage, planAdmission } from './policy.ts';
import { type Db, OUTBOX_CLASSES, type OutboxClass, REQUEST_ITEM_PREFIX } from './schema.ts';

export type AddResult = 'stored' | 'duplicate' | 'refused';

export interface OutboxRow {
  seq: number;
  itemId: string;
  createdAt: number;
  bytes: number;
  body: string;
  /** Wire items in the row: 1, or a webhook request's events (its body a JSON array of them). */
  items: number;
}

type RawRow = {
  seq: number;
  item_id: string;
  created_at: number;
  bytes: number;
  body: string;
  items: number;
};

interface ClassStatements {
  insert: Database.Statement<[string, number, number, string, number]>;
  exists: Database.Statement<[string]>;
  evictOldest: Database.Statement<[number]>;
  oldest: Database.Statement<[], { created_at: number }>;
  peek: Database.Statement<[number], RawRow>;
  totalsOf: Database.Statement<[string], { rows: number | null; bytes: number | null }>;
  deleteMany: Database.Statement<[string]>;
  oldestSince: Database.Statement<[number], { at: number | null }>;
  anyBefore: Database.Statement<[number], { one: number }>;
  peekSince: Database.Statement<[number, number], RawRow>;
  peekSeqs: Database.Statement<[string], RawRow>;
  totals: Database.Statement<[], { rows: number; bytes: number | null }>;
}

/** What an item counts for against the quota: its body, its id and a row's overhead. */
export function itemBytes(itemId: string, text: string): number {
  return Buffer.byteLength(text) + itemId.length + 32;
}

export class Outbox {
  readonly #stmts: Record<OutboxClass, ClassStatements>;
  readonly #usage = {} as Record<OutboxClass, ClassUsage>;
  readonly #dropped = {} as Record<OutboxClass, number>;
  readonly #configuredQuotaBytes: number;
  #quotaBytes: number;

  constructor(db: Db, quotaBytes: number) {
    this.#configuredQuotaBytes = quotaBytes;
    this.#quotaBytes = quotaBytes;
    const stmts = {} as Record<OutboxClass, ClassStatements>;
    for (const cls of OUTBOX_CLASSES) {
      const t = `outbox_${cls}`;
      // A webhook request's events are kept once, in event_requests (EventJournal): its outbox row holds
      // '' and its item id names the row (`req:<seq>`).
      const body =
        cls === 'event'
          ? `CASE WHEN body = '' THEN (SELECT r.body FROM event_requests r
               WHERE r.seq = CAST(substr(${t}.item_id, ${REQUEST_ITEM_PREFIX.length + 1}) AS INTEGER))
             ELSE body END AS body, items`
          : 'body, items';
      stmts[cls] = {
        insert: db.prepare(
          `INSERT OR IGNORE INTO ${t} (item_id, created_at, bytes, body, items) VALUES (?, ?, ?, ?, ?)`,
        ),
        evictOldest: db.prepare(
          `DELETE FROM ${t} WHERE seq IN (SELECT seq FROM ${t} ORDER BY seq LIMIT ?) RETURNING bytes, items`,
        ),
        exists: db.prepare(`SELECT 1 FROM ${t} WHERE item_id = ?`),
        oldest: db.prepare(`SELECT created_at FROM ${t} ORDER BY seq LIMIT 1`),
        peek: db.prepare(`SELECT seq, item_id, created_at, bytes, ${body} FROM ${t} ORDER BY seq LIMIT ?`),
        // A whole sent batch in two statements (its totals, then the delete) instead of one per row.
        totalsOf: db.prepare(
          `SELECT SUM(items) AS rows, SUM(bytes) AS bytes FROM ${t} WHERE seq IN (SELECT value FROM json_each(?))`,
        ),
        deleteMany: db.prepare(`DELETE FROM ${t} WHERE seq IN (SELECT value FROM json_each(?))`),
        totals: db.prepare(`SELECT COALESCE(SUM(items), 0) AS rows, SUM(bytes) AS bytes FROM ${t}`),
        oldestSince: db.prepare(`SELECT MIN(created_at) AS at FROM ${t} WHERE created_at >= ?`),
        anyBefore: db.prepare(`SELECT 1 AS one FROM ${t} WHERE created_at < ? LIMIT 1`),
        peekSince: db.prepare(
          // By (created_at, seq): served by the created_at index, so a live send never walks the backlog.
          `SELECT seq, item_id, created_at, bytes, ${body} FROM ${t} WHERE created_at >= ? ORDER BY created_at, seq LIMIT ?`,
        ),
        peekSeqs: db.prepare(
          `SELECT seq, item_id, created_at, bytes, ${body} FROM ${t}
           WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq`,
        ),
      };
      this.#dropped[cls] = 0;
    }
    this.#stmts = stmts;
    this.reloadUsage();
  }

  /** Recount from disk (at start, and after a rolled-back transaction). */
  reloadUsage(): void {
    for (const cls of OUTBOX_CLASSES) {
      const t = this.#stmts[cls].totals.get()!;
      this.#usage[cls] = { rows: t.rows, bytes: t.bytes ?? 0 };
    }
  }

  /**
   * Queue one item; evicts lower classes by the quota policy. Call inside a transaction. `json`: the body
   * already serialised (the event journal has it), so it is not stringified twice.
   */
  add(cls: OutboxClass, itemId: string, body: unknown, now: number, json?: string): AddResult {
    return this.#add(cls, itemId, json ?? JSON.stringify(body), now);
  }

  /**
   * Queue a webhook request row of `items` events whose bodies are stored in event_requests (the event
   * journal) under `itemId` = `req:<seq>`: its outbox row keeps the id, size and count only, and reads
   * give the body from there, so an event is written once. Counted at `bytes`, the size of its events as
   * items of their own. Call inside the journal's transaction.
   */
  addJournaledRequest(itemId: string, bytes: number, items: number, now: number): AddResult {
    return this.#add('event', itemId, '', now, bytes, items);
  }

  /** Whether an item of `bytes` in class `cls` would be refused now (the quota policy, nothing written). */
  wouldRefuse(cls: OutboxClass, bytes: number): boolean {
    return planAdmission(this.#usage, this.#quotaBytes, cls, bytes).refuse;
  }

  #add(cls: OutboxClass, itemId: string, text: string, now: number, size?: number, items = 1): AddResult {
    const bytes = size ?? itemBytes(itemId, text);
    const plan = planAdmission(this.#usage, this.#quotaBytes, cls, bytes);
    // A resent item that is already queued is an idempotent success, full or not, and displaces nothing.
    if ((plan.refuse || plan.evict.length > 0) && this.#stmts[cls].exists.get(itemId)) return 'duplicate';
    if (plan.refuse) {
      this.#dropped[cls]++;
      return 'refused';
    }
    for (const { cls: victim, bytes: need } of plan.evict) this.#evict(victim, need);
    const info = this.#stmts[cls].insert.run(itemId, now, bytes, text, items);
    if (info.changes === 0) return 'duplicate';
    const u = this.#usage[cls];
    u.rows += items;
    u.bytes += bytes;
    return 'stored';
  }

  #evict(cls: OutboxClass, needBytes: number): void {
    const u = this.#usage[cls];
    let freed = 0;
    while (freed < needBytes && u.rows > 0) {
      const rows = this.#stmts[cls].evictOldest.all(64) as { bytes: number; items: number }[];
      if (rows.length === 0) break;
      for (const r of rows) {
        freed += r.bytes;
        u.rows -= r.items;
        u.bytes -= r.bytes;
        this.#dropped[cls] += r.items;
      }
    }
  }

  /** Oldest rows of a class, for the uplink: as many as hold `limit` items (at least one row). */
  peek(cls: OutboxClass, limit: number): OutboxRow[] {
    return upTo(this.#stmts[cls].peek.iterate(limit), limit);
  }

  /** created_at of the oldest item queued at or after `since` (the live ones), or null. */
  oldestSince(cls: OutboxClass, since: number): number | null {
    if (this.#usage[cls].rows === 0) return null;
    return this.#stmts[cls].oldestSince.get(since)?.at ?? null;
  }

  /** Whether anything queued before `since` (the backlog) waits. */
  hasBefore(cls: OutboxClass, since: number): boolean {
    if (this.#usage[cls].rows === 0) return false;
    return this.#stmts[cls].anyBefore.get(since) !== undefined;
  }

  /** Oldest rows queued at or after `since` (live data, sent before the backlog), holding `limit` items. */
  peekSince(cls: OutboxClass, since: number, limit: number): OutboxRow[] {
    return upTo(this.#stmts[cls].peekSince.iterate(since, limit), limit);
  }

  /** The items of a batch in flight that are still queued (the quota may have evicted some). */
  peekSeqs(cls: OutboxClass, seqs: readonly number[]): OutboxRow[] {
    return this.#stmts[cls].peekSeqs.all(JSON.stringify(seqs)).map(toRow);
  }

  /** Delete sent items. Call inside a transaction. */
  remove(cls: OutboxClass, seqs: readonly number[]): void {
    const u = this.#usage[cls];
    const list = JSON.stringify(seqs);
    const t = this.#stmts[cls].totalsOf.get(list)!;
    this.#stmts[cls].deleteMany.run(list);
    u.rows -= t.rows ?? 0;
    u.bytes -= t.bytes ?? 0;
  }

  stats(now: number): Record<OutboxClass, ClassUsage & { oldestAgeMs: number | null; dropped: number }> {
    const out = {} as Record<OutboxClass, ClassUsage & { oldestAgeMs: number | null; dropped: number }>;
    for (const cls of OUTBOX_CLASSES) {
      const oldest = this.#usage[cls].rows > 0 ? this.#stmts[cls].oldest.get() : undefined;
      out[cls] = {
        ...this.#usage[cls],
        oldestAgeMs: oldest ? Math.max(0, now - oldest.created_at) : null,
        dropped: this.#dropped[cls],
      };
    }
    return out;
  }

  /**
   * Lower the quota below the configured one (the disk guard: what still fits on the volume), or give it
   * back with undefined. The backlog policy then applies at the lower figure.
   */
  limitQuota(bytes: number | undefined): void {
    this.#quotaBytes =
      bytes === undefined
        ? this.#configuredQuotaBytes
        : Math.max(0, Math.min(this.#configuredQuotaBytes, bytes));
  }

  get configuredQuotaBytes(): number {
    return this.#configuredQuotaBytes;
  }

  get quotaBytes(): number {
    return this.#quotaBytes;
  }
}

function toRow(r: RawRow): OutboxRow {
  return {
    seq: r.seq,
    itemId: r.item_id,
    createdAt: r.created_at,
    bytes: r.bytes,
    body: r.body,
    items: r.items,
  };
}

/** Rows in order until they hold `limit` items (a row holds one, or a webhook request's events). */
function upTo(rows: IterableIterator<RawRow>, limit: number): OutboxRow[] {
  const out: OutboxRow[] = [];
  let items = 0;
  for (const r of rows) {
    out.push(toRow(r));
    items += r.items;
    if (items >= limit) break;
  }
  return out;
}

export interface OutboxTotals {
  rows: number;
  bytes: number;
  /** Age of the oldest item of any class, or null when empty. */
  oldestAgeMs: number | null;
}

/** All classes together, from `Outbox.stats`. */
export function outboxTotals(stats: ReturnType<Outbox['stats']>): OutboxTotals {
  let rows = 0;
  let bytes = 0;
  let oldestAgeMs: number | null = null;
  for (const cls of OUTBOX_CLASSES) {
    rows += stats[cls].rows;
    bytes += stats[cls].bytes;
    const age = stats[cls].oldestAgeMs;
    if (age !== null && (oldestAgeMs === null || age > oldestAgeMs)) oldestAgeMs = age;
  }
  return { rows, bytes, oldestAgeMs };
}
