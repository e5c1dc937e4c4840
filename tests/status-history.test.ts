/**
 * The status page's room charts come from the gateway's own aggregates: readings published over MQTT (here
 * half an hour backfilled from three hours ago) are summed per room, quantity and 5-minute bucket as their
 * windows go out, and /api/rooms/{id}/history serves mean, min and max per bucket.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { STAFF_AUTH, startTestGateway, type TestGateway } from './helpers/gateway.ts';

const BUCKET = 5 * 60_000;

interface History {
  roomId: string;
  bucketMs: number;
  columns: string[];
  series: Record<string, [number, number, number, number][]>;
}

async function history(t: TestGateway, room: string, query = ''): Promise<Response> {
  return fetch(`${t.httpUrl}/api/rooms/${room}/history${query}`, { headers: { authorization: STAFF_AUTH } });
}

describe('room history for the status page charts', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('serves each 5-minute bucket of a room: mean, min and max of what its sensors sent', async () => {
    const t0 = Math.floor((Date.now() - 3 * 3600_000) / BUCKET) * BUCKET;
    // Two sensors of the same room (env-1, env-3 in r-101), one CO2 reading a minute each for 30 minutes.
    const sent: { ts: number; co2: number }[] = [];
    for (const device of ['env-1', 'env-3']) {
      const client = await mqtt.connectAsync(t.mqttUrl, { username: device, password: testPassword(device) });
      for (let i = 0; i < 30; i++) {
        const ts = t0 + i * 60_000;
        const co2 = 500 + 17 * i + (device === 'env-3' ? 40 : 0);
        sent.push({ ts, co2 });
        await client.publishAsync(`devices/${device}/backfill`, JSON.stringify({ ts, readings: { co2 } }), {
          qos: 1,
        });
      }
      await client.endAsync();
    }
    // Windows go out once the backfill has moved 60 s + 120 s past them: the first five buckets are whole.
    const expected = [0, 1, 2, 3, 4].map((k) => {
      const inBucket = sent.filter((r) => r.ts >= t0 + k * BUCKET && r.ts < t0 + (k + 1) * BUCKET);
      const values = inBucket.map((r) => r.co2);
      return [
        t0 + k * BUCKET,
        values.reduce((a, b) => a + b, 0) / values.length,
        Math.min(...values),
        Math.max(...values),
      ];
    });
    let body: History | undefined;
    await expect
      .poll(
        async () => {
          body = (await (await history(t, 'r-101')).json()) as History;
          return body.series.co2?.slice(0, 5);
        },
        { timeout: 10_000 },
      )
      .toEqual(expected);
    expect(body?.bucketMs).toBe(BUCKET);
    expect(body?.columns).toEqual(['bucketStart', 'mean', 'min', 'max']);
    expect(Object.keys(body?.series ?? {})).toEqual(['co2']);
    // The other room has nothing; a shorter span leaves these buckets out.
    expect(((await (await history(t, 'r-102')).json()) as History).series).toEqual({});
    expect(((await (await history(t, 'r-101', '?hours=1')).json()) as History).series).toEqual({});
  });

  it('answers 404 for an unknown room and 400 for a span it does not keep', async () => {
    const missing = await history(t, 'nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'CT_ERR_NOT_FOUND' } });
    for (const q of ['?hours=48', '?hours=0', '?hours=abc']) {
      const bad = await history(t, 'r-101', q);
      expect(bad.status, q).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'CT_ERR_SCHEMA' } });
    }
  });

  it('needs a staff login', async () => {
    const res = await fetch(`${t.httpUrl}/api/rooms/r-101/history`);
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });
});
