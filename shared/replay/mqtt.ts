/**
 * Replays rows through the gateway's real MQTT ingest: one authenticated connection per device, QoS 1
 * publishes of `{ts, readings}` in time order, at most `maxInFlight` unacknowledged, either as fast as the
 * broker acknowledges or paced at `speed` × real time by the rows' own time gaps. Refusals are not visible
 * in MQTT 3.1.1 (a refused payload is still acknowledged): `countRefusals` reads them from the gateway's
 * /metrics before and after.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { metricSamples } from '../prometheus-text.ts';
import type { ReplayRow } from './parse.ts';

export interface ReplayOptions {
  mqttUrl: string;
  /** The device's password; undefined connects without credentials (a dev-mode gateway). */
  password: (deviceId: string) => string | undefined;
  topic: 'telemetry' | 'backfill';
  /** 0: as fast as acknowledgements come; otherwise this many times real time. */
  speed: number;
  /** Added to every row's time (a live replay moves the first row to now). */
  shiftMs: number;
  maxInFlight: number;
  onProgress?: (acknowledged: number) => void;
}

export interface ReplayResult {
  sent: number;
  acknowledged: number;
  failed: number;
  /** The first few failures, in words. */
  failures: string[];
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function replayOverMqtt(rows: readonly ReplayRow[], opts: ReplayOptions): Promise<ReplayResult> {
  const ordered = [...rows].sort((a, b) => a.ts - b.ts);
  const clients = new Map<string, MqttClient>();
  const result: ReplayResult = { sent: 0, acknowledged: 0, failed: 0, failures: [], seconds: 0 };
  const started = performance.now();
  try {
    for (const id of new Set(ordered.map((r) => r.deviceId))) {
      const password = opts.password(id);
      const client = mqtt.connect(opts.mqttUrl, {
        clientId: `${id}-replay-${Math.random().toString(36).slice(2, 8)}`,
        ...(password === undefined ? {} : { username: id, password }),
        reconnectPeriod: 0,
      });
      // Held before it connects, so that a refused login is closed too (finally below).
      clients.set(id, client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', (err) => reject(new Error(`${id}: ${err.message}`)));
        client.once('close', () => reject(new Error(`${id}: connection closed before CONNACK`)));
      });
    }
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const settled = () => {
      inFlight--;
      wake?.();
    };
    const first = ordered[0]?.ts ?? 0;
    for (const row of ordered) {
      if (opts.speed > 0) {
        const due = (row.ts - first) / opts.speed - (performance.now() - started);
        if (due > 0) await sleep(due);
      }
      while (inFlight >= opts.maxInFlight) await new Promise<void>((r) => (wake = r));
      inFlight++;
      result.sent++;
      const payload = JSON.stringify({ ts: row.ts + opts.shiftMs, readings: row.readings });
      clients
        .get(row.deviceId)!
        .publishAsync(`devices/${row.deviceId}/${opts.topic}`, payload, { qos: 1 })
        .then(
          () => {
            result.acknowledged++;
            opts.onProgress?.(result.acknowledged);
          },
          (err: unknown) => {
            result.failed++;
            if (result.failures.length < 5)
              result.failures.push(`${row.deviceId} @ ${new Date(row.ts).toISOString()}: ${String(err)}`);
          },
        )
        .finally(settled);
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  } finally {
    await Promise.all([...clients.values()].map((c) => c.endAsync(true).catch(() => undefined)));
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** The gateway's MQTT refusals by code, from its Prometheus text (public /metrics). */
export async function mqttRefusals(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const [labels, n] of metricSamples(text, 'ct_readings_rejected_total')) {
    const code = labels.code;
    if (labels.source === 'mqtt' && code) out[code] = (out[code] ?? 0) + n;
  }
  return out;
}
