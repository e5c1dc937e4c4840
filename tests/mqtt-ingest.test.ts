/**
 * Acceptance 1 and 3 of the gateway core: real MQTT clients (Debian's mosquitto_pub and mqtt.js) publish
 * QoS 1 readings with device credentials; the room twin and the closed aggregates show them. Wrong
 * passwords, unknown devices and other devices' topics are refused and counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Aggregate } from '../shared/events.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway, waitFor } from './helpers/gateway.ts';

const run = promisify(execFile);

async function mosquittoPub(port: number, user: string, password: string, topic: string, message: string) {
  try {
    const { stdout, stderr } = await run(
      'mosquitto_pub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        user,
        '-P',
        password,
        '-q',
        '1',
        '-t',
        topic,
        '-m',
        message,
        '-i',
        `pub-${user}`,
      ],
      { timeout: 10_000 },
    );
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function aggregates(t: TestGateway): Aggregate[] {
  return t.gw.pipeline.store.outbox.peek('aggregate', 10_000).map((r) => JSON.parse(r.body) as Aggregate);
}

describe('MQTT ingest with device credentials', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ aggregate: { windowMs: 1000, allowedLatenessMs: 300 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('mosquitto_pub and mqtt.js readings reach the room twin and the closed aggregates', async () => {
    const ts = Date.now() - 2000;
    const pub = await mosquittoPub(
      t.gw.ports.mqtt,
      'env-1',
      testPassword('env-1'),
      'devices/env-1/telemetry',
      JSON.stringify({ ts, readings: { temperature: 22.5, co2: 1620 } }),
    );
    expect(pub.code, pub.output).toBe(0);

    const client = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-2',
      password: testPassword('env-2'),
      clientId: 'js-env-2',
    });
    for (let i = 0; i < 5; i++) {
      await client.publishAsync(
        'devices/env-2/telemetry',
        JSON.stringify({ ts: ts + i, readings: { temperature: 20 + i } }),
        { qos: 1 },
      );
    }
    // SenML from the same client, RFC 8428 §5.1.2 style
    await client.publishAsync(
      'devices/env-2/telemetry',
      JSON.stringify([{ bn: 'urn:dev:id:env-2:', bt: (ts + 100) / 1000, n: 'humidity', u: '%RH', v: 41 }]),
      { qos: 1 },
    );
    await client.endAsync();

    const room = await waitFor(
      async () => {
        const r = await getJson<{
          latest: Record<string, { value: number }>;
          comfort: { level: string; reasons: string[] };
          occupancy: {
            occupied: boolean;
            probability: number | null;
            basis: string;
            reasons: string[];
            since: number | null;
          };
        }>(`${t.httpUrl}/api/rooms/r-101`);
        return r.latest.temperature ? r : undefined;
      },
      5000,
      'room r-101 twin',
    );
    expect(room.latest.temperature?.value).toBe(22.5);
    expect(room.latest.co2?.value).toBe(1620);
    expect(room.comfort.level).toBe('alert');
    expect(room.comfort.reasons.join(' ')).toMatch(/co2/);
    // 1620 ppm far over the empty-room baseline: occupied on CO2, with the probability and why.
    expect(room.occupancy).toMatchObject({ occupied: true, basis: 'co2', since: expect.any(Number) });
    expect(room.occupancy.probability).toBeGreaterThan(0.65);
    expect(room.occupancy.reasons.join(' ')).toMatch(/co2 1620 ppm/);

    const closed = await waitFor(
      () => {
        const a = aggregates(t);
        return a.filter((x) => x.deviceId === 'env-2' && x.channel === 'temperature').length > 0 &&
          a.some((x) => x.deviceId === 'env-1')
          ? a
          : undefined;
      },
      5000,
      'closed aggregates',
    );
    const env2 = closed.filter((a) => a.deviceId === 'env-2' && a.channel === 'temperature');
    expect(env2.reduce((s, a) => s + a.count, 0)).toBe(5);
    expect(Math.min(...env2.map((a) => a.min))).toBe(20);
    expect(Math.max(...env2.map((a) => a.max))).toBe(24);
    expect(closed.find((a) => a.deviceId === 'env-2' && a.channel === 'humidity')?.sum).toBe(41);
    expect(closed.find((a) => a.deviceId === 'env-1' && a.channel === 'co2')).toMatchObject({
      count: 1,
      sum: 1620,
    });

    const status = await getJson<{ readings: { accepted: Record<string, number> } }>(
      `${t.httpUrl}/api/status`,
    );
    expect(status.readings.accepted.mqtt).toBe(8);
  });

  it('a redelivered reading is acknowledged again but stored and counted once', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'env-3', password: testPassword('env-3') });
    const body = JSON.stringify({ ts: Date.now() - 1000, readings: { light: 300 } });
    for (let i = 0; i < 3; i++) await client.publishAsync('devices/env-3/telemetry', body, { qos: 1 });
    await client.endAsync();
    const status = await getJson<{ readings: { duplicates: Record<string, number> } }>(
      `${t.httpUrl}/api/status`,
    );
    expect(status.readings.duplicates.mqtt).toBe(2);
    await waitFor(() => aggregates(t).some((a) => a.deviceId === 'env-3'), 5000, 'env-3 aggregate');
    expect(
      aggregates(t)
        .filter((a) => a.deviceId === 'env-3')
        .reduce((s, a) => s + a.count, 0),
    ).toBe(1);
  });

  it('journals QoS 2 readings before PUBREC, and QoS 0 readings too', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'occ-1', password: testPassword('occ-1') });
    const ts = Date.now() - 1000;
    await client.publishAsync(
      'devices/occ-1/telemetry',
      JSON.stringify({ ts, readings: { occupancy_count: 7 } }),
      { qos: 2 },
    );
    const journaled = (t2: number) =>
      [...t.gw.pipeline.store.rowsSince(t2 - 1)].filter((r) => r.deviceId === 'occ-1' && r.ts === t2).length;
    expect(journaled(ts)).toBe(1); // the QoS 2 flow completed only after the write
    await client.publishAsync(
      'devices/occ-1/telemetry',
      JSON.stringify({ ts: ts + 1, readings: { occupancy_count: 8 } }),
      { qos: 0 },
    );
    await client.endAsync();
    await waitFor(() => journaled(ts + 1) === 1, 5000, 'QoS 0 reading journaled');
  });

  it('takes device status on devices/{id}/status and quarantines a bad one', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, {
      username: 'meter-1',
      password: testPassword('meter-1'),
    });
    await client.publishAsync(
      'devices/meter-1/status',
      JSON.stringify({ battery: 87, rssi: -67, faults: ['ct_clamp_open'] }),
      { qos: 1 },
    );
    await client.publishAsync('devices/meter-1/status', JSON.stringify({ battery: 187 }), { qos: 1 });
    await client.endAsync();
    const devices = await getJson<{
      devices: { deviceId: string; status: unknown; rejected: Record<string, number> }[];
    }>(`${t.httpUrl}/api/devices`);
    const meter = devices.devices.find((d) => d.deviceId === 'meter-1');
    expect(meter?.status).toMatchObject({ batteryPct: 87, rssiDbm: -67, faults: ['ct_clamp_open'] });
    // a new fault is an alert, queued durably in the outbox
    const alerts = t.gw.pipeline.store.outbox
      .peek('alert', 100)
      .map((r) => JSON.parse(r.body) as { code: string; deviceId: string });
    expect(alerts.filter((a) => a.deviceId === 'meter-1').map((a) => a.code)).toEqual(['device.fault']);
    expect(meter?.rejected).toEqual({ CT_ERR_OUT_OF_RANGE: 1 });
    const q = await getJson<{ items: { deviceId: string; topic: string; code: string }[] }>(
      `${t.httpUrl}/api/quarantine`,
    );
    expect(q.items.find((i) => i.deviceId === 'meter-1')).toMatchObject({
      topic: 'devices/meter-1/status',
      code: 'CT_ERR_OUT_OF_RANGE',
    });
  });

  it('refuses a wrong password and an unknown device with CONNACK "not authorized", and counts them', async () => {
    const wrong = await mosquittoPub(
      t.gw.ports.mqtt,
      'env-1',
      'nope',
      'devices/env-1/telemetry',
      '{"readings":{"temperature":1}}',
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/not authori[sz]ed/i);
    await expect(
      mqtt.connectAsync(t.mqttUrl, { username: 'ghost', password: 'x', reconnectPeriod: 0 }),
    ).rejects.toThrow(/Not authorized/i);
    await expect(mqtt.connectAsync(t.mqttUrl, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_auth_failures_total\{reason="bad_password"\} 1/);
    expect(metrics).toMatch(/ct_auth_failures_total\{reason="unknown_device"\} 1/);
    expect(metrics).toMatch(/ct_auth_failures_total\{reason="anonymous"\} 1/);
    const devices = await getJson<{ devices: { deviceId: string; rejected: Record<string, number> }[] }>(
      `${t.httpUrl}/api/devices`,
    );
    expect(devices.devices.find((d) => d.deviceId === 'env-1')?.rejected).toEqual({ CT_ERR_AUTH: 1 });
  });

  it('does not let one device take over another device’s client id [MQTT-3.1.4-2]', async () => {
    const owner = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-1',
      password: testPassword('env-1'),
      clientId: 'shared-id',
    });
    await expect(
      mqtt.connectAsync(t.mqttUrl, {
        username: 'env-2',
        password: testPassword('env-2'),
        clientId: 'shared-id',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Identifier rejected/i);
    expect(owner.connected).toBe(true);
    await owner.publishAsync('devices/env-1/telemetry', JSON.stringify({ readings: { light: 123 } }), {
      qos: 1,
    });
    // the same device reconnecting with its own id takes its session over, as the spec says
    const again = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-1',
      password: testPassword('env-1'),
      clientId: 'shared-id',
      reconnectPeriod: 0,
    });
    expect(again.connected).toBe(true);
    await again.endAsync();
    owner.end(true);
  });

  it('grants subscriptions under the device’s own prefix only', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'occ-1', password: testPassword('occ-1') });
    const granted = await client.subscribeAsync('devices/occ-1/commands', { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    // SUBACK 0x80 (failure) for filters outside the prefix [MQTT-3.9.3-2]
    await expect(client.subscribeAsync('devices/env-1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(client.subscribeAsync('#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await client.endAsync();
    const devices = await getJson<{ devices: { deviceId: string; rejected: Record<string, number> }[] }>(
      `${t.httpUrl}/api/devices`,
    );
    expect(devices.devices.find((d) => d.deviceId === 'occ-1')?.rejected).toEqual({
      CT_ERR_SUBSCRIBE_DENIED: 2,
    });
  });

  it('refuses a publish to another device’s topic (connection closed), counts it and stores nothing', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-4',
      password: testPassword('env-4'),
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('devices/env-1/telemetry', JSON.stringify({ readings: { temperature: 99 } }), { qos: 1 });
    await closed;
    client.end(true);
    const devices = await getJson<{ devices: { deviceId: string; rejected: Record<string, number> }[] }>(
      `${t.httpUrl}/api/devices`,
    );
    expect(devices.devices.find((d) => d.deviceId === 'env-4')?.rejected).toEqual({ CT_ERR_TOPIC_DENIED: 1 });
    const room = await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-101`);
    expect(room.latest.temperature?.value).not.toBe(99);
    const status = await getJson<{ readings: { rejected: Record<string, Record<string, number>> } }>(
      `${t.httpUrl}/api/status`,
    );
    expect(status.readings.rejected.mqtt?.CT_ERR_TOPIC_DENIED).toBe(1);
  });
});
