/**
 * Register maps: the YAML/JSON form (zod), reference notation (30001 / 400001 style) and the normalised
 * `RegisterSpec` every other part of the Modbus code works on. Pure: no files, no sockets.
 */
import { z } from 'zod';
import { isQuantity, QUANTITY_NAMES, type Quantity } from '../../../shared/quantities.ts';

/** Modbus read function codes: 01 coils, 02 discrete inputs, 03 holding registers, 04 input registers. */
export type FunctionCode = 1 | 2 | 3 | 4;

export const VALUE_TYPES = [
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'bool',
  'bit',
  'string',
] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/**
 * Byte and word order of a multi-register value, named by where the bytes of the big-endian value ABCD land:
 * ABCD big-endian (Modbus' own order), CDAB word-swapped, BADC byte-swapped, DCBA little-endian.
 */
export const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type Order = (typeof ORDERS)[number];

/** Protocol limits per request (Modbus Application Protocol V1.1b3 §6.1-6.4). */
export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;

/**
 * What a register may plausibly read, by its unit (after scale and offset), when its map sets no min/max:
 * wide enough for any campus meter, narrow enough that a wrong byte or word order (50 Hz read as
 * 198,656 Hz, 1,234 kWh as 1.1e-38 or 5.1e7) is caught before it is journalled. A map's min/max wins.
 */
const UNIT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  Hz: [45, 65],
  V: [0, 1_000],
  kV: [0, 1_000],
  A: [-10_000, 10_000],
  W: [-1e8, 1e8],
  kW: [-1e5, 1e5],
  VA: [-1e8, 1e8],
  kVA: [-1e5, 1e5],
  VAr: [-1e8, 1e8],
  kVAr: [-1e5, 1e5],
  Wh: [0, 1e11],
  kWh: [0, 1e8],
  VArh: [0, 1e11],
  kVArh: [0, 1e8],
  '°': [-360, 360],
};

/** A register's plausible range: its map's min/max, else the default for its unit (power factor: ±1). */
function plausibleRange(r: {
  name: string;
  unit: string;
  min?: number | undefined;
  max?: number | undefined;
}): {
  min: number | undefined;
  max: number | undefined;
} {
  if (r.min !== undefined || r.max !== undefined) return { min: r.min, max: r.max };
  if (!r.unit && /power_?factor|^pf$/i.test(r.name)) return { min: -1, max: 1 };
  const range = UNIT_RANGES[r.unit];
  return range ? { min: range[0], max: range[1] } : { min: undefined, max: undefined };
}

export interface RegisterSpec {
  name: string;
  fc: FunctionCode;
  /** Zero-based protocol address. */
  address: number;
  /** Registers (FC3/FC4) or bits (FC1/FC2) this value occupies. */
  count: number;
  type: ValueType;
  order: Order;
  /** For `bit`: which bit of the register, 0 = least significant. */
  bit: number;
  scale: number;
  offset: number;
  /** The unit after scale and offset (informational; a quantity's canonical unit wins). */
  unit: string;
  quantity: Quantity | undefined;
  deadband: number;
  /**
   * Plausible range after scale and offset (the map's, else its unit's default); outside it a value is
   * rejected (CT_ERR_IMPLAUSIBLE).
   */
  min: number | undefined;
  max: number | undefined;
  /** An enumerated register (baud rate, wiring type…): the raw codes it may hold and what each means. */
  enum: ReadonlyMap<number, string> | undefined;
  /**
   * A counter that only counts up (energy: the map's `monotonic`, default on for Wh/kWh/VArh/kVArh): a value
   * below the last one is rejected, unless the lower reading holds for a few polls (a reset or new meter).
   */
  monotonic: boolean;
}

/** Units of counters that only ever count up (a register map may say otherwise with `monotonic`). */
const COUNTER_UNITS = new Set(['Wh', 'kWh', 'MWh', 'VArh', 'kVArh', 'VAh', 'kVAh']);

export const WORDS: Record<ValueType, number> = {
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  int64: 4,
  uint64: 4,
  float32: 2,
  float64: 4,
  bool: 1,
  bit: 1,
  string: 1,
};

export const FC_BY_TABLE = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;

/**
 * Reference ("Modicon") notation to function code + zero-based address. Five digits: 0xxxx coils,
 * 1xxxx discrete inputs, 3xxxx input registers, 4xxxx holding registers, each starting at 1 (30001 is input
 * register 0). Six digits (300001–365536) reach the whole 16-bit range. A string keeps its leading digit
 * count ("010001" is coil 10000); a number below 100000 is read as five digits (17 is 00017, coil 16).
 */
export function parseReference(ref: string | number): { fc: FunctionCode; address: number } | string {
  // YAML reads 00017 as the number 17: a number below 100000 is the five-digit reference it was written as.
  const s = typeof ref === 'number' ? String(ref).padStart(5, '0') : ref.trim();
  if (!/^\d{5,6}$/.test(s)) return `reference ${ref}: expected 5 or 6 digits (e.g. 30001 or 400001)`;
  const table = s[0];
  const n = Number(s.slice(1));
  const fc = table === '0' ? 1 : table === '1' ? 2 : table === '3' ? 4 : table === '4' ? 3 : undefined;
  if (fc === undefined) return `reference ${ref}: must start with 0, 1, 3 or 4`;
  if (n < 1 || n > 65_536) return `reference ${ref}: offset must be 1..65536`;
  return { fc, address: n - 1 };
}

const name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');

export const registerSchema = z
  .object({
    name,
    fc: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
    table: z.enum(['coil', 'discrete', 'holding', 'input']).optional(),
    address: z.number().int().min(0).max(65_535).optional(),
    ref: z.union([z.string(), z.number().int()]).optional(),
    type: z.enum(VALUE_TYPES).default('uint16'),
    order: z.enum(ORDERS).default('ABCD'),
    bit: z.number().int().min(0).max(15).optional(),
    /** Registers of a string (2 characters each). */
    length: z.number().int().min(1).max(MAX_REGISTERS_PER_READ).optional(),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().default(''),
    quantity: z.enum(QUANTITY_NAMES as [Quantity, ...Quantity[]]).optional(),
    deadband: z.number().min(0).default(0),
    min: z.number().optional(),
    max: z.number().optional(),
    /** Raw code -> meaning, e.g. `{0: 1200, 1: 2400, 2: 4800}` or `{1: 3P4W, 2: 3P3W, 3: 1P2W}`. */
    enum: z
      .record(
        z.string().regex(/^-?\d+$/, 'enum keys are integer codes'),
        z.union([z.string().min(1), z.number()]),
      )
      .optional(),
    monotonic: z.boolean().optional(),
  })
  .strict();

/** A register map as written in a profile or on a device. */
export const registerMapSchema = z.object({
  description: z.string().default(''),
  /** Largest register block per read (devices may accept fewer than the protocol's 125). */
  maxBlockRegisters: z.number().int().min(1).max(MAX_REGISTERS_PER_READ).default(MAX_REGISTERS_PER_READ),
  /**
   * Unmapped registers a block read may span to join two values. 0 (the default) reads only contiguous
   * registers, so a read never crosses a gap the device might reject.
   */
  maxGapRegisters: z.number().int().min(0).max(MAX_REGISTERS_PER_READ).default(0),
  registers: z.array(registerSchema).min(1),
});

export interface RegisterMap {
  description: string;
  maxBlockRegisters: number;
  maxGapRegisters: number;
  registers: RegisterSpec[];
}

/** One problem in a register map, with the path of the bad field relative to the map. */
export interface MapIssue {
  path: string;
  message: string;
}

/** Validates and normalises a register map. Returns the map or the first problem with its path. */
export function parseRegisterMap(raw: unknown): RegisterMap | MapIssue {
  const parsed = registerMapSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { path: issue.path.map(String).join('.'), message: issue.message };
  }
  const registers: RegisterSpec[] = [];
  const names = new Set<string>();
  for (const [i, r] of parsed.data.registers.entries()) {
    const spec = normaliseRegister(r);
    if (typeof spec === 'string') return { path: `registers.${i}`, message: spec };
    if (names.has(spec.name)) return { path: `registers.${i}.name`, message: `duplicate name ${spec.name}` };
    names.add(spec.name);
    registers.push(spec);
  }
  return {
    description: parsed.data.description,
    maxBlockRegisters: parsed.data.maxBlockRegisters,
    maxGapRegisters: parsed.data.maxGapRegisters,
    registers,
  };
}

export function isMapIssue<T extends object>(m: T | MapIssue): m is MapIssue {
  return 'message' in m;
}

function normaliseRegister(r: z.output<typeof registerSchema>): RegisterSpec | string {
  let fc: FunctionCode | undefined = r.fc ?? (r.table ? FC_BY_TABLE[r.table] : undefined);
  let address = r.address;
  if (r.ref !== undefined) {
    const ref = parseReference(r.ref);
    if (typeof ref === 'string') return ref;
    if (fc !== undefined && fc !== ref.fc) return `ref ${r.ref} is FC${ref.fc}, but FC${fc} was given`;
    if (address !== undefined && address !== ref.address)
      return `ref ${r.ref} is address ${ref.address}, but address ${address} was given`;
    fc = ref.fc;
    address = ref.address;
  }
  if (fc === undefined) return 'give fc (1-4), table or ref';
  if (address === undefined) return 'give address (zero-based) or ref';
  const bitTable = fc === 1 || fc === 2;
  if (bitTable && r.type !== 'bool') return `FC${fc} reads single bits: type must be bool`;
  if (r.type === 'bit' && r.bit === undefined) return 'type bit needs bit (0-15)';
  if (r.type === 'string' && r.quantity) return 'a string cannot map to a quantity';
  if (r.min !== undefined && r.max !== undefined && r.min > r.max) return 'min must not exceed max';
  const count = r.type === 'string' ? (r.length ?? 1) : WORDS[r.type];
  if (address + count > 65_536) return `address ${address} + ${count} runs past 65535`;
  if (r.quantity && !isQuantity(r.quantity)) return `unknown quantity ${r.quantity}`;
  if (r.enum && !['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'].includes(r.type))
    return `enum needs an integer type, not ${r.type}`;
  const codes = r.enum ? Object.entries(r.enum) : [];
  if (r.enum && codes.length === 0) return 'enum needs at least one code';
  return {
    name: r.name,
    fc,
    address,
    count,
    type: r.type,
    order: r.order,
    bit: r.bit ?? 0,
    scale: r.scale,
    offset: r.offset,
    unit: r.unit,
    quantity: r.quantity,
    deadband: r.deadband,
    // Set once here, so every poll and the probe check the same range without re-deriving it.
    ...plausibleRange(r),
    enum: r.enum ? new Map(codes.map(([k, v]) => [Number(k), String(v)])) : undefined,
    monotonic: r.monotonic ?? COUNTER_UNITS.has(r.unit),
  };
}
