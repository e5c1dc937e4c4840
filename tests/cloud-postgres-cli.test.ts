/**
 * `campus-twin cloud --store postgres://…`: the real CLI on a real PostgreSQL (started for this file):
 * it migrates the database at start, serves the API from it, says which store it uses without printing the
 * password, and a database it cannot reach stops it at start with the database's own reason.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TOKEN } from './helpers/cloud.ts';
import { tempDir } from './helpers/gateway.ts';
import { startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { spawnCli, startCli } from './helpers/process.ts';

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
        expect(versions.rows.map((r) => r.version)).toEqual([1, 2]);
      } finally {
        await client.end();
      }
    } finally {
      expect(await cloud.kill('SIGTERM')).toBe(0);
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
