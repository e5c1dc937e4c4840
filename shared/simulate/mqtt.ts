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
}

export interface MqttSim {
  /** Readings acknowledged by the broker (QoS 1) or written to the socket (QoS 0). */
  readonly published: number;
  stop(): Promise<void>;
}

export function startMqttSimulator(opts: MqttSimOptions): MqttSim {
  const now = opts.now ?? Date.now;
  const qos = opts.qos ?? 1;
  const clients: MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  let published = 0;
  let stopped = false;
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
    const publish = () => {
      if (stopped || !client.connected) return;
      const ts = now();
      const readings = sampleDevice(dev, ts);
      const n = Object.keys(readings).length;
      client.publish(
        `devices/${dev.deviceId}/telemetry`,
        JSON.stringify({ ts, readings }),
        { qos },
        (err) => {
          if (!err) published += n;
        },
      );
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
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    },
  };
}
