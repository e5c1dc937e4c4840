/**
 * The PostgreSQL store on a real PostgreSQL server started for this file (tests/helpers/postgres.ts): the
 * shared contract, then what only a networked database has — concurrent writers on one database, and
 * migrations applied once. Each store gets a schema of its own, so every test starts empty.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres.ts';
import { agg, aggItem, P0, prepared, storeContract } from './contract.ts';
import { PG_MIGRATIONS } from './pg-schema.ts';
import { pgNamed, pgPlaceholders } from './pg-sql.ts';
import { PostgresCloudStore } from './postgres.ts';

let server: TestPostgres | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

let n = 0;
const freshSchema = () => `t${process.pid}_${n++}`;
const open = (schema = freshSchema()) => PostgresCloudStore.open({ url: server!.url, schema });

storeContract('PostgreSQL', () => open());

describe('PostgreSQL store', () => {
  it('numbers placeholders in order, a named one once however often it is used', () => {
    expect(pgPlaceholders('SELECT ? AS a WHERE b = ? AND c IN (?, ?)')).toBe(
      'SELECT $1 AS a WHERE b = $2 AND c IN ($3, $4)',
    );
    const q = pgNamed('SELECT @b AS x WHERE ts > @a AND ts <= @b AND y = @c_1');
    expect(q.text).toBe('SELECT $1 AS x WHERE ts > $2 AND ts <= $1 AND y = $3');
    expect(q.values({ a: 1, b: 2, c_1: 3, unused: 4 })).toEqual([2, 1, 3]);
    expect(() => q.values({ a: 1 })).toThrow('missing SQL parameter @b');
  });

  it('applies its migrations once, recorded, however many processes open the database', async () => {
    const schema = freshSchema();
    const opened = await Promise.allSettled([open(schema), open(schema), open(schema)]);
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const again = await open(schema);
    try {
      expect(opened.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const client = new pg.Client({ connectionString: server!.url });
      await client.connect();
      try {
        const rows = await client.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
        expect(rows.rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
      } finally {
        await client.end();
      }
    } finally {
      for (const s of [...stores, again]) await s.close();
    }
  });

  it('lets two stores on one database race: one claim wins, a batch applied by both counts once', async () => {
    const schema = freshSchema();
    const a = await open(schema);
    const b = await open(schema);
    try {
      const [first] = await a.claimOwnership([{ ...P0, ownerId: 'A' }], 1);
      const claims = await Promise.all([
        a.claimOwnership([{ ...P0, ownerId: 'A', etag: first!.etag! }], 2),
        b.claimOwnership([{ ...P0, ownerId: 'B', etag: first!.etag! }], 2),
      ]);
      expect(claims.flat()).toHaveLength(1);
      // The same batches, at the same time, through both: every window once, every batch once.
      const events = Array.from({ length: 20 }, (_, i) =>
        prepared(
          'aggregate',
          'gw-1',
          `b${i}`,
          Array.from({ length: 25 }, (_, k) => aggItem(agg({ windowStart: (i * 25 + k) * 60_000 }))),
        ),
      );
      const last = events.at(-1)!.position;
      const [r1, r2] = await Promise.all([
        a.applyBatch(P0, events, last, 5),
        b.applyBatch(P0, [...events].reverse(), last, 6),
      ]);
      expect(r1.batchesApplied + r2.batchesApplied).toBe(20);
      expect(r1.itemsApplied.aggregate + r2.itemsApplied.aggregate).toBe(500);
      const counts = await b.counts();
      expect(counts.readingsRepresented).toBe(500 * 10);
      expect(counts.items.aggregate).toBe(500);
      expect((await a.gateways())[0]).toMatchObject({ gatewayId: 'gw-1', batchesApplied: 20 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('rolls a failed apply back whole: nothing of it, not even a new sensor, is left', async () => {
    const s = await open();
    try {
      const poisoned = prepared('aggregate', 'gw-1', 'p', [
        aggItem(agg({ windowStart: 0, deviceId: 'new-1' })),
      ]);
      if (poisoned.ok && poisoned.items[0]?.cls === 'aggregate')
        (poisoned.items[0].value as { count: unknown }).count = null;
      await expect(s.applyBatch(P0, [poisoned], poisoned.position, 1)).rejects.toThrow();
      const range = { from: 0, to: 60_000, limit: 10 };
      expect(await s.sensorWindows('new-1', 'temperature', range)).toBeUndefined();
      expect(await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup)).toEqual(
        [],
      );
      const ok = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 0, deviceId: 'new-1' }))]);
      await s.applyBatch(P0, [ok], ok.position, 2);
      expect((await s.sensorWindows('new-1', 'temperature', range))?.map((w) => w.count)).toEqual([10]);
      // The data version moves with a write.
      const before = await s.dataVersion();
      const more = prepared('aggregate', 'gw-1', 'b2', [aggItem(agg({ windowStart: 60_000 }))]);
      await s.applyBatch(P0, [more], more.position, 3);
      expect(await s.dataVersion()).not.toBe(before);
    } finally {
      await s.close();
    }
  });

  it('refuses a schema name it would have to quote', async () => {
    await expect(PostgresCloudStore.open({ url: server!.url, schema: 'a"; DROP' })).rejects.toThrow(
      /lower-case letters/,
    );
  });
});
