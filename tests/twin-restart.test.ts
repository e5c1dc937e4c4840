/**
 * Twin state survives a restart: the lowdb checkpoint plus a replay of journal rows received after it.
 * The "crash" drops the process state without the final checkpoint a clean stop would write.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { ALWAYS_USUAL, getJson, startTestGateway, tempDir, waitFor } from './helpers/gateway.ts';

interface Room {
  latest: Record<string, { value: number; ts: number }>;
  occupied: boolean;
  basis: string;
  comfort: { level: string };
}

describe('twin restart', () => {
  it('restores rooms from the checkpoint and replays readings journaled after it', async () => {
    const dataDir = tempDir();
    const overrides = { twin: { ...ALWAYS_USUAL, checkpointIntervalMs: 200 } };
    const a = await startTestGateway(overrides, { dataDir });
    const client = await mqtt.connectAsync(a.mqttUrl, { username: 'occ-1', password: testPassword('occ-1') });
    const t0 = Date.now() - 5000;
    await client.publishAsync(
      'devices/occ-1/telemetry',
      JSON.stringify({ ts: t0, readings: { occupancy_count: 12 } }),
      { qos: 1 },
    );
    const env = await mqtt.connectAsync(a.mqttUrl, { username: 'env-1', password: testPassword('env-1') });
    await env.publishAsync('devices/env-1/telemetry', JSON.stringify({ ts: t0, readings: { co2: 700 } }), {
      qos: 1,
    });
    await env.publishAsync('devices/env-1/status', JSON.stringify({ battery: 64, rssi: -70 }), { qos: 1 });
    // wait for a checkpoint to hold the first readings
    await new Promise((r) => setTimeout(r, 1500));
    // journaled after the last checkpoint, then the process "dies" without checkpointing again
    await env.publishAsync(
      'devices/env-1/telemetry',
      JSON.stringify({ ts: t0 + 1000, readings: { co2: 1750 } }),
      { qos: 1 },
    );
    await client.endAsync();
    await env.endAsync();
    const before = await getJson<Room>(`${a.httpUrl}/api/rooms/r-101`);
    expect(before.latest.co2?.value).toBe(1750);
    await a.gw.mqtt.stop();
    await a.gw.http.close();
    a.gw.pipeline.store.close(); // no pipeline.stop(): no final checkpoint

    const b = await startTestGateway(overrides, { dataDir });
    try {
      const after = await waitFor(async () => {
        const r = await getJson<Room>(`${b.httpUrl}/api/rooms/r-101`);
        return r.latest.co2 ? r : undefined;
      });
      expect(after.latest.occupancy_count?.value).toBe(12);
      expect(after.occupied).toBe(true);
      expect(after.basis).toBe('occupancy_count');
      expect(after.latest.co2).toMatchObject({ value: 1750, ts: t0 + 1000 });
      expect(after.comfort.level).toBe('alert');
      const devices = await getJson<{ devices: { deviceId: string; status: unknown }[] }>(
        `${b.httpUrl}/api/devices`,
      );
      expect(devices.devices.find((d) => d.deviceId === 'env-1')?.status).toMatchObject({
        batteryPct: 64,
        rssiDbm: -70,
      });
    } finally {
      await b.stop();
    }
  });
});
