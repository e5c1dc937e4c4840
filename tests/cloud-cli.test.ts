/** `campus-twin cloud` flags: connection string with EntityPath, data dir, port, dev mode, help; `cloud token`. */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregates, TestProducer, toRawEvent } from './helpers/cloud.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { CLI, type CliProcess, REPO_ROOT, startCli } from './helpers/process.ts';

describe('campus-twin cloud (CLI flags)', () => {
  const dir = tempDir('ct-cloud-cli-');
  let hub: TestHub | undefined;
  let cloud: CliProcess | undefined;
  afterAll(async () => {
    await cloud?.kill('SIGKILL');
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints help', () => {
    const help = execFileSync(process.execPath, [CLI, 'cloud', '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(help).toContain('Usage: campus-twin cloud');
    expect(help).toContain('--connection-string');
  });

  it('runs from flags alone: --connection-string (EntityPath) --data-dir --http-port 0 --dev', async () => {
    hub = await startTestHub({ partitions: 2 });
    const dataDir = join(dir, 'data');
    cloud = await startCli(
      [
        'cloud',
        '--connection-string',
        `${hub.connectionString};EntityPath=${hub.hubName}`,
        '--data-dir',
        dataDir,
        '--http-port',
        '0',
        '--dev',
        '--log-level',
        'warn',
      ],
      { CT_LOAD_BALANCING__STRATEGY: 'greedy', CT_LOAD_BALANCING__UPDATE_INTERVAL_IN_MS: '300' },
      'cloud:ready',
    );
    expect(cloud.ready).toMatchObject({ event: 'cloud:ready', consuming: true });
    await waitFor(() => cloud!.stderr().includes('dev mode: API open without a token'), 5000, 'the banner');
    const port = cloud.ready.port as number;
    expect(port).toBeGreaterThan(0);
    const p = new TestProducer(hub);
    await p.send([
      toRawEvent({ cls: 'aggregate', gatewayId: 'gw-cli', batchId: 'b1', items: aggregates('env-c', 3, 0) }),
    ]);
    await p.close();
    // Dev mode: no token needed.
    const gw = await waitFor(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/gateways`)).json()) as {
        gateways: { gatewayId: string; items: { aggregate: number } }[];
      };
      return body.gateways.find((g) => g.gatewayId === 'gw-cli' && g.items.aggregate === 3);
    }, 15_000);
    expect(gw.items.aggregate).toBe(3);
    expect(existsSync(join(dataDir, 'cloud.db'))).toBe(true);
    expect(await cloud.kill('SIGTERM')).toBe(0);
    expect(cloud.stderr()).not.toMatch(/campus-twin: /); // no crash report on the way out
  });

  it('mints JWTs with `cloud token` that a running cloud accepts, with their scopes and nothing more', async () => {
    const env = { ...process.env, CT_API__JWT__HS256_SECRET: 'cli-test-secret-0123456789abcdefghij' };
    const mint = (...args: string[]) =>
      execFileSync(process.execPath, [CLI, 'cloud', 'token', ...args], {
        cwd: REPO_ROOT,
        env,
        encoding: 'utf8',
      }).trim();
    const reader = mint('--scopes', 'reports:read', '--subject', 'analyst');
    const admin = mint('--scopes', 'admin', '--ttl', '60');
    expect(reader.split('.')).toHaveLength(3);
    const secured = await startCli(
      ['cloud', '--data-dir', join(dir, 'jwt'), '--http-port', '0', '--log-level', 'warn'],
      { CT_API__JWT__HS256_SECRET: env.CT_API__JWT__HS256_SECRET, CT_REPORTING__SNAPSHOT_CRON: '' },
      'cloud:ready',
    );
    try {
      const url = `http://127.0.0.1:${secured.ready.port}/api/snapshots`;
      const call = (token: string | null, method = 'GET') =>
        fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect((await call(null)).status).toBe(401);
      expect((await call(reader)).status).toBe(200);
      const forbidden = await call(reader, 'POST');
      expect(forbidden.status).toBe(403);
      expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('CT_ERR_FORBIDDEN');
      expect((await call(admin, 'POST')).status).toBe(201);
      // A token signed with another secret is refused.
      const other = execFileSync(process.execPath, [CLI, 'cloud', 'token'], {
        cwd: REPO_ROOT,
        env: { ...env, CT_API__JWT__HS256_SECRET: 'another-secret-0123456789abcdefghijk' },
        encoding: 'utf8',
      }).trim();
      expect((await call(other)).status).toBe(401);
    } finally {
      expect(await secured.kill('SIGTERM')).toBe(0);
    }
  });
});
