/**
 * `apply-pg`: the cloud's apply on PostgreSQL next to SQLite (issue 11), in one run, on the same events as
 * `apply` (aggregate batches of 250 one-minute windows): decode-only, the SQLite store (WAL,
 * synchronous=NORMAL) and the PostgreSQL store (a local PostgreSQL 15 started for the run, fsync on,
 * synchronous_commit=off: commits do not wait for their WAL flush, as SQLite's NORMAL does not fsync each
 * commit), 50 events per applyBatch call, rounds rotating the order of the three sides. Then the
 * PostgreSQL store with 1, 2 and 4 consumers applying at once (each its own partition, events and pool
 * connection), as events/s.
 * value = PostgreSQL readings/s ÷ SQLite readings/s (target ≥ 0.5); both also as ratios to decode-only.
 */
import { join } from 'node:path';
import { PostgresCloudStore } from '../cloud/store/postgres.ts';
import { SqliteCloudStore } from '../cloud/store/sqlite.ts';
import type { IngestStore, PartitionRef } from '../cloud/store/types.ts';
import { startPostgres } from '../tests/helpers/postgres.ts';
import {
  applyChunk,
  collectGarbage,
  decodeEvents,
  type Event,
  ITEMS_PER_EVENT,
  makeEvents,
} from './apply.ts';
import { removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round } from './lib/report.ts';

const EVENTS_PER_TX = 50;
const EVENTS_PER_ROUND = 200;
const ROUNDS = Number(process.env.BENCH_APPLY_PG_ROUNDS ?? 3);
const T0 = Date.UTC(2026, 0, 1);

const partition = (id: string): PartitionRef => ({
  fullyQualifiedNamespace: 'bench',
  eventHubName: 'campus-twin',
  consumerGroup: '$Default',
  partitionId: id,
});

/** Applies `events` in calls of EVENTS_PER_TX; returns the milliseconds spent. */
async function applyAll(store: IngestStore, events: readonly Event[], p: PartitionRef): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < events.length; i += EVENTS_PER_TX)
    await applyChunk(store, p, events.slice(i, i + EVENTS_PER_TX), T0);
  return performance.now() - start;
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-apply-pg-');
  const server = await startPostgres({ durable: true });
  const sqlite = new SqliteCloudStore({ file: join(dir, 'cloud.db'), synchronous: 'NORMAL' });
  const pg = await PostgresCloudStore.open({ url: server.url, schema: 'bench_apply' });
  const ms = { decode: 0, sqlite: 0, pg: 0 };
  const rounds: Record<keyof typeof ms, number[]> = { decode: [], sqlite: [], pg: [] };
  let readings = 0;
  try {
    const sides = ['decode', 'sqlite', 'pg'] as const;
    for (let r = 0; r < ROUNDS; r++) {
      const events = makeEvents(r * EVENTS_PER_ROUND, EVENTS_PER_ROUND, T0);
      const n = events.reduce((s, e) => s + e.readings, 0);
      readings += n;
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(r + k) % sides.length]!;
        collectGarbage();
        const t =
          side === 'decode'
            ? decodeEvents(events)
            : await applyAll(side === 'sqlite' ? sqlite : pg, events, partition('0'));
        ms[side] += t;
        rounds[side].push(Math.round(n / (t / 1000)));
      }
      progress('apply-pg', `round ${r + 1}`, {
        decode: rounds.decode.at(-1),
        sqlite: rounds.sqlite.at(-1),
        pg: rounds.pg.at(-1),
      });
    }
    // Consumers at once on PostgreSQL: each its partition and its own events (distinct windows).
    const consumers: Record<string, number> = {};
    for (const c of [1, 2, 4]) {
      const store = await PostgresCloudStore.open({
        url: server.url,
        schema: `bench_consumers_${c}`,
        poolSize: c,
      });
      try {
        const perConsumer = EVENTS_PER_ROUND;
        const sets = Array.from({ length: c }, (_, i) =>
          makeEvents((100 + i) * perConsumer, perConsumer, T0),
        );
        collectGarbage();
        const start = performance.now();
        await Promise.all(sets.map((events, i) => applyAll(store, events, partition(String(i)))));
        const seconds = (performance.now() - start) / 1000;
        consumers[String(c)] = Math.round((c * perConsumer) / seconds);
        progress('apply-pg', `${c} consumer(s)`, { eventsPerSecond: consumers[String(c)] });
      } finally {
        await store.close();
      }
    }
    const rate = (side: keyof typeof ms) => readings / (ms[side] / 1000);
    emit({
      name: 'apply-pg',
      value: round(rate('pg'), 0),
      unit: 'readings/s',
      baseline: round(rate('sqlite'), 0),
      ratio: round(rate('pg') / rate('sqlite')),
      target: '>= 0.5',
      meaning:
        'readings represented per second applied by the PostgreSQL store ÷ the SQLite store, same events, same run (50 events of 250 windows per applyBatch)',
      sqliteToDecode: round(rate('sqlite') / rate('decode')),
      pgToDecode: round(rate('pg') / rate('decode')),
      decodeReadingsPerSecond: round(rate('decode'), 0),
      rounds,
      pgEventsPerSecondByConsumers: consumers,
      server: 'PostgreSQL 15, local, fsync=on, synchronous_commit=off',
    });
  } finally {
    await pg.close();
    await sqlite.close();
    server.stop();
    removeDir(dir);
  }
}
