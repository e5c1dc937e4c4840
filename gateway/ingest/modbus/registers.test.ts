import { describe, expect, it } from 'vitest';
import { isMapIssue, parseReference, parseRegisterMap, type RegisterMap } from './registers.ts';
import {
  builtinProfiles,
  checkBuses,
  modbusDeviceFrom,
  modbusDeviceSchema,
  resolveProfiles,
} from './settings.ts';

function map(raw: unknown): RegisterMap {
  const m = parseRegisterMap(raw);
  if (isMapIssue(m)) throw new Error(`${m.path}: ${m.message}`);
  return m;
}

describe('reference notation', () => {
  it('maps 5- and 6-digit references to function code and zero-based address', () => {
    expect(parseReference(30001)).toEqual({ fc: 4, address: 0 });
    expect(parseReference(40108)).toEqual({ fc: 3, address: 107 });
    expect(parseReference('10001')).toEqual({ fc: 2, address: 0 });
    expect(parseReference('00017')).toEqual({ fc: 1, address: 16 });
    expect(parseReference(17)).toEqual({ fc: 1, address: 16 }); // YAML's reading of 00017
    expect(parseReference(465536)).toEqual({ fc: 3, address: 65535 });
    expect(parseReference('300001')).toEqual({ fc: 4, address: 0 });
    // A string keeps its width: six digits starting 0 is a coil beyond 9999.
    expect(parseReference('010001')).toEqual({ fc: 1, address: 10000 });
  });

  it('refuses what is not reference notation', () => {
    expect(parseReference(20001)).toMatch(/start with 0, 1, 3 or 4/);
    expect(parseReference(30000)).toMatch(/1\.\.65536/);
    expect(parseReference('3001')).toMatch(/5 or 6 digits/);
    expect(parseReference(1_000_001)).toMatch(/5 or 6 digits/);
    expect(parseReference(103745)).toEqual({ fc: 2, address: 3744 }); // the SDM120 CSV's bogus refs are not holding registers
  });
});

describe('register maps', () => {
  it('normalises fc/table/ref, counts registers by type, applies defaults', () => {
    const m = map({
      registers: [
        { name: 'v', ref: 30001, type: 'float32' },
        { name: 'e', table: 'holding', address: 10, type: 'uint64', order: 'DCBA', scale: 0.001 },
        { name: 's', fc: 3, address: 20, type: 'string', length: 4 },
        { name: 'b', fc: 3, address: 30, type: 'bit', bit: 7 },
        { name: 'c', fc: 1, address: 0, type: 'bool' },
      ],
    });
    expect(m.registers.map((r) => [r.name, r.fc, r.address, r.count, r.order])).toEqual([
      ['v', 4, 0, 2, 'ABCD'],
      ['e', 3, 10, 4, 'DCBA'],
      ['s', 3, 20, 4, 'ABCD'],
      ['b', 3, 30, 1, 'ABCD'],
      ['c', 1, 0, 1, 'ABCD'],
    ]);
    expect(m.maxGapRegisters).toBe(0);
    expect(m.maxBlockRegisters).toBe(125);
  });

  it('names the bad field', () => {
    const bad = (registers: unknown[]) => parseRegisterMap({ registers });
    expect(bad([{ name: 'x', address: 0 }])).toMatchObject({ path: 'registers.0', message: /fc/ });
    expect(bad([{ name: 'x', fc: 1, address: 0, type: 'uint16' }])).toMatchObject({ message: /bool/ });
    expect(bad([{ name: 'x', fc: 3, address: 0, type: 'bit' }])).toMatchObject({ message: /bit/ });
    expect(bad([{ name: 'x', ref: 30001, fc: 3 }])).toMatchObject({ message: /FC4/ });
    expect(bad([{ name: 'x', fc: 3, address: 65535, type: 'float32' }])).toMatchObject({ message: /65535/ });
    expect(bad([{ name: 'x', fc: 3, address: 0, type: 'float32', order: 'ADBC' }])).toMatchObject({
      path: 'registers.0.order',
    });
    expect(
      bad([
        { name: 'x', fc: 3, address: 0 },
        { name: 'x', fc: 3, address: 1 },
      ]),
    ).toMatchObject({ path: 'registers.1.name', message: /duplicate/ });
  });
});

describe('enumerated registers and counters', () => {
  it('reads an enum of codes, and refuses it on a float or empty', () => {
    const m = map({
      registers: [
        { name: 'baud', fc: 3, address: 28, enum: { 0: 2400, 1: 4800, 2: 9600, 5: 1200 } },
        { name: 'wiring', fc: 3, address: 10, enum: { '1': '3P4W', '2': '3P3W', '3': '1P2W' } },
      ],
    });
    expect([...m.registers[0]!.enum!]).toEqual([
      [0, '2400'],
      [1, '4800'],
      [2, '9600'],
      [5, '1200'],
    ]);
    expect(m.registers[1]!.enum!.get(3)).toBe('1P2W');
    const bad = (r: Record<string, unknown>) =>
      parseRegisterMap({ registers: [{ name: 'x', fc: 3, address: 0, ...r }] });
    expect(bad({ type: 'float32', enum: { 0: 'a' } })).toMatchObject({ message: /integer type/ });
    expect(bad({ enum: {} })).toMatchObject({ message: /at least one/ });
    expect(bad({ enum: { x: 'a' } })).toMatchObject({ path: expect.stringMatching(/^registers\.0\.enum/) });
  });

  it('makes energy units monotonic counters unless the map says otherwise', () => {
    const m = map({
      registers: [
        { name: 'e', fc: 4, address: 0, type: 'float32', unit: 'kWh' },
        { name: 'e2', fc: 4, address: 2, type: 'float32', unit: 'kWh', monotonic: false },
        { name: 'v', fc: 4, address: 4, type: 'float32', unit: 'V' },
        { name: 'c', fc: 4, address: 6, type: 'uint32', monotonic: true },
      ],
    });
    expect(m.registers.map((r) => r.monotonic)).toEqual([true, false, false, true]);
  });
});

describe('profiles and device settings', () => {
  it('ships the SDM120 (every CSV row, float32 ABCD) and a room sensor', () => {
    const sdm = builtinProfiles().get('sdm120')!;
    expect(sdm.registers).toHaveLength(35);
    const power = sdm.registers.find((r) => r.name === 'power_active')!;
    expect(power).toMatchObject({
      fc: 4,
      address: 12,
      type: 'float32',
      order: 'ABCD',
      quantity: 'power',
      scale: 0.001,
    });
    expect(sdm.registers.find((r) => r.name === 'serial_number')).toMatchObject({
      fc: 3,
      address: 64512,
      type: 'uint32',
    });
    expect(
      sdm.registers
        .filter((r) => r.quantity)
        .map((r) => r.quantity)
        .sort(),
    ).toEqual(['current', 'energy', 'power', 'voltage']);
    const room = builtinProfiles().get('room-sensor')!;
    expect(room.registers.find((r) => r.name === 'temperature')).toMatchObject({
      fc: 4,
      address: 0,
      scale: 0.1,
    });
  });

  it('resolves a profile plus device registers into settings and channels', () => {
    const profiles = resolveProfiles({});
    if (isMapIssue(profiles)) throw new Error(profiles.message);
    const input = modbusDeviceSchema.parse({
      host: '10.0.0.5',
      profile: 'sdm120',
      registers: [{ name: 'voltage', ref: 30001, type: 'float32', order: 'CDAB', quantity: 'voltage' }],
    });
    const channels = new Map();
    const s = modbusDeviceFrom(input, profiles, channels);
    if (isMapIssue(s)) throw new Error(s.message);
    expect(s.map.registers.find((r) => r.name === 'voltage')?.order).toBe('CDAB');
    expect([...channels.keys()].sort()).toEqual([
      'current',
      'power_active',
      'total_energy_active',
      'voltage',
    ]);
    expect(s).toMatchObject({ transport: 'tcp', port: 502, unitId: 1, pollIntervalMs: 10_000, retries: 1 });
  });

  it('refuses conflicting settings on one serial line and duplicate unit ids', () => {
    const profiles = resolveProfiles({});
    if (isMapIssue(profiles)) throw new Error(profiles.message);
    const dev = (over: Record<string, unknown>) => {
      const s = modbusDeviceFrom(
        modbusDeviceSchema.parse({ transport: 'rtu', path: '/dev/ttyUSB0', profile: 'sdm120', ...over }),
        profiles,
        new Map(),
      );
      if (isMapIssue(s)) throw new Error(s.message);
      return s;
    };
    expect(
      checkBuses([
        { settings: dev({ unitId: 1 }), at: 'a' },
        { settings: dev({ unitId: 2 }), at: 'b' },
      ]),
    ).toBeUndefined();
    expect(
      checkBuses([
        { settings: dev({ unitId: 1 }), at: 'a' },
        { settings: dev({ unitId: 1 }), at: 'b' },
      ]),
    ).toMatchObject({
      at: 'b.unitId',
    });
    expect(
      checkBuses([
        { settings: dev({ unitId: 1 }), at: 'a' },
        { settings: dev({ unitId: 2, baudRate: 2400 }), at: 'b' },
      ]),
    ).toMatchObject({ at: 'b', message: /line settings/ });
    expect(modbusDeviceSchema.safeParse({ transport: 'rtu', profile: 'sdm120' }).success).toBe(false);
    expect(modbusDeviceSchema.safeParse({ host: 'h' }).success).toBe(false);
  });
});
