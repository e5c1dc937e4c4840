/**
 * Event time through the real MQTT path (issue "Room twin that is right", acceptance 1): four hours of the
 * UCI office (February 2015) published to `devices/env-1/backfill` with their original timestamps give the
 * same occupancy history, change for change and minute for minute, as the same rows stamped to end now and
 * published as live telemetry. The old data is journalled although far older than the retention, goes out
 * as one late correction per window (not one per reading), and the same rows on the telemetry topic are
 * refused with CT_ERR_TS_TOO_OLD and a hint.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Aggregate, TwinChange } from '../shared/events.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway, waitFor } from './helpers/gateway.ts';
import { loadUciRows, type UciRow } from './helpers/uci.ts';

const MIN = 60_000;
const WINDOW_MS = 10 * MIN;
// 240 minutes from the first evening with people arriving and leaving (rows 1 … 240 of the training file).
const ROWS = loadUciRows().slice(0, 240);
const CHANNELS = ['temperature', 'humidity', 'light', 'co2'] as const;

async function publish(url: string, topic: 'telemetry' | 'backfill', rows: UciRow[], shift: number) {
  const client = await mqtt.connectAsync(url, {
    clientId: `env-1-${topic}-${Math.random().toString(36).slice(2, 8)}`,
    username: 'env-1',
    password: testPassword('env-1'),
    reconnectPeriod: 0,
  });
  try {
    // In order, acknowledged one by one: as a device emptying its buffer would send them.
    for (const r of rows) {
      const readings = Object.fromEntries(CHANNELS.map((c) => [c, r[c]]));
      await client.publishAsync(`devices/env-1/${topic}`, JSON.stringify({ ts: r.ts + shift, readings }), {
        qos: 1,
      });
    }
  } finally {
    await client.endAsync();
  }
}

function occupancyHistory(gw: TestGateway, origin: number) {
  return gw.gw.pipeline.store.outbox
    .peek('twin', 10_000)
    .map((r) => JSON.parse(r.body) as TwinChange)
    .filter((c) => c.kind === 'occupancy' && c.roomId === 'r-101')
    .map((c) => ({ from: c.from, to: c.to, at: c.ts - origin, reasons: c.reasons }));
}

describe('backfill of 2015 data over MQTT, in event time', () => {
  let old: TestGateway;
  let live: TestGateway;
  const config = { aggregate: { windowMs: WINDOW_MS, allowedLatenessMs: 2000 } };
  // The live copy ends a minute ago, inside the 6 h retention.
  const shift = Date.now() - MIN - ROWS.at(-1)!.ts;

  beforeAll(async () => {
    [old, live] = await Promise.all([startTestGateway(config), startTestGateway(config)]);
    // Once the gateways have closed their first windows (a second after start), anything older is late.
    await waitFor(() => old.gw.pipeline.store.closedUntil > 0, 5000, 'the first close');
    await Promise.all([
      publish(old.mqttUrl, 'backfill', ROWS, 0),
      publish(live.mqttUrl, 'telemetry', ROWS, shift),
    ]);
  });
  afterAll(async () => {
    await old?.stop();
    await live?.stop();
  });

  it('journals every old reading although it is years older than the retention', () => {
    const rows = [...old.gw.pipeline.store.rowsSince(0)].filter((r) => r.deviceId === 'env-1');
    expect(rows).toHaveLength(ROWS.length * CHANNELS.length);
    expect(rows[0]).toMatchObject({ ts: ROWS[0]!.ts, source: 'replay' });
  });

  it('gives the same occupancy history as the same rows live', () => {
    const replayed = occupancyHistory(old, ROWS[0]!.ts);
    const lived = occupancyHistory(live, ROWS[0]!.ts + shift);
    expect(replayed.length).toBeGreaterThanOrEqual(2);
    expect(replayed).toEqual(lived);
    // Stamped with the time it happened in the room, in February 2015.
    const first = old.gw.pipeline.store.outbox
      .peek('twin', 10_000)
      .map((r) => JSON.parse(r.body) as TwinChange)
      .find((c) => c.kind === 'occupancy')!;
    expect(new Date(first.ts).toISOString().slice(0, 7)).toBe('2015-02');
  });

  it('sends the old data as one late correction per window, every reading counted once', async () => {
    const windows = new Set(CHANNELS.flatMap((c) => ROWS.map((r) => `${c}:${Math.floor(r.ts / WINDOW_MS)}`)));
    const late = await waitFor(
      () => {
        const a = old.gw.pipeline.store.outbox
          .peek('aggregate', 10_000)
          .map((r) => JSON.parse(r.body) as Aggregate)
          .filter((x) => x.late);
        return a.length === windows.size ? a : undefined;
      },
      15_000,
      'one correction per window',
    );
    expect(late.reduce((n, a) => n + a.count, 0)).toBe(ROWS.length * CHANNELS.length);
    expect(old.gw.pipeline.store.pendingLateWindows).toBe(0);
    const co2 = late.filter((a) => a.channel === 'co2').sort((a, b) => a.windowStart - b.windowStart);
    const firstWindow = ROWS.filter((r) => Math.floor(r.ts / WINDOW_MS) === co2[0]!.windowStart / WINDOW_MS);
    expect(co2[0]).toMatchObject({
      count: firstWindow.length,
      min: Math.min(...firstWindow.map((r) => r.co2)),
      max: Math.max(...firstWindow.map((r) => r.co2)),
    });
  });

  it('refuses the same old rows on the telemetry topic, saying where they belong', async () => {
    await publish(old.mqttUrl, 'telemetry', ROWS.slice(0, 1), 0);
    const q = await getJson<{ items: { code: string; message: string; topic: string }[] }>(
      `${old.httpUrl}/api/quarantine`,
    );
    const refused = q.items.find((i) => i.code === 'CT_ERR_TS_TOO_OLD');
    expect(refused?.topic).toBe('devices/env-1/telemetry');
    expect(refused?.message).toMatch(/publish it to devices\/env-1\/backfill/);
  });
});
