/**
 * The status page and API need a staff login outside dev mode; in dev mode they are open and the page says
 * so. The page itself is checked in real Chromium in tests/status-page-browser.test.ts.
 */

import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, STAFF_AUTH, startTestGateway, type TestGateway } from './helpers/gateway.ts';

describe('status API access', () => {
  let secure: TestGateway;
  let dev: TestGateway;
  beforeAll(async () => {
    secure = await startTestGateway();
    dev = await startTestGateway({ dev: true, mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true } });
  });
  afterAll(async () => {
    await secure.stop();
    await dev.stop();
  });

  it('refuses the page and API without a staff login, and counts the refusal', async () => {
    for (const path of ['/', '/api/status', '/api/rooms', '/api/devices', '/api/quarantine', '/api/events']) {
      const res = await fetch(`${secure.httpUrl}${path}`);
      expect(res.status, path).toBe(401);
      // Never a Basic challenge: a browser would put up its own prompt instead of the login form.
      expect(res.headers.get('www-authenticate')).toMatch(/^FormBased .*login="\/login"/);
      await res.body?.cancel();
    }
    const wrong = await fetch(`${secure.httpUrl}/api/status`, {
      headers: { authorization: `Basic ${Buffer.from('facilities:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'CT_ERR_AUTH' } });
    const status = await getJson<{ mode: string }>(`${secure.httpUrl}/api/status`);
    expect(status.mode).toBe('secure');
    const metrics = await (await fetch(`${secure.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_auth_failures_total\{reason="staff_login"\} 7/);
  });

  it('without any staff account, warns at start and tells the browser and API how to add one', async () => {
    let logged = '';
    const destination = new Writable({
      write(chunk, _enc, done) {
        logged += String(chunk);
        done();
      },
    });
    const lonely = await startTestGateway(
      { http: { host: '127.0.0.1', port: 0, staff: [] }, log: { level: 'info' } },
      { logger: createLogger({ level: 'info', destination }) },
    );
    try {
      const warning = logged
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => l.msg.includes('no staff account'));
      expect(warning?.level).toBe(40);
      expect(warning?.msg).toMatch(/http\.staff .*campus-twin hash-password/);
      const page = await fetch(`${lonely.httpUrl}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(401);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toMatch(/log in.*http\.staff.*campus-twin hash-password/is);
      expect(html).not.toContain('<form'); // no account to log in with
      const api = await fetch(`${lonely.httpUrl}/api/status`);
      expect(api.status).toBe(401);
      expect(((await api.json()) as { error: { message: string } }).error.message).toMatch(/http\.staff/);
    } finally {
      await lonely.stop();
    }
    // A gateway with an account says nothing of the kind.
    const withAccount = await fetch(`${secure.httpUrl}/api/status`);
    expect(((await withAccount.json()) as { error: { message: string } }).error.message).toBe(
      'staff login required',
    );
  });

  it('leaves liveness and metrics open for probes and Prometheus', async () => {
    expect((await fetch(`${secure.httpUrl}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${secure.httpUrl}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('ct_readings_accepted_total');
    expect(text).toMatch(/ct_process_resident_memory_bytes \d+/);
    expect(text).toContain('ct_nodejs_eventloop_lag_seconds');
  });

  it('serves the page with a login', async () => {
    const res = await fetch(`${secure.httpUrl}/`, { headers: { authorization: STAFF_AUTH } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('campus-twin gateway');
  });

  it('is open in dev mode and says so', async () => {
    expect((await fetch(`${dev.httpUrl}/`)).status).toBe(200);
    const status = (await (await fetch(`${dev.httpUrl}/api/status`)).json()) as { mode: string };
    expect(status.mode).toBe('dev (anonymous devices allowed)');
  });

  it('does not claim anonymous devices are allowed in dev mode when they are not', async () => {
    const strictDev = await startTestGateway({ dev: true });
    try {
      const status = (await (await fetch(`${strictDev.httpUrl}/api/status`)).json()) as { mode: string };
      expect(status.mode).toBe('dev (open status page; devices log in)');
    } finally {
      await strictDev.stop();
    }
  });

  it('describes one device: its state, the values it supplied and its refused payloads', async () => {
    const client = await mqtt.connectAsync(secure.mqttUrl, {
      username: 'env-4',
      password: testPassword('env-4'),
    });
    await client.publishAsync('devices/env-4/telemetry', JSON.stringify({ readings: { humidity: 41 } }), {
      qos: 1,
    });
    await client.publishAsync('devices/env-4/telemetry', '{"readings": {"humidity": "wet"}}', { qos: 1 });
    await client.endAsync();
    const d = await getJson<{
      deviceId: string;
      roomId: string;
      health: string;
      latest: { quantity: string; value: number; channel: string }[];
      rejected: Record<string, number>;
      recentErrors: { code: string; deviceId: string }[];
    }>(`${secure.httpUrl}/api/devices/env-4`);
    expect(d).toMatchObject({ deviceId: 'env-4', roomId: 'r-102', health: 'online' });
    expect(d.latest).toEqual([
      expect.objectContaining({ quantity: 'humidity', value: 41, channel: 'humidity' }),
    ]);
    expect(Object.keys(d.rejected)).toHaveLength(1);
    expect(d.recentErrors).toHaveLength(1);
    expect(d.recentErrors[0]).toMatchObject({ deviceId: 'env-4', code: Object.keys(d.rejected)[0] });
    const missing = await fetch(`${secure.httpUrl}/api/devices/nope`, {
      headers: { authorization: STAFF_AUTH },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'CT_ERR_NOT_FOUND' } });
  });

  it('answers 404 with a code for an unknown room', async () => {
    const res = await fetch(`${secure.httpUrl}/api/rooms/nope`, { headers: { authorization: STAFF_AUTH } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'CT_ERR_NOT_FOUND' } });
  });

  it('streams twin changes and alerts as server-sent events once they are committed', async () => {
    const res = await fetch(`${secure.httpUrl}/api/events`, { headers: { authorization: STAFF_AUTH } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until(/event: hello/);
    const client = await mqtt.connectAsync(secure.mqttUrl, {
      username: 'env-2',
      password: testPassword('env-2'),
    });
    await client.publishAsync('devices/env-2/telemetry', JSON.stringify({ readings: { co2: 2100 } }), {
      qos: 1,
    });
    await client.endAsync();
    await until(/event: alert\ndata: .*comfort\.alert/);
    const twin = text
      .split('\n\n')
      .find((e) => e.startsWith('event: twin') && e.includes('"kind":"comfort"'));
    expect(JSON.parse(twin!.split('data: ')[1]!)).toMatchObject({
      roomId: 'r-102',
      kind: 'comfort',
      to: 'alert',
    });
    await reader.cancel();
    const unauthenticated = await fetch(`${secure.httpUrl}/api/events`);
    expect(unauthenticated.status).toBe(401);
  });
});
