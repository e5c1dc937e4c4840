/**
 * The event journal: learning and admin events from webhooks, group-committed. Every submission of one
 * turn of the event loop is written in one transaction (one fsync), and only then are the submitters told
 * (the HTTP 202 waits for this). A submission's new events are stored as one `event_requests` row (a JSON
 * array; a large request as several rows of at most ROW_MAX_EVENTS / ROW_MAX_CHARS) with one outbox item
 * per row (class `event`, item id `req:<seq>`), which refers to the row for its body; the uplink sends each
 * event of it as its own wire item under the event's id. Each event id goes into `event_ids` (its key):
 * a repeat is a duplicate, acknowledged and not stored. A submission whose new events do not fit the
 * outbox quota is refused as a whole and stores nothing (learning/admin events are never dropped; the
 * sender retries after a 503). Its quarantine entries go in the same transaction.
 */
import type Database from 'better-sqlite3';
import type { AdminEvent, LearningEvent } from '../../shared/events.ts';
import { itemBytes } from './outbox.ts';
import { BOOKING_TYPES, REQUEST_ITEM_PREFIX } from './schema.ts';
import type { GatewayStore, QuarantineEntry } from './store.ts';

export type JournalEvent = LearningEvent | AdminEvent;

/**
 * `duplicates`: ids already stored with the same event (a retry: acknowledged, nothing stored);
 * `conflicts`: ids already stored with a different event (nothing stored for them; the sender must look).
 */
export type EventCommitResult =
  | { status: 'stored'; accepted: number; duplicates: number; conflicts: string[] }
  | { status: 'refused'; needBytes: number };

/**
 * An event's identity for idempotency: everything but when this gateway received it — and its time, when
 * the sender gave none on either copy (the mappers then use the receipt time: a retry is still the same).
 */
export function sameEvent(storedBody: string, text: string): boolean {
  const a = JSON.parse(storedBody) as Record<string, unknown>;
  const b = JSON.parse(text) as Record<string, unknown>;
  if (a.ts === a.receivedAt && b.ts === b.receivedAt) {
    delete a.ts;
    delete b.ts;
  }
  delete a.receivedAt;
  delete b.receivedAt;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A submission's events as the journal stores them: per event its id, canonical type, receipt time and
 * canonical JSON (what `JSON.stringify(event)` gives). Webhook handlers get these from the map threads.
 */
export interface JournalBatch {
  ids: readonly string[];
  types: readonly string[];
  receivedAt: readonly number[];
  texts: readonly string[];
}

/** The batch of whole events. */
export function journalBatch(events: readonly JournalEvent[]): JournalBatch {
  return {
    ids: events.map((e) => e.eventId),
    types: events.map((e) => e.type),
    receivedAt: events.map((e) => e.receivedAt),
    texts: events.map((e) => JSON.stringify(e)),
  };
}

interface Pending {
  batch: JournalBatch;
  rejected: readonly QuarantineEntry[];
  done: (err: Error | null, result?: EventCommitResult) => void;
}

class Refused extends Error {}

/** A request row's limits: it is one outbox item, packed whole into one Event Hubs event. */
export const ROW_MAX_EVENTS = 256;
export const ROW_MAX_CHARS = 128 * 1024;
/** Ids per multi-row insert into event_ids (2 parameters each). */
const IDS_PER_INSERT = 128;

/** The outbox item id of request row `seq`. */
export function requestItemId(seq: number): string {
  return `${REQUEST_ITEM_PREFIX}${seq}`;
}

/** One request row to be: its seq, the indices of the submission's events it may hold, the new ones. */
interface Chunk {
  seq: number;
  members: number[];
  fresh: number[];
}

export class EventJournal {
  readonly #store: GatewayStore;
  readonly #maxRows: number;
  readonly #now: () => number;
  readonly #insertId: Database.Statement<[string, number]>;
  readonly #insertIds = new Map<number, Database.Statement<unknown[]>>();
  readonly #insertRequest: Database.Statement<[number, number, number, string]>;
  readonly #count: Database.Statement<[], number>;
  readonly #stored: Database.Statement<[string], string>;
  readonly #prunable: Database.Statement<[number, number], number>;
  readonly #body: Database.Statement<[number], string>;
  readonly #dropId: Database.Statement<[string, number]>;
  readonly #dropRequest: Database.Statement<[number]>;
  readonly #writeBatch: (batch: Pending[], now: number) => (EventCommitResult | undefined)[];
  readonly #prune: (beforeMs: number, maxRows: number) => number;
  #nextSeq: number;
  #pending: Pending[] = [];
  #pendingRows = 0;
  #scheduled = false;
  /** Called after every commit attempt (metrics); `err` when the whole transaction failed. */
  onCommit: ((err: Error | null, batch: number) => void) | undefined;

  constructor(store: GatewayStore, opts: { maxRowsPerCommit: number; now: () => number }) {
    this.#store = store;
    this.#maxRows = opts.maxRowsPerCommit;
    this.#now = opts.now;
    const db = store.db;
    this.#insertId = db.prepare('INSERT OR IGNORE INTO event_ids (event_id, request) VALUES (?, ?)');
    this.#insertRequest = db.prepare(
      'INSERT INTO event_requests (seq, received_at, bookings, body) VALUES (?, ?, ?, ?)',
    );
    this.#count = db.prepare('SELECT COUNT(*) FROM event_ids').pluck() as Database.Statement<[], number>;
    this.#stored = db
      .prepare(
        'SELECT r.body FROM event_ids i JOIN event_requests r ON r.seq = i.request WHERE i.event_id = ?',
      )
      .pluck() as Database.Statement<[string], string>;
    // Never a request still waiting in the outbox: its events' bodies are kept here only.
    this.#prunable = db
      .prepare(
        `SELECT seq FROM event_requests r WHERE received_at < ?
           AND NOT EXISTS (SELECT 1 FROM outbox_event o WHERE o.item_id = '${REQUEST_ITEM_PREFIX}' || r.seq)
         ORDER BY received_at LIMIT ?`,
      )
      .pluck() as Database.Statement<[number, number], number>;
    this.#body = db.prepare('SELECT body FROM event_requests WHERE seq = ?').pluck() as Database.Statement<
      [number],
      string
    >;
    this.#dropId = db.prepare('DELETE FROM event_ids WHERE event_id = ? AND request = ?');
    this.#dropRequest = db.prepare('DELETE FROM event_requests WHERE seq = ?');
    this.#nextSeq =
      (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM event_requests').pluck().get() as number) + 1;

    // A submission's events, cut into request rows, their ids inserted: the new ones of each row.
    const insertIds = (b: JournalBatch): Chunk[] => {
      const chunks: Chunk[] = [];
      let chunk: Chunk | undefined;
      let chars = 0;
      for (let i = 0; i < b.ids.length; i++) {
        const size = b.texts[i]!.length;
        if (!chunk || chunk.members.length >= ROW_MAX_EVENTS || chars + size > ROW_MAX_CHARS) {
          chunk = { seq: this.#nextSeq++, members: [], fresh: [] };
          chunks.push(chunk);
          chars = 0;
        }
        chunk.members.push(i);
        chars += size + 1;
      }
      for (const c of chunks) c.fresh = this.#insertChunkIds(b.ids, c);
      return chunks;
    };
    // Write the request rows and queue them in the outbox, which must have room (checked before). An id
    // that was not new is a duplicate when the stored event is the same, else a conflict.
    const queue = (
      b: JournalBatch,
      sizes: readonly number[],
      chunks: Chunk[],
      now: number,
    ): EventCommitResult => {
      let accepted = 0;
      const conflicts: string[] = [];
      for (const c of chunks) {
        if (c.fresh.length === 0) continue;
        let body = '[';
        let bytes = 0;
        let bookings = 0;
        let receivedAt = 0;
        for (const [k, i] of c.fresh.entries()) {
          if (k > 0) body += ',';
          body += b.texts[i]!;
          bytes += sizes[i]!;
          if (BOOKING_TYPES.has(b.types[i]!)) bookings++;
          if (b.receivedAt[i]! > receivedAt) receivedAt = b.receivedAt[i]!;
        }
        // Retention counts from the row's latest event: a row goes only when all of it is old.
        this.#insertRequest.run(c.seq, receivedAt, bookings, `${body}]`);
        const itemId = requestItemId(c.seq);
        const r = store.outbox.addJournaledRequest(itemId, bytes, c.fresh.length, now);
        if (r === 'refused') throw new Error(`outbox refused event request ${itemId} after admission`);
        if (r === 'stored') accepted += c.fresh.length;
      }
      for (const c of chunks) {
        if (c.fresh.length === c.members.length) continue;
        const isFresh = new Set(c.fresh);
        for (const i of c.members) {
          if (isFresh.has(i)) continue;
          const stored = this.#storedText(b.ids[i]!);
          if (stored !== undefined && !sameEvent(stored, b.texts[i]!)) conflicts.push(b.ids[i]!);
        }
      }
      return {
        status: 'stored',
        accepted,
        duplicates: b.ids.length - accepted - conflicts.length,
        conflicts,
      };
    };
    const needOf = (sizes: readonly number[], indices: readonly number[]): number => {
      let needBytes = 0;
      for (const i of indices) needBytes += sizes[i]!;
      return needBytes;
    };
    // Near the quota: a savepoint, so that a refused submission rolls back alone (before it touched the
    // outbox) and resent events that are already stored still count as idempotent successes.
    const exact = db.transaction(
      (b: JournalBatch, sizes: readonly number[], now: number): EventCommitResult => {
        const chunks = insertIds(b);
        const needBytes = needOf(
          sizes,
          chunks.flatMap((c) => c.fresh),
        );
        if (needBytes > 0 && this.#wouldRefuse(needBytes)) throw new Refused(String(needBytes));
        return queue(b, sizes, chunks, now);
      },
    );
    const one = (b: JournalBatch, now: number): EventCommitResult => {
      // Each event's size against the quota, once: the admission check and the outbox rows both use it.
      const sizes = b.texts.map((text, i) => itemBytes(b.ids[i]!, text));
      let all = 0;
      for (const n of sizes) all += n;
      // Usually everything fits even counting every event as new: no savepoint needed.
      if (this.#wouldRefuse(all)) return exact(b, sizes, now);
      return queue(b, sizes, insertIds(b), now);
    };
    this.#writeBatch = store.transaction((batch: Pending[], now: number) => {
      const results: (EventCommitResult | undefined)[] = [];
      const rejected: QuarantineEntry[] = [];
      for (const p of batch) {
        for (const q of p.rejected) rejected.push(q);
        if (p.batch.ids.length === 0) {
          results.push(undefined);
          continue;
        }
        try {
          results.push(one(p.batch, now));
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          results.push({ status: 'refused', needBytes: Number(err.message) });
        }
      }
      if (rejected.length) store.commit([], rejected, now);
      return results;
    });
    // A row's body is read only when it is deleted: one at a time, whatever the backlog.
    this.#prune = store.transaction((beforeMs: number, maxEvents: number) => {
      let events = 0;
      for (const seq of this.#prunable.all(beforeMs, maxEvents)) {
        if (events >= maxEvents) break;
        for (const e of JSON.parse(this.#body.get(seq) ?? '[]') as JournalEvent[]) {
          this.#dropId.run(e.eventId, seq);
          events++;
        }
        this.#dropRequest.run(seq);
      }
      return events;
    });
  }

  /**
   * Insert the ids of a request row's events; the indices of the new ones. One multi-row statement per
   * IDS_PER_INSERT ids: when one id is already stored, SQLite backs the statement out and those ids go in
   * one at a time (INSERT OR IGNORE), which tells the new from the repeated.
   */
  #insertChunkIds(ids: readonly string[], c: Chunk): number[] {
    const fresh: number[] = [];
    for (let from = 0; from < c.members.length; from += IDS_PER_INSERT) {
      const part = c.members.slice(from, from + IDS_PER_INSERT);
      if (part.length > 1) {
        const params: unknown[] = [];
        for (const i of part) params.push(ids[i]!, c.seq);
        try {
          this.#insertIdsOf(part.length).run(params);
          fresh.push(...part);
          continue;
        } catch (err) {
          if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
        }
      }
      for (const i of part) if (this.#insertId.run(ids[i]!, c.seq).changes > 0) fresh.push(i);
    }
    return fresh;
  }

  #insertIdsOf(n: number): Database.Statement<unknown[]> {
    let stmt = this.#insertIds.get(n);
    if (!stmt) {
      stmt = this.#store.db.prepare(
        `INSERT INTO event_ids (event_id, request) VALUES ${Array(n).fill('(?, ?)').join(', ')}`,
      );
      this.#insertIds.set(n, stmt);
    }
    return stmt;
  }

  /** The stored event with this id, as canonical JSON, or undefined. */
  #storedText(eventId: string): string | undefined {
    const body = this.#stored.get(eventId);
    if (body === undefined) return undefined;
    const stored = (JSON.parse(body) as JournalEvent[]).find((e) => e.eventId === eventId);
    return stored && JSON.stringify(stored);
  }

  #wouldRefuse(needBytes: number): boolean {
    return this.#store.outbox.wouldRefuse('event', needBytes);
  }

  /** Journal events (and quarantine rejections); resolves once the transaction has committed. */
  submit(
    events: readonly JournalEvent[],
    rejected: readonly QuarantineEntry[] = [],
  ): Promise<EventCommitResult> {
    return this.submitBatch(journalBatch(events), rejected);
  }

  /** `submit` for events already in the journal's columns (a webhook request from the map threads). */
  submitBatch(batch: JournalBatch, rejected: readonly QuarantineEntry[] = []): Promise<EventCommitResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({
        batch,
        rejected,
        done: (err, result) =>
          err
            ? reject(err)
            : resolve(result ?? { status: 'stored', accepted: 0, duplicates: 0, conflicts: [] }),
      });
      this.#pendingRows += batch.ids.length + rejected.length;
      if (this.#pendingRows >= this.#maxRows) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingRows = 0;
    let results: (EventCommitResult | undefined)[];
    try {
      results = this.#writeBatch(batch, this.#now());
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.onCommit?.(error, batch.length);
      for (const p of batch) p.done(error);
      return;
    }
    this.onCommit?.(null, batch.length);
    for (const [i, p] of batch.entries()) p.done(null, results[i]);
  }

  /**
   * Delete the events of requests received before `beforeMs` and already sent, oldest first, whole request
   * rows until at least `maxEvents` are deleted; the number of events deleted (below `maxEvents`: nothing
   * more to prune now).
   */
  prune(beforeMs: number, maxEvents = 10_000): number {
    return this.#prune(beforeMs, maxEvents);
  }

  /** Events held in the journal. */
  rows(): number {
    return this.#count.get()!;
  }
}
