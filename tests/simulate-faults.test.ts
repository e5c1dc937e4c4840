/**
 * The simulator's faults on demand against a real gateway: a quiet device never reports (offline on the
 * status API), truncated payloads and impossible values are refused with their codes, and the healthy
 * readings keep flowing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simDevicesFrom, startMqttSimulator } from '../shared/simulate/index.ts';
import { testCampus, testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway } from './helpers/gateway.ts';

interface Device {
  deviceId: string;
  health: string;
  lastSeen: number | null;
  rejected: Record<string, number>;
}

describe('simulator faults on demand', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('quiet devices, truncated payloads and out-of-range values show on the gateway by code', async () => {
    const devices = simDevicesFrom(await testCampus()).filter((d) => d.deviceId.startsWith('env-'));
    const sim = startMqttSimulator({
      url: t.mqttUrl,
      devices,
      intervalMs: 100,
      password: testPassword,
      faults: { quiet: ['env-2'], badPayloadEvery: 3, outOfRangeEvery: 5 },
    });
    try {
      await expect
        .poll(
          async () => {
            // Every publishing device has sent both kinds of fault (each on its own phase).
            const { devices: ds } = await getJson<{ devices: Device[] }>(`${t.httpUrl}/api/devices`);
            return ['env-1', 'env-3', 'env-4'].every((id) => {
              const d = ds.find((x) => x.deviceId === id)!;
              return (d.rejected.CT_ERR_NOT_JSON ?? 0) > 0 && (d.rejected.CT_ERR_OUT_OF_RANGE ?? 0) > 0;
            });
          },
          { timeout: 10_000 },
        )
        .toBe(true);
    } finally {
      await sim.stop();
    }
    const { devices: ds } = await getJson<{ devices: Device[] }>(`${t.httpUrl}/api/devices`);
    const quiet = ds.find((d) => d.deviceId === 'env-2')!;
    expect(quiet.lastSeen).toBeNull();
    expect(quiet.health).toBe('offline');
    expect(quiet.rejected).toEqual({});
    for (const id of ['env-1', 'env-3', 'env-4']) {
      const d = ds.find((x) => x.deviceId === id)!;
      expect(d.health, id).toBe('online');
      expect(Object.keys(d.rejected).sort(), id).toEqual(['CT_ERR_NOT_JSON', 'CT_ERR_OUT_OF_RANGE']);
    }
    expect(sim.faulty).toBeGreaterThan(0);
    expect(sim.published).toBeGreaterThan(0);
    const status = await getJson<{ readings: { accepted: Record<string, number> } }>(
      `${t.httpUrl}/api/status`,
    );
    // At least every reading the simulator saw acknowledged (an out-of-range CO2 refuses that reading
    // only: its payload's other channels are accepted too).
    expect(status.readings.accepted.mqtt).toBeGreaterThanOrEqual(sim.published);
  });
});
