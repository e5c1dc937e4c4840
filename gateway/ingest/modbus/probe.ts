/**
 * The commissioning probe's reads and its text output: one raw read shown under every type and byte/word
 * order (plausible ones marked), or a whole register map read and decoded with units. The reads go
 * through a ModbusBus like the poller's; formatting is pure.
 */
import type { ModbusBus } from './bus.ts';
import {
  checkPlausible,
  type Decoded,
  decodeRegister,
  type Interpretation,
  interpretations,
} from './decode.ts';
import { classify, faultMessage } from './faults.ts';
import { declaredOrder, type OrderScore, scoreOrders } from './order.ts';
import { type Block, planBlocks, splitBlock } from './plan.ts';
import type { FunctionCode, RegisterMap } from './registers.ts';

export interface MapValue {
  decoded: Decoded | undefined;
  /** Why the value could not be read, or why it would be rejected. */
  problem: string | undefined;
  name: string;
  /** The register's raw words as read (absent when it could not be read). */
  words?: number[];
}

/**
 * Every byte/word order scored on the map's multi-register numbers as read (order.ts). Best first; ties
 * keep the map's own order first, then ABCD, CDAB, BADC, DCBA.
 */
export function rankOrders(values: readonly MapValue[], map: RegisterMap): OrderScore[] {
  const read = values.map((v, i) => ({ spec: map.registers[i]!, words: v.words }));
  return scoreOrders(read, declaredOrder(map.registers));
}

/** `order  ABCD 18/18 plausible, likely; CDAB 3/18; …`, and a warning when the map's order is not the likely one. */
export function formatOrders(scores: readonly OrderScore[], map: RegisterMap): string[] {
  const best = scores[0];
  if (!best || best.total === 0) return [];
  const list = scores.map(
    (s, i) => `${s.order} ${s.plausible}/${s.total}${i === 0 ? ' plausible, likely' : ''}`,
  );
  const lines = [`order  ${list.join('; ')}`];
  const mapOrders = new Set(
    map.registers.filter((r) => r.count > 1 && r.type !== 'string').map((r) => r.order),
  );
  if (!mapOrders.has(best.order) && best.plausible > 0)
    lines.push(
      `WARNING the map says ${[...mapOrders].join('/')} but ${best.order} reads plausibly: set order: ${best.order}`,
    );
  return lines;
}

/** Reads every register of a map once (a block the device refuses is retried value by value). */
export async function readMap(
  bus: ModbusBus,
  map: RegisterMap,
  opts: { unitId: number; timeoutMs: number },
): Promise<MapValue[]> {
  const out = new Map<string, MapValue>();
  const queue: Block[] = planBlocks(map.registers, map);
  while (queue.length) {
    const block = queue.shift()!;
    try {
      const data = await bus.read({
        deviceId: 'probe',
        unitId: opts.unitId,
        timeoutMs: opts.timeoutMs,
        ...block,
      });
      for (const spec of block.registers) {
        const decoded = decodeRegister(spec, data, block.address);
        const bad = typeof decoded.raw === 'string' ? undefined : checkPlausible(decoded);
        const at = spec.address - block.address;
        out.set(spec.name, {
          name: spec.name,
          decoded,
          problem: bad ? `${bad.code}: ${bad.detail}` : undefined,
          words: Array.from(data).slice(at, at + spec.count),
        });
      }
    } catch (err) {
      const fault = classify(err);
      if (fault.kind === 'exception' && fault.code === 2 && block.registers.length > 1) {
        queue.unshift(...splitBlock(block));
        continue;
      }
      for (const spec of block.registers) {
        out.set(spec.name, { name: spec.name, decoded: undefined, problem: faultMessage(fault) });
      }
    }
  }
  return map.registers.map((r) => out.get(r.name)!);
}

export async function readRaw(
  bus: ModbusBus,
  req: { unitId: number; fc: FunctionCode; address: number; count: number; timeoutMs: number },
): Promise<readonly number[]> {
  return bus.read({ deviceId: 'probe', ...req });
}

function hex(words: readonly number[]): string {
  return words.map((w) => `0x${w.toString(16).padStart(4, '0')}`).join(' ');
}

function show(v: number | string | bigint): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** One line per type and order: `float32  CDAB  230.10000610351562  plausible`. */
export function formatInterpretations(words: readonly number[], fc: FunctionCode): string[] {
  if (fc === 1 || fc === 2) return [`bits  ${words.join(' ')}`];
  const lines = [`registers  ${hex(words)}`];
  const list: Interpretation[] = interpretations(words);
  for (const i of list) {
    lines.push(
      `${i.type.padEnd(8)} ${(i.order || '-').padEnd(5)} ${show(i.value).padEnd(26)} ${i.plausible ? 'plausible' : ''}`.trimEnd(),
    );
  }
  return lines;
}

/** One line per register: `voltage  230.10000610351562 V  (FC4 0, float32 ABCD)`, or why it failed. */
export function formatMap(values: readonly MapValue[], map: RegisterMap): string[] {
  const width = Math.max(...map.registers.map((r) => r.name.length));
  return values.map((v, i) => {
    const spec = map.registers[i]!;
    const where = `(FC${spec.fc} ${spec.address}, ${spec.type}${spec.type === 'string' || spec.count === 1 ? '' : ` ${spec.order}`})`;
    const name = v.name.padEnd(width);
    if (!v.decoded) return `${name}  ERROR ${v.problem}  ${where}`;
    const raw = v.decoded.raw;
    const label = typeof raw === 'number' ? spec.enum?.get(raw) : undefined;
    const value =
      typeof raw === 'string' ? show(raw) : `${v.decoded.value}${label === undefined ? '' : ` (${label})`}`;
    const unit = spec.unit ? ` ${spec.unit}` : '';
    const flag = v.problem ? `  REJECTED ${v.problem}` : '';
    return `${name}  ${value}${unit}  ${where}${flag}`;
  });
}
