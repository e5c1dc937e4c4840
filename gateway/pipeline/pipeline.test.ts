/**
 * The pipeline on a fake clock: windows close when wall-clock time passes end + lateness, a reading for a
 * closed window becomes a late correction, expired journal rows are pruned, and a restart rebuilds the open
 * windows from the journal.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../shared/events.ts';
import { createLogger } from '../../shared/logger.ts';
import { testCampus } from '../../tests/helpers/campus.ts';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { testReading } from '../../tests/helpers/readings.ts';
import { GatewayMetrics } from '../metrics.ts';
import { DEFAULT_TWIN_CONFIG } from '../twin/reducer.ts';
import { Pipeline, type PipelineOptions } from './pipeline.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const MIN = 60_000;

const reading = (ts: number, value: number, receivedAt = ts) => testReading(ts, value, { receivedAt });

/** Small, fast pipeline settings: 1-minute windows, 30-minute retention. */
function pipelineOptions(dataDir: string, over: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    dataDir,
    synchronous: 'NORMAL',
    retentionMs: 30 * MIN,
    groupCommitMaxRows: 1000,
    quarantineMaxRows: 100,
    quarantineMaxPayloadBytes: 64,
    outboxQuotaBytes: 10_000_000,
    forwardRaw: false,
    window: { windowMs: MIN, allowedLatenessMs: 2 * MIN },
    twin: DEFAULT_TWIN_CONFIG,
    twinTickIntervalMs: 5000,
    checkpointIntervalMs: 30_000,
    lowBatteryPct: 15,
    ...over,
  };
}

describe('Pipeline on a fake clock', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function open(dataDir: string, clock: { now: number }) {
    const metrics = new GatewayMetrics();
    const p = new Pipeline(await testCampus(), pipelineOptions(dataDir), {
      metrics,
      logger: createLogger({ level: 'silent' }),
      now: () => clock.now,
    });
    await p.start();
    return { p, metrics };
  }

  const aggregates = (p: Pipeline) =>
    p.store.outbox.peek('aggregate', 1000).map((r) => JSON.parse(r.body) as Aggregate);

  it('closes windows by wall clock, sends late readings as corrections, prunes, and rebuilds after a restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clock = { now: T0 + 30_000 };
    let { p, metrics } = await open(dir, clock);
    await p.submitAsync([reading(T0 + 1000, 500), reading(T0 + 20_000, 700), reading(T0 + MIN + 5000, 900)]);

    clock.now = T0 + MIN + 2 * MIN - 1; // window [T0, T0+1m) still within its lateness
    p.tick();
    expect(aggregates(p)).toEqual([]);
    clock.now = T0 + 3 * MIN;
    p.tick();
    expect(aggregates(p)).toMatchObject([
      { windowStart: T0, count: 2, min: 500, max: 700, mean: 600, late: false },
    ]);

    // readings for the closed window: kept, counted, and sent as one correction for the window once no
    // more came for its lateness — never merged silently into the closed aggregate
    await p.submitAsync([reading(T0 + 40_000, 650, clock.now)]);
    await p.submitAsync([reading(T0 + 45_000, 250, clock.now)]);
    expect((await metrics.late.get()).values[0]?.value).toBe(2);
    p.tick();
    expect(aggregates(p)).toHaveLength(1);
    expect(p.store.pendingLateWindows).toBe(1);

    // restart before the second window closes: it is rebuilt from the journal, not lost or doubled, and
    // the pending correction survives too
    await p.stop();
    ({ p, metrics } = await open(dir, clock));
    expect(p.windows.size).toBe(1);
    expect(p.store.pendingLateWindows).toBe(1);
    clock.now = T0 + 6 * MIN;
    p.tick();
    const all = aggregates(p);
    expect(all.map((a) => [a.windowStart, a.count, a.late])).toEqual([
      [T0, 2, false],
      [T0 + MIN, 1, false],
      [T0, 2, true],
    ]);
    expect(all[2]).toMatchObject({ sum: 900, min: 250, max: 650, first: 650, last: 250 });
    expect(all.reduce((s, a) => s + a.count, 0)).toBe(5);
    expect(p.store.pendingLateWindows).toBe(0);

    // retention: rows older than 30 min (+1 min margin) go, the rest stay for deduplication
    await p.submitAsync([reading(T0 + 35 * MIN, 800, T0 + 35 * MIN)]);
    clock.now = T0 + 35 * MIN + 2 * MIN + 10_000;
    p.tick();
    expect(p.store.journalStats(clock.now).rows).toBe(1);
    await p.stop();
  });

  it('queues two changes of a room in the same millisecond as two, in order', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clock = { now: T0 };
    const { p } = await open(dir, clock);
    await p.submitAsync([reading(T0 - 1000, 600)]);
    clock.now += 5000;
    // CO2 alert, then back to ok, both committed at the same wall-clock millisecond.
    await p.submitAsync([reading(clock.now - 10, 1800)]);
    await p.submitAsync([reading(clock.now - 5, 600)]);
    const comfort = p.store.outbox
      .peek('twin', 100)
      .map((r) => ({ id: r.itemId, ...(JSON.parse(r.body) as { kind: string; to: string; ts: number }) }))
      .filter((c) => c.kind === 'comfort');
    expect(comfort.map((c) => c.to)).toEqual(['alert', 'ok']);
    expect(new Set(comfort.map((c) => c.id)).size).toBe(2);
    expect(comfort[1]!.ts).toBeGreaterThan(comfort[0]!.ts);
    await p.stop();
  });
});

describe('a gateway that survives its box: disk and journal', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const MiB = 1024 * 1024;

  async function open(dataDir: string, clock: { now: number }, space: { free: number; total: number }) {
    const p = new Pipeline(
      await testCampus(),
      pipelineOptions(dataDir, { outboxQuotaBytes: 10 * MiB, minFreeBytes: 4 * MiB }),
      {
        metrics: new GatewayMetrics(),
        logger: createLogger({ level: 'silent' }),
        now: () => clock.now,
        space: () => space,
      },
    );
    await p.start();
    return p;
  }

  it('goes into low-disk mode below the guard, before the volume is full, and out of it by itself', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clock = { now: T0 };
    const space = { free: 100 * MiB, total: 200 * MiB };
    const p = await open(dir, clock, space);
    // Ten minutes of readings, the first windows closed: their rows are kept for deduplication.
    await p.submitAsync(Array.from({ length: 600 }, (_, i) => reading(T0 + i * 1000, 500 + i)));
    clock.now = T0 + 10 * MIN;
    p.tick();
    expect(p.conditions.size).toBe(0);
    const rowsBefore = p.store.journalStats(clock.now).rows;
    expect(rowsBefore).toBe(600);

    space.free = 3 * MiB; // below the 4 MiB guard
    clock.now += 5000;
    p.tick();
    const low = p.conditions.get('CT_ERR_DISK_LOW');
    expect(low).toMatchObject({ severity: 'critical' });
    expect(low!.message).toMatch(/only 3\.0 MiB free on the data volume \(guard 4\.0 MiB\)/);
    // Only the rows of still-open windows remain; the outbox may not grow past what fits.
    expect(p.store.journalStats(clock.now).rows).toBeLessThan(rowsBefore);
    expect(p.store.outbox.quotaBytes).toBeLessThan(10 * MiB);
    // Nothing acknowledged is lost: every closed window is in the outbox with its count.
    const counted = p.store.outbox
      .peek('aggregate', 1000)
      .reduce((n, r) => n + (JSON.parse(r.body) as Aggregate).count, 0);
    expect(counted + [...p.windows.openWindows()].reduce((n, w) => n + w.count, 0)).toBe(600);

    space.free = 5 * MiB; // above the guard but not by 1.5 ×: stays on (no flapping)
    clock.now += 5000;
    p.tick();
    expect(p.conditions.has('CT_ERR_DISK_LOW')).toBe(true);
    space.free = 50 * MiB;
    clock.now += 5000;
    p.tick();
    expect(p.conditions.size).toBe(0);
    expect(p.store.outbox.quotaBytes).toBe(10 * MiB);
    await p.stop();
  });

  it('says when the backlog is older than its budget, and stops saying it once it is sent', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clock = { now: T0 };
    const p = await open(dir, clock, { free: 100 * MiB, total: 200 * MiB });
    await p.submitAsync([reading(T0, 400)]);
    clock.now = T0 + 3 * MIN; // the window closes: its aggregate (and the twin's changes) wait in the outbox
    p.tick();
    expect(p.conditions.has('CT_ERR_BACKLOG_OLD')).toBe(false);
    clock.now += 25 * 3600_000;
    p.tick();
    expect(p.conditions.get('CT_ERR_BACKLOG_OLD')?.message).toMatch(
      /the oldest unsent item is 25\.\d h old \(budget 24\.0 h\)/,
    );
    // Everything sent (as the uplink would delete it once the hub has it).
    for (const cls of ['alert', 'twin', 'event', 'aggregate', 'raw'])
      p.store.db.exec(`DELETE FROM outbox_${cls}`);
    p.store.outbox.reloadUsage();
    clock.now += 5000;
    p.tick();
    expect(p.conditions.has('CT_ERR_BACKLOG_OLD')).toBe(false);
    await p.stop();
  });

  it('reports a journal that cannot write, refuses without acknowledging, and recovers without a restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clock = { now: T0 };
    const p = await open(dir, clock, { free: 100 * MiB, total: 200 * MiB });
    await p.submitAsync([reading(T0, 400)]);
    // The database file may not grow any more: SQLite answers SQLITE_FULL, as on a full volume.
    const pages = p.store.db.pragma('page_count', { simple: true }) as number;
    p.store.db.pragma(`max_page_count = ${pages}`);
    const many = Array.from({ length: 5000 }, (_, i) => reading(T0 + 1000 + i, i));
    await expect(p.submitAsync(many)).rejects.toThrow(/full/);
    const c = p.conditions.get('CT_ERR_JOURNAL_UNAVAILABLE');
    expect(c).toMatchObject({ severity: 'critical' });
    expect(c!.message).toMatch(/the journal cannot write \(database or disk is full\)/);
    // Room again: the same readings go in, and the condition clears.
    p.store.db.pragma('max_page_count = 1073741823');
    await p.submitAsync(many);
    expect(p.conditions.has('CT_ERR_JOURNAL_UNAVAILABLE')).toBe(false);
    expect(p.store.journalStats(clock.now).rows).toBe(5001);
    await p.stop();
  });
});
