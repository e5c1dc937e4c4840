import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCloudStore } from '../cloud/store/postgres.ts';
import { TEST_TOKEN } from './helpers/cloud.ts';
import { tempDir } from './helpers/gateway.ts';
import { startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { runCli, spawnCli, startCli } from './helpers/process.ts';

describe('campus-twin cloud --store postgres://', () => {
  const dir = tempDir('ct-cloud-pg-');
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(() => {
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates the database at start and serves the API from it', async () => {
    // A password in the URL (trust auth ignores it): the banner must not show it.
    const url = server!.url.replace('campus@', 'campus:s3cret-pw@');
    const cloud = await startCli(
      ['cloud', '--store', url, '--data-dir', join(dir, 'data'), '--http-port', '0'],
      { CT_API__TOKENS: JSON.stringify([TEST_TOKEN]), CT_STORE__SCHEMA: 'cli_test' },
      'cloud:ready',
    );
    try {
      const res = await fetch(`http://127.0.0.1:${cloud.ready.port}/api/gateways`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ gateways: [] });
      expect(cloud.stderr()).toMatch(
        /store\s+PostgreSQL postgres:\/\/campus:\*\*\*@127\.0\.0\.1:\d+\/campus \(schema cli_test\)/,
      );
      expect(cloud.stderr()).not.toContain('s3cret-pw');
      const client = new pg.Client({ connectionString: server!.url });
      await client.connect();
      try {
        const versions = await client.query(
          'SELECT version FROM cli_test.schema_migrations ORDER BY version',
        );
        expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      } finally {
        await client.end();
      }
    } finally {
      expect(await cloud.kill('SIGTERM')).toBe(0);
    }
  });

  it('imports a history into PostgreSQL with `cloud import --store`, and a second run adds nothing', async () => {
    const T = 1_700_000_000_000;
    const lines = [
      JSON.stringify({
        kind: 'course',
        courseId: 'C1',
        startTs: T,
        endTs: T + 90 * 86_400_000,
        assessments: [],
      }),
      ...Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({
          eventId: `pg-imp-${i}`,
          source: 'import',
          type: 'resource.viewed',
          originalType: 'page',
          ts: T + i * 60_000,
          receivedAt: T + i * 60_000,
          actorId: `p_${i % 4}`,
          courseId: 'C1',
          objectId: `page-${i % 7}`,
          count: 1,
        }),
      ),
    ];
    const file = join(dir, 'history.jsonl');
    writeFileSync(file, lines.join('\n'));
    const url = server!.url;
    const run = () =>
      runCli(['cloud', 'import', file, '--store', url, '--batch', '7'], {
        CT_LOG__LEVEL: 'warn',
        CT_STORE__SCHEMA: 'import_test',
      });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      event: 'import:done',
      store: expect.stringMatching(
        /^PostgreSQL postgres:\/\/campus@127\.0\.0\.1:\d+\/campus \(schema import_test\)$/,
      ),
      imported: 30,
      duplicates: 0,
      courses: 1,
    });
    const again = run();
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 0, duplicates: 30 });
    const store = await PostgresCloudStore.open({ url, schema: 'import_test' });
    try {
      expect((await store.courses()).map((c) => c.courseId)).toEqual(['C1']);
      expect(await store.eventCourses()).toEqual([{ courseId: 'C1', firstTs: T }]);
    } finally {
      await store.close();
    }
  });

  it('stops at start, with the reason, when the database cannot be reached', async () => {
    const port = new URL(server!.url).port;
    const cli = spawnCli(
      ['cloud', '--store', `postgres://campus@127.0.0.1:${port}/no_such_db`, '--http-port', '0', '--dev'],
      {},
    );
    const [code] = (await once(cli.child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(cli.stderr()).toContain('database "no_such_db" does not exist');
  });
});
