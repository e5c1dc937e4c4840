import { describe, expect, it } from 'vitest';
import { canonicalBytes, checkPlausible, decodeRegister, interpretations } from './decode.ts';
import { isMapIssue, ORDERS, type Order, parseRegisterMap, type RegisterSpec } from './registers.ts';

function spec(r: Record<string, unknown>): RegisterSpec {
  const m = parseRegisterMap({ registers: [{ name: 'x', fc: 3, address: 0, ...r }] });
  if (isMapIssue(m)) throw new Error(m.message);
  return m.registers[0]!;
}

/** Register words of big-endian bytes laid out in `order` (independent of canonicalBytes). */
function wordsOf(be: Buffer, order: Order): number[] {
  const n = be.length / 2;
  const words: number[] = [];
  for (let i = 0; i < n; i++) words.push(be.readUInt16BE(2 * i));
  const ordered = order === 'CDAB' || order === 'DCBA' ? words.reverse() : words;
  return order === 'BADC' || order === 'DCBA' ? ordered.map((w) => ((w & 0xff) << 8) | (w >> 8)) : ordered;
}

describe('decoding', () => {
  it('reads float32 230.1 in every byte/word order', () => {
    const be = Buffer.alloc(4);
    be.writeFloatBE(230.1);
    expect(wordsOf(be, 'ABCD')).toEqual([0x4366, 0x199a]);
    expect(wordsOf(be, 'CDAB')).toEqual([0x199a, 0x4366]);
    expect(wordsOf(be, 'BADC')).toEqual([0x6643, 0x9a19]);
    expect(wordsOf(be, 'DCBA')).toEqual([0x9a19, 0x6643]);
    for (const order of ORDERS) {
      const d = decodeRegister(spec({ type: 'float32', order }), wordsOf(be, order), 0);
      expect(d.raw).toBe(Math.fround(230.1));
    }
  });

  it('reads every numeric type, with scale and offset, from inside a block', () => {
    const cases: [string, number, (b: Buffer, v: number) => void, number][] = [
      ['int16', -1234, (b, v) => b.writeInt16BE(v), 2],
      ['uint16', 65000, (b, v) => b.writeUInt16BE(v), 2],
      ['int32', -123456789, (b, v) => b.writeInt32BE(v), 4],
      ['uint32', 4000000000, (b, v) => b.writeUInt32BE(v), 4],
      ['int64', -9007199254740991, (b, v) => b.writeBigInt64BE(BigInt(v)), 8],
      ['uint64', 123456789012345, (b, v) => b.writeBigUInt64BE(BigInt(v)), 8],
      ['float64', 1234.5678901234, (b, v) => b.writeDoubleBE(v), 8],
    ];
    for (const [type, value, write, bytes] of cases) {
      for (const order of ORDERS) {
        const be = Buffer.alloc(bytes);
        write(be, value);
        const block = [0xdead, ...wordsOf(be, order), 0xbeef];
        const d = decodeRegister(spec({ type, order, address: 1, scale: 2, offset: 1 }), block, 0);
        expect(d.raw, `${type} ${order}`).toBe(value);
        expect(d.value).toBe(value * 2 + 1);
      }
    }
  });

  it('reads bools, bits and strings', () => {
    expect(decodeRegister(spec({ type: 'bit', bit: 3 }), [0b1000], 0).raw).toBe(1);
    expect(decodeRegister(spec({ type: 'bit', bit: 2 }), [0b1000], 0).raw).toBe(0);
    expect(decodeRegister(spec({ type: 'bool' }), [7], 0).raw).toBe(1);
    expect(decodeRegister(spec({ fc: 1, type: 'bool', address: 2 }), [0, 0, 1], 0).raw).toBe(1);
    expect(decodeRegister(spec({ type: 'string', length: 3 }), [0x5344, 0x4d31, 0x3230], 0).raw).toBe(
      'SDM120',
    );
    expect(
      decodeRegister(spec({ type: 'string', length: 3, order: 'BADC' }), [0x4453, 0x314d, 0x0030], 0).raw,
    ).toBe('DSM10'.replace('DSM10', 'SDM10'));
  });

  it('rejects NaN, infinities, denormal garbage and values outside min/max', () => {
    const f = spec({ type: 'float32' });
    expect(checkPlausible(decodeRegister(f, [0x7fc0, 0], 0))?.code).toBe('CT_ERR_BAD_VALUE'); // NaN
    expect(checkPlausible(decodeRegister(f, [0x7f80, 0], 0))?.code).toBe('CT_ERR_BAD_VALUE'); // +Inf
    // 230.1 served CDAB but read ABCD: 0x199a4366 ≈ 1.6e-23, garbage.
    const wrong = decodeRegister(f, [0x199a, 0x4366], 0);
    expect(checkPlausible(wrong)).toMatchObject({ code: 'CT_ERR_IMPLAUSIBLE' });
    expect(checkPlausible(decodeRegister(f, [0x0000, 0x0001], 0))?.code).toBe('CT_ERR_IMPLAUSIBLE'); // denormal
    expect(checkPlausible(decodeRegister(f, [0, 0], 0))).toBeUndefined(); // zero is fine
    expect(checkPlausible(decodeRegister(f, [0x4366, 0x199a], 0))).toBeUndefined();
    const ranged = spec({ type: 'int16', min: -40, max: 80, scale: 0.1 });
    expect(checkPlausible(decodeRegister(ranged, [900], 0))?.code).toBe('CT_ERR_IMPLAUSIBLE');
    expect(checkPlausible(decodeRegister(ranged, [215], 0))).toBeUndefined();
  });

  it('lists every interpretation for the probe and marks the plausible ones', () => {
    const be = Buffer.alloc(4);
    be.writeFloatBE(49.95);
    const all = interpretations(wordsOf(be, 'CDAB'));
    const f = all.filter((i) => i.type === 'float32');
    expect(f.map((i) => i.order)).toEqual(['ABCD', 'CDAB', 'BADC', 'DCBA']);
    expect(f.find((i) => i.order === 'CDAB')).toMatchObject({ value: Math.fround(49.95), plausible: true });
    // ABCD reads -1.08e8 and BADC -4.28e8: not plausible. DCBA reads 49869.8, which a meter could send.
    expect(f.filter((i) => i.plausible).map((i) => i.order)).toEqual(['CDAB', 'DCBA']);
    expect(all.some((i) => i.type === 'uint16')).toBe(true);
    expect(all.some((i) => i.type === 'float64')).toBe(false); // only two registers
  });

  it('canonicalBytes undoes each order', () => {
    expect([...canonicalBytes([0x0102, 0x0304], 0, 2, 'DCBA')]).toEqual([4, 3, 2, 1]);
    expect([...canonicalBytes([0x0102, 0x0304], 0, 2, 'BADC')]).toEqual([2, 1, 4, 3]);
  });
});

describe('64-bit integers in the probe', () => {
  it('are shown exactly, not rounded to a double', async () => {
    // 4856006299342912225 = 0x436400004364BAE1: as a double it would print 4856006299342912000.
    const words = [0x4364, 0x0000, 0x4364, 0xbae1];
    const int64 = interpretations(words).find((i) => i.type === 'uint64' && i.order === 'ABCD');
    expect(int64?.value).toBe(4856006299342912225n);
    expect(int64?.plausible).toBe(false); // beyond 10^12: no meter counts that high
    const small = interpretations([0, 0, 0x0001, 0x86a0]).find(
      (i) => i.type === 'int64' && i.order === 'ABCD',
    );
    expect(small).toMatchObject({ value: 100_000n, plausible: true });
    const { formatInterpretations } = await import('./probe.ts');
    const lines = formatInterpretations(words, 3);
    expect(lines.find((l) => l.startsWith('uint64   ABCD'))).toContain('4856006299342912225');
  });
});

describe('enum plausibility', () => {
  it('accepts a listed code and refuses any other with the list', () => {
    const s = spec({ type: 'uint16', enum: { 0: 2400, 1: 4800, 2: 9600 } });
    expect(checkPlausible(decodeRegister(s, [2], 0))).toBeUndefined();
    expect(checkPlausible(decodeRegister(s, [7], 0))).toEqual({
      code: 'CT_ERR_IMPLAUSIBLE',
      detail: 'x: 7 is not one of its codes (0, 1, 2)',
    });
  });
});
