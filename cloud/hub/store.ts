/**
 * The hub's durable event log: one SQLite file (WAL), one row per event, per-partition counters in the
 * same transaction as the events they count. Synchronous (better-sqlite3); callers batch appends so that
 * one transaction commits many events (group commit).
 *
 * Sequence numbers start at 0 per partition and never repeat; offsets are the byte position of the event
 * in its partition (sum of the sizes of the events before it), so they differ from sequence numbers as in
 * Event Hubs. Retention deletes only from the head of a partition, so the stored sequence numbers of a
 * partition are always the contiguous range [begin, next).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { StartPosition } from './filters.ts';
import { partitionRef } from './partitions.ts';

export interface NewEvent {
  hub: string;
  partition: number;
  body: Buffer;
  partitionKey: string | null;
}

export interface Placed {
  sequenceNumber: number;
  offset: number;
  enqueuedMs: number;
}

export interface StoredEvent extends Placed {
  partitionKey: string | null;
  body: Buffer;
}

export interface PartitionInfo {
  /** First retained sequence number (= next when empty). */
  beginSequenceNumber: number;
  /** -1 before the first event. */
  lastSequenceNumber: number;
  /** -1 before the first event. */
  lastOffset: number;
  /** 0 before the first event. */
  lastEnqueuedMs: number;
  isEmpty: boolean;
  retainedBytes: number;
}

interface PartitionState {
  /** Lower case. */
  hub: string;
  partition: number;
  begin: number;
  next: number;
  nextOffset: number;
  lastOffset: number;
  lastEnqueuedMs: number;
  bytes: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hubs (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
  hub TEXT NOT NULL, partition INTEGER NOT NULL,
  next_seq INTEGER NOT NULL, next_offset INTEGER NOT NULL,
  last_offset INTEGER NOT NULL, last_enqueued_ms INTEGER NOT NULL,
  PRIMARY KEY (hub, partition));
CREATE TABLE IF NOT EXISTS events (
  hub TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL,
  offset INTEGER NOT NULL, enqueued_ms INTEGER NOT NULL, size INTEGER NOT NULL,
  partition_key TEXT, body BLOB NOT NULL,
  PRIMARY KEY (hub, partition, seq));
`;

export interface HubStoreOptions {
  hubs: readonly string[];
  partitions: number;
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  now: () => number;
}

interface Appended {
  placed: Placed[];
  touched: Map<string, PartitionState>;
}

export class HubStore {
  readonly #db: Database.Database;
  readonly #state = new Map<string, PartitionState>();
  readonly #created = new Map<string, number>();
  readonly #insert: Database.Statement;
  readonly #saveState: Database.Statement;
  readonly #read: Database.Statement;
  readonly #point: Database.Statement;
  readonly #sizesFrom: Database.Statement;
  readonly #countBefore: Database.Statement;
  readonly #deleteBefore: Database.Statement;
  readonly #appendTx: (events: NewEvent[], now: number) => Appended;

  constructor(file: string, opts: HubStoreOptions) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${opts.synchronous}`);
    this.#db.exec(SCHEMA);
    const now = opts.now();
    const insertHub = this.#db.prepare('INSERT OR IGNORE INTO hubs (name, created_ms) VALUES (?, ?)');
    const insertPartition = this.#db.prepare(
      'INSERT OR IGNORE INTO partitions (hub, partition, next_seq, next_offset, last_offset, last_enqueued_ms) VALUES (?, ?, 0, 0, -1, 0)',
    );
    const createdMs = this.#db.prepare('SELECT created_ms FROM hubs WHERE name = ?');
    for (const hub of opts.hubs) {
      const h = hub.toLowerCase();
      insertHub.run(h, now);
      this.#created.set(h, (createdMs.get(h) as { created_ms: number }).created_ms);
      for (let p = 0; p < opts.partitions; p++) {
        insertPartition.run(h, p);
        this.#state.set(partitionRef(h, p), this.#loadState(h, p));
      }
    }
    this.#insert = this.#db.prepare(
      'INSERT INTO events (hub, partition, seq, offset, enqueued_ms, size, partition_key, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#saveState = this.#db.prepare(
      'UPDATE partitions SET next_seq = ?, next_offset = ?, last_offset = ?, last_enqueued_ms = ? WHERE hub = ? AND partition = ?',
    );
    this.#read = this.#db.prepare(
      'SELECT seq, offset, enqueued_ms, partition_key, body FROM events WHERE hub = ? AND partition = ? AND seq >= ? ORDER BY seq LIMIT ?',
    );
    this.#point = this.#db.prepare(
      'SELECT offset, enqueued_ms FROM events WHERE hub = ? AND partition = ? AND seq = ?',
    );
    this.#sizesFrom = this.#db.prepare(
      'SELECT seq, size FROM events WHERE hub = ? AND partition = ? AND seq >= ? ORDER BY seq',
    );
    this.#countBefore = this.#db.prepare(
      'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM events WHERE hub = ? AND partition = ? AND seq < ?',
    );
    this.#deleteBefore = this.#db.prepare('DELETE FROM events WHERE hub = ? AND partition = ? AND seq < ?');
    this.#appendTx = this.#db.transaction((events: NewEvent[], at: number) => this.#appendInTx(events, at));
  }

  #loadState(hub: string, partition: number): PartitionState {
    const p = this.#db
      .prepare(
        'SELECT next_seq, next_offset, last_offset, last_enqueued_ms FROM partitions WHERE hub = ? AND partition = ?',
      )
      .get(hub, partition) as {
      next_seq: number;
      next_offset: number;
      last_offset: number;
      last_enqueued_ms: number;
    };
    const agg = this.#db
      .prepare(
        'SELECT min(seq) AS begin, coalesce(sum(size), 0) AS bytes FROM events WHERE hub = ? AND partition = ?',
      )
      .get(hub, partition) as { begin: number | null; bytes: number };
    return {
      hub,
      partition,
      begin: agg.begin ?? p.next_seq,
      next: p.next_seq,
      nextOffset: p.next_offset,
      lastOffset: p.last_offset,
      lastEnqueuedMs: p.last_enqueued_ms,
      bytes: agg.bytes,
    };
  }

  #get(hub: string, partition: number): PartitionState {
    const s = this.#state.get(partitionRef(hub, partition));
    if (!s) throw new RangeError(`no partition ${partition} in hub ${hub}`);
    return s;
  }

  #appendInTx(events: NewEvent[], at: number): Appended {
    const placed: Placed[] = [];
    // Work on copies so a failed transaction leaves the in-memory counters untouched.
    const touched = new Map<string, PartitionState>();
    for (const e of events) {
      const k = partitionRef(e.hub, e.partition);
      let s = touched.get(k);
      if (!s) {
        s = { ...this.#get(e.hub, e.partition) };
        touched.set(k, s);
      }
      // Enqueued time never goes backwards within a partition, so time filters can binary-search.
      const enqueuedMs = Math.max(at, s.lastEnqueuedMs);
      const p = { sequenceNumber: s.next, offset: s.nextOffset, enqueuedMs };
      this.#insert.run(
        s.hub,
        e.partition,
        p.sequenceNumber,
        p.offset,
        enqueuedMs,
        e.body.length,
        e.partitionKey,
        e.body,
      );
      s.lastOffset = s.nextOffset;
      s.next += 1;
      s.nextOffset += e.body.length;
      s.lastEnqueuedMs = enqueuedMs;
      s.bytes += e.body.length;
      placed.push(p);
    }
    for (const s of touched.values()) {
      this.#saveState.run(s.next, s.nextOffset, s.lastOffset, s.lastEnqueuedMs, s.hub, s.partition);
    }
    return { placed, touched };
  }

  /** One transaction for all of `events`; returns their positions, in order. Throws if nothing was written. */
  append(events: NewEvent[], nowMs: number): Placed[] {
    const { placed, touched } = this.#appendTx(events, nowMs);
    // Only after the commit: a failed transaction leaves the in-memory counters as they were.
    for (const [k, s] of touched) this.#state.set(k, s);
    return placed;
  }

  nextSequenceNumber(hub: string, partition: number): number {
    return this.#get(hub, partition).next;
  }

  read(hub: string, partition: number, fromSeq: number, limit: number): StoredEvent[] {
    const rows = this.#read.all(hub.toLowerCase(), partition, fromSeq, limit) as {
      seq: number;
      offset: number;
      enqueued_ms: number;
      partition_key: string | null;
      body: Buffer;
    }[];
    return rows.map((r) => ({
      sequenceNumber: r.seq,
      offset: r.offset,
      enqueuedMs: r.enqueued_ms,
      partitionKey: r.partition_key,
      body: r.body,
    }));
  }

  info(hub: string, partition: number): PartitionInfo {
    const s = this.#get(hub, partition);
    return {
      beginSequenceNumber: s.begin,
      lastSequenceNumber: s.next - 1,
      lastOffset: s.lastOffset,
      lastEnqueuedMs: s.lastEnqueuedMs,
      isEmpty: s.begin >= s.next,
      retainedBytes: s.bytes,
    };
  }

  createdMs(hub: string): number {
    return this.#created.get(hub.toLowerCase()) ?? 0;
  }

  /** The first sequence number a receiver starting at `position` gets (may be one not yet written). */
  firstSequenceNumber(hub: string, partition: number, position: StartPosition): number {
    const s = this.#get(hub, partition);
    switch (position.kind) {
      case 'earliest':
        return s.begin;
      case 'latest':
        return s.next;
      case 'sequence':
        return Math.max(s.begin, position.inclusive ? position.sequenceNumber : position.sequenceNumber + 1);
      case 'offset': {
        const { offset, inclusive } = position;
        return this.#search(hub, partition, (o) => (inclusive ? o.offset >= offset : o.offset > offset));
      }
      case 'enqueuedTime': {
        const { enqueuedMs, inclusive } = position;
        return this.#search(hub, partition, (o) =>
          inclusive ? o.enqueued_ms >= enqueuedMs : o.enqueued_ms > enqueuedMs,
        );
      }
    }
  }

  /** Smallest retained seq whose row satisfies a predicate that is monotonic in seq; `next` if none. */
  #search(
    hub: string,
    partition: number,
    pred: (row: { offset: number; enqueued_ms: number }) => boolean,
  ): number {
    const s = this.#get(hub, partition);
    let lo = s.begin;
    let hi = s.next;
    const h = hub.toLowerCase();
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.#point.get(h, partition, mid) as { offset: number; enqueued_ms: number } | undefined;
      // A row missing mid-search was just deleted by retention: everything before it is gone too.
      if (!row || pred(row)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Deletes events older than `maxAgeMs`, then the oldest events of any partition holding more than
   * `maxBytesPerPartition`. Returns how many events were deleted.
   */
  retain(nowMs: number, maxAgeMs: number, maxBytesPerPartition: number): number {
    let deleted = 0;
    const cutoffMs = nowMs - maxAgeMs;
    const tx = this.#db.transaction(() => {
      for (const s of this.#state.values()) {
        const { hub, partition } = s;
        let upto = this.#search(hub, partition, (row) => row.enqueued_ms >= cutoffMs);
        if (s.bytes > maxBytesPerPartition) {
          let excess = s.bytes - maxBytesPerPartition;
          const sizes = this.#sizesFrom.iterate(hub, partition, s.begin) as IterableIterator<{
            seq: number;
            size: number;
          }>;
          for (const row of sizes) {
            if (row.seq >= upto && excess <= 0) break;
            excess -= row.size;
            upto = Math.max(upto, row.seq + 1);
          }
        }
        if (upto <= s.begin) continue;
        const freed = this.#countBefore.get(hub, partition, upto) as { n: number; bytes: number };
        this.#deleteBefore.run(hub, partition, upto);
        s.begin = upto;
        s.bytes -= freed.bytes;
        deleted += freed.n;
      }
    });
    tx();
    return deleted;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
