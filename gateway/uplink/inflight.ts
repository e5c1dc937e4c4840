/**
 * The batch in flight, on disk: its id and membership are written before the send and deleted in the
 * transaction that deletes its items, so a restart resends exactly the same batch under the same id.
 */
import type Database from 'better-sqlite3';
import type { Db, OutboxClass } from '../journal/schema.ts';

export interface InflightBatch {
  batchId: string;
  cls: OutboxClass;
  seqs: number[];
  createdAt: number;
}

export class InflightLog {
  readonly #load: Database.Statement<[], { batch_id: string; cls: string; seqs: string; created_at: number }>;
  readonly #save: Database.Statement<[string, string, string, number]>;
  readonly #clear: Database.Statement<[string]>;

  constructor(db: Db) {
    this.#load = db.prepare(
      'SELECT batch_id, cls, seqs, created_at FROM uplink_inflight ORDER BY created_at LIMIT 1',
    );
    this.#save = db.prepare(
      'INSERT OR REPLACE INTO uplink_inflight (batch_id, cls, seqs, created_at) VALUES (?, ?, ?, ?)',
    );
    this.#clear = db.prepare('DELETE FROM uplink_inflight WHERE batch_id = ?');
  }

  load(): InflightBatch | undefined {
    const r = this.#load.get();
    if (!r) return undefined;
    return {
      batchId: r.batch_id,
      cls: r.cls as OutboxClass,
      seqs: JSON.parse(r.seqs) as number[],
      createdAt: r.created_at,
    };
  }

  save(batchId: string, cls: OutboxClass, seqs: readonly number[], now: number): void {
    this.#save.run(batchId, cls, JSON.stringify(seqs), now);
  }

  clear(batchId: string): void {
    this.#clear.run(batchId);
  }
}
