/**
 * Acceptance 5: undecodable, oversized and schema-invalid events from a test producer (the real SDK) are
 * quarantined with a code and a reason, and consumption goes on: later good events on the same partition
 * are applied, and the checkpoint moves past the bad ones.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import type { QuarantineEntry } from '../cloud/store/types.ts';
import { encodeBatch, MAX_DECODED_BYTES, schemaName } from '../shared/wire.ts';
import {
  aggregates,
  type RawEvent,
  readStore,
  startTestCloud,
  TEST_TOKEN,
  TestProducer,
  toRawEvent,
} from './helpers/cloud.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

const GW = 'gw-q';
const HUB_MAX = 256 * 1024; // Event Hubs Basic
const CLOUD_MAX = 128 * 1024;

describe('cloud: bad events are quarantined and consumption continues', () => {
  const dir = tempDir('ct-cloud-q-');
  let hub: TestHub | undefined;
  let cloud: Cloud | undefined;
  let producer: TestProducer | undefined;
  afterAll(async () => {
    await cloud?.stop();
    await producer?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('quarantines each kind of bad event with its code and applies the good ones after it', async () => {
    hub = await startTestHub({ partitions: 2, maxMessageBytes: HUB_MAX });
    cloud = await startTestCloud(hub, dir, {
      eventHub: {
        connectionString: hub.connectionString,
        hubName: hub.hubName,
        maxEventBytes: CLOUD_MAX,
        maxWaitTimeInSeconds: 0.2,
      },
    });
    producer = new TestProducer(hub);
    const t0 = Date.UTC(2026, 10, 2);
    const good = (batchId: string, n: number, start: number) =>
      toRawEvent({ cls: 'aggregate', gatewayId: GW, batchId, items: aggregates('env-q', n, start, 30) });
    const props = (over: Record<string, unknown>) => ({
      schema: schemaName('aggregate'),
      gatewayId: GW,
      batchId: `bad-${Math.random()}`,
      itemCount: 1,
      contentEncoding: 'gzip',
      ...over,
    });
    const raw = (body: Buffer, over: Record<string, unknown>): RawEvent => ({
      body,
      properties: props(over),
      partitionKey: GW,
    });

    // Over the hub's limit: refused at send (Event Hubs: amqp:link:message-size-exceeded).
    const huge = raw(randomBytes(HUB_MAX + 1024), { batchId: 'too-big-for-hub' });
    await expect(producer.sendOne(huge)).rejects.toMatchObject({ code: 'MessageTooLargeError' });

    const mixed = encodeBatch('aggregate', GW, 'mixed', [
      ...aggregates('env-q', 2, t0 + 100 * 60_000, 30),
      { id: 'broken-item', body: { deviceId: 'env-q', channel: 'temperature', count: -1 } },
    ]);
    const badEvents: RawEvent[] = [
      raw(randomBytes(2000), { batchId: 'undecodable' }),
      raw(gzipSync('{"cols":[],"rows":[]}'), { batchId: 'no-schema', schema: 'campus-twin.nope.v1' }),
      raw(gzipSync('{"cols":[],"rows":[]}'), { batchId: 'v9', schema: 'campus-twin.aggregate.v9' }),
      raw(gzipSync('{}'), { gatewayId: undefined, batchId: 'no-gateway' }),
      // A zip bomb: ~64 KB on the wire, inflating past the decoder's limit.
      raw(gzipSync(Buffer.alloc(MAX_DECODED_BYTES + 1024), { level: 9 }), { batchId: 'bomb' }),
      // Fits the hub (256 KB) but not the cloud's eventHub.maxEventBytes (128 KB).
      raw(randomBytes(CLOUD_MAX + 1000), { batchId: 'too-big-for-cloud' }),
      {
        ...good('count-mismatch', 3, t0 + 200 * 60_000),
        properties: props({ batchId: 'count-mismatch', itemCount: 4 }),
      },
      { body: mixed.body, properties: { ...mixed.properties }, partitionKey: GW },
    ];
    await producer.send([good('g1', 10, t0)]);
    for (const e of badEvents) await producer.sendOne(e);
    await producer.send([good('g2', 10, t0 + 10 * 60_000)]);

    await waitFor(
      async () => (await cloud!.store.counts()).items.aggregate >= 22,
      20_000,
      'good events applied',
    );
    const counts = await cloud.store.counts();
    // g1 + g2 (10 + 10 windows of 30 readings) + the 2 good items of the mixed batch.
    expect(counts.items.aggregate).toBe(22);
    expect(counts.readingsRepresented).toBe(22 * 30);

    const res = await fetch(`http://127.0.0.1:${cloud.port}/api/quarantine?limit=100`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const q = (await res.json()) as { total: number; entries: QuarantineEntry[] };
    const byBatch = new Map(q.entries.map((e) => [e.batchId ?? `(none:${e.code})`, e]));
    expect(q.total).toBe(8);
    expect(byBatch.get('undecodable')).toMatchObject({ code: 'CT_ERR_WIRE_ENCODING', gatewayId: GW });
    expect(byBatch.get('no-schema')).toMatchObject({ code: 'CT_ERR_WIRE_SCHEMA' });
    expect(byBatch.get('no-schema')!.reason).toContain('unknown schema');
    expect(byBatch.get('v9')!.reason).toContain('unsupported version 9');
    expect(byBatch.get('no-gateway')).toMatchObject({ code: 'CT_ERR_WIRE_PROPERTIES', gatewayId: null });
    expect(byBatch.get('bomb')).toMatchObject({ code: 'CT_ERR_WIRE_ENCODING' });
    expect(byBatch.get('bomb')!.reason).toMatch(/not gzip JSON/);
    expect(byBatch.get('too-big-for-cloud')).toMatchObject({ code: 'CT_ERR_PAYLOAD_TOO_LARGE' });
    expect(byBatch.get('too-big-for-cloud')!.body.length).toBeLessThanOrEqual(Math.ceil(1024 / 3) * 4);
    expect(byBatch.get('count-mismatch')!.reason).toContain('itemCount 4 but body has 3 rows');
    expect(byBatch.get('mixed')).toMatchObject({ code: 'CT_ERR_WIRE_SCHEMA', itemId: 'broken-item' });
    for (const e of q.entries) expect(e.reason.length).toBeGreaterThan(5);

    // The checkpoint of the gateway's partition moved to its last event (g2), past every bad one.
    const checkpoints = readStore(join(dir, 'cloud.db'), (db) =>
      db.prepare('SELECT sequence_number AS seq FROM checkpoints').all(),
    ) as { seq: number }[];
    expect(Math.max(...checkpoints.map((c) => c.seq))).toBe(badEvents.length + 1);

    const metrics = await (await fetch(`http://127.0.0.1:${cloud.port}/metrics`)).text();
    expect(metrics).toMatch(/ct_cloud_quarantined_total\{code="CT_ERR_WIRE_ENCODING"\} 2/);
    expect(metrics).toMatch(/ct_cloud_quarantined_total\{code="CT_ERR_PAYLOAD_TOO_LARGE"\} 1/);
    // The store's WAL checkpoints run in their worker thread after the applies, and /metrics says so.
    const port = cloud.port;
    await vi.waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(text).toMatch(/^ct_cloud_sqlite_checkpointer_up 1$/m);
        expect(Number(/^ct_cloud_sqlite_checkpoints_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
        expect(Number(/^ct_cloud_sqlite_checkpoint_frames_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 200 },
    );
    const [g] = await cloud.store.gateways();
    expect(g).toMatchObject({ gatewayId: GW, quarantined: 7, batchesApplied: 3 });
  });
});
