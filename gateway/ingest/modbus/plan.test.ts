import { describe, expect, it } from 'vitest';
import { planBlocks, splitBlock } from './plan.ts';
import { isMapIssue, parseRegisterMap, type RegisterSpec } from './registers.ts';

function regs(list: unknown[]): RegisterSpec[] {
  const m = parseRegisterMap({ registers: list });
  if (isMapIssue(m)) throw new Error(m.message);
  return m.registers;
}

const f32 = (name: string, address: number, fc = 4) => ({ name, fc, address, type: 'float32' });

describe('block planning', () => {
  it('coalesces contiguous registers of one function code, never across a gap by default', () => {
    const blocks = planBlocks(regs([f32('a', 0), f32('b', 2), f32('c', 6), f32('d', 4), f32('h', 0, 3)]), {
      maxBlockRegisters: 125,
      maxGapRegisters: 0,
    });
    expect(blocks.map((b) => [b.fc, b.address, b.count, b.registers.map((r) => r.name)])).toEqual([
      [3, 0, 2, ['h']],
      [4, 0, 8, ['a', 'b', 'd', 'c']],
    ]);
    const gapped = planBlocks(regs([f32('a', 0), f32('b', 6)]), {
      maxBlockRegisters: 125,
      maxGapRegisters: 0,
    });
    expect(gapped.map((b) => [b.address, b.count])).toEqual([
      [0, 2],
      [6, 2],
    ]);
    const bridged = planBlocks(regs([f32('a', 0), f32('b', 6)]), {
      maxBlockRegisters: 125,
      maxGapRegisters: 4,
    });
    expect(bridged.map((b) => [b.address, b.count])).toEqual([[0, 8]]);
  });

  it('splits at the protocol limits: 125 registers, 2000 bits', () => {
    const many = Array.from({ length: 100 }, (_, i) => f32(`r${i}`, i * 2));
    const blocks = planBlocks(regs(many), { maxBlockRegisters: 125, maxGapRegisters: 0 });
    expect(blocks.map((b) => b.count)).toEqual([124, 76]);
    expect(Math.max(...blocks.map((b) => b.count))).toBeLessThanOrEqual(125);
    const coils = Array.from({ length: 2500 }, (_, i) => ({
      name: `c${i}`,
      fc: 1,
      address: i,
      type: 'bool',
    }));
    expect(
      planBlocks(regs(coils), { maxBlockRegisters: 125, maxGapRegisters: 0 }).map((b) => b.count),
    ).toEqual([2000, 500]);
    const small = planBlocks(regs(many.slice(0, 10)), { maxBlockRegisters: 8, maxGapRegisters: 0 });
    expect(small.map((b) => b.count)).toEqual([8, 8, 4]);
  });

  it('keeps overlapping values (two bits of one register) in one read, and splits a refused block', () => {
    const blocks = planBlocks(
      regs([
        { name: 'x', fc: 3, address: 5, type: 'bit', bit: 0 },
        { name: 'y', fc: 3, address: 5, type: 'bit', bit: 3 },
        { name: 'z', fc: 3, address: 6, type: 'uint16' },
      ]),
      { maxBlockRegisters: 125, maxGapRegisters: 0 },
    );
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({ address: 5, count: 2 });
    expect(splitBlock(blocks[0]!).map((b) => [b.address, b.count])).toEqual([
      [5, 1],
      [5, 1],
      [6, 1],
    ]);
  });
});
