/**
 * Events the hub's retention deleted before the cloud read them are gone for good (the gateway let them
 * go once the hub had them). The consumer cannot bring them back, but it must notice the hole in the
 * partition's sequence numbers after its checkpoint and say so: a metric and an error log.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import { createHub, type Hub, hubConfigFrom } from '../cloud/hub/index.ts';
import { createLogger } from '../shared/logger.ts';
import { aggregates, startTestCloud, TestProducer, toRawEvent } from './helpers/cloud.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';

const HUB = 'campus-twin';

describe('cloud: events expired in the hub before they were consumed', () => {
  const dir = tempDir('ct-cloud-gap-');
  let hub: Hub | undefined;
  let cloud: Cloud | undefined;
  afterAll(async () => {
    await cloud?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the skipped sequence numbers after the checkpoint as missed', async () => {
    hub = createHub(
      hubConfigFrom({
        host: '127.0.0.1',
        port: 0,
        dataDir: join(dir, 'hub'),
        hubs: [HUB],
        partitions: 1,
        retention: { maxAgeMs: 2_500, intervalMs: 200 },
        log: { level: 'silent' },
      }),
      { logger: createLogger({ level: 'silent' }) },
    );
    await hub.start();
    const target = { connectionString: hub.connectionString(), hubName: HUB };
    const send = async (batchId: string, start: number) => {
      const p = new TestProducer(target);
      try {
        await p.send([
          toRawEvent({ cls: 'aggregate', gatewayId: 'gw-g', batchId, items: aggregates('env-g', 2, start) }),
        ]);
      } finally {
        await p.close();
      }
    };
    cloud = await startTestCloud(target, dir);
    await send('a', 0);
    await waitFor(async () => (await cloud!.store.counts()).items.aggregate === 2, 10_000, 'first batch');
    await cloud.stop();

    // Two batches the cloud never sees: they expire while it is down.
    await send('b', 600_000);
    await send('c', 1_200_000);
    await new Promise((r) => setTimeout(r, 3_500));
    await send('d', 1_800_000);

    cloud = await startTestCloud(target, dir);
    await waitFor(
      async () => (await cloud!.store.counts()).items.aggregate === 4,
      10_000,
      'the batch after the gap',
    );
    const metric = await cloud.metrics.registry.getSingleMetricAsString('ct_cloud_events_missed_total');
    expect(metric).toMatch(/ct_cloud_events_missed_total\{partition="0"\} 2/);
  });
});
