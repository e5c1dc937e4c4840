/**
 * `apply`: the cloud's apply rate in raw readings represented per second (sum of the aggregate counts
 * applied per second) through CloudStore.applyBatch — decode (shared/wire.ts), per-item validation, the
 * item/batch dedupe, the window upsert and the checkpoint, one transaction per received SDK batch —
 * against decode-only (gunzip + parse via decodeBatch) of the same events, in the same run. Both: the same
 * pre-encoded events (aggregate batches of realistic size: 250 one-minute windows of 60 readings each, as
 * the gateway's uplink builds them), rounds alternating so background noise hits both alike. The store is
 * the default SQLite file (WAL, synchronous=NORMAL), fresh per run.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { prepareEvent } from '../cloud/consume/prepare.ts';
import { SqliteCloudStore } from '../cloud/store/sqlite.ts';
import type { CloudStore, PartitionRef } from '../cloud/store/types.ts';
import type { Aggregate } from '../shared/events.ts';
import { aggregateItemId, decodeBatch, encodeBatch, type WireItem } from '../shared/wire.ts';
import { removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round } from './lib/report.ts';

export const ITEMS_PER_EVENT = 250;
export const READINGS_PER_WINDOW = 60;
/**
 * Events per apply transaction = one SDK processEvents batch (the consumer's default maxBatchSize is 100,
 * reached when a backlog waits; 50 = a busy hub). BENCH_APPLY_EVENTS_PER_TX to try others.
 */
const EVENTS_PER_TX = Number(process.env.BENCH_APPLY_EVENTS_PER_TX ?? 50);
const EVENTS_PER_ROUND = 200;
const ROUNDS = Number(process.env.BENCH_APPLY_ROUNDS ?? 6);
/** Sensors the windows are spread over (BENCH_APPLY_DEVICES=10000: a whole campus, as in `memory`). */
const DEVICES = Number(process.env.BENCH_APPLY_DEVICES ?? 400);

export interface Event {
  properties: Record<string, unknown>;
  body: Buffer;
  readings: number;
}

/** `count` events continuing at event number `from`; each window (device, minute) appears once overall. */
export function makeEvents(from: number, count: number, t0: number): Event[] {
  const out: Event[] = [];
  for (let e = from; e < from + count; e++) {
    const items: WireItem[] = [];
    for (let i = 0; i < ITEMS_PER_EVENT; i++) {
      const n = e * ITEMS_PER_EVENT + i;
      const device = n % DEVICES;
      const windowStart = t0 + Math.floor(n / DEVICES) * 60_000;
      const v = 20 + (n % 50) / 10;
      const a: Aggregate = {
        deviceId: `env-${device}`,
        channel: 'temperature',
        roomId: `b1-f1-r${device % 40}`,
        quantity: 'temperature',
        unit: '°C',
        windowStart,
        windowMs: 60_000,
        count: READINGS_PER_WINDOW,
        min: v - 0.5,
        max: v + 0.5,
        sum: v * READINGS_PER_WINDOW,
        mean: v,
        first: v - 0.2,
        firstTs: windowStart,
        last: v + 0.2,
        lastTs: windowStart + 59_000,
        late: false,
      };
      items.push({ id: aggregateItemId(a), body: { ...a } });
    }
    items.sort((x, y) => (x.id < y.id ? -1 : 1));
    const gw = `gw-${e % 8}`;
    const { body, properties } = encodeBatch('aggregate', gw, `${gw}-b${e}`, items);
    out.push({ body, properties: { ...properties }, readings: ITEMS_PER_EVENT * READINGS_PER_WINDOW });
  }
  return out;
}

/** A full GC between rounds, so the generator's garbage is not collected inside either timed side. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

let seq = 0;
const PREPARE = { maxEventBytes: 1024 * 1024, maxBodyBytes: 1024 };

/** The baseline: `events` decoded (gunzip + parse) and nothing else; returns the milliseconds taken. */
export function decodeEvents(events: readonly Event[]): number {
  const start = performance.now();
  let items = 0;
  for (const e of events) {
    const d = decodeBatch(e.properties, e.body);
    if (!d.ok) throw new Error(d.reason);
    items += d.items.length;
  }
  if (items !== events.length * ITEMS_PER_EVENT) throw new Error('decode lost items');
  return performance.now() - start;
}

/**
 * One applyBatch call, as the consumer makes it: the events prepared (decode and validation, each at the next
 * sequence number) and applied; throws unless every reading they carry was applied.
 */
export async function applyChunk(
  store: Pick<CloudStore, 'applyBatch'>,
  partition: PartitionRef,
  chunk: readonly Event[],
  enqueuedTimeMs: number,
): Promise<void> {
  const prepared = chunk.map((e) => {
    seq++;
    return prepareEvent(
      { properties: e.properties, body: e.body, sequenceNumber: seq, offset: String(seq), enqueuedTimeMs },
      PREPARE,
    );
  });
  const res = await store.applyBatch(partition, prepared, prepared.at(-1)!.position, Date.now());
  const want = chunk.length * ITEMS_PER_EVENT * READINGS_PER_WINDOW;
  if (res.readingsRepresented !== want) throw new Error(`apply: ${res.readingsRepresented} of ${want}`);
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-apply-');
  const store = new SqliteCloudStore({ file: join(dir, 'cloud.db'), synchronous: 'NORMAL' });
  const partition: PartitionRef = {
    fullyQualifiedNamespace: 'bench',
    eventHubName: 'campus-twin',
    consumerGroup: '$Default',
    partitionId: '0',
  };
  const t0 = Date.UTC(2026, 0, 1);
  const totals = { apply: { readings: 0, ms: 0 }, decode: { readings: 0, ms: 0 } };
  const rounds: { apply: number[]; decode: number[] } = { apply: [], decode: [] };
  let bodyBytes = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const events = makeEvents(r * EVENTS_PER_ROUND, EVENTS_PER_ROUND, t0);
      collectGarbage();
      const readings = events.reduce((s, e) => s + e.readings, 0);
      bodyBytes = events.reduce((s, e) => s + e.body.length, 0) / events.length;
      // Interleaved per transaction-sized chunk (order alternating), so load from other processes on this
      // shared machine hits both sides alike.
      let decodeMs = 0;
      let applyMs = 0;
      for (let i = 0, k = 0; i < events.length; i += EVENTS_PER_TX, k++) {
        const chunk = events.slice(i, i + EVENTS_PER_TX);
        const decodeOnly = () => {
          decodeMs += decodeEvents(chunk);
        };
        const apply = async () => {
          const start = performance.now();
          await applyChunk(store, partition, chunk, t0);
          applyMs += performance.now() - start;
        };
        if ((r + k) % 2) {
          decodeOnly();
          await apply();
        } else {
          await apply();
          decodeOnly();
        }
      }
      totals.apply.readings += readings;
      totals.apply.ms += applyMs;
      totals.decode.readings += readings;
      totals.decode.ms += decodeMs;
      rounds.apply.push(Math.round(readings / (applyMs / 1000)));
      rounds.decode.push(Math.round(readings / (decodeMs / 1000)));
      progress('apply', `round ${r + 1}`, { apply: rounds.apply.at(-1), decode: rounds.decode.at(-1) });
    }
    const value = totals.apply.readings / (totals.apply.ms / 1000);
    const baseline = totals.decode.readings / (totals.decode.ms / 1000);
    const counts = await store.counts();
    emit({
      name: 'apply',
      value: round(value, 0),
      unit: 'readings/s',
      baseline: round(baseline, 0),
      ratio: round(value / baseline),
      target: '>= 0.4',
      meaning:
        'readings represented per second applied through CloudStore.applyBatch (decode+validate+dedupe+upsert+checkpoint) ÷ decodeBatch alone on the same events',
      rounds,
      itemsPerEvent: ITEMS_PER_EVENT,
      sensors: DEVICES,
      eventsPerTransaction: EVENTS_PER_TX,
      meanEventBytes: Math.round(bodyBytes),
      itemsApplied: counts.items.aggregate,
      pragmas: `journal_mode=WAL, synchronous=NORMAL, page_size=${store.db.pragma('page_size', { simple: true })}`,
    });
  } finally {
    await store.close();
    removeDir(dir);
  }
}
