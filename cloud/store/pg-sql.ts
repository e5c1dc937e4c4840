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

/**
 * `sql`'s `VALUES (…)` tuple as a SELECT over unnested arrays of `types` (one per `?`, in order; constants in
 * the tuple stay): the statement then inserts one row per array element, however many, in one round trip.
 *
 * The arrays are unnested in a select list (one `unnest` per column, in lockstep), not as
 * `FROM unnest(a, b, …)`: that form materialises every row in a tuplestore first. 12,500 windows (11 arrays)
 * went in 27.2 ms → 21.9 ms per transaction (PostgreSQL 15, bench/README.md, apply-pg).
 */
export function bulkSql(sql: string, types: readonly PgArrayType[]): BulkStatement {
  const m = /VALUES\s*\(([^)]*)\)/.exec(sql);
  if (!m) throw new Error(`bulkSql: no VALUES tuple in ${sql.slice(0, 60)}`);
  let k = 0;
  const exprs = m[1]!.split(',').map((p) => (p.trim() === '?' ? `u.c${++k}` : p.trim()));
  if (k !== types.length) throw new Error(`bulkSql: ${k} placeholders, ${types.length} types`);
  const columns = types.map((t, i) => `unnest($${i + 1}::${t}[]) AS c${i + 1}`).join(', ');
  const select = `SELECT ${exprs.join(', ')} FROM (SELECT ${columns}) AS u`;
  return { text: sql.slice(0, m.index) + select + sql.slice(m.index + m[0].length), types };
}

export type PgArrayType = 'text' | 'bigint' | 'float8' | 'integer';

export interface BulkStatement {
  text: string;
  /** The element type of each array parameter, in order. */
  types: readonly PgArrayType[];
}

/** A text element of an array literal: quoted, `"` and `\` escaped; null is NULL. */
function textElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  const s = String(v);
  return `"${/["\\]/.test(s) ? s.replace(/["\\]/g, '\\$&') : s}"`;
}

/**
 * Column `col` of `rows` as a PostgreSQL array literal ('{1,2,NULL}', '{"a","b"}'), written here rather than
 * by the driver's generic per-element conversion: tens of thousands of elements per statement.
 */
export function arrayLiteral(rows: readonly (readonly unknown[])[], col: number, type: PgArrayType): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![col];
    parts[i] = type === 'text' ? textElement(v) : v === null || v === undefined ? 'NULL' : String(v);
  }
  return `{${parts.join(',')}}`;
}

/** The element type OIDs of the numeric array types (pg_type), for the binary array format. */
const ELEMENT_OID = { bigint: 20, float8: 701, integer: 23 } as const;

/**
 * Column `col` of `rows` as a PostgreSQL array in the binary format (array_recv: dimensions, a null flag, the
 * element type, then each element's length and big-endian value): node-postgres sends a Buffer parameter as
 * binary, and the server reads 8 bytes per number instead of parsing its digits (the text literal of a
 * window call's 12,500 × 8 numbers took ~10 ms of the insert). undefined when a value is not a number that
 * fits the type exactly (the text literal then goes, and the server judges it as before).
 */
export function binaryArray(
  rows: readonly (readonly unknown[])[],
  col: number,
  type: keyof typeof ELEMENT_OID,
): Buffer | undefined {
  const n = rows.length;
  if (n === 0) return undefined;
  const width = type === 'integer' ? 4 : 8;
  // Sized for no nulls; each null takes 4 bytes instead of 4 + width, so the end is cut off after.
  const buf = Buffer.allocUnsafe(20 + n * (4 + width));
  // A DataView writes big-endian numbers ~5 times faster than Buffer's write methods.
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let hasNull = 0;
  let o = 20;
  for (let i = 0; i < n; i++) {
    const v = rows[i]![col];
    if (v === null || v === undefined) {
      dv.setInt32(o, -1);
      o += 4;
      hasNull = 1;
      continue;
    }
    if (typeof v !== 'number') return undefined;
    dv.setInt32(o, width);
    o += 4;
    if (type === 'float8') dv.setFloat64(o, v);
    else if (type === 'integer') {
      if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647) return undefined;
      dv.setInt32(o, v);
    } else {
      if (!Number.isSafeInteger(v)) return undefined;
      const hi = Math.floor(v / 4_294_967_296);
      dv.setInt32(o, hi);
      dv.setUint32(o + 4, v - hi * 4_294_967_296);
    }
    o += width;
  }
  dv.setInt32(0, 1);
  dv.setInt32(4, hasNull);
  dv.setInt32(8, ELEMENT_OID[type]);
  dv.setInt32(12, n);
  dv.setInt32(16, 1);
  return buf.subarray(0, o);
}

/**
 * The array parameters of a bulk statement over `rows`, one per column: numbers in the binary format
 * (binaryArray), text as an array literal.
 */
export function bulkParams(stmt: BulkStatement, rows: readonly (readonly unknown[])[]): (string | Buffer)[] {
  return stmt.types.map(
    (t, i) => (t === 'text' ? undefined : binaryArray(rows, i, t)) ?? arrayLiteral(rows, i, t),
  );
}

/** Runs a bulk statement over `rows` (one array parameter per column); nothing for no rows. */
export async function bulk(
  db: PgQueryable,
  stmt: BulkStatement,
  rows: readonly (readonly unknown[])[],
): Promise<pg.QueryResult | undefined> {
  if (rows.length === 0) return undefined;
  return db.query(stmt.text, bulkParams(stmt, rows));
}

/**
 * A unique violation: SQLSTATE 23505, or, on Citus, XX000 with PostgreSQL's message (how a worker's
 * violation reaches the client when the coordinator inserts rows it computed, as `INSERT … SELECT FROM
 * unnest(…)` does through COPY to the shards).
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e.code === '23505' ||
    (e.code === 'XX000' && /^duplicate key value violates unique constraint/.test(e.message ?? ''))
  );
}

/** Errors after which a whole transaction is run again: serialization failure, deadlock (and unique races). */
const RETRY_CODES = new Set(['40001', '40P01']);

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
      const lostRace = (code !== undefined && RETRY_CODES.has(code)) || isUniqueViolation(err);
      if (attempt >= attempts || !lostRace) throw err;
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
