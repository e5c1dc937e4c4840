/**
 * The cloud's store as the end-to-end tests see it, whichever it is: the settings that select it for a
 * cloud process, and portable SQL read straight from it (the tests check the store itself, not only what
 * the API says). SQLite: the file in the test's dir. PostgreSQL: a throwaway server (tests/helpers/
 * postgres.ts), a schema per store file, so every test dir has a store of its own.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { PG_TYPES } from '../../cloud/store/pg-sql.ts';
import { readStore, TOTALS_SQL } from './cloud.ts';
import { startPostgres } from './postgres.ts';

export interface StoreTarget {
  kind: 'SQLite' | 'PostgreSQL';
  /** Cloud settings (the `store` key) selecting this store for the test whose SQLite file would be `file`. */
  settings(file: string): Record<string, unknown>;
  /** The rows of a portable SELECT, or undefined while the store has no tables yet. */
  rows<T>(file: string, sql: string): Promise<T[] | undefined>;
  close(): Promise<void>;
}

export function sqliteTarget(): StoreTarget {
  return {
    kind: 'SQLite',
    settings: (file) => ({ store: { file } }),
    async rows<T>(file: string, sql: string) {
      if (!existsSync(file)) return undefined;
      try {
        return readStore(file, (db) => db.prepare(sql).all() as T[]);
      } catch {
        return undefined; // tables not created yet
      }
    },
    async close() {},
  };
}

export async function postgresTarget(): Promise<StoreTarget> {
  const server = await startPostgres();
  const pools = new Map<string, pg.Pool>();
  const schemaOf = (file: string) => `t_${createHash('sha256').update(file).digest('hex').slice(0, 16)}`;
  const poolOf = (file: string) => {
    const schema = schemaOf(file);
    let pool = pools.get(schema);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: server.url,
        types: PG_TYPES,
        max: 2,
        options: `-c search_path=${schema}`,
      });
      pool.on('error', () => {});
      pools.set(schema, pool);
    }
    return pool;
  };
  return {
    kind: 'PostgreSQL',
    settings: (file) => ({ store: { file, url: server.url, schema: schemaOf(file) } }),
    async rows<T>(file: string, sql: string) {
      try {
        return (await poolOf(file).query(sql)).rows as T[];
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') return undefined; // no such table yet
        throw err;
      }
    },
    async close() {
      for (const pool of pools.values()) await pool.end();
      server.stop();
    },
  };
}

/** Polls `sql`'s rows until `pred` holds. */
export async function waitForRows<T>(
  target: StoreTarget,
  file: string,
  sql: string,
  pred: (rows: T[]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let last: T[] | undefined;
  while (Date.now() < deadline) {
    last = await target.rows<T>(file, sql);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** One number from a `SELECT … AS n` (0 while the store has no tables). */
export async function count(target: StoreTarget, file: string, sql: string): Promise<number> {
  return (await target.rows<{ n: number }>(file, sql))?.[0]?.n ?? 0;
}

/** TOTALS_SQL's figures from the store. */
export async function totals(
  target: StoreTarget,
  file: string,
): Promise<{ readings: number; items: number; batches: number }> {
  return {
    readings: await count(target, file, TOTALS_SQL.readings),
    items: await count(target, file, TOTALS_SQL.items),
    batches: await count(target, file, TOTALS_SQL.batches),
  };
}

/** Polls until the store has applied at least `n` batches; returns how many it has. */
export async function waitForBatches(
  target: StoreTarget,
  file: string,
  n: number,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const [r] = await waitForRows<{ n: number }>(
    target,
    file,
    TOTALS_SQL.batches,
    ([x]) => x!.n >= n,
    timeoutMs,
    what,
  );
  return r!.n;
}

/** Every store the end-to-end tests run on (PostgreSQL on a server started for the test file). */
export const STORE_TARGETS: Record<StoreTarget['kind'], () => StoreTarget | Promise<StoreTarget>> = {
  SQLite: sqliteTarget,
  PostgreSQL: postgresTarget,
};
