/**
 * The Citus plan (citus.ts, written out in deploy/citus/distribute.sql) held to the PostgreSQL store's
 * schema as its migrations make it, on the server the tests start (one PostgreSQL 15 in CI, where Citus has
 * no package; a Citus cluster with CT_TEST_CITUS=1): every table is named once, as a reference table or
 * distributed by a NOT NULL column that each of its primary and unique keys includes (Citus cannot enforce
 * a key across shards otherwise), co-located tables share their column's type, there are no foreign keys,
 * and no UPDATE in the store's code (nor a migration after the plan was written) sets a distribution column
 * (Citus cannot move a row to another shard by an update).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres.ts';
import { CITUS_PLAN, citusStatement } from './citus.ts';
import { migrate, PG_MIGRATIONS } from './pg-schema.ts';

const PLAN = readFileSync(new URL('../../deploy/citus/distribute.sql', import.meta.url), 'utf8');
/** The schema version the plan was written for: later migrations run on a distributed store. */
const PLAN_VERSION = 8;
const SCHEMA = 'citus_plan';

/** The plan's distributed tables: table → its distribution column and the table it is co-located with. */
const DISTRIBUTED = new Map(
  CITUS_PLAN.flatMap((t) =>
    t.column ? [[t.table, { column: t.column, colocateWith: t.colocateWith }]] : [],
  ),
);

/** `UPDATE <table> [alias] SET …` statements in SQL text: the table and its SET clause. */
function updatesIn(text: string): { table: string; set: string }[] {
  return [
    ...text.matchAll(/\bUPDATE\s+([a-z_]+)(?:\s+(?:AS\s+)?[a-z]\w*)?\s+SET\s+([\s\S]+?)\s+(?:WHERE|FROM)\b/g),
  ].map((m) => ({ table: m[1]!, set: m[2]! }));
}

const setsColumn = (set: string, column: string) => new RegExp(`(^|,)\\s*(\\w+\\.)?${column}\\s*=`).test(set);

describe('Citus distribution plan (deploy/citus/distribute.sql)', () => {
  let server: TestPostgres | undefined;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url, options: `-c search_path=${SCHEMA}` });
    await client.connect();
    await migrate(client, Date.now(), SCHEMA);
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    server?.stop();
  });
  const q = async <T>(sql: string): Promise<T[]> => (await client!.query(sql, [SCHEMA])).rows as T[];

  it('is written out in deploy/citus/distribute.sql statement for statement, in order', () => {
    const written = PLAN.split('\n').filter((line) => line.startsWith('SELECT create_'));
    expect(written).toEqual(CITUS_PLAN.map(citusStatement));
  });

  it('names every table of the migrated schema once, and no other', async () => {
    const tables = (
      await q<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
      )
    ).map((r) => r.t);
    const named = CITUS_PLAN.map((t) => t.table);
    expect(new Set(named).size).toBe(named.length);
    expect([...named].sort()).toEqual([...tables].sort());
    expect(PG_MIGRATIONS.at(-1)?.version).toBeGreaterThanOrEqual(PLAN_VERSION);
  });

  it('distributes each table by a NOT NULL column in every one of its unique keys, co-located by type', async () => {
    const keys = await q<{ t: string; index: string; cols: string[] }>(
      `SELECT c.relname AS t, i.relname AS index, array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
       WHERE n.nspname = $1 AND x.indisunique GROUP BY c.relname, i.relname`,
    );
    const columns = await q<{ t: string; c: string; nullable: string; type: string }>(
      `SELECT table_name AS t, column_name AS c, is_nullable AS nullable, data_type AS type
       FROM information_schema.columns WHERE table_schema = $1`,
    );
    const column = (t: string, c: string) => columns.find((x) => x.t === t && x.c === c);
    expect(DISTRIBUTED.size).toBeGreaterThan(5);
    for (const [table, d] of DISTRIBUTED) {
      const col = column(table, d.column);
      expect(col, `${table}.${d.column}`).toBeDefined();
      expect(col?.nullable, `${table}.${d.column} may be null`).toBe('NO');
      const unique = keys.filter((k) => k.t === table);
      expect(unique.length, `${table} has a primary key`).toBeGreaterThan(0);
      for (const k of unique) expect(k.cols, `${k.index} of ${table}`).toContain(d.column);
      if (d.colocateWith) {
        const with_ = DISTRIBUTED.get(d.colocateWith);
        expect(with_, `${table} co-located with ${d.colocateWith}`).toBeDefined();
        expect(col?.type).toBe(column(d.colocateWith, with_!.column)?.type);
      }
    }
  });

  it('has no foreign keys', async () => {
    const fks = await q<{ name: string }>(
      `SELECT con.conname AS name FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
       WHERE n.nspname = $1 AND con.contype = 'f'`,
    );
    expect(fks).toEqual([]);
  });

  it("never updates a distribution column: the store's statements, and migrations after the plan", () => {
    const dir = new URL('.', import.meta.url).pathname;
    // The schema files' migrations up to PLAN_VERSION run before the store is distributed.
    const sources = readdirSync(dir)
      .filter(
        (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'schema.ts' && f !== 'pg-schema.ts',
      )
      .map((f) => readFileSync(join(dir, f), 'utf8'));
    const later = PG_MIGRATIONS.filter((m) => m.version > PLAN_VERSION).map((m) => m.sql);
    const updates = [...sources, ...later].flatMap(updatesIn);
    // The scan finds the statements it is about (sensor adoption and moves, room adoption, gateways…).
    expect(updates.map((u) => u.table)).toEqual(
      expect.arrayContaining(['sensors', 'twin_changes', 'alerts']),
    );
    for (const u of updates) {
      const d = DISTRIBUTED.get(u.table);
      if (d) expect(setsColumn(u.set, d.column), `UPDATE ${u.table} SET ${u.set}`).toBe(false);
    }
    // The check itself: it would catch the update the room adoption no longer does.
    expect(
      updatesIn(`UPDATE room_state SET campus_id = @campus WHERE gateway_id = @gateway`).some((u) =>
        setsColumn(u.set, DISTRIBUTED.get(u.table)!.column),
      ),
    ).toBe(true);
  });
});
