/** `campus-twin cloud` flags: connection string with EntityPath, data dir, port, dev mode, help. */
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
});
