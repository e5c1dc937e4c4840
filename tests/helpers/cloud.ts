/**
 * Cloud test helpers: a test producer (the real SDK's EventHubProducerClient sending wire-format batches,
 * partition key = gateway id, as the gateway's uplink does), aggregate fixtures, and an in-process cloud on
 * port 0 against a test hub.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventHubProducerClient } from '@azure/event-hubs';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { type Cloud, createCloud } from '../../cloud/app.ts';
import { cloudConfigFrom } from '../../cloud/config/index.ts';
import type { Aggregate } from '../../shared/events.ts';
import { createLogger } from '../../shared/logger.ts';
import { aggregateItemId, encodeBatch, type WireClass, type WireItem } from '../../shared/wire.ts';

export const TEST_RETRY = { maxRetries: 2, retryDelayInMs: 100, timeoutInMs: 5000 } as const;
export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** Cloud settings for tests: greedy, fast load balancing, short retries, API on 127.0.0.1:0. */
export function testCloudSettings(
  hub: { connectionString: string; hubName: string },
  storeFile: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    eventHub: {
      connectionString: hub.connectionString,
      hubName: hub.hubName,
      maxBatchSize: 50,
      maxWaitTimeInSeconds: 0.2,
      recoverAfterMs: 2000,
    },
    loadBalancing: {
      strategy: 'greedy',
      updateIntervalInMs: 300,
      partitionOwnershipExpirationIntervalInMs: 3000,
    },
    retryOptions: { ...TEST_RETRY },
    store: { file: storeFile },
    api: { host: '127.0.0.1', port: 0, tokens: [TEST_TOKEN] },
    log: { level: 'silent' },
    ...extra,
  };
}

export async function startTestCloud(
  hub: { connectionString: string; hubName: string },
  dir: string,
  extra: Record<string, unknown> = {},
): Promise<Cloud> {
  const config = cloudConfigFrom(testCloudSettings(hub, join(dir, 'cloud.db'), extra));
  const cloud = createCloud(config, { logger: createLogger({ level: 'silent' }) });
  await cloud.start();
  return cloud;
}

/** `n` closed-window aggregates of one device, `count` readings each, windows of 60 s from `start`. */
export function aggregates(deviceId: string, n: number, start: number, count = 60, channel = 'temperature') {
  const out: WireItem[] = [];
  for (let i = 0; i < n; i++) {
    const windowStart = start + i * 60_000;
    const a: Aggregate = {
      deviceId,
      channel,
      roomId: 'b1-f1-r101',
      quantity: 'temperature',
      unit: '°C',
      windowStart,
      windowMs: 60_000,
      count,
      min: 20,
      max: 22,
      sum: 21 * count,
      mean: 21,
      first: 20,
      firstTs: windowStart,
      last: 22,
      lastTs: windowStart + 59_000,
      late: false,
    };
    out.push({ id: aggregateItemId(a), body: { ...a } });
  }
  return out;
}

export interface TestBatch {
  cls: WireClass;
  gatewayId: string;
  batchId: string;
  items: readonly WireItem[];
}

/** Raw event for the producer: body + application properties (possibly broken on purpose). */
export interface RawEvent {
  body: Buffer;
  properties: Record<string, unknown>;
  partitionKey: string;
}

export function toRawEvent(b: TestBatch): RawEvent {
  const { body, properties } = encodeBatch(b.cls, b.gatewayId, b.batchId, b.items);
  return { body, properties: { ...properties }, partitionKey: b.gatewayId };
}

export class TestProducer {
  readonly client: EventHubProducerClient;
  constructor(hub: { connectionString: string; hubName: string }) {
    this.client = new EventHubProducerClient(hub.connectionString, hub.hubName, { retryOptions: TEST_RETRY });
  }

  /** Send events one SDK batch per partition key run (order kept within a key). */
  async send(events: readonly RawEvent[]): Promise<void> {
    let i = 0;
    while (i < events.length) {
      const key = events[i]!.partitionKey;
      const batch = await this.client.createBatch({ partitionKey: key });
      while (i < events.length && events[i]!.partitionKey === key) {
        const e = events[i]!;
        if (!batch.tryAdd({ body: e.body, properties: e.properties })) {
          if (batch.count === 0) throw new Error('event does not fit an empty batch');
          break;
        }
        i++;
      }
      await this.client.sendBatch(batch);
    }
  }

  /** One event alone (lets the hub, not the client, judge its size). */
  sendOne(e: RawEvent): Promise<void> {
    return this.client.sendBatch([{ body: e.body, properties: e.properties }], {
      partitionKey: e.partitionKey,
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Read a cloud store file directly (read-only) — independent of the API under test. */
export function readStore<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * What the exactly-once tests compare, as portable SQL: readings represented, aggregate items merged into
 * windows (base windows are not in the items table: see cloud/store/schema.ts), batches applied.
 */
export const TOTALS_SQL = {
  readings: 'SELECT COALESCE(SUM(count), 0) AS n FROM aggregates',
  items: 'SELECT COALESCE(SUM(items), 0) AS n FROM aggregates',
  batches: 'SELECT COUNT(*) AS n FROM batches',
} as const;

export function storeTotals(file: string): { readings: number; items: number; batches: number } {
  return readStore(file, (db) => {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return { readings: n(TOTALS_SQL.readings), items: n(TOTALS_SQL.items), batches: n(TOTALS_SQL.batches) };
  });
}

/** Write a cloud.yaml for a CLI child process (same settings as testCloudSettings). */
export function writeCloudConfig(
  dir: string,
  hub: { connectionString: string; hubName: string },
  extra: Record<string, unknown> = {},
): { configFile: string; storeFile: string } {
  const storeFile = join(dir, 'cloud.db');
  const configFile = join(dir, 'cloud.yaml');
  writeFileSync(
    configFile,
    stringify(testCloudSettings(hub, storeFile, { log: { level: 'warn' }, ...extra })),
  );
  return { configFile, storeFile };
}

/** Poll the store file until `pred` holds (the file may not exist yet). */
export async function waitForStore<T>(
  file: string,
  read: (db: Database.Database) => T,
  pred: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      try {
        last = readStore(file, read);
        if (pred(last)) return last;
      } catch {
        // schema not created yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
