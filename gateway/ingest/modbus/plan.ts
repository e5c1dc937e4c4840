/**
 * Block planning: which read requests fetch a register map. Registers of one function code that touch or
 * overlap are coalesced into one request within the protocol limits (125 registers for FC3/FC4, 2000 bits
 * for FC1/FC2, Modbus Application Protocol V1.1b3 §6.1-6.4). A gap is bridged only up to the map's
 * `maxGapRegisters` (0 by default), so a read never spans addresses the device was not configured to serve.
 * Pure.
 */
import { type FunctionCode, MAX_BITS_PER_READ, type RegisterSpec } from './registers.ts';

export interface Block {
  fc: FunctionCode;
  address: number;
  /** Registers (FC3/FC4) or bits (FC1/FC2). */
  count: number;
  registers: RegisterSpec[];
}

export interface PlanOptions {
  maxBlockRegisters: number;
  maxGapRegisters: number;
}

export function planBlocks(registers: readonly RegisterSpec[], opts: PlanOptions): Block[] {
  const sorted = [...registers].sort((a, b) => a.fc - b.fc || a.address - b.address || b.count - a.count);
  const blocks: Block[] = [];
  let cur: Block | undefined;
  for (const r of sorted) {
    const bits = r.fc === 1 || r.fc === 2;
    const limit = bits ? MAX_BITS_PER_READ : opts.maxBlockRegisters;
    const gap = bits ? 0 : opts.maxGapRegisters;
    if (cur && cur.fc === r.fc) {
      const end = cur.address + cur.count;
      const newEnd = Math.max(end, r.address + r.count);
      if (r.address <= end + gap && newEnd - cur.address <= limit) {
        cur.count = newEnd - cur.address;
        cur.registers.push(r);
        continue;
      }
    }
    cur = { fc: r.fc, address: r.address, count: r.count, registers: [r] };
    blocks.push(cur);
  }
  return blocks;
}

/**
 * The fallback when a device refuses a coalesced block with exception 02 (illegal data address): read
 * each value on its own from then on, so one bad address costs one value, not the whole block.
 */
export function splitBlock(block: Block): Block[] {
  return block.registers.map((r) => ({ fc: r.fc, address: r.address, count: r.count, registers: [r] }));
}
