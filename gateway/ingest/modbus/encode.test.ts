import { describe, expect, it } from 'vitest';
import { decodeRegister } from './decode.ts';
import { encodeRegister } from './encode.ts';
import { isMapIssue, ORDERS, parseRegisterMap, type RegisterSpec } from './registers.ts';
import { builtinProfiles } from './settings.ts';

function spec(r: Record<string, unknown>): RegisterSpec {
  const m = parseRegisterMap({ registers: [{ name: 'x', fc: 3, address: 0, ...r }] });
  if (isMapIssue(m)) throw new Error(m.message);
  return m.registers[0]!;
}

describe('encodeRegister', () => {
  it('is undone by decodeRegister for every numeric type and order, with scale and offset', () => {
    const cases: [string, number][] = [
      ['int16', -123.4],
      ['uint16', 6500.1],
      ['int32', -12345678.9],
      ['uint32', 400000000.3],
      ['int64', -900719925474.1],
      ['uint64', 900719925474.2],
      ['float64', 1234.5678],
    ];
    for (const order of ORDERS) {
      for (const [type, value] of cases) {
        const s = spec({ type, order, scale: 0.1, offset: 5 });
        const words = encodeRegister(s, value);
        expect(words).toHaveLength(s.count);
        expect(words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)).toBe(true);
        // Integers carry the value to the scale's step (0.1 here), rounded.
        const back = decodeRegister(s, words, 0).value;
        expect(Math.abs(back - value), `${type} ${order}`).toBeLessThanOrEqual(
          0.05 + Math.abs(value) * 1e-12,
        );
      }
      const f = spec({ type: 'float32', order, scale: 0.001 });
      expect(decodeRegister(f, encodeRegister(f, 2.345), 0).value).toBeCloseTo(2.345, 5);
    }
  });

  it('clamps integers to their range, and encodes bits, bools and strings', () => {
    expect(encodeRegister(spec({ type: 'uint16' }), -5)).toEqual([0]);
    expect(encodeRegister(spec({ type: 'int16' }), 40000)).toEqual([0x7fff]);
    expect(encodeRegister(spec({ type: 'bit', bit: 3 }), 1)).toEqual([8]);
    expect(encodeRegister(spec({ type: 'bool' }), 1)).toEqual([1]);
    const s = spec({ type: 'string', length: 3 });
    expect(decodeRegister(s, encodeRegister(s, 'SDM-1'), 0).raw).toBe('SDM-1');
  });

  it('serves every mapped value of the built-in profiles so that the gateway reads it back', () => {
    for (const [name, map] of builtinProfiles()) {
      for (const r of map.registers.filter((x) => x.type !== 'string')) {
        const v = r.type === 'bool' || r.type === 'bit' || r.fc <= 2 ? 1 : 42.5;
        const back = decodeRegister(r, encodeRegister(r, v), r.address).value;
        // To the register's resolution: an integer register holds whole steps of its scale.
        const step = r.type.startsWith('float') ? 1e-4 : Math.abs(r.scale) / 2;
        expect(Math.abs(back - v), `${name}.${r.name}`).toBeLessThanOrEqual(step + 1e-9);
      }
    }
  });
});
