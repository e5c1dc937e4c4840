/**
 * Register words to values: byte/word order, every type of the register map, scale and offset, and the
 * plausibility gate that keeps garbage (NaN, infinities, denormals from a wrong word order) out of the
 * journal. Pure.
 */
import type { ErrorCode } from '../../../shared/errors.ts';
import { ORDERS, type Order, type RegisterSpec, type ValueType, WORDS } from './registers.ts';

/**
 * The big-endian bytes of `count` registers starting at `at`, undoing the device's order: CDAB/DCBA store
 * the words in reverse (least significant word first), BADC/DCBA swap the two bytes of each word.
 */
export function canonicalBytes(
  words: ArrayLike<number>,
  at: number,
  count: number,
  order: Order,
  into?: Buffer,
): Buffer {
  const out = into ?? Buffer.allocUnsafe(count * 2);
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let i = 0; i < count; i++) {
    const w = (words[at + (swapWords ? count - 1 - i : i)] ?? 0) & 0xffff;
    out[2 * i] = swapBytes ? w & 0xff : w >> 8;
    out[2 * i + 1] = swapBytes ? w >> 8 : w & 0xff;
  }
  return out;
}

/** The raw number (before scale and offset) of a numeric type read from big-endian bytes. */
export function numberFrom(bytes: Buffer, type: Exclude<ValueType, 'string'>, bit = 0): number {
  switch (type) {
    case 'int16':
      return bytes.readInt16BE(0);
    case 'uint16':
      return bytes.readUInt16BE(0);
    case 'int32':
      return bytes.readInt32BE(0);
    case 'uint32':
      return bytes.readUInt32BE(0);
    // Beyond 2^53 a Number loses precision; plausibility rejects such values anyway.
    case 'int64':
      return Number(bytes.readBigInt64BE(0));
    case 'uint64':
      return Number(bytes.readBigUInt64BE(0));
    case 'float32':
      return bytes.readFloatBE(0);
    case 'float64':
      return bytes.readDoubleBE(0);
    case 'bool':
      return bytes.readUInt16BE(0) !== 0 ? 1 : 0;
    case 'bit':
      return (bytes.readUInt16BE(0) >> bit) & 1;
  }
}

export function stringFrom(bytes: Buffer): string {
  // Devices pad with NUL or spaces; either way the padding is not part of the value.
  return bytes.toString('latin1').replace(/[\0 ]+$/, '');
}

export interface Decoded {
  spec: RegisterSpec;
  /** Before scale and offset (what the device sent). */
  raw: number | string;
  /** After scale and offset; NaN for strings. */
  value: number;
}

/** The register words (or bits) of a value in its block, for the quarantine. */
export function wordsOf(
  spec: RegisterSpec,
  data: ArrayLike<number | boolean>,
  blockAddress: number,
): number[] {
  const at = spec.address - blockAddress;
  const words: number[] = [];
  for (let i = 0; i < spec.count; i++) words.push(Number(data[at + i] ?? 0) & 0xffff);
  return words;
}

/** Register words as the wire carries them (big-endian), for a quarantine entry's payload. */
export function wireBytes(words: readonly number[]): Buffer {
  const payload = Buffer.alloc(words.length * 2);
  for (const [i, w] of words.entries()) payload.writeUInt16BE(w & 0xffff, i * 2);
  return payload;
}

/** Scratch space for numeric values (at most 4 registers): decoding a poll allocates no buffers. */
const SCRATCH = Buffer.alloc(8);

/**
 * Decodes one register of a block: `data` holds the block's words (FC3/FC4) or bits (FC1/FC2) from
 * `blockAddress` on.
 */
export function decodeRegister(
  spec: RegisterSpec,
  data: ArrayLike<number | boolean>,
  blockAddress: number,
): Decoded {
  const at = spec.address - blockAddress;
  if (spec.fc === 1 || spec.fc === 2) {
    const v = data[at] ? 1 : 0;
    return { spec, raw: v, value: v * spec.scale + spec.offset };
  }
  const words = data as ArrayLike<number>;
  if (spec.type === 'string') {
    const bytes = canonicalBytes(words, at, spec.count, stringOrder(spec.order));
    return { spec, raw: stringFrom(bytes), value: Number.NaN };
  }
  const raw = numberFrom(canonicalBytes(words, at, spec.count, spec.order, SCRATCH), spec.type, spec.bit);
  return { spec, raw, value: raw * spec.scale + spec.offset };
}

/** A string is a byte sequence: only the byte swap inside each word applies, never a word reversal. */
export function stringOrder(order: Order): Order {
  return order === 'BADC' || order === 'DCBA' ? 'BADC' : 'ABCD';
}

/** Below this magnitude a float is not a measurement: it is what a wrong word order makes of small ints. */
const FLOAT_TINY = 1e-20;
/** Above this magnitude nothing a campus meters (even energy in Wh) is real. */
const FLOAT_HUGE = 1e15;

export interface Implausible {
  code: ErrorCode;
  detail: string;
}

/**
 * Whether a decoded number may become a Reading: finite, not denormal or absurdly large (float types),
 * exactly representable (64-bit integers), inside the register's configured min/max. The quantity's
 * physical range is checked after this, by the same gate as MQTT readings.
 */
export function checkPlausible(d: Decoded): Implausible | undefined {
  const { spec, raw, value } = d;
  if (typeof raw === 'string')
    return { code: 'CT_ERR_BAD_VALUE', detail: `${spec.name}: a string is not a number` };
  if (!Number.isFinite(raw) || !Number.isFinite(value)) {
    return { code: 'CT_ERR_BAD_VALUE', detail: `${spec.name}: ${raw} is not a finite number` };
  }
  if (spec.type === 'float32' || spec.type === 'float64') {
    const m = Math.abs(raw);
    if (m !== 0 && (m < FLOAT_TINY || m > FLOAT_HUGE)) {
      return {
        code: 'CT_ERR_IMPLAUSIBLE',
        detail: `${spec.name}: ${raw} is not a plausible measurement (wrong byte/word order?)`,
      };
    }
  }
  if ((spec.type === 'int64' || spec.type === 'uint64') && !Number.isSafeInteger(raw)) {
    return { code: 'CT_ERR_IMPLAUSIBLE', detail: `${spec.name}: ${raw} exceeds 2^53` };
  }
  if (spec.enum && !spec.enum.has(raw))
    return {
      code: 'CT_ERR_IMPLAUSIBLE',
      detail: `${spec.name}: ${raw} is not one of its codes (${[...spec.enum.keys()].join(', ')})`,
    };
  const { min, max } = spec;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    return {
      code: 'CT_ERR_IMPLAUSIBLE',
      detail: `${spec.name}: ${value}${spec.unit ? ` ${spec.unit}` : ''} outside its plausible range ${min ?? '-∞'}..${max ?? '∞'}`,
    };
  }
  return undefined;
}

export interface Interpretation {
  type: ValueType;
  order: Order | '';
  /** 64-bit integers exactly (a bigint): a Number would round them beyond 2^53. */
  value: number | string | bigint;
  plausible: boolean;
}

const PROBE_NUMERIC: readonly Exclude<ValueType, 'string' | 'bool' | 'bit'>[] = [
  'int16',
  'uint16',
  'int32',
  'uint32',
  'float32',
  'int64',
  'uint64',
  'float64',
];

/**
 * Every reading of the words from the first register on, for the commissioning probe: each numeric type
 * that fits, in each byte/word order, plus the string. `plausible` marks values a meter could send: a
 * finite number that is not denormal garbage and, for floats, not astronomically large.
 */
export function interpretations(words: readonly number[]): Interpretation[] {
  const out: Interpretation[] = [];
  for (const type of PROBE_NUMERIC) {
    const n = WORDS[type];
    if (words.length < n) continue;
    // 16-bit values have no word order, only a byte order.
    const orders: readonly Order[] = n === 1 ? ['ABCD', 'BADC'] : ORDERS;
    for (const order of orders) {
      const bytes = canonicalBytes(words, 0, n, order);
      if (type === 'int64' || type === 'uint64') {
        const exact = type === 'int64' ? bytes.readBigInt64BE(0) : bytes.readBigUInt64BE(0);
        const magnitude = exact < 0n ? -exact : exact;
        out.push({ type, order, value: exact, plausible: magnitude < 1_000_000_000_000n });
        continue;
      }
      const raw = numberFrom(bytes, type);
      out.push({ type, order, value: raw, plausible: probePlausible(type, raw) });
    }
  }
  out.push({
    type: 'string',
    order: '',
    value: stringFrom(canonicalBytes(words, 0, words.length, 'ABCD')),
    plausible: false,
  });
  return out;
}

function probePlausible(type: ValueType, raw: number): boolean {
  if (!Number.isFinite(raw)) return false;
  if (type === 'float32' || type === 'float64') {
    const m = Math.abs(raw);
    // A wrong order makes small numbers tiny (denormal) or huge; a meter's value sits in between.
    return m === 0 || (m >= 1e-6 && m < 1e8);
  }
  return true;
}
