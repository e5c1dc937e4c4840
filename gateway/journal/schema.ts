/**
 * The gateway's one SQLite file: journal (readings, see rows.ts), outbox (a table per class), quarantine and meta.
 * One file so that "close a window" and "queue its aggregate" are one transaction.
 */
import Database from 'better-sqlite3';
import { EVENT_KEY_TABLES, migrateEventKeys } from './event-keys.ts';

export type Db = Database.Database;

export const OUTBOX_CLASSES = ['alert', 'twin', 'event', 'aggregate', 'raw'] as const;
export type OutboxClass = (typeof OUTBOX_CLASSES)[number];

export const SOURCE_CODES = { mqtt: 1, modbus: 2, webhook: 3, replay: 4 } as const;

/** A webhook request row's outbox item id is this and its `event_requests` seq (EventJournal). */
export const REQUEST_ITEM_PREFIX = 'req:';

/** Admin event types the twins replay after a restart; request rows count them (`bookings`). */
export const BOOKING_TYPES: ReadonlySet<string> = new Set(['room.booked', 'room.released']);

export function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Sets `meta.key` (parameters: key, value). */
export const META_UPSERT =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/** `meta.key`'s value, or undefined. */
export function readMeta(db: Db, key: string): string | undefined {
  return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
}

export function hasColumn(db: Db, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

export function openDb(file: string, synchronous: 'FULL' | 'NORMAL' | 'EXTRA' = 'FULL'): Db {
  const db = new Database(file);
  // Set before the first table exists (it is fixed for the file from then on): freed pages can be handed
  // back to the filesystem by `reclaim`, so a drained backlog or a pruned journal shrinks the file.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  // Let checkpoints run in the background of normal writes, and keep the WAL file itself bounded: after a
  // checkpoint it is truncated back to journal_size_limit, so a small volume is not filled by the WAL.
  db.pragma('wal_autocheckpoint = 1000');
  db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
  // 4 MiB of page cache: appends touch only the right edge of the journal's b-tree, and a small box
  // has better uses for memory than better-sqlite3's 16 MiB default.
  db.pragma('cache_size = -4000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sensors (
      sensor INTEGER PRIMARY KEY,
      device_id TEXT NOT NULL,
      channel TEXT NOT NULL,
      UNIQUE (device_id, channel)
    );
    -- The readings themselves are in the journal table (rows.ts); this table names the sensors that late
    -- windows are summed for.
    -- Late readings (their window had closed, or a backfill of older data), summed per sensor and window
    -- in the transaction that journals them, until the window goes out as one late correction
    -- (GatewayStore.flushLate): one outbox item per window, not one per reading, and crash-safe.
    CREATE TABLE IF NOT EXISTS late_windows (
      sensor INTEGER NOT NULL,
      window_start INTEGER NOT NULL,
      room_id TEXT NOT NULL,
      quantity TEXT NOT NULL,
      unit TEXT NOT NULL,
      n INTEGER NOT NULL,
      v_sum REAL NOT NULL,
      v_min REAL NOT NULL,
      v_max REAL NOT NULL,
      v_first REAL NOT NULL,
      first_ts INTEGER NOT NULL,
      v_last REAL NOT NULL,
      last_ts INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (sensor, window_start)
    ) WITHOUT ROWID;
    -- The status page's charts: each room's quantities in 5-minute buckets (all its sensors of a quantity
    -- summed together), written with the closed windows and late corrections, kept ~26 hours.
    CREATE TABLE IF NOT EXISTS room_history (
      room_id TEXT NOT NULL,
      quantity TEXT NOT NULL,
      bucket INTEGER NOT NULL,
      n INTEGER NOT NULL,
      v_sum REAL NOT NULL,
      v_min REAL NOT NULL,
      v_max REAL NOT NULL,
      PRIMARY KEY (room_id, quantity, bucket)
    ) WITHOUT ROWID;
    -- Pruning by age every 10 s: a range, not a scan of every room's history.
    CREATE INDEX IF NOT EXISTS room_history_bucket ON room_history (bucket);
    CREATE TABLE IF NOT EXISTS quarantine (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      source TEXT NOT NULL,
      device_id TEXT,
      topic TEXT,
      code TEXT NOT NULL,
      message TEXT NOT NULL,
      payload BLOB
    );
    -- Learning and admin events from webhooks, pseudonymised, canonical JSON: a row per accepted request
    -- (its new events as one JSON array, EventJournal), so a request of a hundred events is one row and one
    -- outbox item, not two hundred. The key runs (event_key_runs, event_key_run_info) are the idempotency
    -- key (event-keys.ts, key-runs.ts): a resent event id is recognised (and acknowledged again) without
    -- being stored twice, and names the request row holding it.
    CREATE TABLE IF NOT EXISTS event_requests (
      seq INTEGER PRIMARY KEY,
      received_at INTEGER NOT NULL,
      bookings INTEGER NOT NULL,
      body TEXT NOT NULL
    );
    -- Retention: events are kept (and deduplicated) for webhooks.eventRetentionMs, then pruned oldest first.
    CREATE INDEX IF NOT EXISTS event_requests_received ON event_requests (received_at);
    -- Room bookings are replayed into the twins after a restart without reading every learning event.
    CREATE INDEX IF NOT EXISTS event_requests_bookings ON event_requests (received_at) WHERE bookings > 0;
    ${EVENT_KEY_TABLES}
  `);
  for (const cls of OUTBOX_CLASSES) {
    db.exec(`CREATE TABLE IF NOT EXISTS outbox_${cls} (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      item_id TEXT NOT NULL UNIQUE,
      created_at INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      body TEXT NOT NULL,
      items INTEGER NOT NULL DEFAULT 1
    )`);
    // Files from before a row could hold several wire items (a webhook request's events).
    if (!hasColumn(db, `outbox_${cls}`, 'items'))
      db.exec(`ALTER TABLE outbox_${cls} ADD COLUMN items INTEGER NOT NULL DEFAULT 1`);
    // The uplink sends live items (recent created_at) before the backlog.
    db.exec(`CREATE INDEX IF NOT EXISTS outbox_${cls}_created ON outbox_${cls} (created_at)`);
  }
  // The uplink's batch in flight: its id and membership are written before the send, so a resend after a
  // crash carries the same batch id and the same items.
  db.exec(`CREATE TABLE IF NOT EXISTS uplink_inflight (
    batch_id TEXT PRIMARY KEY,
    cls TEXT NOT NULL,
    seqs TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`);
  migrateEventsTable(db);
  migrateEventKeys(db);
  return db;
}

/**
 * Files from before `event_requests` kept an `events` row per event, its outbox row referring to it by
 * event id. Each becomes a request row of its own (a one-event array), its id in `event_ids` (then keyed by
 * `migrateEventKeys`), and a queued outbox row refers to that request instead: nothing is re-sent or lost,
 * and dedupe still knows every id.
 */
function migrateEventsTable(db: Db): void {
  if (!hasTable(db, 'events')) return;
  const bookingTypes = [...BOOKING_TYPES].map((t) => `'${t}'`).join(', ');
  db.transaction(() => {
    const base = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM event_requests').pluck().get() as number;
    db.exec(`
      CREATE TABLE IF NOT EXISTS event_ids (event_id TEXT PRIMARY KEY, request INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TEMP TABLE event_migration AS
        SELECT event_id, ${base} + ROW_NUMBER() OVER (ORDER BY received_at, event_id) AS seq,
          received_at, type, body
        FROM events;
      CREATE INDEX temp.event_migration_id ON event_migration (event_id);
      INSERT INTO event_requests (seq, received_at, bookings, body)
        SELECT seq, received_at, type IN (${bookingTypes}), '[' || body || ']'
        FROM event_migration ORDER BY seq;
      INSERT OR IGNORE INTO event_ids (event_id, request) SELECT event_id, seq FROM event_migration;
      UPDATE outbox_event
        SET item_id = '${REQUEST_ITEM_PREFIX}' || (SELECT m.seq FROM event_migration m WHERE m.event_id = outbox_event.item_id)
        WHERE body = '' AND item_id IN (SELECT event_id FROM event_migration);
      DROP TABLE temp.event_migration;
      DROP TABLE events;
    `);
  })();
}

/**
 * The items queued in a class (a webhook request row holds several), read from any file: one from before
 * the `items` column counts a row as one item, as its gateway did. For readers that do not open the store
 * (backup, check).
 */
export function outboxItemCount(db: Db, cls: OutboxClass): number {
  const t = `outbox_${cls}`;
  const what = hasColumn(db, t, 'items') ? 'COALESCE(SUM(items), 0)' : 'count(*)';
  return db.prepare(`SELECT ${what} FROM ${t}`).pluck().get() as number;
}

/** Give up to `maxPages` free pages back to the filesystem (needs auto_vacuum=INCREMENTAL). */
export function reclaim(db: Db, maxPages = 2000): number {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free > 0) db.pragma(`incremental_vacuum(${Math.min(free, maxPages)})`);
  return Math.min(free, maxPages);
}
