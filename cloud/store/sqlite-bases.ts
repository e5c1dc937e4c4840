/**
 * The SQLite apply's base windows (on-time aggregates), many to a statement. A base window is new in the
 * common case, so a run of them goes in as one plain multi-row INSERT (INSERT_NEW_BASE); when one of the run's
 * windows exists already, SQLite backs the whole statement out and each window of the run is upserted on its
 * own (SQL.upsertBase: merged into a window that has only late deltas, a duplicate when it has its base).
 *
 * Measured on 12,500 windows per transaction (bench/README.md, apply): one row per statement ~1.2 µs per
 * window, runs of 64 ~0.9 µs. Runs are powers of two up to 128, so a call prepares at most 8 statements.
 */
import type Database from 'better-sqlite3';
import type { Aggregate } from '../../shared/events.ts';
import { AGGREGATE_PARAMS, aggregateParams, insertNewBasesSql, putAggregateParams } from './sql.ts';

const MAX_RUN = 128;

export interface BaseWindow {
  sensor: number;
  a: Aggregate;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class SqliteBaseWindows {
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  /** The multi-row insert of each run length, with its reused parameter array. */
  readonly #inserts = new Map<number, { stmt: Database.Statement; params: number[] }>();

  /** `upsert`: the store's prepared SQL.upsertBase, for a run in which a window exists. */
  constructor(db: Database.Database, upsert: Database.Statement) {
    this.#db = db;
    this.#upsert = upsert;
  }

  /** Applies `bases` inside the caller's transaction; `applied` is called for each one applied. */
  apply<T extends BaseWindow>(bases: readonly T[], applied: (b: T) => void): void {
    for (let i = 0; i < bases.length; ) {
      let n = MAX_RUN;
      while (n > bases.length - i) n >>= 1;
      if (this.#insertRun(bases, i, n)) for (let k = i; k < i + n; k++) applied(bases[k]!);
      else
        for (let k = i; k < i + n; k++) {
          const b = bases[k]!;
          if (this.#upsert.run(...aggregateParams(b.sensor, b.a)).changes === 1) applied(b);
        }
      i += n;
    }
  }

  /** Inserts bases [from, from + n) in one statement; false (and nothing inserted) if a window exists. */
  #insertRun(bases: readonly BaseWindow[], from: number, n: number): boolean {
    let run = this.#inserts.get(n);
    if (!run) {
      run = { stmt: this.#db.prepare(insertNewBasesSql(n)), params: new Array<number>(n * AGGREGATE_PARAMS) };
      this.#inserts.set(n, run);
    }
    const p = run.params;
    for (let k = 0; k < n; k++) {
      const b = bases[from + k]!;
      putAggregateParams(p, k * AGGREGATE_PARAMS, b.sensor, b.a);
    }
    try {
      run.stmt.run(p);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
}
