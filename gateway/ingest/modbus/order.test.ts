import { describe, expect, it } from 'vitest';
import { declaredOrder, scoreOrders, suspectOrder } from './order.ts';
import { isMapIssue, type Order, parseRegisterMap, type RegisterSpec } from './registers.ts';

function specs(order: Order): RegisterSpec[] {
  const m = parseRegisterMap({
    registers: [
      { name: 'voltage', fc: 4, address: 0, type: 'float32', order, unit: 'V' },
      { name: 'frequency', fc: 4, address: 2, type: 'float32', order, unit: 'Hz' },
      { name: 'energy', fc: 4, address: 4, type: 'float32', order, unit: 'kWh' },
      { name: 'status', fc: 4, address: 6, type: 'uint16' },
    ],
  });
  if (isMapIssue(m)) throw new Error(m.message);
  return m.registers;
}

/** float32 big-endian words, then laid out CDAB (word-swapped). */
function f32(v: number, order: 'ABCD' | 'CDAB'): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  const w = [b.readUInt16BE(0), b.readUInt16BE(2)];
  return order === 'ABCD' ? w : [w[1]!, w[0]!];
}

const served = (sent: 'ABCD' | 'CDAB', map: RegisterSpec[]) =>
  [230.1, 50.02, 15234.25, 3].map((v, i) => ({
    spec: map[i]!,
    words: i === 3 ? [v] : f32(v, sent),
  }));

describe('byte/word order of a map as read', () => {
  it('declares the order most multi-register values use', () => {
    expect(declaredOrder(specs('CDAB'))).toBe('CDAB');
    expect(declaredOrder(specs('ABCD').slice(3))).toBe('ABCD');
  });

  it('scores every order and names the one the device sends', () => {
    const map = specs('ABCD');
    const scores = scoreOrders(served('CDAB', map), 'ABCD');
    expect(scores[0]).toEqual({ order: 'CDAB', plausible: 3, total: 3 });
    expect(scores.find((s) => s.order === 'ABCD')!.plausible).toBe(0);
  });

  it('suspects the map when its order reads at most half plausibly and another reads more', () => {
    const map = specs('ABCD');
    expect(suspectOrder(served('CDAB', map), 'ABCD')).toMatchObject({
      declared: { order: 'ABCD', plausible: 0, total: 3 },
      likely: { order: 'CDAB', plausible: 3, total: 3 },
    });
    expect(suspectOrder(served('ABCD', map), 'ABCD')).toBeUndefined();
    // Garbage in every order: nothing to suggest (each value is rejected on its own instead).
    const garbage = map.map((spec) => ({ spec, words: spec.count === 2 ? [0x7fc0, 0x7fc0] : [0] }));
    expect(suspectOrder(garbage, 'ABCD')).toBeUndefined();
    // Values that could not be read do not count.
    expect(
      suspectOrder(
        map.map((spec) => ({ spec, words: undefined })),
        'ABCD',
      ),
    ).toBeUndefined();
  });
});
