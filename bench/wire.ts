/**
 * `wire`: what the uplink costs on the wire. 10,000 sensors report every 10 s for 20 simulated minutes
 * (60 s windows); every event that reaches the local hub is read back through the SDK and counted.
 * Baseline, same run: a forwarder that sends one event per reading (Telegraf's event_hubs output with its
 * JSON serializer), sent to the same hub and read back the same way.
 * Figures: bytes on the wire per raw reading (event bodies + our application properties) and Event Hubs
 * events per million readings; ratio = ours / baseline (lower is better).
 */
import { EventHubProducerClient } from '@azure/event-hubs';
import { aggregateTotals, readAllEvents } from '../tests/helpers/eventhub.ts';
import { removeDir } from './lib/children.ts';
import { emit, progress, round, sleep } from './lib/report.ts';
import { HUB, outboxReadings, startRig } from './lib/uplink-rig.ts';

const SIM_MINUTES = 20;
const BASELINE_HUB = 'baseline';
const BASELINE_READINGS = 20_000;

export async function run(): Promise<void> {
  const rig = await startRig({ hubRunning: true, extraHubs: [BASELINE_HUB] });
  try {
    progress('wire', `simulating ${SIM_MINUTES} min of 10,000 sensors every 10 s`);
    const t0 = Date.now();
    for (let i = 0; i < SIM_MINUTES * 6; i++) await rig.step();
    // Let the last windows close (60 s window + 120 s allowed lateness) and the outbox drain.
    for (let i = 0; i < 24; i++) {
      rig.clock.now += 10_000;
      rig.gw.pipeline.tick();
    }
    while (rig.gw.pipeline.windows.size > 0 || (await rig.gw.uplink!.status()).backlog.rows > 0)
      await sleep(200);
    progress('wire', `simulated and sent in ${((Date.now() - t0) / 1000).toFixed(1)} s`, {
      readings: rig.submitted,
      left: outboxReadings(rig.gw),
    });

    const events = await readAllEvents(rig.hub.connectionString(), HUB);
    const totals = aggregateTotals(events);
    const bytes = events.reduce((a, e) => a + e.bodyBytes + JSON.stringify(e.properties).length, 0);
    const journalCheck =
      totals.count === rig.submitted ? 'ok' : `MISMATCH ${totals.count} != ${rig.submitted}`;
    const byClass: Record<string, number> = {};
    for (const e of events)
      byClass[String(e.properties.schema)] = (byClass[String(e.properties.schema)] ?? 0) + 1;

    // Baseline: one event per reading, JSON the way Telegraf's json serializer writes a metric.
    const producer = new EventHubProducerClient(rig.hub.connectionString(), BASELINE_HUB, {
      retryOptions: { maxRetries: 2, timeoutInMs: 30_000 },
    });
    let batch = await producer.createBatch();
    const step = Math.max(1, Math.floor(rig.devices.length / (BASELINE_READINGS / 4)));
    let sent = 0;
    for (let i = 0; sent < BASELINE_READINGS; i += step) {
      const d = rig.devices[i % rig.devices.length]!;
      for (const ch of d.channels) {
        const metric = {
          fields: { value: 400 + (sent % 500) + 0.25 },
          name: ch.quantity,
          tags: { device: d.deviceId, channel: ch.name, room: d.roomId, host: 'gw-bench' },
          timestamp: Math.floor((rig.clock.now + sent) / 1000),
        };
        const event = { body: Buffer.from(JSON.stringify(metric)) };
        if (!batch.tryAdd(event)) {
          await producer.sendBatch(batch);
          batch = await producer.createBatch();
          batch.tryAdd(event);
        }
        sent++;
      }
    }
    if (batch.count) await producer.sendBatch(batch);
    await producer.close();
    const baselineEvents = await readAllEvents(rig.hub.connectionString(), BASELINE_HUB);
    const baselineBytes = baselineEvents.reduce((a, e) => a + e.bodyBytes, 0) / baselineEvents.length;

    const perReading = bytes / rig.submitted;
    const eventsPerMillion = (events.length / rig.submitted) * 1e6;
    emit({
      name: 'wire',
      value: round(perReading, 2),
      unit: 'bytes/reading',
      baseline: round(baselineBytes, 1),
      ratio: round(perReading / baselineBytes, 4),
      eventsPerMillionReadings: round(eventsPerMillion, 1),
      baselineEventsPerMillionReadings: round((baselineEvents.length / sent) * 1e6, 0),
      readings: rig.submitted,
      events: events.length,
      eventsByClass: byClass,
      aggregateItems: totals.items,
      journalCheck,
    });
  } finally {
    await rig.stop();
    removeDir(rig.dir);
  }
}
