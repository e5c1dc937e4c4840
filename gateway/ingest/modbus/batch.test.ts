import { describe, expect, it } from 'vitest';
import type { Reading } from '../../../shared/events.ts';
import { campusFrom } from '../../registry/index.ts';
import { JournalBatch } from './batch.ts';

const reading = (channel: string): Reading => ({
  deviceId: 'd',
  channel,
  roomId: 'r',
  quantity: 'power',
  value: 1,
  unit: 'kW',
  ts: 1,
  receivedAt: 1,
  source: 'modbus',
});

describe('journal batch', () => {
  it('submits what arrives within the window once, and resolves every poll only after that submission', async () => {
    const calls: string[][] = [];
    let release: (() => void) | undefined;
    const batch = new JournalBatch(
      (readings) => {
        calls.push(readings.map((r) => r.channel));
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      10,
      1000,
    );
    let done = 0;
    const a = batch.add([reading('a')], []).then(() => done++);
    const b = batch.add([reading('b'), reading('c')], []).then(() => done++);
    expect(calls).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(done).toBe(0); // not journaled yet: no poll may count as a success
    release!();
    await Promise.all([a, b]);
    expect(done).toBe(2);
  });

  it('flushes at maxRows without waiting, and passes a failed write to every poll in it', async () => {
    const batch = new JournalBatch(() => Promise.reject(new Error('disk full')), 10_000, 2);
    const p = batch.add([reading('a'), reading('b')], []);
    await expect(p).rejects.toThrow('disk full');
    await batch.drain();
  });
});

describe('registry: modbus devices', () => {
  const base = {
    campus: { id: 'c' },
    buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r1' }] }] }],
  };

  it('adds the channels of the register map to the device, with the poll interval as expected interval', () => {
    const campus = campusFrom({
      ...base,
      devices: [
        {
          id: 'm1',
          roomId: 'r1',
          kind: 'meter',
          modbus: { host: 'h', profile: 'sdm120', pollIntervalMs: 5000 },
        },
      ],
    });
    const d = campus.devices.get('m1')!;
    expect([...d.channels.values()].map((c) => `${c.name}:${c.quantity}`).sort()).toEqual([
      'current:current',
      'power_active:power',
      'total_energy_active:energy',
      'voltage:voltage',
    ]);
    expect(d.expectedIntervalMs).toBe(5000);
    expect(d.modbus?.map.registers).toHaveLength(35);
  });

  it('names the bad field of a modbus block', () => {
    const bad =
      (modbus: unknown, extra: Record<string, unknown> = {}) =>
      () =>
        campusFrom({ ...base, ...extra, devices: [{ id: 'm1', roomId: 'r1', kind: 'meter', modbus }] });
    expect(bad({ host: 'h', profile: 'nope' })).toThrow(
      /devices\.0\.modbus\.profile: unknown Modbus profile nope/,
    );
    expect(bad({ host: 'h', registers: [{ name: 'x', ref: 20001 }] })).toThrow(
      /devices\.0\.modbus\.registers\.0/,
    );
    expect(bad({ transport: 'rtu', profile: 'sdm120' })).toThrow(/devices\.0\.modbus\.path/);
    expect(
      bad({ host: 'h', profile: 'p' }, { modbusProfiles: { p: { registers: [{ name: 'x', fc: 9 }] } } }),
    ).toThrow(/modbusProfiles\.p\.registers\.0\.fc/);
  });
});
