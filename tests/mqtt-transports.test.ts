/**
 * The optional listeners: MQTT over TLS (certificate and key from files) and MQTT over WebSocket, with the
 * same credentials and the same durable path as plain TCP.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { selfSignedCert } from './helpers/tls.ts';

describe('MQTT over TLS and WebSocket', () => {
  let t: TestGateway;
  let cert: Buffer;
  beforeAll(async () => {
    const tls = selfSignedCert();
    const { certFile, keyFile } = tls;
    cert = tls.cert;
    t = await startTestGateway({
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        tls: { enabled: true, port: 0, certFile, keyFile },
        websocket: { enabled: true, port: 0, path: '/mqtt' },
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('accepts readings over TLS with a verified server certificate', async () => {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.gw.ports.mqtts}`, {
      username: 'env-1',
      password: testPassword('env-1'),
      ca: cert,
      rejectUnauthorized: true,
    });
    await client.publishAsync(
      'devices/env-1/telemetry',
      JSON.stringify({ readings: { temperature: 19.5 } }),
      { qos: 1 },
    );
    await client.endAsync();
    const room = await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-101`);
    expect(room.latest.temperature?.value).toBe(19.5);
  });

  it('accepts readings over WebSocket and still refuses a wrong password', async () => {
    const url = `ws://127.0.0.1:${t.gw.ports.ws}/mqtt`;
    const client = await mqtt.connectAsync(url, { username: 'env-2', password: testPassword('env-2') });
    await client.publishAsync('devices/env-2/telemetry', JSON.stringify({ readings: { humidity: 44 } }), {
      qos: 1,
    });
    await client.endAsync();
    const room = await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-102`);
    expect(room.latest.humidity?.value).toBe(44);
    await expect(
      mqtt.connectAsync(url, { username: 'env-2', password: 'wrong', reconnectPeriod: 0 }),
    ).rejects.toThrow(/Not authorized/i);
  });
});
