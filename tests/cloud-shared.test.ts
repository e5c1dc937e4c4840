/**
 * Acceptance 6: two cloud processes (the real CLI, two children) on one store share the hub's partitions
 * through the ownership table (SDK load balancing, greedy) and together apply every batch exactly once;
 * when one is killed, the other takes its partitions over. On the SQLite store and on PostgreSQL.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregates, type RawEvent, TestProducer, toRawEvent, writeCloudConfig } from './helpers/cloud.ts';
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

const PARTITIONS = 4;
const GATEWAYS = 16;
const BATCHES = 20;
const ITEMS = 25;

async function appliedBy(p: CliProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.ready.port}/metrics`)).text();
  return Number(/^ct_cloud_batches_applied_total (\d+)/m.exec(text)?.[1] ?? 0);
}

for (const [kind, makeTarget] of Object.entries(STORE_TARGETS))
  describe(`cloud: two processes on one ${kind} store`, () => {
    const dir = tempDir('ct-cloud-shared-');
    let target: StoreTarget;
    let hub: TestHub | undefined;
    const clouds: CliProcess[] = [];
    let producer: TestProducer | undefined;
    beforeAll(async () => {
      target = await makeTarget();
    }, 120_000);
    afterAll(async () => {
      for (const c of clouds) await c.kill('SIGKILL');
      await producer?.close();
      await hub?.stop();
      await target?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('share the partitions and apply every batch exactly once', async () => {
      hub = await startTestHub({ partitions: PARTITIONS });
      const storeFile = `${dir}/cloud.db`;
      const { configFile } = writeCloudConfig(dir, hub, target.settings(storeFile));
      const args = ['cloud', '--config', configFile];
      clouds.push(
        ...(await Promise.all([startCli(args, {}, 'cloud:ready'), startCli(args, {}, 'cloud:ready')])),
      );

      // Both processes own two partitions each (ownership rows fresh within the expiry interval).
      const owners = await waitForRows<{ p: string; o: string; m: number }>(
        target,
        storeFile,
        'SELECT partition_id AS p, owner_id AS o, modified_at AS m FROM ownership',
        (rows) => {
          const fresh = rows.filter((r) => Date.now() - r.m < 3000);
          const perOwner = new Map<string, number>();
          for (const r of fresh) perOwner.set(r.o, (perOwner.get(r.o) ?? 0) + 1);
          // Balanced: the SDK's strategy may pass through 1/3 on the way to 2/2.
          return fresh.length === PARTITIONS && [...perOwner.values()].sort().join() === '2,2';
        },
        // Under a full suite's load on two cores the second process has twice not got its share within 20 s
        // (the first owning all four): 45 s gives the balancing room without changing what is asserted.
        45_000,
        'both processes owning two partitions each',
      );
      const perOwner = new Map<string, number>();
      for (const r of owners) perOwner.set(r.o, (perOwner.get(r.o) ?? 0) + 1);
      expect([...perOwner.values()].sort()).toEqual([2, 2]);

      const t0 = Date.UTC(2026, 10, 3);
      const events: RawEvent[] = [];
      for (let b = 0; b < BATCHES; b++)
        for (let g = 0; g < GATEWAYS; g++) {
          const batch = {
            cls: 'aggregate' as const,
            gatewayId: `gw-${g}`,
            batchId: `gw-${g}-b${b}`,
            items: aggregates(`dev-${g}`, ITEMS, t0 + b * ITEMS * 60_000, 60),
          };
          events.push(toRawEvent(batch));
          if (b % 4 === 1) events.push(toRawEvent(batch)); // a resend: same batch id
        }
      const expectedBatches = GATEWAYS * BATCHES;
      const expectedReadings = expectedBatches * ITEMS * 60;
      producer = new TestProducer(hub);
      for (let i = 0; i < events.length; i += 50) await producer.send(events.slice(i, i + 50));

      await waitForBatches(target, storeFile, expectedBatches, 30_000, 'every batch applied');
      await new Promise((r) => setTimeout(r, 500));
      const applied = await totals(target, storeFile);
      expect(applied.readings).toBe(expectedReadings);
      expect(applied.items).toBe(expectedBatches * ITEMS);
      expect(applied.batches).toBe(expectedBatches);
      expect(await count(target, storeFile, 'SELECT COUNT(DISTINCT partition_id) AS n FROM batches')).toBe(
        PARTITIONS,
      );

      // Each process applied a share, and the shares add up to the whole.
      const [a, b] = [await appliedBy(clouds[0]!), await appliedBy(clouds[1]!)];
      console.log(
        `${kind}: process A applied ${a} batches, B ${b}; owners ${JSON.stringify([...perOwner.values()])}`,
      );
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(a + b).toBe(expectedBatches);

      // Phase 2: A dies (kill -9) with its partitions still claimed; B takes them over once the claims
      // expire, and a second round (sent while A is dead) is applied exactly once as well.
      await clouds[0]!.kill('SIGKILL');
      const round2: RawEvent[] = [];
      for (let g = 0; g < GATEWAYS; g++)
        round2.push(
          toRawEvent({
            cls: 'aggregate',
            gatewayId: `gw-${g}`,
            batchId: `gw-${g}-round2`,
            items: aggregates(`dev-${g}`, ITEMS, t0 + BATCHES * ITEMS * 60_000, 60),
          }),
        );
      await producer.send(round2);
      await waitForBatches(
        target,
        storeFile,
        expectedBatches + GATEWAYS,
        30_000,
        'round 2 applied by the survivor',
      );
      const after = await totals(target, storeFile);
      expect(after.readings).toBe(expectedReadings + GATEWAYS * ITEMS * 60);
      expect(after.batches).toBe(expectedBatches + GATEWAYS);
      expect(await appliedBy(clouds[1]!)).toBe(b + GATEWAYS);

      expect(await clouds[1]!.kill('SIGTERM')).toBe(0);
    }, 150_000);
  });
