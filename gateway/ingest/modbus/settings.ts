/**
 * A device's `modbus:` block in the campus registry (config/campus.yaml): transport, address on the bus,
 * register map (a named profile, inline registers, or both) and polling policy; and the device profiles
 * (built-in ones shipped in ./profiles/*.yaml, plus `modbusProfiles:` in the campus file). Resolution is
 * pure apart from reading the built-in profile files once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ChannelInfo } from '../../../shared/campus.ts';
import {
  isMapIssue,
  type MapIssue,
  parseRegisterMap,
  type RegisterMap,
  registerSchema,
} from './registers.ts';

const ms = z.number().int().positive();

export const modbusDeviceSchema = z
  .object({
    transport: z.enum(['tcp', 'rtu']).default('tcp'),
    /** TCP: the device or the TCP gateway in front of a serial bus. */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65_535).default(502),
    /** RTU: the serial device (/dev/ttyUSB0) and its line settings; every device on one path shares them. */
    path: z.string().min(1).optional(),
    baudRate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    /** Modbus unit identifier (slave address): 1-247 on a serial bus, 0-255 over TCP. */
    unitId: z.number().int().min(0).max(255).default(1),
    /** A profile name (built-in: sdm120, room-sensor; or one from `modbusProfiles`). */
    profile: z.string().min(1).optional(),
    /** Registers of this device; with a profile, these are added to it (a same-named one replaces it). */
    registers: z.array(registerSchema).optional(),
    maxBlockRegisters: z.number().int().min(1).max(125).optional(),
    maxGapRegisters: z.number().int().min(0).max(125).optional(),
    pollIntervalMs: ms.default(10_000),
    /** Per request; a timed-out request is retried `retries` times before the poll fails. */
    timeoutMs: ms.default(1000),
    retries: z.number().int().min(0).max(10).default(1),
    backoffBaseMs: ms.default(1000),
    backoffMaxMs: ms.default(300_000),
    offlineAfterFailures: z.number().int().min(1).default(3),
  })
  .strict()
  .refine((d) => d.transport !== 'tcp' || d.host !== undefined, { message: 'tcp needs host', path: ['host'] })
  .refine((d) => d.transport !== 'rtu' || d.path !== undefined, { message: 'rtu needs path', path: ['path'] })
  .refine((d) => d.transport !== 'rtu' || (d.unitId >= 1 && d.unitId <= 247), {
    message: 'a serial unit id is 1-247',
    path: ['unitId'],
  })
  .refine((d) => d.profile !== undefined || (d.registers?.length ?? 0) > 0, {
    message: 'give a profile or registers',
    path: ['profile'],
  });

export type ModbusDeviceInput = z.output<typeof modbusDeviceSchema>;

export interface ModbusDeviceSettings {
  transport: 'tcp' | 'rtu';
  host: string;
  port: number;
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  dataBits: 7 | 8;
  unitId: number;
  profile: string | undefined;
  map: RegisterMap;
  pollIntervalMs: number;
  timeoutMs: number;
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  offlineAfterFailures: number;
}

/** The bus a device is on: one request at a time per serial line and per TCP connection. */
export function busKey(s: Pick<ModbusDeviceSettings, 'transport' | 'host' | 'port' | 'path'>): string {
  return s.transport === 'tcp' ? `tcp://${s.host}:${s.port}` : `rtu://${s.path}`;
}

let builtins: Map<string, RegisterMap> | undefined;

/** The profiles shipped in ./profiles (file name without .yaml is the profile name). */
export function builtinProfiles(): ReadonlyMap<string, RegisterMap> {
  if (builtins) return builtins;
  const dir = new URL('./profiles/', import.meta.url);
  const out = new Map<string, RegisterMap>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const map = parseRegisterMap(parseYaml(readFileSync(new URL(file, dir), 'utf8')));
    if (isMapIssue(map)) throw new Error(`built-in Modbus profile ${file}: ${map.path}: ${map.message}`);
    out.set(file.slice(0, -'.yaml'.length), map);
  }
  builtins = out;
  return out;
}

/** Built-in profiles overlaid with the campus file's `modbusProfiles` (a same-named one replaces it). */
export function resolveProfiles(raw: Record<string, unknown>): Map<string, RegisterMap> | MapIssue {
  const out = new Map(builtinProfiles());
  for (const [name, def] of Object.entries(raw)) {
    const map = parseRegisterMap(def);
    if (isMapIssue(map)) return { path: `${name}${map.path ? `.${map.path}` : ''}`, message: map.message };
    out.set(name, map);
  }
  return out;
}

/** A device's settings with its register map resolved, or the first problem (path relative to `modbus`). */
export function resolveDevice(
  d: ModbusDeviceInput,
  profiles: ReadonlyMap<string, RegisterMap>,
): ModbusDeviceSettings | MapIssue {
  let base: RegisterMap | undefined;
  if (d.profile !== undefined) {
    base = profiles.get(d.profile);
    if (!base) {
      return {
        path: 'profile',
        message: `unknown Modbus profile ${d.profile} (known: ${[...profiles.keys()].join(', ')})`,
      };
    }
  }
  let registers = base?.registers ?? [];
  if (d.registers?.length) {
    const own = parseRegisterMap({ registers: d.registers });
    if (isMapIssue(own)) return { path: own.path, message: own.message };
    const replaced = new Set(own.registers.map((r) => r.name));
    registers = [...registers.filter((r) => !replaced.has(r.name)), ...own.registers];
  }
  return {
    transport: d.transport,
    host: d.host ?? '',
    port: d.port,
    path: d.path ?? '',
    baudRate: d.baudRate,
    parity: d.parity,
    stopBits: d.stopBits,
    dataBits: d.dataBits,
    unitId: d.unitId,
    profile: d.profile,
    map: {
      description: base?.description ?? '',
      maxBlockRegisters: d.maxBlockRegisters ?? base?.maxBlockRegisters ?? 125,
      maxGapRegisters: d.maxGapRegisters ?? base?.maxGapRegisters ?? 0,
      registers,
    },
    pollIntervalMs: d.pollIntervalMs,
    timeoutMs: d.timeoutMs,
    retries: d.retries,
    backoffBaseMs: d.backoffBaseMs,
    backoffMaxMs: d.backoffMaxMs,
    offlineAfterFailures: d.offlineAfterFailures,
  };
}

/** The channels a register map produces: one per register mapped to a canonical quantity. */
export function channelsOf(map: RegisterMap): ChannelInfo[] {
  const out: ChannelInfo[] = [];
  for (const r of map.registers) if (r.quantity) out.push({ name: r.name, quantity: r.quantity });
  return out;
}

/**
 * Devices sharing a serial line must agree on its settings (one UART, one baud rate); two devices may not
 * share a unit id on one bus. Returns the index and message of the first conflict.
 */
export function checkBuses(
  devices: readonly { settings: ModbusDeviceSettings; at: string }[],
): { at: string; message: string } | undefined {
  const seen = new Map<string, { settings: ModbusDeviceSettings; at: string; units: Set<number> }>();
  for (const d of devices) {
    const key = busKey(d.settings);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, { ...d, units: new Set([d.settings.unitId]) });
      continue;
    }
    const a = first.settings;
    const b = d.settings;
    if (
      b.transport === 'rtu' &&
      (a.baudRate !== b.baudRate ||
        a.parity !== b.parity ||
        a.stopBits !== b.stopBits ||
        a.dataBits !== b.dataBits)
    ) {
      return { at: d.at, message: `line settings differ from ${first.at} on the same serial bus ${b.path}` };
    }
    if (first.units.has(b.unitId))
      return { at: `${d.at}.unitId`, message: `unit id ${b.unitId} already used on ${key}` };
    first.units.add(b.unitId);
  }
  return undefined;
}

/**
 * For the registry: resolves a device's `modbus:` block and adds the channels its register map produces to
 * `channels` (a register whose name is already a channel must map to the same quantity).
 */
export function modbusDeviceFrom(
  d: ModbusDeviceInput,
  profiles: ReadonlyMap<string, RegisterMap>,
  channels: Map<string, ChannelInfo>,
): ModbusDeviceSettings | MapIssue {
  const settings = resolveDevice(d, profiles);
  if (isMapIssue(settings)) return settings;
  for (const ch of channelsOf(settings.map)) {
    const existing = channels.get(ch.name);
    if (existing && existing.quantity !== ch.quantity) {
      return {
        path: 'registers',
        message: `register ${ch.name} maps to ${ch.quantity} but the device's channel ${ch.name} is ${existing.quantity}`,
      };
    }
    channels.set(ch.name, ch);
  }
  return settings;
}

export { isMapIssue };
