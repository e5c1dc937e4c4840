/** Publish readings from test devices over real MQTT connections (QoS 1), each with its own credentials. */
import mqtt from 'mqtt';
import { testPassword } from './campus.ts';

export interface PublishPlan {
  devices: readonly string[];
  /** Readings in all, round-robin over the devices. */
  n: number;
  /** Event time of the first round; each round of one reading per device is `spacingMs` later. */
  start: number;
  spacingMs?: number;
  /** The payload's readings for the i-th publish. */
  readings: (i: number) => Record<string, number>;
}

/** Resolves when every publish is acknowledged. (device, ts) pairs are distinct, so none is a duplicate. */
export async function publishReadings(mqttUrl: string, plan: PublishPlan): Promise<void> {
  const { devices } = plan;
  const clients = await Promise.all(
    devices.map((id) =>
      mqtt.connectAsync(mqttUrl, {
        clientId: `${id}-${Math.random().toString(36).slice(2, 8)}`,
        username: id,
        password: testPassword(id),
        reconnectPeriod: 0,
      }),
    ),
  );
  try {
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < plan.n; i++) {
      const k = i % devices.length;
      const ts = plan.start + Math.floor(i / devices.length) * (plan.spacingMs ?? 1);
      sends.push(
        clients[k]!.publishAsync(
          `devices/${devices[k]}/telemetry`,
          JSON.stringify({ ts, readings: plan.readings(i) }),
          { qos: 1 },
        ),
      );
    }
    await Promise.all(sends);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}
