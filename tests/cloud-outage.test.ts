/**
 * A hub outage: the consumer's connections die; once the hub is back on the same port and data, the cloud
 * resumes from its checkpoints within seconds (not the SDK's internal minutes) and applies what was sent
 * after the restart exactly once.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import { aggregates, startTestCloud, TestProducer, toRawEvent } from './helpers/cloud.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

describe('cloud: hub outage', () => {
  const dir = tempDir('ct-cloud-outage-');
  let hub: TestHub | undefined;
  let cloud: Cloud | undefined;
  afterAll(async () => {
    await cloud?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reconnects after the hub comes back and applies what follows exactly once', async () => {
    hub = await startTestHub({ partitions: 2 });
    cloud = await startTestCloud(hub, dir);
    const send = async (batchId: string, start: number) => {
      const p = new TestProducer(hub!);
      try {
        await p.send([
          toRawEvent({ cls: 'aggregate', gatewayId: 'gw-o', batchId, items: aggregates('env-o', 5, start) }),
        ]);
      } finally {
        await p.close();
      }
    };
    await send('before', 0);
    await waitFor(async () => (await cloud!.store.counts()).items.aggregate === 5, 10_000, 'first batch');

    await hub.stop({ keepData: true });
    await new Promise((r) => setTimeout(r, 4000));
    await hub.restart!();
    await send('after', 600_000);
    const t = Date.now();
    await waitFor(
      async () => (await cloud!.store.counts()).items.aggregate === 10,
      15_000,
      'batch sent after restart',
    );
    console.log(`applied ${Date.now() - t} ms after the hub restart`);
    await new Promise((r) => setTimeout(r, 500));
    const counts = await cloud.store.counts();
    expect(counts.items.aggregate).toBe(10);
    expect(counts.readingsRepresented).toBe(10 * 60);
    const [g] = await cloud.store.gateways();
    expect(g).toMatchObject({ batchesApplied: 2, duplicateBatches: 0 });
  });
});
