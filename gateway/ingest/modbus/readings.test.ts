import { describe, expect, it } from 'vitest';
import { campusFrom } from '../../registry/index.ts';
import { planBlocks } from './plan.ts';
import { pollReadings } from './readings.ts';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const campus = campusFrom({
  campus: { id: 'c' },
  buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r1' }] }] }],
  devices: [
    {
      id: 'rs-1',
      roomId: 'r1',
      kind: 'sensor',
      expectedIntervalMs: 60_000,
      modbus: {
        host: 'h',
        registers: [
          {
            name: 'temperature',
            ref: 30001,
            type: 'int16',
            scale: 0.1,
            quantity: 'temperature',
            deadband: 0.2,
          },
          { name: 'co2', ref: 30002, type: 'uint16', quantity: 'co2', max: 10_000 },
          { name: 'humidity', ref: 30003, type: 'uint16', scale: 0.1, quantity: 'humidity' },
        ],
      },
    },
  ],
});
const device = campus.devices.get('rs-1')!;
const [block] = planBlocks(device.modbus!.map.registers, device.modbus!.map);

function poll(
  words: number[],
  now: number,
  lastForwarded = new Map<string, { value: number; at: number }>(),
) {
  return pollReadings(
    { device, now, ts: now, maxFutureMs: 300_000, retentionMs: 3600_000, lastForwarded, counters: new Map() },
    [{ block: block!, data: words }],
  );
}

describe('poll readings', () => {
  it('turns one block into readings with the quantity, unit, room and source of the registry', () => {
    const { readings, rejected } = poll([215, 612, 455], T0);
    expect(rejected).toEqual([]);
    expect(readings).toEqual([
      expect.objectContaining({
        channel: 'temperature',
        quantity: 'temperature',
        unit: '°C',
        value: 21.5,
        roomId: 'r1',
        ts: T0,
        source: 'modbus',
      }),
      expect.objectContaining({ channel: 'co2', value: 612, unit: 'ppm' }),
      expect.objectContaining({ channel: 'humidity', value: 45.5, unit: '%RH' }),
    ]);
  });

  it('quarantines implausible and out-of-range values with their raw registers', () => {
    const { readings, rejected } = poll([215, 20_000, 1500], T0);
    expect(readings.map((r) => r.channel)).toEqual(['temperature']);
    expect(rejected.map((q) => [q.topic, q.code])).toEqual([
      ['modbus/rs-1/co2', 'CT_ERR_IMPLAUSIBLE'],
      ['modbus/rs-1/humidity', 'CT_ERR_OUT_OF_RANGE'],
    ]);
    expect([...rejected[0]!.payload!]).toEqual([0x4e, 0x20]);
  });

  it('holds back a value inside its deadband until the expected interval has passed', () => {
    const last = new Map<string, { value: number; at: number }>();
    const channels = (words: number[], now: number) => poll(words, now, last).readings.map((r) => r.channel);
    expect(channels([215, 600, 450], T0)).toContain('temperature');
    expect(channels([216, 600, 450], T0 + 1000)).not.toContain('temperature'); // +0.1 < 0.2
    expect(channels([218, 600, 450], T0 + 2000)).toContain('temperature'); // +0.3
    expect(channels([218, 600, 450], T0 + 3000)).not.toContain('temperature');
    expect(channels([218, 600, 450], T0 + 62_000)).toContain('temperature'); // refresh
  });
});

describe('energy counters', () => {
  const meters = campusFrom({
    campus: { id: 'c' },
    buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r1' }] }] }],
    devices: [
      {
        id: 'em-1',
        roomId: 'r1',
        kind: 'meter',
        expectedIntervalMs: 60_000,
        modbus: {
          host: 'h',
          registers: [{ name: 'energy', ref: 30001, type: 'uint32', unit: 'kWh', quantity: 'energy' }],
        },
      },
    ],
  });
  const meter = meters.devices.get('em-1')!;
  const [b] = planBlocks(meter.modbus!.map.registers, meter.modbus!.map);
  const counters = new Map();
  const read = (kwh: number, now: number) =>
    pollReadings(
      {
        device: meter,
        now,
        ts: now,
        maxFutureMs: 300_000,
        retentionMs: 3600_000,
        lastForwarded: new Map(),
        counters,
      },
      [{ block: b!, data: [Math.floor(kwh / 65_536), kwh % 65_536] }],
    );

  it('a kWh register is a monotonic counter by default', () => {
    expect(meter.modbus!.map.registers[0]!.monotonic).toBe(true);
  });

  it('rejects a value below the last one, and takes a lower value held for three polls as a reset', () => {
    expect(read(100_000, T0).readings.map((r) => r.value)).toEqual([100_000]);
    expect(read(100_010, T0 + 1000).readings.map((r) => r.value)).toEqual([100_010]);
    const back = read(99_000, T0 + 2000);
    expect(back.readings).toEqual([]);
    expect(back.rejected.map((q) => q.code)).toEqual(['CT_ERR_IMPLAUSIBLE']);
    expect(back.rejected[0]!.message).toMatch(/below the counter's last value 100010/);
    // Back up again: the dip was a glitch, the counter goes on from 100010.
    expect(read(100_020, T0 + 3000).readings.map((r) => r.value)).toEqual([100_020]);
    // A new meter: 5, 6, 7 held for three polls is a reset.
    expect(read(5, T0 + 4000).readings).toEqual([]);
    expect(read(6, T0 + 5000).readings).toEqual([]);
    const reset = read(7, T0 + 6000);
    expect(reset.readings.map((r) => r.value)).toEqual([7]);
    expect(reset.counterResets).toEqual(['energy']);
    expect(read(8, T0 + 7000).readings.map((r) => r.value)).toEqual([8]);
  });
});
