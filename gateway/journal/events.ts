/**
 * The event journal: learning and admin events from webhooks, group-committed. Every submission of one
 * turn of the event loop is written in one transaction (one fsync), and only then are the submitters told
 * (the HTTP 202 waits for this). Per event, in the same transaction: the `events` row (its primary key is
 * the event id: a repeat is a duplicate, acknowledged and not stored) and the outbox item (class `event`,
 * item id = event id), which refers to the row for its body rather than holding a second copy. A submission whose new events do not fit the outbox quota is refused as a whole
 * and stores nothing (learning/admin events are never dropped; the sender retries after a 503). Its
 * quarantine entries go in the same transaction.
 */
import type Database from 'better-sqlite3';
import type { AdminEvent, LearningEvent } from '../../shared/events.ts';
import { planAdmission } from './policy.ts';
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

interface Pending {
  events: readonly JournalEvent[];
  rejected: readonly QuarantineEntry[];
  done: (err: Error | null, result?: EventCommitResult) => void;
}

class Refused extends Error {}

/** The outbox's own accounting of an item (outbox.ts add()). */
function outboxBytes(e: JournalEvent, text: string): number {
  return Buffer.byteLength(text) + e.eventId.length + 32;
}

export class EventJournal {
  readonly #store: GatewayStore;
  readonly #maxRows: number;
  readonly #now: () => number;
  readonly #insert: Database.Statement<[string, string, string, number, number, string]>;
  readonly #count: Database.Statement<[], { n: number }>;
  readonly #stored: Database.Statement<[string], { body: string }>;
  readonly #prune: Database.Statement<[number, number]>;
  readonly #writeBatch: (batch: Pending[], now: number) => (EventCommitResult | undefined)[];
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
    this.#insert = db.prepare(
      'INSERT OR IGNORE INTO events (event_id, source, type, ts, received_at, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM events');
    this.#stored = db.prepare('SELECT body FROM events WHERE event_id = ?');
    // Never an event still waiting in the outbox: its body is kept here only.
    this.#prune = db.prepare(
      `DELETE FROM events WHERE event_id IN (SELECT event_id FROM events WHERE received_at < ?
         AND NOT EXISTS (SELECT 1 FROM outbox_event o WHERE o.item_id = events.event_id)
         ORDER BY received_at LIMIT ?)`,
    );
    // Insert a submission's `events` rows; the indices of those that are new (a repeat is a duplicate).
    const insertRows = (p: Pending, texts: readonly string[]): number[] => {
      const fresh: number[] = [];
      for (let i = 0; i < p.events.length; i++) {
        const e = p.events[i]!;
        if (this.#insert.run(e.eventId, e.source, e.type, e.ts, e.receivedAt, texts[i]!).changes > 0)
          fresh.push(i);
      }
      return fresh;
    };
    // Queue the new events in the outbox; it must have room for them (checked before). An id that was
    // not new is a duplicate when the stored event is the same, else a conflict.
    const queue = (p: Pending, texts: readonly string[], fresh: number[], now: number): EventCommitResult => {
      let accepted = 0;
      for (const i of fresh) {
        const e = p.events[i]!;
        const r = store.outbox.addJournaledEvent(e.eventId, texts[i]!, now);
        if (r === 'refused') throw new Error(`outbox refused event ${e.eventId} after admission`);
        if (r === 'stored') accepted++;
      }
      const conflicts: string[] = [];
      const isFresh = new Set(fresh);
      for (let i = 0; i < p.events.length; i++) {
        if (isFresh.has(i)) continue;
        const id = p.events[i]!.eventId;
        const stored = this.#stored.get(id);
        if (stored && !sameEvent(stored.body, texts[i]!)) conflicts.push(id);
      }
      return {
        status: 'stored',
        accepted,
        duplicates: p.events.length - accepted - conflicts.length,
        conflicts,
      };
    };
    // Near the quota: a savepoint, so that a refused submission rolls back alone (before it touched the
    // outbox) and resent events that are already stored still count as idempotent successes.
    const exact = db.transaction((p: Pending, texts: readonly string[], now: number): EventCommitResult => {
      const fresh = insertRows(p, texts);
      let needBytes = 0;
      for (const i of fresh) needBytes += outboxBytes(p.events[i]!, texts[i]!);
      if (fresh.length > 0 && this.#wouldRefuse(needBytes, now)) throw new Refused(String(needBytes));
      return queue(p, texts, fresh, now);
    });
    const one = (p: Pending, now: number): EventCommitResult => {
      const texts = p.events.map((e) => JSON.stringify(e));
      let needBytes = 0;
      for (let i = 0; i < texts.length; i++) needBytes += outboxBytes(p.events[i]!, texts[i]!);
      // Usually everything fits even counting every event as new: no savepoint needed.
      if (this.#wouldRefuse(needBytes, now)) return exact(p, texts, now);
      return queue(p, texts, insertRows(p, texts), now);
    };
    this.#writeBatch = store.transaction((batch: Pending[], now: number) => {
      const results: (EventCommitResult | undefined)[] = [];
      const rejected: QuarantineEntry[] = [];
      for (const p of batch) {
        for (const q of p.rejected) rejected.push(q);
        if (p.events.length === 0) {
          results.push(undefined);
          continue;
        }
        try {
          results.push(one(p, now));
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          results.push({ status: 'refused', needBytes: Number(err.message) });
        }
      }
      if (rejected.length) store.commit([], rejected, now);
      return results;
    });
  }

  #wouldRefuse(needBytes: number, now: number): boolean {
    const outbox = this.#store.outbox;
    return planAdmission(outbox.stats(now), outbox.quotaBytes, 'event', needBytes).refuse;
  }

  /** Journal events (and quarantine rejections); resolves once the transaction has committed. */
  submit(
    events: readonly JournalEvent[],
    rejected: readonly QuarantineEntry[] = [],
  ): Promise<EventCommitResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({
        events,
        rejected,
        done: (err, result) =>
          err
            ? reject(err)
            : resolve(result ?? { status: 'stored', accepted: 0, duplicates: 0, conflicts: [] }),
      });
      this.#pendingRows += events.length + rejected.length;
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

  /** Delete events received before `beforeMs` and already sent, at most `maxRows` per call. */
  prune(beforeMs: number, maxRows = 10_000): number {
    return this.#prune.run(beforeMs, maxRows).changes;
  }

  /** Events held in the journal. */
  rows(): number {
    return this.#count.get()!.n;
  }
}
