/**
 * A failed apply on one partition (a disk hiccup, a lock held too long) while the others stay healthy: the
 * SDK stops that partition's pump and would restart it only when its ownership expires (60 s here). The
 * consumer's watchdog notices the stopped partition even though healthy partitions keep processing, and
 * reconnects; nothing is applied twice.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Cloud, createCloud } from '../cloud/app.ts';
import { cloudConfigFrom } from '../cloud/config/index.ts';
import { partitionForKey } from '../cloud/hub/index.ts';
import { type ApplyResult, SqliteCloudStore } from '../cloud/store/index.ts';
import { createLogger } from '../shared/logger.ts';
import { aggregates, TestProducer, testCloudSettings, toRawEvent } from './helpers/cloud.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

/** Fails the first non-empty apply on partition 0, once. */
class HiccupStore extends SqliteCloudStore {
  failed = false;
  override async applyBatch(...args: Parameters<SqliteCloudStore['applyBatch']>): Promise<ApplyResult> {
    const [partition, events] = args;
    if (!this.failed && partition.partitionId === '0' && events.length > 0) {
      this.failed = true;
      throw new Error('disk I/O error (injected)');
    }
    return super.applyBatch(...args);
  }
}

describe('cloud: one partition fails to apply', () => {
  const dir = tempDir('ct-cloud-recover-');
  let hub: TestHub | undefined;
  let cloud: Cloud | undefined;
  afterAll(async () => {
    await cloud?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes that partition long before its ownership would expire, applying everything once', async () => {
    hub = await startTestHub({ partitions: 2 });
    const settings = testCloudSettings(hub, join(dir, 'cloud.db'), {
      loadBalancing: {
        strategy: 'greedy',
        updateIntervalInMs: 300,
        partitionOwnershipExpirationIntervalInMs: 60_000,
      },
    });
    const config = cloudConfigFrom(settings);
    const store = new HiccupStore({ file: config.store.file, synchronous: 'NORMAL', busyTimeoutMs: 5_000 });
    cloud = createCloud(config, { store, logger: createLogger({ level: 'silent' }) });
    await cloud.start();

    // One gateway per partition.
    const gw0 = ['gw-a', 'gw-b', 'gw-c', 'gw-d', 'gw-e'].find((g) => partitionForKey(g, 2) === 0)!;
    const gw1 = ['gw-a', 'gw-b', 'gw-c', 'gw-d', 'gw-e'].find((g) => partitionForKey(g, 2) === 1)!;
    const producer = new TestProducer(hub);
    try {
      await producer.send([
        toRawEvent({ cls: 'aggregate', gatewayId: gw0, batchId: 'p0', items: aggregates('env-0', 10, 0) }),
        toRawEvent({ cls: 'aggregate', gatewayId: gw1, batchId: 'p1', items: aggregates('env-1', 10, 0) }),
      ]);
    } finally {
      await producer.close();
    }
    const t0 = Date.now();
    await waitFor(
      async () => (await cloud!.store.counts()).items.aggregate === 20,
      20_000,
      'both partitions applied',
    );
    expect(store.failed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(20_000);
    await new Promise((r) => setTimeout(r, 500));
    const counts = await cloud.store.counts();
    expect(counts.items.aggregate).toBe(20);
    expect(counts.readingsRepresented).toBe(20 * 60);
  });
});
