/**
 * Simulated MQTT sensors: one real MQTT connection per device (its own credentials), each publishing the
 * model's readings as native JSON on devices/{id}/telemetry at its interval, spread over the interval so
 * the broker sees a steady stream rather than bursts.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { type SimDevice, sampleDevice, unitHash } from './model.ts';

export interface MqttSimOptions {
  url: string;
  devices: readonly SimDevice[];
  intervalMs: number;
  /** Device password; undefined connects without credentials (dev mode only). */
  password?: (deviceId: string) => string | undefined;
  qos?: 0 | 1;
  now?: () => number;
  onError?: (deviceId: string, err: Error) => void;
  /** Faults on demand, for demos and drills (the status page should show each). */
  faults?: SimFaults;
}

export interface SimFaults {
  /** These devices connect but never publish: they go stale, then offline. */
  quiet?: readonly string[];
  /** Every Nth publish of each device is a truncated JSON payload (refused as CT_ERR_NOT_JSON). */
  badPayloadEvery?: number;
  /** Every Nth publish of each device carries an impossible CO2 (refused as out of range). */
  outOfRangeEvery?: number;
}

export interface MqttSim {
  /** Readings acknowledged by the broker (QoS 1) or written to the socket (QoS 0). */
  readonly published: number;
  /** Faulty payloads sent on purpose (SimFaults). */
  readonly faulty: number;
  stop(): Promise<void>;
}

export function startMqttSimulator(opts: MqttSimOptions): MqttSim {
  const now = opts.now ?? Date.now;
  const qos = opts.qos ?? 1;
  const clients: MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  let published = 0;
  let faulty = 0;
  let stopped = false;
  const quiet = new Set(opts.faults?.quiet ?? []);
  const every = (n: number | undefined, count: number) => n !== undefined && n > 0 && count % n === 0;
  for (const dev of opts.devices) {
    const password = opts.password?.(dev.deviceId);
    const client = mqtt.connect(opts.url, {
      clientId: dev.deviceId,
      ...(password !== undefined ? { username: dev.deviceId, password } : {}),
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
    });
    client.on('error', (err) => opts.onError?.(dev.deviceId, err));
    clients.push(client);
    let count = 0;
    const publish = () => {
      if (stopped || !client.connected || quiet.has(dev.deviceId)) return;
      count++;
      const ts = now();
      const readings = sampleDevice(dev, ts);
      const n = Object.keys(readings).length;
      const topic = `devices/${dev.deviceId}/telemetry`;
      if (every(opts.faults?.badPayloadEvery, count)) {
        faulty++;
        client.publish(topic, JSON.stringify({ ts, readings }).slice(0, -2), { qos });
        return;
      }
      if (every(opts.faults?.outOfRangeEvery, count) && 'co2' in readings) {
        faulty++;
        client.publish(topic, JSON.stringify({ ts, readings: { ...readings, co2: 1e9 } }), { qos });
        return;
      }
      client.publish(topic, JSON.stringify({ ts, readings }), { qos }, (err) => {
        if (!err) published += n;
      });
    };
    // Spread the devices over the interval.
    const offset = Math.floor(unitHash(dev.deviceId, 'phase') * opts.intervalMs);
    timers.push(
      setTimeout(() => {
        publish();
        timers.push(setInterval(publish, opts.intervalMs));
      }, offset),
    );
  }
  return {
    get published() {
      return published;
    },
    get faulty() {
      return faulty;
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    },
  };
}
