/**
 * Acceptance: replay the UCI Occupancy Detection training set (Candanedo & Feldheim 2016; one office,
 * one reading per minute, ground truth from time-stamped pictures) through the twin reducer as one room's
 * sensor stream, in event time (now = the row's timestamp), and compare the twin's `occupied` with the
 * label after each row. The default config is used as is: nothing here is tuned to this room.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TWIN_CONFIG, initialRoomState, reduceReading } from '../gateway/twin/reducer.ts';
import type { DeviceInfo, RoomInfo } from '../shared/campus.ts';
import type { Reading } from '../shared/events.ts';
import { type Quantity, unitOf } from '../shared/quantities.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// A copy of the public training file: see tests/fixtures/uci-occupancy/README.md.
const DATA_FILE = path.resolve(repoRoot, 'tests/fixtures/uci-occupancy/datatraining.txt');

interface Row {
  ts: number;
  temperature: number;
  humidity: number;
  light: number;
  co2: number;
  occupied: boolean;
}

/** The header names 7 columns but each row has 8: a quoted row id comes first. */
function loadRows(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).slice(1);
  const rows: Row[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const f = line.split(',').map((x) => x.replace(/^"|"$/g, ''));
    if (f.length !== 8) throw new Error(`unexpected row: ${line}`);
    const num = (i: number) => Number(f[i]);
    rows.push({
      ts: Date.parse(`${f[1]!.replace(' ', 'T')}Z`),
      temperature: num(2),
      humidity: num(3),
      light: num(4),
      co2: num(5),
      occupied: num(7) === 1,
    });
  }
  return rows;
}

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

function replay(rows: Row[], channels: Quantity[]): { agreement: number; flips: number } {
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
  const rows = loadRows(DATA_FILE);

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
