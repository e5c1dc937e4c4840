/**
 * Values to register words: the inverse of decode.ts, for devices this repository serves itself (the
 * simulator's meters, probes in tests). Pure.
 */
import { stringOrder } from './decode.ts';
import type { RegisterSpec } from './registers.ts';

/**
 * The words (FC3/FC4) a device holding `value` (after scale and offset) sends for `spec`, in the spec's byte
 * and word order; for FC1/FC2 one bit (0 or 1); a string register the text, NUL-padded. Integer types
 * round and clamp to their range.
 */
export function encodeRegister(spec: RegisterSpec, value: number | string): number[] {
  const raw = (Number(value) - spec.offset) / spec.scale;
  if (spec.fc === 1 || spec.fc === 2 || spec.type === 'bool') return [raw >= 0.5 ? 1 : 0];
  if (spec.type === 'bit') return [(raw >= 0.5 ? 1 : 0) << spec.bit];
  if (spec.type === 'string') {
    const bytes = Buffer.alloc(spec.count * 2, 0);
    bytes.write(String(value), 'latin1');
    return ordered(bytes, stringOrder(spec.order));
  }
  const bytes = Buffer.alloc(spec.count * 2);
  const int = (min: number, max: number) => Math.min(max, Math.max(min, Math.round(raw)));
  switch (spec.type) {
    case 'int16':
      bytes.writeInt16BE(int(-0x8000, 0x7fff));
      break;
    case 'uint16':
      bytes.writeUInt16BE(int(0, 0xffff));
      break;
    case 'int32':
      bytes.writeInt32BE(int(-0x80000000, 0x7fffffff));
      break;
    case 'uint32':
      bytes.writeUInt32BE(int(0, 0xffffffff));
      break;
    case 'int64':
      bytes.writeBigInt64BE(BigInt(Math.round(raw)));
      break;
    case 'uint64':
      bytes.writeBigUInt64BE(BigInt(Math.max(0, Math.round(raw))));
      break;
    case 'float32':
      bytes.writeFloatBE(raw);
      break;
    case 'float64':
      bytes.writeDoubleBE(raw);
      break;
  }
  return ordered(bytes, spec.order);
}

/** Big-endian bytes to words in a device's order (see canonicalBytes, which undoes this). */
function ordered(bytes: Buffer, order: RegisterSpec['order']): number[] {
  const n = bytes.length / 2;
  const words: number[] = [];
  for (let i = 0; i < n; i++) {
    const hi = bytes[2 * i]!;
    const lo = bytes[2 * i + 1]!;
    words.push(order === 'BADC' || order === 'DCBA' ? (lo << 8) | hi : (hi << 8) | lo);
  }
  return order === 'CDAB' || order === 'DCBA' ? words.reverse() : words;
}
