/**
 * Simulated Modbus TCP devices: the campus registry's Modbus TCP devices served from their own register
 * maps (a profile such as sdm120, or inline registers) by modbus-serial's ServerTCP, so the gateway's real
 * poller reads them over real sockets. Every mapped value with a quantity follows the campus model
 * (meters draw more when their room fills; energy registers only count up), encoded in the register's
 * type, scale and byte/word order. Devices sharing an endpoint (a TCP gateway in front of a serial bus)
 * are told apart by unit id. Like a real meter, a read of an address its map does not hold is refused
 * with exception 02, and faults can be turned on: a device answering every read with exception 04 (device
 * failure), or every Nth read of each device with exception 06 (busy).
 */
import { ServerTCP } from 'modbus-serial';
import { encodeRegister } from '../../gateway/ingest/modbus/encode.ts';
import type { RegisterSpec } from '../../gateway/ingest/modbus/registers.ts';
import type { Campus } from '../campus.ts';
import { type SimDevice, sampleDevice } from './model.ts';

export interface SimModbusDevice {
  deviceId: string;
  roomId: string;
  capacity: number;
  host: string;
  port: number;
  unitId: number;
  registers: readonly RegisterSpec[];
  seed?: string;
}

export interface ModbusSimFaults {
  /** These devices answer every read with exception 04 (server device failure). */
  failing?: readonly string[];
  /** Every Nth read of each device is answered with exception 06 (server device busy). */
  busyEvery?: number;
}

export interface ModbusSimOptions {
  devices: readonly SimModbusDevice[];
  faults?: ModbusSimFaults;
  now?: () => number;
}

export interface ModbusSim {
  /** Listening endpoints, `host:port`. */
  readonly endpoints: string[];
  /** Reads answered with data, and with an exception (any code). */
  readonly reads: number;
  readonly exceptions: number;
  stop(): Promise<void>;
}

/** The campus's Modbus TCP devices, as devices the simulator can serve. */
export function simModbusDevicesFrom(campus: Campus, opts: { seed?: string } = {}): SimModbusDevice[] {
  const out: SimModbusDevice[] = [];
  for (const d of campus.devices.values()) {
    const m = d.modbus;
    if (!m || m.transport !== 'tcp') continue;
    out.push({
      deviceId: d.deviceId,
      roomId: d.roomId,
      capacity: campus.rooms.get(d.roomId)?.capacity ?? 0,
      host: m.host,
      port: m.port,
      unitId: m.unitId,
      registers: m.map.registers,
      ...(opts.seed ? { seed: opts.seed } : {}),
    });
  }
  return out;
}

/** Register tables a read is answered from: function code → address → word (or bit). */
type Tables = Map<number, Map<number, number>>;

/** What the device holds at `ts`: every mapped register, values from the model where it has a quantity. */
export function deviceTables(dev: SimModbusDevice, ts: number): Tables {
  const model: SimDevice = {
    deviceId: dev.deviceId,
    roomId: dev.roomId,
    capacity: dev.capacity,
    channels: dev.registers.flatMap((r) => (r.quantity ? [{ name: r.name, quantity: r.quantity }] : [])),
    ...(dev.seed ? { seed: dev.seed } : {}),
  };
  const values = sampleDevice(model, ts);
  const tables: Tables = new Map();
  for (const r of dev.registers) {
    const table = tables.get(r.fc) ?? new Map<number, number>();
    tables.set(r.fc, table);
    const value = values[r.name] ?? idleValue(r);
    const words = encodeRegister(r, r.type === 'string' ? dev.deviceId : value);
    for (const [i, w] of words.entries()) table.set(r.address + i, w);
  }
  return tables;
}

/** A plausible constant for a register the model has no quantity for (frequency, power factor…). */
function idleValue(r: RegisterSpec): number {
  if (r.enum) return (r.enum.keys().next().value ?? 0) * r.scale + r.offset;
  if (/freq/i.test(r.name) || r.unit === 'Hz') return 50;
  if (/power_?factor/i.test(r.name)) return 0.95;
  return r.min !== undefined ? r.min : 0;
}

class ModbusException extends Error {
  readonly modbusErrorCode: number;
  constructor(code: number) {
    super(`Modbus exception ${code}`);
    this.modbusErrorCode = code;
  }
}

export async function startModbusSimulator(opts: ModbusSimOptions): Promise<ModbusSim> {
  const now = opts.now ?? Date.now;
  const failing = new Set(opts.faults?.failing ?? []);
  const busyEvery = opts.faults?.busyEvery ?? 0;
  const byEndpoint = new Map<string, Map<number, SimModbusDevice>>();
  for (const d of opts.devices) {
    const key = `${d.host}:${d.port}`;
    const units = byEndpoint.get(key) ?? new Map<number, SimModbusDevice>();
    if (units.has(d.unitId)) throw new Error(`two simulated Modbus devices at ${key} unit ${d.unitId}`);
    units.set(d.unitId, d);
    byEndpoint.set(key, units);
  }
  const readsOf = new Map<string, number>();
  let reads = 0;
  let exceptions = 0;

  /** The words (or bits) of one read, or the exception that answers it. */
  const answer = (
    units: Map<number, SimModbusDevice>,
    fc: number,
    addr: number,
    len: number,
    unit: number,
  ) => {
    // Over TCP a unit id nobody answers to is the TCP gateway's "target device failed to respond".
    const dev =
      units.get(unit) ??
      (units.size === 1 && (unit === 0 || unit === 255) ? [...units.values()][0] : undefined);
    if (!dev) return new ModbusException(11);
    const n = (readsOf.get(dev.deviceId) ?? 0) + 1;
    readsOf.set(dev.deviceId, n);
    if (failing.has(dev.deviceId)) return new ModbusException(4);
    if (busyEvery > 0 && n % busyEvery === 0) return new ModbusException(6);
    const table = deviceTables(dev, now()).get(fc);
    const out: number[] = [];
    for (let a = addr; a < addr + len; a++) {
      const w = table?.get(a);
      if (w === undefined) return new ModbusException(2);
      out.push(w);
    }
    return out;
  };

  const servers: ServerTCP[] = [];
  const endpoints: string[] = [];
  try {
    for (const [key, units] of byEndpoint) {
      const first = units.values().next().value as SimModbusDevice;
      type Cb<T> = (err: Error | null, v: T) => void;
      const reply = <T>(r: number[] | ModbusException, cb: Cb<T>, pick: (w: number[]) => T, empty: T) => {
        if (r instanceof ModbusException) {
          exceptions++;
          cb(r, empty);
        } else {
          reads++;
          cb(null, pick(r));
        }
      };
      const many = (fc: number) => (addr: number, len: number, unit: number, cb: Cb<number[]>) =>
        reply(answer(units, fc, addr, len, unit), cb, (w) => w, []);
      const one = (fc: number) => (addr: number, unit: number, cb: Cb<number>) =>
        reply(answer(units, fc, addr, 1, unit), cb, (w) => w[0] ?? 0, 0);
      const bit = (fc: number) => (addr: number, unit: number, cb: Cb<boolean>) =>
        reply(answer(units, fc, addr, 1, unit), cb, (w) => (w[0] ?? 0) !== 0, false);
      const server = new ServerTCP(
        {
          getMultipleInputRegisters: many(4),
          getInputRegister: one(4),
          getMultipleHoldingRegisters: many(3),
          getHoldingRegister: one(3),
          getCoil: bit(1),
          getDiscreteInput: bit(2),
        },
        { host: first.host, port: first.port, unitID: 255 },
      );
      server.on('socketError', () => {});
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('initialized', () => resolve());
        server.once('serverError', (err: Error) =>
          reject(new Error(`cannot serve Modbus on ${key}: ${err.message}`)),
        );
      });
      endpoints.push(key);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  return {
    endpoints,
    get reads() {
      return reads;
    },
    get exceptions() {
      return exceptions;
    },
    async stop() {
      await Promise.all(servers.map(closeServer));
    },
  };
}

function closeServer(server: ServerTCP): Promise<void> {
  // Drop the pollers' connections too, or close waits for them.
  const socks = (server as unknown as { socks?: Map<{ destroy(): void }, unknown> }).socks;
  for (const s of socks?.keys() ?? []) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
