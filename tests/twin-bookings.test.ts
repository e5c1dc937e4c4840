/**
 * A booking from the timetabling system (POST /webhooks/admin `room.booked`) reaches the room twin as the
 * occupancy prior: CO2 that creeps up too slowly to say "occupied" on its own does once the room is booked,
 * the reasons name the booking, and `room.released` takes it back. Real gateway, real MQTT and webhook.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { bearerHeaders, post, webhookConfig } from './helpers/webhooks.ts';

const S = 1000;
const MIN = 60 * S;

interface Room {
  occupancy: { occupied: boolean; probability: number | null; basis: string; reasons: string[] };
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(webhookConfig());
  // env-1 reports every 10 s: twenty minutes of CO2 rising by 1 ppm a minute, ending now.
  const client = await mqtt.connectAsync(gw.mqttUrl, {
    clientId: 'env-1-bookings',
    username: 'env-1',
    password: testPassword('env-1'),
    reconnectPeriod: 0,
  });
  const end = Date.now();
  for (let i = 0; i <= 120; i++) {
    const ts = end - 20 * MIN + i * 10 * S;
    await client.publishAsync(
      'devices/env-1/telemetry',
      JSON.stringify({ ts, readings: { co2: 450 + (ts - (end - 20 * MIN)) / MIN } }),
      { qos: 1 },
    );
  }
  await client.endAsync();
});
afterAll(async () => {
  await gw?.stop();
});

const room = () => getJson<Room>(`${gw.httpUrl}/api/rooms/r-101`);

async function admin(event: Record<string, unknown>) {
  const r = await post(gw.httpUrl, '/webhooks/admin', JSON.stringify(event), { headers: bearerHeaders() });
  expect(r.status, JSON.stringify(r.json)).toBe(202);
}

describe('a booking as the occupancy prior', () => {
  it('turns creeping CO2 into "occupied" while the room is booked, naming the booking', async () => {
    const before = await room();
    expect(before.occupancy).toMatchObject({ occupied: false, basis: 'co2' });
    const now = Date.now();
    await admin({
      eventId: 'tt-1',
      type: 'room.booked',
      ts: now,
      roomId: 'r-101',
      bookingId: 'lecture-42',
      startTs: now - 3600_000,
      endTs: now + 3600_000,
    });
    const booked = await room();
    expect(booked.occupancy.occupied).toBe(true);
    expect(booked.occupancy.probability!).toBeGreaterThan(before.occupancy.probability!);
    expect(booked.occupancy.reasons.some((r) => /^booked until \d\d:\d\dZ \(lecture-42\)$/.test(r))).toBe(
      true,
    );
  });

  it('lets the prior go with room.released', async () => {
    const booked = await room();
    await admin({
      eventId: 'tt-2',
      type: 'room.released',
      ts: Date.now(),
      roomId: 'r-101',
      bookingId: 'lecture-42',
    });
    const released = await room();
    expect(released.occupancy.reasons.join(' ')).not.toMatch(/booked/);
    // Back to the time's own prior (whether it still reads occupied depends on the hysteresis and the hour).
    expect(released.occupancy.probability!).toBeLessThan(booked.occupancy.probability!);
  });
});
