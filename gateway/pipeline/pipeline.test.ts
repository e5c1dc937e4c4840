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

describe('Pipeline on a fake clock', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function open(dataDir: string, clock: { now: number }) {
    const opts: PipelineOptions = {
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
    };
    const metrics = new GatewayMetrics();
    const p = new Pipeline(await testCampus(), opts, {
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
