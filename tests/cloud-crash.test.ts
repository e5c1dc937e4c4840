/**
 * Acceptance 3: the cloud process (the real CLI, a child process) is killed with SIGKILL while a producer
 * streams aggregate batches (with resends: the same batch id again, and the same items under a new batch
 * id, as a gateway resending after its own crash would). After a restart on the same store, every item is
 * applied exactly once: the sum of aggregate counts equals the readings sent. On the SQLite store and on
 * PostgreSQL.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregates,
  type RawEvent,
  TEST_TOKEN,
  TestProducer,
  toRawEvent,
  writeCloudConfig,
} from './helpers/cloud.ts';
import {
  count,
  STORE_TARGETS,
  type StoreTarget,
  totals,
  waitForBatches,
  waitForRows,
} from './helpers/cloud-store.ts';
import { tempDir } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { type CliProcess, startCli } from './helpers/process.ts';

const GATEWAYS = 8;
const BATCHES_PER_GATEWAY = 60;
const ITEMS_PER_BATCH = 25;
const COUNT = 60;

for (const [kind, makeTarget] of Object.entries(STORE_TARGETS))
  describe(`cloud on ${kind}: kill -9 mid-stream and restart`, () => {
    const dir = tempDir('ct-cloud-crash-');
    let target: StoreTarget;
    let hub: TestHub | undefined;
    let cloud: CliProcess | undefined;
    let producer: TestProducer | undefined;
    beforeAll(async () => {
      target = await makeTarget();
    }, 120_000);
    afterAll(async () => {
      await cloud?.kill('SIGKILL');
      await producer?.close();
      await hub?.stop();
      await target?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('applies every item exactly once across the crash', async () => {
      hub = await startTestHub({ partitions: 4 });
      const storeFile = `${dir}/cloud.db`;
      const { configFile } = writeCloudConfig(dir, hub, target.settings(storeFile));
      const args = ['cloud', '--config', configFile];
      cloud = await startCli(args, {}, 'cloud:ready');
      expect(cloud.ready.consuming).toBe(true);

      // The stream: per gateway, consecutive batches of distinct windows; every 7th batch is sent twice
      // (same batch id) and every 5th batch's items are sent again under a new batch id.
      const t0 = Date.UTC(2026, 10, 1);
      const events: RawEvent[] = [];
      let distinctItems = 0;
      let resends = 0;
      for (let b = 0; b < BATCHES_PER_GATEWAY; b++)
        for (let g = 0; g < GATEWAYS; g++) {
          const items = aggregates(`dev-${g}`, ITEMS_PER_BATCH, t0 + b * ITEMS_PER_BATCH * 60_000, COUNT);
          const batch = { cls: 'aggregate' as const, gatewayId: `gw-${g}`, batchId: `gw-${g}-b${b}`, items };
          events.push(toRawEvent(batch));
          distinctItems += items.length;
          if (b % 7 === 3) {
            events.push(toRawEvent(batch));
            resends++;
          }
          if (b % 5 === 2) {
            events.push(toRawEvent({ ...batch, batchId: `gw-${g}-b${b}-resent` }));
            resends++;
          }
        }
      const expectedReadings = distinctItems * COUNT;
      const distinctBatches = GATEWAYS * BATCHES_PER_GATEWAY + Math.ceil(BATCHES_PER_GATEWAY / 5) * GATEWAYS;

      producer = new TestProducer(hub);
      const chunk = 40;
      let sent = 0;
      // Send in chunks; kill -9 the cloud once it has applied about a third, while sending goes on.
      const sending = (async () => {
        for (; sent < events.length; sent += chunk) {
          await producer!.send(events.slice(sent, sent + chunk));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const [killedAt] = await waitForRows<{ n: number }>(
        target,
        storeFile,
        'SELECT COALESCE(SUM(count), 0) AS n FROM aggregates',
        ([r]) => r!.n >= expectedReadings / 3,
        30_000,
        'a third applied',
      );
      expect(await cloud.kill('SIGKILL')).toBeNull();
      await sending;
      const atKill = await totals(target, storeFile);
      expect(atKill.readings).toBeLessThan(expectedReadings);

      cloud = await startCli(args, {}, 'cloud:ready');
      await waitForBatches(target, storeFile, distinctBatches, 40_000, 'every batch applied after restart');
      // Let any redelivery settle, then check nothing was applied twice.
      await new Promise((r) => setTimeout(r, 500));
      const after = await totals(target, storeFile);
      console.log(
        `${kind}: killed at ${killedAt!.n}/${expectedReadings} readings (${atKill.batches} batches); ${events.length} events sent incl. ${resends} resends; batches ${await count(target, storeFile, 'SELECT COUNT(*) AS n FROM batches')}`,
      );
      expect(after.readings).toBe(expectedReadings);
      expect(after.items).toBe(distinctItems);
      expect(after.batches).toBe(distinctBatches);

      // The API agrees with the store.
      const res = await fetch(`http://127.0.0.1:${cloud.ready.port}/api/gateways`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      const body = (await res.json()) as {
        gateways: { items: { aggregate: number }; duplicateItems: number }[];
      };
      expect(body.gateways).toHaveLength(GATEWAYS);
      expect(body.gateways.reduce((s, g) => s + g.items.aggregate, 0)).toBe(distinctItems);
      expect(body.gateways.reduce((s, g) => s + g.duplicateItems, 0)).toBe(
        Math.ceil(BATCHES_PER_GATEWAY / 5) * GATEWAYS * ITEMS_PER_BATCH,
      );
      expect(await cloud.kill('SIGTERM')).toBe(0);
    });
  });
