/**
 * Gateway → local hub through the real @azure/event-hubs producer: every acknowledged reading reaches
 * Event Hubs inside exactly one window aggregate, events respect the size limit, and an outage of the
 * hub only grows the backlog, which drains when the hub returns.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { aggregateTotals, readAllEvents } from './helpers/eventhub.ts';
import { getJson, startTestGateway, type TestGateway, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub, uplinkConfig } from './helpers/hub.ts';
import { publishReadings } from './helpers/publish.ts';

const DEVICES = ['env-1', 'env-2', 'env-3', 'env-4'];

/** Publish `n` readings (QoS 1) with distinct (device, ts); resolves when all are acknowledged. */
function publish(mqttUrl: string, n: number, start = Date.now(), spacingMs = 1): Promise<void> {
  return publishReadings(mqttUrl, {
    devices: DEVICES,
    n,
    start,
    spacingMs,
    readings: (i) => ({ co2: 400 + (i % 300) }),
  });
}

interface UplinkStatusJson {
  uplink: {
    state: string;
    connected: boolean;
    lastError: string | null;
    lastSuccessAt: number | null;
    backlog: { rows: number; bytes: number; oldestAgeMs: number | null };
    drainRateItemsPerSec: number;
    etaSeconds: number | null;
    sent: { events: number; items: number; bytes: number };
  };
}

describe('uplink to the local hub', () => {
  let hub: TestHub | undefined;
  let t: TestGateway | undefined;
  afterEach(async () => {
    await t?.stop();
    await hub?.stop();
    t = undefined;
    hub = undefined;
  });

  it('delivers every reading inside exactly one aggregate, gzip batches keyed by gateway', async () => {
    hub = await startTestHub();
    t = await startTestGateway(uplinkConfig(hub));
    const N = 4_000;
    await publish(t.mqttUrl, N);
    await waitFor(
      async () =>
        (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink.sent.items > 0 &&
        t!.gw.pipeline.store.outbox.stats(Date.now()).aggregate.rows === 0 &&
        t!.gw.pipeline.windows.size === 0,
      15_000,
      'all windows closed and sent',
    );
    const events = await readAllEvents(hub.connectionString, hub.hubName);
    expect(events.every((e) => e.decoded.ok)).toBe(true);
    // Partition key = gateway id: one partition holds everything.
    expect(new Set(events.map((e) => e.partitionId)).size).toBe(1);
    expect(events.every((e) => e.properties.gatewayId === 'gw-uplink')).toBe(true);
    const totals = aggregateTotals(events);
    expect(totals.count).toBe(N);
    expect(totals.items).toBe(totals.ids.size);
    const status = await getJson<UplinkStatusJson>(`${t.httpUrl}/api/status`);
    expect(status.uplink).toMatchObject({ state: 'connected', connected: true, lastError: null });
    expect(status.uplink.sent.events).toBeGreaterThanOrEqual(events.length);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_uplink_items_total\{class="aggregate"\} \d+/);
  });

  it('never sends an event above uplink.maxEventBytes', async () => {
    hub = await startTestHub();
    t = await startTestGateway(uplinkConfig(hub, { maxEventBytes: 4096 }));
    const N = 3_000;
    // Spread over the last minute: 60 windows × 4 sensors, more than one small event holds.
    await publish(t.mqttUrl, N, Date.now() - 60_000, 80);
    await waitFor(
      () =>
        t!.gw.pipeline.store.outbox.stats(Date.now()).aggregate.rows === 0 &&
        t!.gw.pipeline.windows.size === 0,
      15_000,
      'outbox drained',
    );
    const events = await readAllEvents(hub.connectionString, hub.hubName);
    const aggregateEvents = events.filter((e) => e.properties.schema === 'campus-twin.aggregate.v1');
    expect(aggregateEvents.length).toBeGreaterThan(1);
    expect(Math.max(...events.map((e) => e.bodyBytes))).toBeLessThanOrEqual(4096);
    expect(aggregateTotals(events).count).toBe(N);
  });

  it('keeps ingesting through a hub outage; the backlog grows, then drains to exactly N', async () => {
    hub = await startTestHub();
    t = await startTestGateway(uplinkConfig(hub));
    // Each round's event times are distinct from the others' (a repeated (sensor, ts) is one reading).
    let start = Date.now();
    const nextStart = () => {
      start = Math.max(Date.now(), start + 1_000);
      return start;
    };
    const first = 1_000;
    await publish(t.mqttUrl, first, start);
    // Delivered means: no window open, no late correction pending, nothing left in the outbox.
    const settled = () =>
      t!.gw.pipeline.windows.size === 0 &&
      t!.gw.pipeline.store.pendingLateWindows === 0 &&
      t!.gw.pipeline.store.outbox.stats(Date.now()).aggregate.rows === 0;
    await waitFor(settled, 10_000, 'first drain');

    await hub.stop({ keepData: true });
    const second = 1_000;
    await publish(t.mqttUrl, second, nextStart());
    const down = await waitFor(
      async () => {
        const s = (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink;
        return s.state === 'disconnected' && s.backlog.rows > 0 && s.lastError ? s : undefined;
      },
      15_000,
      'uplink down with a backlog',
    );
    expect(down.connected).toBe(false);
    // Readings keep coming while the hub is away: they are acknowledged and the backlog grows.
    const third = 1_000;
    await publish(t.mqttUrl, third, nextStart());
    const grown = await waitFor(
      async () => {
        const s = (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink;
        return s.backlog.rows > down.backlog.rows ? s : undefined;
      },
      10_000,
      'backlog growing',
    );
    expect(grown.backlog.oldestAgeMs).toBeGreaterThan(0);

    await hub.restart!();
    const drained = await waitFor(
      async () => {
        const s = (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink;
        return s.connected && s.backlog.rows === 0 && settled() ? s : undefined;
      },
      20_000,
      'backlog drained',
    );
    expect(drained.lastSuccessAt).toBeGreaterThan(grown.lastSuccessAt ?? 0);
    expect(drained.etaSeconds).toBe(0);
    const events = await readAllEvents(hub.connectionString, hub.hubName);
    expect(aggregateTotals(events).count).toBe(first + second + third);
  });

  it('notices an outage with nothing to send (an idle probe), and the hub coming back', async () => {
    hub = await startTestHub();
    t = await startTestGateway(uplinkConfig(hub, { idleProbeMs: 300 }));
    const status = async () => (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink;
    await waitFor(
      async () => ((await status()).state === 'connected' ? true : undefined),
      10_000,
      'connected',
    );
    await hub.stop({ keepData: true });
    // No reading was published: only the probe can tell.
    const down = await waitFor(
      async () => {
        const s = await status();
        return s.state === 'disconnected' ? s : undefined;
      },
      10_000,
      'disconnected without traffic',
    );
    expect(down.backlog.rows).toBe(0);
    expect(down.lastError).toBeTruthy();
    expect(down.sent.events).toBe(0);
    await hub.restart!();
    await waitFor(async () => ((await status()).state === 'connected' ? true : undefined), 15_000, 'back');
  });

  it('after an outage, live data overtakes the capped backlog drain', async () => {
    hub = await startTestHub();
    t = await startTestGateway(
      uplinkConfig(hub, { maxEventBytes: 4096, liveWindowMs: 1_500, backlogBytesPerSec: 6_000 }),
    );
    await hub.stop({ keepData: true });
    // A backlog of many small events: one reading per sensor and 1 s window over the last 10 minutes
    // (about 2,000 items whether they land in open windows or as late corrections).
    const backlogStart = Date.now() - 610_000;
    await publish(t.mqttUrl, 2_000, backlogStart, 1_200);
    await waitFor(
      () =>
        t!.gw.pipeline.windows.size === 0 && t!.gw.pipeline.store.outbox.stats(Date.now()).aggregate.rows > 0,
      10_000,
      'backlog queued',
    );
    await new Promise((r) => setTimeout(r, 1_600)); // it is backlog now (older than liveWindowMs)
    await hub.restart!();
    const liveStart = Date.now();
    await publish(t.mqttUrl, 400, liveStart);
    const draining = await waitFor(
      async () => {
        const s = (await getJson<UplinkStatusJson>(`${t!.httpUrl}/api/status`)).uplink;
        return s.connected && s.drainRateItemsPerSec > 0 && s.backlog.rows > 0 ? s : undefined;
      },
      15_000,
      'drain under way',
    );
    expect(draining.etaSeconds).toBeGreaterThan(0);
    await waitFor(
      () =>
        t!.gw.pipeline.windows.size === 0 &&
        t!.gw.pipeline.store.outbox.stats(Date.now()).aggregate.rows === 0,
      60_000,
      'everything sent',
    );
    const events = (await readAllEvents(hub.connectionString, hub.hubName))
      .filter((e) => e.decoded.ok && e.decoded.header.cls === 'aggregate')
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    const isLive = (e: (typeof events)[number]) =>
      e.decoded.ok && e.decoded.items.some((i) => (i.body.windowStart as number) >= liveStart - 1_000);
    const firstLive = events.findIndex(isLive);
    const lastBacklog = events.map((e) => !isLive(e)).lastIndexOf(true);
    expect(firstLive).toBeGreaterThanOrEqual(0);
    // The live windows went out while backlog events were still waiting their turn.
    expect(firstLive).toBeLessThan(lastBacklog);
    expect(aggregateTotals(events).count).toBe(2_400);
  });
});
