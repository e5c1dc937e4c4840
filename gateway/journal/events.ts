/**
 * The event journal: learning and admin events from webhooks, group-committed. Every submission of one
 * turn of the event loop is written in one transaction (one fsync), and only then are the submitters told
 * (the HTTP 202 waits for this). A submission's new events are stored as one `event_requests` row (a JSON
 * array; a large request as several rows of at most ROW_MAX_EVENTS / ROW_MAX_CHARS) with one outbox item
 * per row (class `event`, item id `req:<seq>`), which refers to the row for its body; the uplink sends each
 * event of it as its own wire item under the event's id. Each event id's key goes into the dedupe index
 * (`EventKeys`): a repeat is a duplicate, acknowledged and not stored. A submission whose new events do not
 * fit the outbox quota is refused as a whole and stores nothing (learning/admin events are never dropped;
 * the sender retries after a 503). Its quarantine entries go in the same transaction.
 */
import type Database from 'better-sqlite3';
import type { AdminEvent, LearningEvent } from '../../shared/events.ts';
import { EventKeys, eventKey } from './event-keys.ts';
import { KeyTable } from './key-table.ts';
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
export function sameEvent(stored: object, event: object): boolean {
  const a = { ...stored } as Record<string, unknown>;
  const b = { ...event } as Record<string, unknown>;
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
 * size against the outbox quota (itemBytes), and the events' canonical JSON (what `JSON.stringify(event)`
 * gives) joined by commas, so that a request whose events are all new becomes its row's body in one piece.
 * Webhook handlers get these from the map threads.
 */
export interface JournalBatch {
  ids: readonly string[];
  types: readonly string[];
  receivedAt: readonly number[];
  sizes: readonly number[];
  joined: string;
  /** Where each event's text ends in `joined` (the next one starts after the comma). */
  ends: readonly number[];
}

/** The batch of whole events. */
export function journalBatch(events: readonly JournalEvent[]): JournalBatch {
  const ids: string[] = [];
  const types: string[] = [];
  const receivedAt: number[] = [];
  const sizes: number[] = [];
  const texts: string[] = [];
  const ends: number[] = [];
  let end = -1;
  for (const e of events) {
    const text = JSON.stringify(e);
    ids.push(e.eventId);
    types.push(e.type);
    receivedAt.push(e.receivedAt);
    sizes.push(itemBytes(e.eventId, text));
    texts.push(text);
    end += text.length + 1;
    ends.push(end);
  }
  return { ids, types, receivedAt, sizes, joined: texts.join(','), ends };
}

/** Where event `i`'s text starts in the batch's `joined`. */
function textStart(b: JournalBatch, i: number): number {
  return i === 0 ? 0 : b.ends[i - 1]! + 1;
}

/** Event `i`'s canonical JSON. */
export function eventText(b: JournalBatch, i: number): string {
  return b.joined.slice(textStart(b, i), b.ends[i]);
}

interface Pending {
  batch: JournalBatch;
  rejected: readonly QuarantineEntry[];
  done: (err: Error | null, result?: EventCommitResult) => void;
}

/** A request row's limits: it is one outbox item, packed whole into one Event Hubs event. */
export const ROW_MAX_EVENTS = 256;
export const ROW_MAX_CHARS = 128 * 1024;
/**
 * New event keys held in memory before they go into the index together, as one run (EventKeys): the
 * larger, the fewer runs to merge and to seek; ~4 MB of memory (a typed-array table, KeyTable), and as
 * many events re-read from their rows at a start after a crash.
 */
export const KEYS_FLUSH_AT = 131_072;

/** The outbox item id of request row `seq`. */
export function requestItemId(seq: number): string {
  return `${REQUEST_ITEM_PREFIX}${seq}`;
}

/** A submission's events sorted out against the journal: the new ones (indices), repeats and conflicts. */
interface Classified {
  keys: number[];
  fresh: number[];
  /** New events whose key another id already has: held by their full id. */
  clash: Set<number>;
  duplicates: number;
  conflicts: string[];
}

export class EventJournal {
  readonly #store: GatewayStore;
  readonly #maxRows: number;
  readonly #now: () => number;
  readonly #keys: EventKeys;
  /** Scratch for #classify. */
  readonly #mine = new KeyTable();
  readonly #insertRequest: Database.Statement<[number, number, number, string]>;
  readonly #prunable: Database.Statement<[number, number], number>;
  readonly #body: Database.Statement<[number], string>;
  readonly #dropRequest: Database.Statement<[number]>;
  readonly #writeBatch: (batch: Pending[], now: number) => (EventCommitResult | undefined)[];
  readonly #prune: (beforeMs: number, maxRows: number) => number;
  #nextSeq: number;
  #pending: Pending[] = [];
  #pendingRows = 0;
  #scheduled = false;
  /** Called after every commit attempt (metrics); `err` when the whole transaction failed. */
  onCommit: ((err: Error | null, batch: number) => void) | undefined;

  constructor(
    store: GatewayStore,
    opts: { maxRowsPerCommit: number; now: () => number; keysFlushAt?: number },
  ) {
    this.#store = store;
    this.#maxRows = opts.maxRowsPerCommit;
    this.#now = opts.now;
    const db = store.db;
    this.#keys = new EventKeys(db, { flushAt: opts.keysFlushAt ?? KEYS_FLUSH_AT });
    // What a rolled-back write or prune added or removed in memory is read back from the file.
    store.onRollback(() => this.#keys.reload());
    this.#insertRequest = db.prepare(
      'INSERT INTO event_requests (seq, received_at, bookings, body) VALUES (?, ?, ?, ?)',
    );
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
    this.#dropRequest = db.prepare('DELETE FROM event_requests WHERE seq = ?');
    this.#nextSeq =
      (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM event_requests').pluck().get() as number) + 1;

    // Write the new events as request rows (cut at ROW_MAX_EVENTS / ROW_MAX_CHARS) and queue them in the
    // outbox, which must have room (checked before); their keys name their rows.
    const queue = (b: JournalBatch, c: Classified, now: number): number => {
      let accepted = 0;
      let from = 0;
      // A request's events are mostly of one type: its set is asked once per run of them.
      let lastType: string | undefined;
      let lastBooking = false;
      while (from < c.fresh.length) {
        const seq = this.#nextSeq++;
        let chars = 0;
        let bytes = 0;
        let bookings = 0;
        let receivedAt = 0;
        let to = from;
        for (; to < c.fresh.length && to - from < ROW_MAX_EVENTS; to++) {
          const i = c.fresh[to]!;
          const length = b.ends[i]! - textStart(b, i);
          if (to > from && chars + length > ROW_MAX_CHARS) break;
          chars += length + 1;
          bytes += b.sizes[i]!;
          const type = b.types[i]!;
          if (type !== lastType) {
            lastType = type;
            lastBooking = BOOKING_TYPES.has(type);
          }
          if (lastBooking) bookings++;
          if (b.receivedAt[i]! > receivedAt) receivedAt = b.receivedAt[i]!;
          this.#keys.add(b.ids[i]!, c.keys[i]!, seq, c.clash.size > 0 && c.clash.has(i));
        }
        // Events next to each other in the request (all of them, when all are new) are one piece of `joined`.
        const first = c.fresh[from]!;
        const last = c.fresh[to - 1]!;
        let body: string;
        if (last - first === to - 1 - from) body = b.joined.slice(textStart(b, first), b.ends[last]);
        else {
          body = eventText(b, first);
          for (let k = from + 1; k < to; k++) body += `,${eventText(b, c.fresh[k]!)}`;
        }
        // Retention counts from the row's latest event: a row goes only when all of it is old.
        this.#insertRequest.run(seq, receivedAt, bookings, `[${body}]`);
        const itemId = requestItemId(seq);
        const r = store.outbox.addJournaledRequest(itemId, bytes, to - from, now);
        if (r === 'refused') throw new Error(`outbox refused event request ${itemId} after admission`);
        if (r === 'stored') accepted += to - from;
        from = to;
      }
      return accepted;
    };
    const one = (b: JournalBatch, now: number): EventCommitResult => {
      const c = this.#classify(b);
      // The new events' sizes against the quota: nothing is written before this, so a refused submission
      // stores nothing, and its repeats still count.
      let needBytes = 0;
      for (const i of c.fresh) needBytes += b.sizes[i]!;
      if (needBytes > 0 && this.#store.outbox.wouldRefuse('event', needBytes))
        return { status: 'refused', needBytes };
      return {
        status: 'stored',
        accepted: queue(b, c, now),
        duplicates: c.duplicates,
        conflicts: c.conflicts,
      };
    };
    this.#writeBatch = store.transaction((batch: Pending[], now: number) => {
      const results: (EventCommitResult | undefined)[] = [];
      const rejected: QuarantineEntry[] = [];
      for (const p of batch) {
        for (const q of p.rejected) rejected.push(q);
        results.push(p.batch.ids.length === 0 ? undefined : one(p.batch, now));
      }
      if (rejected.length) store.commit([], rejected, now);
      this.#keys.beforeCommit(this.#nextSeq - 1);
      return results;
    });
    // A row's body is read only when it is deleted: one at a time, whatever the backlog.
    this.#prune = store.transaction((beforeMs: number, maxEvents: number) => {
      let events = 0;
      for (const seq of this.#prunable.all(beforeMs, maxEvents)) {
        if (events >= maxEvents) break;
        for (const e of JSON.parse(this.#body.get(seq) ?? '[]') as JournalEvent[]) {
          this.#keys.drop(e.eventId, seq);
          events++;
        }
        this.#dropRequest.run(seq);
      }
      this.#keys.afterPrune();
      return events;
    });
  }

  /**
   * Sort a submission's events out: an id already journaled (a key names a row that holds it, or it is a
   * clash) is a duplicate when the stored event is the same, else a conflict; so is an id repeated within
   * the submission. Reads only: nothing is written until the submission is admitted.
   */
  #classify(b: JournalBatch): Classified {
    const keys = b.ids.map(eventKey);
    const found = this.#keys.find(keys);
    // Each stored row read and parsed once per submission, however many of its events come again.
    const rows = new Map<number, Map<string, JournalEvent> | null>();
    // The stored event with this id in row `seq`; null when the row itself is gone (pruned: its keys are
    // free again).
    const storedEvent = (seq: number, id: string): JournalEvent | undefined | null => {
      let events = rows.get(seq);
      if (events === undefined) {
        const body = this.#body.get(seq);
        if (body === undefined) events = null;
        else {
          events = new Map();
          for (const e of JSON.parse(body) as JournalEvent[]) events.set(e.eventId, e);
        }
        rows.set(seq, events);
      }
      return events === null ? null : events.get(id);
    };
    // This submission's new events by key (key → the first one's index): its ids are not hashed again.
    const mine = this.#mine;
    mine.clear();
    const c: Classified = { keys, fresh: [], clash: new Set(), duplicates: 0, conflicts: [] };
    for (let i = 0; i < keys.length; i++) {
      const id = b.ids[i]!;
      const key = keys[i]!;
      const first = mine.get(key);
      // Another new id with this key: a clash within the submission (or a repeat of a later one of them).
      const earlier =
        first === undefined || b.ids[first] === id ? first : c.fresh.find((j) => b.ids[j] === id);
      let stored: object | undefined = earlier === undefined ? undefined : JSON.parse(eventText(b, earlier));
      let clash = first !== undefined;
      if (stored === undefined) {
        const seq = found.get(key);
        const inRow = seq === undefined ? null : storedEvent(seq, id);
        if (inRow !== null) {
          stored = inRow;
          clash = inRow === undefined;
        }
        if (stored === undefined && this.#keys.hasClashes) {
          const held = this.#keys.clashOf(id);
          if (held !== undefined) stored = storedEvent(held, id) ?? undefined;
        }
      }
      if (stored !== undefined) {
        if (sameEvent(stored, JSON.parse(eventText(b, i)))) c.duplicates++;
        else c.conflicts.push(id);
        continue;
      }
      if (first === undefined) mine.set(key, i);
      c.fresh.push(i);
      if (clash) c.clash.add(i);
    }
    return c;
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
    return this.#keys.count();
  }
}
