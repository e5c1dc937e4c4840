/**
 * Acceptance 4: at least 10,000 random and malformed payloads over a real MQTT connection. The gateway stays
 * up, every bad payload is rejected with a catalogued code and quarantined, and every valid reading in
 * between — including the valid readings inside partly bad payloads — is journaled.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzPayloads } from '../gateway/ingest/decode/fuzz.ts';
import { ERROR_CODES } from '../shared/errors.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway } from './helpers/gateway.ts';

const COUNT = 10_000;

describe('fuzzed telemetry', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ journal: { quarantineMaxRows: 50_000 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('rejects every bad payload with a code and keeps every valid reading', async () => {
    const baseTs = Date.now() - 3600_000;
    const payloads = [
      ...fuzzPayloads(20261127, COUNT, ['temperature', 'humidity', 'co2', 'light'], baseTs, 'env-1'),
    ];
    const expectedReadings = payloads.reduce((s, p) => s + p.validReadings, 0);
    const expectedBad = payloads.filter((p) => !p.valid).length;
    expect(expectedBad).toBeGreaterThan(COUNT / 3);

    const client = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-1',
      password: testPassword('env-1'),
      reconnectPeriod: 0,
    });
    let disconnected = false;
    client.on('close', () => {
      disconnected = true;
    });
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      let outstanding = 0;
      const pump = () => {
        while (outstanding < 100 && next < payloads.length) {
          const p = payloads[next++]!;
          outstanding++;
          client.publish('devices/env-1/telemetry', p.payload, { qos: 1 }, (err) => {
            outstanding--;
            if (err) return reject(err);
            if (next >= payloads.length && outstanding === 0) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    // still the same connection: bad payloads are acknowledged and quarantined, not punished with a disconnect
    expect(disconnected).toBe(false);
    await client.publishAsync('devices/env-1/telemetry', JSON.stringify({ readings: { temperature: 21 } }), {
      qos: 1,
    });
    await client.endAsync();

    const store = t.gw.pipeline.store;
    expect(store.journalStats(Date.now()).rows).toBe(expectedReadings + 1);
    const quarantine = store.recentQuarantine(50_000);
    expect(quarantine).toHaveLength(expectedBad);
    for (const q of quarantine) expect(ERROR_CODES).toContain(q.code);

    const status = await getJson<{
      readings: { accepted: Record<string, number>; rejected: Record<string, Record<string, number>> };
    }>(`${t.httpUrl}/api/status`);
    expect(status.readings.accepted.mqtt).toBe(expectedReadings + 1);
    const byCode = status.readings.rejected.mqtt ?? {};
    console.log(
      `fuzz: ${COUNT} payloads, ${expectedBad} bad, ${expectedReadings} valid readings kept; rejections by code ${JSON.stringify(byCode)}`,
    );
    for (const code of [
      'CT_ERR_NOT_JSON',
      'CT_ERR_SCHEMA',
      'CT_ERR_BAD_VALUE',
      'CT_ERR_OUT_OF_RANGE',
      'CT_ERR_UNKNOWN_CHANNEL',
      'CT_ERR_TS_FUTURE',
    ]) {
      expect(byCode[code], code).toBeGreaterThan(0);
    }
  });

  it('refuses an oversized payload and keeps serving', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'env-2', password: testPassword('env-2') });
    await client.publishAsync('devices/env-2/telemetry', Buffer.alloc(70_000, 0x20), { qos: 1 });
    await client.publishAsync('devices/env-2/telemetry', JSON.stringify({ readings: { co2: 500 } }), {
      qos: 1,
    });
    await client.endAsync();
    const devices = await getJson<{ devices: { deviceId: string; rejected: Record<string, number> }[] }>(
      `${t.httpUrl}/api/devices`,
    );
    expect(devices.devices.find((d) => d.deviceId === 'env-2')?.rejected).toEqual({
      CT_ERR_PAYLOAD_TOO_LARGE: 1,
    });
    const room = await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-102`);
    expect(room.latest.co2?.value).toBe(500);
  });

  it('closes a connection whose packet announces more than maxPacketBytes, before buffering it', async () => {
    const { connect } = await import('node:net');
    const socket = connect(t.gw.ports.mqtt, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    // A CONNECT that claims 200 MB: refused from its first five bytes, by an unauthenticated client
    socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x64]));
    socket.write(Buffer.alloc(64 * 1024));
    await closed;
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_auth_failures_total\{reason="packet_too_large"\} 1/);
    // and the broker carries on
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'env-3', password: testPassword('env-3') });
    await client.publishAsync('devices/env-3/telemetry', JSON.stringify({ readings: { co2: 444 } }), {
      qos: 1,
    });
    await client.endAsync();
    const room = await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-101`);
    expect(room.latest.co2?.value).toBe(444);
  });

  it('closes and counts malformed packets (MQTT 3.1.1 §1.5.3, §2.3.1, §3.12) from an authenticated client', async () => {
    const { connect } = await import('node:net');
    const str = (x: string) => {
      const b = Buffer.from(x);
      return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    };
    const login = () => {
      const body = Buffer.concat([
        str('MQTT'),
        Buffer.from([4, 0xc2, 0, 60]), // 3.1.1, username + password + clean session
        str(`env-4-${Math.random().toString(36).slice(2, 6)}`),
        str('env-4'),
        str(testPassword('env-4')),
      ]);
      return Buffer.concat([Buffer.from([0x10, body.length]), body]);
    };
    const attempt = async (bad: Buffer) => {
      const socket = connect(t.gw.ports.mqtt, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const connack = new Promise<Buffer>((resolve) => socket.once('data', (d: Buffer) => resolve(d)));
      socket.write(login());
      expect((await connack)[0]).toBe(0x20); // CONNACK: logged in
      socket.write(bad);
      await closed;
    };
    const topic = str('devices/env-4/telemetry');
    await attempt(Buffer.from([0xc0, 0x02, 0x01, 0x02])); // PINGREQ with a body
    await attempt(
      Buffer.concat([Buffer.from([0x32, topic.length + 4]), topic, Buffer.from([0, 0, 0x7b, 0x7d])]),
    ); // packet id 0
    await attempt(Buffer.from([0x30, 0x04, 0x00, 0x40, 0x61, 0x62])); // topic length past the packet
    const status = await getJson<{ readings: { rejected: { mqtt: Record<string, number> } } }>(
      `${t.httpUrl}/api/status`,
    );
    expect(status.readings.rejected.mqtt.CT_ERR_MQTT_MALFORMED).toBe(3);
  });
});
