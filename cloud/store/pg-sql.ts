/**
 * The SQLite store's portable statement text, run on PostgreSQL: `?` and `@name` placeholders become
 * `$1, $2…`, and BIGINT/NUMERIC results come back as JS numbers (ids, counts and epoch ms are all safe
 * integers). Shared by every part of the PostgreSQL store.
 */
import pg from 'pg';

/** A schema name the store may put in SQL unquoted (lower-case letters, digits and _, at most 63). */
export const PG_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `?` placeholders to PostgreSQL's `$1, $2…` (the statements have no `?` inside literals). */
export function pgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Every statement of a record of `?` statements, converted. */
export const pgSql = <T extends Record<string, string>>(texts: T): { [K in keyof T]: string } =>
  Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, pgPlaceholders(v)])) as {
    [K in keyof T]: string;
  };

/**
 * A statement with `@name` parameters (the SQLite store's named style) for PostgreSQL: the text with
 * `$n` in their place (a name used twice is one `$n`), and `values(params)` giving them in that order.
 */
export function pgNamed(sql: string): {
  text: string;
  values: (params: Record<string, unknown>) => unknown[];
} {
  const names: string[] = [];
  const text = sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    let i = names.indexOf(name);
    if (i < 0) i = names.push(name) - 1;
    return `$${i + 1}`;
  });
  return {
    text,
    values: (params) =>
      names.map((name) => {
        if (!(name in params)) throw new Error(`missing SQL parameter @${name}`);
        return params[name];
      }),
  };
}

/** BIGINT (20) and NUMERIC (1700, e.g. SUM of BIGINT) as JS numbers. */
export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Something that runs a query: the pool (a statement on its own) or a client inside a transaction. */
export type PgQueryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** The rows of one statement. */
export async function pgRows<T extends pg.QueryResultRow>(
  db: PgQueryable,
  text: string,
  values: readonly unknown[] = [],
): Promise<T[]> {
  return (await db.query<T>(text, [...values])).rows;
}

/** A single-row `INSERT … VALUES (?,…,?) …` as one inserting `rows` rows (the tuple repeated). */
function multiRowInsert(sql: string, rows: number): string {
  const m = /VALUES\s*(\((?:\s*\?\s*,)*\s*\?\s*\))/i.exec(sql);
  if (!m) throw new Error('not a single-row INSERT … VALUES (?, …)');
  const tuple = m[1]!;
  const start = m.index + m[0].length - tuple.length;
  return `${sql.slice(0, start)}${Array.from({ length: rows }, () => tuple).join(',')}${sql.slice(start + tuple.length)}`;
}

/** Rows a multi-row INSERT carries: ~13 parameters each stays well under PostgreSQL's 65,535 a statement. */
const INSERT_CHUNK = 1000;

/**
 * `rows` inserted with the one-row statement `sql` (`?` placeholders), INSERT_CHUNK rows a statement
 * (one round trip each instead of one per row); returns the rows inserted (ON CONFLICT DO NOTHING skips).
 */
export async function pgInsertMany(
  db: PgQueryable,
  sql: string,
  rows: readonly (readonly unknown[])[],
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const r = await db.query(pgPlaceholders(multiRowInsert(sql, chunk.length)), chunk.flat());
    inserted += r.rowCount ?? 0;
  }
  return inserted;
}

/** Errors after which a whole transaction is run again: serialization failure, deadlock, unique race. */
const RETRY_CODES = new Set(['40001', '40P01', '23505']);

/**
 * Runs `fn` in one transaction on a client of `pool` (READ COMMITTED), again from the start when it lost a
 * race with another writer (RETRY_CODES), at most `attempts` times.
 */
export async function pgTransaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRY_CODES.has(code)) throw err;
    } finally {
      client.release();
    }
  }
}

/**
 * Runs `fn`'s reads in one REPEATABLE READ, READ ONLY transaction: statements that make one answer together
 * see one snapshot (under READ COMMITTED each statement would see the commits made before it).
 */
export function pgConsistentRead<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return pgTransaction(pool, async (c) => {
    await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(c);
  });
}
