/**
 * The uplink against the real local hub with a producer that loses its acknowledgement: the event reaches
 * the hub but the send reports failure (a connection cut after the hub stored it, or a crash right after).
 * The retry must carry the same batch id and the same items, and the outbox must keep them until a send
 * resolves. Also: a single item that can never fit in an event is dropped and counted, not retried forever.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EventHubProducerClient } from '@azure/event-hubs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import { aggregateTotals, readAllEvents } from '../../tests/helpers/eventhub.ts';
import { tempDir, waitFor } from '../../tests/helpers/gateway.ts';
import { FAST_RETRY, startTestHub, type TestHub } from '../../tests/helpers/hub.ts';
import { GatewayStore } from '../journal/index.ts';
import { GatewayMetrics } from '../metrics.ts';
import { type Producer, Uplink, type UplinkOptions } from './index.ts';

const T0 = Date.now();

function options(hub: TestHub, extra: Partial<UplinkOptions> = {}): UplinkOptions {
  return {
    gatewayId: 'gw-unit',
    campusId: 'unit-campus',
    connectionString: hub.connectionString,
    hubName: hub.hubName,
    maxEventBytes: 1024 * 1024,
    maxItemsPerEvent: 1000,
    liveWindowMs: 120_000,
    backlogBytesPerSec: 0,
    lingerMs: { alert: 0, twin: 0, event: 0, aggregate: 0, raw: 0 },
    backoff: { baseMs: 50, maxMs: 200 },
    sendTimeoutMs: 5000,
    ...extra,
  };
}

function aggregate(i: number) {
  return {
    deviceId: `env-${i % 7}`,
    channel: 'co2',
    roomId: 'r-101',
    quantity: 'co2',
    unit: 'ppm',
    windowStart: T0 - 3_600_000 + Math.floor(i / 7) * 60_000,
    windowMs: 60_000,
    count: 3,
    min: 400,
    max: 420,
    sum: 1230,
    mean: 410,
    first: 400,
    firstTs: T0 - 3_600_000 + Math.floor(i / 7) * 60_000,
    last: 420,
    lastTs: T0 - 3_600_000 + Math.floor(i / 7) * 60_000 + 50_000,
    late: false,
  };
}

describe('Uplink', () => {
  let hub: TestHub | undefined;
  let dir: string | undefined;
  let store: GatewayStore | undefined;
  let uplink: Uplink | undefined;
  afterEach(async () => {
    await uplink?.stop();
    store?.close();
    await hub?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    uplink = undefined;
    store = undefined;
    hub = undefined;
  });

  function openStore(): GatewayStore {
    dir = tempDir();
    return new GatewayStore(join(dir, 'gw.db'), {
      synchronous: 'NORMAL',
      quotaBytes: 100_000_000,
      windowMs: 60_000,
      forwardRaw: false,
      quarantineMaxRows: 10,
      quarantineMaxPayloadBytes: 64,
    });
  }

  it('resends a batch whose acknowledgement was lost under the same batch id, with the same items', async () => {
    hub = await startTestHub();
    store = openStore();
    const s = store;
    s.transaction(() => {
      for (let i = 0; i < 300; i++) {
        const a = aggregate(i);
        s.outbox.add('aggregate', `agg:${a.deviceId}:${a.channel}:${a.windowStart}:${a.windowMs}`, a, T0);
      }
    })();
    let calls = 0;
    const createProducer = (o: UplinkOptions): Producer => {
      const real = new EventHubProducerClient(o.connectionString, o.hubName, { retryOptions: FAST_RETRY });
      return {
        createBatch: (opts) => real.createBatch(opts),
        getEventHubProperties: () => real.getEventHubProperties(),
        close: () => real.close(),
        async sendBatch(batch, opts) {
          await real.sendBatch(batch, opts);
          // The first event reaches the hub, but the acknowledgement is lost.
          if (++calls === 1) throw new Error('connection reset after send');
        },
      };
    };
    uplink = new Uplink(options(hub), {
      store: s,
      metrics: new GatewayMetrics(),
      logger: createLogger({ level: 'silent' }),
      now: Date.now,
      createProducer,
    });
    uplink.start();
    await waitFor(() => s.outbox.stats(Date.now()).aggregate.rows === 0, 10_000, 'outbox drained');
    const status = await uplink.status();
    expect(status.lastError).toContain('connection reset after send');
    expect(status.connected).toBe(true);

    const events = await readAllEvents(hub.connectionString, hub.hubName);
    expect(events).toHaveLength(2);
    const [first, second] = events.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    expect(second!.properties.batchId).toBe(first!.properties.batchId);
    const ids = (e: typeof first) => (e!.decoded.ok ? e!.decoded.items.map((i) => i.id) : []);
    expect(ids(second)).toEqual(ids(first));
    // Applied once per item id, the cloud sees each window once.
    expect(aggregateTotals(events).count).toBe(300 * 3);
  });

  it('moves an item larger than an event to quarantine, counted, instead of blocking its class', async () => {
    hub = await startTestHub();
    store = openStore();
    const s = store;
    s.transaction(() => {
      // Random bytes do not compress: 27 kB of base64 cannot fit a 4 kB event.
      s.outbox.add(
        'alert',
        'alert:huge',
        { alertId: 'alert:huge', message: randomBytes(20_000).toString('base64') },
        T0,
      );
      s.outbox.add('alert', 'alert:ok', { alertId: 'alert:ok', message: 'fine' }, T0);
    })();
    const metrics = new GatewayMetrics();
    uplink = new Uplink(options(hub, { maxEventBytes: 4096 }), {
      store: s,
      metrics,
      logger: createLogger({ level: 'silent' }),
      now: Date.now,
    });
    uplink.start();
    await waitFor(() => s.outbox.stats(Date.now()).alert.rows === 0, 10_000, 'alerts handled');
    const events = await readAllEvents(hub.connectionString, hub.hubName);
    const sent = events.flatMap((e) => (e.decoded.ok ? e.decoded.items.map((i) => i.id) : []));
    expect(sent).toEqual(['alert:ok']);
    const kept = s.recentQuarantine(10) as unknown as { source: string; code: string; topic: string }[];
    expect(kept).toEqual([
      expect.objectContaining({
        source: 'uplink',
        code: 'CT_ERR_PAYLOAD_TOO_LARGE',
        topic: 'outbox/alert/alert:huge',
      }),
    ]);
    expect(await metrics.registry.getSingleMetricAsString('ct_uplink_items_dropped_total')).toMatch(
      /ct_uplink_items_dropped_total\{class="alert"\} 1/,
    );
  });

  it("packs to the hub's own limit when it is below uplink.maxEventBytes (Event Hubs Basic: 256 KiB)", async () => {
    hub = await startTestHub({ maxMessageBytes: 64 * 1024 });
    store = openStore();
    const s = store;
    // Incompressible bodies: 400 items of ~1.4 kB are far more than one 64 KiB event holds.
    s.transaction(() => {
      for (let i = 0; i < 400; i++)
        s.outbox.add(
          'alert',
          `alert:${i}`,
          { alertId: `alert:${i}`, message: randomBytes(1_000).toString('base64') },
          T0,
        );
    })();
    uplink = new Uplink(options(hub), {
      store: s,
      metrics: new GatewayMetrics(),
      logger: createLogger({ level: 'silent' }),
      now: Date.now,
    });
    uplink.start();
    await waitFor(
      () => s.outbox.stats(Date.now()).alert.rows === 0,
      15_000,
      'alerts drained to the small hub',
    );
    const events = await readAllEvents(hub.connectionString, hub.hubName);
    expect(events.length).toBeGreaterThan(5);
    expect(Math.max(...events.map((e) => e.bodyBytes))).toBeLessThanOrEqual(64 * 1024);
    const ids = new Set(events.flatMap((e) => (e.decoded.ok ? e.decoded.items.map((i) => i.id) : [])));
    expect(ids.size).toBe(400);
  });

  it('stops promptly even while the hub never answers', async () => {
    hub = await startTestHub();
    store = openStore();
    const s = store;
    s.transaction(() => s.outbox.add('alert', 'alert:1', { alertId: 'alert:1' }, T0))();
    const hang = (signal?: AbortSignal) =>
      new Promise<never>((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    uplink = new Uplink(options(hub, { sendTimeoutMs: 60_000 }), {
      store: s,
      metrics: new GatewayMetrics(),
      logger: createLogger({ level: 'silent' }),
      now: Date.now,
      createProducer: () => ({
        createBatch: (o) => hang(o.abortSignal),
        sendBatch: (_b, o) => hang(o?.abortSignal),
        getEventHubProperties: (o) => hang(o?.abortSignal),
        close: async () => undefined,
      }),
    });
    uplink.start();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await uplink.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
    uplink = undefined;
    expect(s.outbox.stats(Date.now()).alert.rows).toBe(1);
  });

  it('stops without waiting longer than closeWaitMs on a producer whose close never ends, and says so', async () => {
    hub = await startTestHub();
    store = openStore();
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'warn', destination });
    const real = new EventHubProducerClient(hub.connectionString, hub.hubName, { retryOptions: FAST_RETRY });
    uplink = new Uplink(options(hub), {
      store,
      metrics: new GatewayMetrics(),
      logger,
      now: Date.now,
      closeWaitMs: 300,
      createProducer: () => ({
        createBatch: (o) => real.createBatch(o),
        sendBatch: (b, o) => real.sendBatch(b, o),
        getEventHubProperties: (o) => real.getEventHubProperties(o),
        close: () => new Promise<void>(() => {}),
      }),
    });
    uplink.start();
    await waitFor(async () => (await uplink!.status()).connected, 10_000, 'the uplink connected');
    const t0 = Date.now();
    await uplink.stop();
    const took = Date.now() - t0;
    uplink = undefined;
    await real.close();
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2_000);
    expect(lines.map((l) => JSON.parse(l).msg)).toContain(
      'the Event Hubs producer did not close in time: stopping without it',
    );
  });
});
