/**
 * `campus-twin modbus probe …`: the commissioning probe. Reads once from a device (TCP or serial) and
 * prints the value under every type and byte/word order, marking the plausible ones; with --map, reads a
 * whole register map (a YAML file or a built-in profile) and prints each decoded value with its unit.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../../shared/logger.ts';
import { ModbusBus, type Transport } from './bus.ts';
import { classify, errorDetail, faultMessage } from './faults.ts';
import { formatInterpretations, formatMap, formatOrders, rankOrders, readMap, readRaw } from './probe.ts';
import {
  type FunctionCode,
  isMapIssue,
  parseReference,
  parseRegisterMap,
  type RegisterMap,
} from './registers.ts';
import { builtinProfiles } from './settings.ts';

const HELP = `Usage: campus-twin modbus probe (--host H [--port P] | --serial PATH [--baud N] [--parity none|even|odd] [--stop-bits 1|2])
                              [--unit U] [--timeout MS]
                              (--fc 1-4 --address A | --ref 30001) [--count N]
                              | --map FILE | --profile NAME

Reads once and prints:
  with --fc/--address (or --ref): the raw registers and their value as every type (int16 … float64,
    string) in every byte/word order (ABCD big-endian, CDAB word-swapped, BADC byte-swapped, DCBA
    little-endian), with "plausible" next to values a meter could send. Addresses are zero-based.
  with --map FILE (a register map in YAML, as in a profile) or --profile NAME (built-in: ${[...builtinProfiles().keys()].join(', ')}):
    every register of the map, decoded, with its unit; rejected or unreadable values say why.

Exit code: 0 when the read succeeded, 1 when the device did not answer or refused, 2 on bad arguments.
`;

export interface Output {
  write(s: string): unknown;
}

function int(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${v}`);
  return n;
}

class UsageError extends Error {}

export async function run(
  argv: string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'probe') {
    const asked = sub === undefined || sub === '--help' || sub === '-h' || sub === 'help';
    (asked ? out : err).write(HELP);
    return asked ? 0 : 2;
  }
  let bus: ModbusBus | undefined;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        serial: { type: 'string' },
        baud: { type: 'string' },
        parity: { type: 'string' },
        'stop-bits': { type: 'string' },
        unit: { type: 'string' },
        timeout: { type: 'string' },
        fc: { type: 'string' },
        address: { type: 'string' },
        ref: { type: 'string' },
        count: { type: 'string' },
        map: { type: 'string' },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      out.write(HELP);
      return 0;
    }
    if (!values.host === !values.serial) throw new UsageError('give --host or --serial');
    const parity = values.parity ?? 'none';
    if (parity !== 'none' && parity !== 'even' && parity !== 'odd')
      throw new UsageError('--parity: none, even or odd');
    const stopBits = int(values['stop-bits'], 'stop-bits', 1);
    if (stopBits !== 1 && stopBits !== 2) throw new UsageError('--stop-bits: 1 or 2');
    const transport: Transport = values.host
      ? {
          transport: 'tcp',
          host: values.host,
          port: int(values.port, 'port', 502),
          path: '',
          baudRate: 9600,
          parity: 'none',
          stopBits: 1,
          dataBits: 8,
        }
      : {
          transport: 'rtu',
          host: '',
          port: 0,
          path: values.serial!,
          baudRate: int(values.baud, 'baud', 9600),
          parity,
          stopBits,
          dataBits: 8,
        };
    const unitId = int(values.unit, 'unit', 1);
    const timeoutMs = int(values.timeout, 'timeout', 1000);
    const where = values.host ? `${values.host}:${transport.port}` : values.serial!;
    bus = new ModbusBus('probe', transport, createLogger({ level: 'silent' }));

    if (values.map || values.profile) {
      const map = loadMap(values.map, values.profile);
      out.write(
        `${where} unit ${unitId}: ${map.registers.length} registers${map.description ? ` (${map.description})` : ''}\n`,
      );
      const read = await readMap(bus, map, { unitId, timeoutMs });
      for (const line of formatMap(read, map)) out.write(`${line}\n`);
      for (const line of formatOrders(rankOrders(read, map), map)) out.write(`${line}\n`);
      return read.some((v) => v.decoded) ? 0 : 1;
    }

    let fc: FunctionCode;
    let address: number;
    if (values.ref) {
      const ref = parseReference(values.ref);
      if (typeof ref === 'string') throw new UsageError(ref);
      fc = ref.fc;
      address = ref.address;
    } else {
      const f = int(values.fc, 'fc', 0);
      if (f !== 1 && f !== 2 && f !== 3 && f !== 4)
        throw new UsageError('--fc: 1, 2, 3 or 4 (or give --ref)');
      if (values.address === undefined) throw new UsageError('--address (zero-based) or --ref');
      fc = f;
      address = int(values.address, 'address', 0);
    }
    const count = int(values.count, 'count', fc <= 2 ? 1 : 2);
    if (count < 1 || count > (fc <= 2 ? 2000 : 125))
      throw new UsageError('--count: 1-125 registers (1-2000 bits)');
    out.write(`${where} unit ${unitId} FC${fc} address ${address} count ${count}\n`);
    try {
      const words = await readRaw(bus, { unitId, fc, address, count, timeoutMs });
      for (const line of formatInterpretations(words, fc)) out.write(`${line}\n`);
      return 0;
    } catch (e) {
      err.write(`read failed: ${faultMessage(classify(e), errorDetail(e))}\n`);
      return 1;
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e)) {
      err.write(`modbus probe: ${e.message}\n\n${HELP}`);
      return 2;
    }
    err.write(`modbus probe: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await bus?.close();
  }
}

function loadMap(file: string | undefined, profile: string | undefined): RegisterMap {
  if (profile) {
    const map = builtinProfiles().get(profile);
    if (!map) throw new UsageError(`unknown profile ${profile}`);
    return map;
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file!, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const map = parseRegisterMap(raw);
  if (isMapIssue(map)) throw new UsageError(`${file}: ${map.path}: ${map.message}`);
  return map;
}
