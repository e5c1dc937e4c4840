import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import { CloudMetrics } from '../metrics.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import type { CloudStore } from '../store/types.ts';
import { createSnapshotService, type SnapshotService } from './scheduler.ts';

const logger = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real store, with each snapshot build held for `holdMs` and the number running at once recorded. */
function slowStore(holdMs: number) {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const seen = { running: 0, maxRunning: 0 };
  const wrapped: CloudStore = Object.create(store, {
    createSnapshot: {
      value: async (opts: Parameters<CloudStore['createSnapshot']>[0]) => {
        seen.running++;
        seen.maxRunning = Math.max(seen.maxRunning, seen.running);
        await sleep(holdMs);
        try {
          return await store.createSnapshot(opts);
        } finally {
          seen.running--;
        }
      },
    },
  });
  return { store, wrapped, seen };
}

async function counter(metrics: CloudMetrics, trigger: string, outcome: string): Promise<number> {
  const m = await metrics.snapshots.get();
  return m.values.find((v) => v.labels.trigger === trigger && v.labels.outcome === outcome)?.value ?? 0;
}

describe('snapshot scheduler', () => {
  const services: SnapshotService[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
  });

  it('runs on-demand builds one at a time, in order, each with its own snapshot', async () => {
    const { wrapped, seen, store } = slowStore(50);
    const metrics = new CloudMetrics();
    let t = 1_800_000_000_000;
    const svc = createSnapshotService({
      store: wrapped,
      now: () => t++,
      logger,
      metrics,
      schedule: { cron: '', timezone: 'UTC' },
    });
    services.push(svc);
    const built = await Promise.all([
      svc.build(1_000_000, 'api'),
      svc.build(1_000_000, 'api'),
      svc.build(2_000_000, 'cli'),
    ]);
    expect(built.map((b) => b.snapshotId)).toEqual([
      '1970-01-01T00:16:40Z',
      '1970-01-01T00:16:40Z-1',
      '1970-01-01T00:33:20Z',
    ]);
    expect(seen.maxRunning).toBe(1);
    expect(svc.busy).toBe(false);
    expect(svc.nextRun()).toBeNull();
    expect(await counter(metrics, 'api', 'ok')).toBe(2);
    expect((await store.listSnapshots({ limit: 10 })).length).toBe(3);
  });

  it('builds on its node-cron schedule and skips a tick while a build is still running', async () => {
    // Every second; each build takes 2.2 s, so at least one tick in between finds it busy.
    const { wrapped, seen, store } = slowStore(2200);
    const metrics = new CloudMetrics();
    const svc = createSnapshotService({
      store: wrapped,
      now: Date.now,
      logger,
      metrics,
      schedule: { cron: '* * * * * *', timezone: 'UTC' },
    });
    services.push(svc);
    svc.start();
    expect(svc.nextRun()).toBeInstanceOf(Date);
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (await counter(metrics, 'schedule', 'ok')) < 1) await sleep(100);
    expect(await counter(metrics, 'schedule', 'ok')).toBeGreaterThanOrEqual(1);
    expect(await counter(metrics, 'schedule', 'skipped_overlap')).toBeGreaterThanOrEqual(1);
    expect(seen.maxRunning).toBe(1);
    await svc.stop();
    expect(svc.nextRun()).toBeNull();
    const list = await store.listSnapshots({ limit: 10 });
    expect(list.every((s) => s.trigger === 'schedule')).toBe(true);
  });
});
