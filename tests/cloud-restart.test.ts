/**
 * A cloud killed with SIGKILL and started again resumes its partitions within seconds, as the same owner,
 * with the ownership expiry at its 60 s default: it does not wait out its own dead predecessor.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  aggregates,
  readStore,
  TestProducer,
  toRawEvent,
  waitForStore,
  writeCloudConfig,
} from './helpers/cloud.ts';
import { tempDir } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { type CliProcess, startCli } from './helpers/process.ts';

describe('cloud restart after kill -9', () => {
  const dir = tempDir('ct-cloud-restart-');
  let hub: TestHub | undefined;
  let cloud: CliProcess | undefined;
  let producer: TestProducer | undefined;
  afterAll(async () => {
    await cloud?.kill('SIGKILL');
    await producer?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is applying again within 15 s, as the same owner', async () => {
    hub = await startTestHub({ partitions: 4 });
    // The SDK's default expiry: a new owner id would have to wait 60 s for the dead one's partitions.
    const { configFile, storeFile } = writeCloudConfig(dir, hub, {
      loadBalancing: {
        strategy: 'greedy',
        updateIntervalInMs: 1000,
        partitionOwnershipExpirationIntervalInMs: 60_000,
      },
    });
    const args = ['cloud', '--config', configFile];
    cloud = await startCli(args, {}, 'cloud:ready');
    producer = new TestProducer(hub);
    const send = (from: number, n: number) =>
      producer!.send(
        Array.from({ length: n }, (_, i) =>
          toRawEvent({
            cls: 'aggregate',
            gatewayId: `gw-${(from + i) % 4}`,
            batchId: `b${from + i}`,
            items: aggregates(`d${from + i}`, 5, Date.UTC(2026, 10, 1)),
          }),
        ),
      );
    const batches = (db: import('better-sqlite3').Database) =>
      (db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n;
    await send(0, 40);
    await waitForStore(storeFile, batches, (n) => n >= 40, 20_000, 'first 40 batches');
    const owners = () =>
      readStore(storeFile, (db) => [
        ...new Set(db.prepare('SELECT owner_id FROM ownership').pluck().all() as string[]),
      ]);
    const before = owners();
    expect(before).toHaveLength(1);
    expect(await cloud.kill('SIGKILL')).toBeNull();

    await send(40, 40);
    const restarted = Date.now();
    cloud = await startCli(args, {}, 'cloud:ready');
    await waitForStore(
      storeFile,
      batches,
      (n) => n >= 80,
      15_000,
      'the next 40 batches within 15 s of the restart',
    );
    const seconds = (Date.now() - restarted) / 1000;
    console.log(`applying again ${seconds.toFixed(1)} s after the restart, owner ${before[0]}`);
    expect(seconds).toBeLessThan(15);
    expect(owners()).toEqual(before);
    expect(await cloud.kill('SIGTERM')).toBe(0);
  });
});
