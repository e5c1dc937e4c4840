/**
 * Nothing is acknowledged that is not durable: when the journal cannot write (here SQLite refuses writes,
 * as it does on a read-only or failing disk), the publish gets no PUBACK, the failure is counted, the
 * gateway stays up with /healthz saying why (503), and once the disk is back the device's resend is
 * stored once and /healthz is 200 again.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway, waitFor } from './helpers/gateway.ts';

describe('journal write failure', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('withholds the PUBACK, counts the failure, and stores the resend once the disk is back', async () => {
    const db = t.gw.pipeline.store.db;
    const body = JSON.stringify({ ts: Date.now() - 500, readings: { temperature: 23.25 } });
    db.pragma('query_only = ON'); // every write now fails with SQLITE_READONLY
    const client = await mqtt.connectAsync(t.mqttUrl, {
      username: 'env-1',
      password: testPassword('env-1'),
      reconnectPeriod: 0,
    });
    let acked = false;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('devices/env-1/telemetry', body, { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await closed;
    client.end(true);
    expect(acked).toBe(false);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_journal_commit_errors_total 1/);
    // Up, but not healthy: /healthz says why (the process stays up for the resend).
    const sick = await fetch(`${t.httpUrl}/healthz`);
    expect(sick.status).toBe(503);
    expect(((await sick.json()) as { conditions: { code: string }[] }).conditions[0]!.code).toBe(
      'CT_ERR_JOURNAL_UNAVAILABLE',
    );

    db.pragma('query_only = OFF');
    const again = await mqtt.connectAsync(t.mqttUrl, { username: 'env-1', password: testPassword('env-1') });
    await again.publishAsync('devices/env-1/telemetry', body, { qos: 1 });
    await again.publishAsync('devices/env-1/telemetry', body, { qos: 1 });
    await again.endAsync();
    const status = await getJson<{
      readings: { accepted: Record<string, number>; duplicates: Record<string, number> };
    }>(`${t.httpUrl}/api/status`);
    expect(status.readings.accepted.mqtt).toBe(1);
    expect(status.readings.duplicates.mqtt).toBe(1);
    await waitFor(
      async () =>
        (await getJson<{ latest: Record<string, { value: number }> }>(`${t.httpUrl}/api/rooms/r-101`)).latest
          .temperature?.value === 23.25,
    );
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);
  });
});
