/**
 * Acceptance: replay the UCI Occupancy Detection training set (Candanedo & Feldheim 2016; one office,
 * one reading per minute, ground truth from time-stamped pictures) through the twin reducer as one room's
 * sensor stream, in event time (now = the row's timestamp), and compare the twin's `occupied` with the
 * label after each row. The default config is used as is: nothing here is tuned to this room.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TWIN_CONFIG, initialRoomState, reduceReading } from '../gateway/twin/reducer.ts';
import type { DeviceInfo, RoomInfo } from '../shared/campus.ts';
import type { Reading } from '../shared/events.ts';
import { type Quantity, unitOf } from '../shared/quantities.ts';
import { loadUciRows, type UciRow } from './helpers/uci.ts';

const ROOM: RoomInfo = {
  roomId: 'uci-office',
  name: 'UCI office',
  buildingId: 'b',
  floorId: 'f',
  capacity: 4,
  areaM2: 20,
  deviceIds: ['uci-sensor'],
};

function device(channels: Quantity[]): DeviceInfo {
  return {
    deviceId: 'uci-sensor',
    roomId: ROOM.roomId,
    kind: 'env',
    expectedIntervalMs: 60_000,
    channels: new Map(channels.map((q) => [q, { name: q, quantity: q }])),
    passwordHash: undefined,
  };
}

function replay(rows: UciRow[], channels: Quantity[]): { agreement: number; flips: number } {
  let state = initialRoomState(ROOM, [device(channels)]);
  let agree = 0;
  let flips = 0;
  for (const row of rows) {
    for (const q of channels) {
      const reading: Reading = {
        deviceId: 'uci-sensor',
        channel: q,
        roomId: ROOM.roomId,
        quantity: q,
        value: row[q as 'temperature' | 'humidity' | 'light' | 'co2'],
        unit: unitOf(q),
        ts: row.ts,
        receivedAt: row.ts,
        source: 'replay',
      };
      const r = reduceReading(state, reading, row.ts, DEFAULT_TWIN_CONFIG);
      state = r.state;
      flips += r.changes.filter((c) => c.kind === 'occupancy').length;
    }
    if (state.occupancy.occupied === row.occupied) agree++;
  }
  return { agreement: agree / rows.length, flips };
}

describe('UCI occupancy replay', () => {
  const rows = loadUciRows();

  it('parses the whole file', () => {
    expect(rows.length).toBe(8143);
    expect(rows.every((r) => Number.isFinite(r.ts) && Number.isFinite(r.co2))).toBe(true);
    expect(new Date(rows[0]!.ts).toISOString()).toBe('2015-02-04T17:51:00.000Z');
  });

  it('agrees with the labels ≥ 95 % with light, CO2, temperature and humidity', () => {
    const { agreement, flips } = replay(rows, ['temperature', 'humidity', 'light', 'co2']);
    const labelFlips = rows.filter((r, i) => i > 0 && r.occupied !== rows[i - 1]!.occupied).length;
    console.log(
      `uci occupancy agreement: ${agreement.toFixed(3)} over ${rows.length} minutes ` +
        `(${flips} occupancy changes emitted, labels change ${labelFlips} times)`,
    );
    expect(agreement).toBeGreaterThanOrEqual(0.95);
  });

  it('computes an agreement without the light channel (CO2, temperature, humidity only)', () => {
    const { agreement, flips } = replay(rows, ['temperature', 'humidity', 'co2']);
    console.log(
      `uci occupancy agreement without light: ${agreement.toFixed(3)} over ${rows.length} minutes ` +
        `(${flips} occupancy changes emitted)`,
    );
    expect(agreement).toBeGreaterThan(0.5);
  });
});
