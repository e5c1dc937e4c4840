/**
 * Modbus peers for the tests: a real pymodbus server (TCP on port 0, or RTU on a serial device) run by the
 * Debian python3 (not the one first on PATH), a virtual serial pair (socat), modbus-serial's own ServerTCP on
 * a free port, and campus registries with Modbus devices; a bus to a TCP server, and the devices' Modbus
 * reports from a test gateway. Every process is killed by pid in `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IServiceVector, ServerTCP } from 'modbus-serial';
import { ModbusBus } from '../../gateway/ingest/modbus/bus.ts';
import type { ModbusDeviceReport } from '../../gateway/ingest/modbus/index.ts';
import { campusFrom } from '../../gateway/registry/index.ts';
import type { Campus } from '../../shared/campus.ts';
import { createLogger } from '../../shared/logger.ts';
import { freePort } from '../../shared/net.ts';
import { PYTHON } from '../prerequisites.mjs';
import { getJson, type TestGateway } from './gateway.ts';

export { freePort };

const SERVER_PY = fileURLToPath(new URL('./modbus_server.py', import.meta.url));

export interface Point {
  table: 'ir' | 'hr' | 'co' | 'di';
  address: number;
  type: string;
  value: number | string | boolean | number[];
  order?: 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';
}

export interface PyServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** A peer process whose stderr is kept for error messages; `stop` kills it by pid and removes `dir`. */
function spawnPeer(
  command: string,
  args: string[],
  stdout: 'pipe' | 'ignore',
  dir: string,
): { child: ChildProcess; stderr: () => string; stop: () => Promise<void> } {
  const child = spawn(command, args, { stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async () => {
    await killChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { child, stderr: () => stderr, stop };
}

/** Starts tests/helpers/modbus_server.py and waits for its ready line. */
export async function startPymodbus(
  spec: { unit?: number; points: Point[] },
  where: { tcp: true } | { serial: string; baud?: number; parity?: 'N' | 'E' | 'O'; stopbits?: 1 | 2 },
): Promise<PyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ct-modbus-py-'));
  const specFile = join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify({ unit: spec.unit ?? 1, points: spec.points }));
  const args =
    'tcp' in where
      ? [SERVER_PY, specFile, '--tcp']
      : [
          SERVER_PY,
          specFile,
          '--serial',
          where.serial,
          '--baud',
          String(where.baud ?? 9600),
          '--parity',
          where.parity ?? 'N',
          '--stopbits',
          String(where.stopbits ?? 1),
        ];
  const { child, stderr, stop } = spawnPeer(PYTHON, args, 'pipe', dir);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pymodbus not ready in 15 s: ${stderr()}`)), 15_000);
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const line = buf.split('\n').find((l) => l.includes('"ready"'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pymodbus exited with ${code}: ${stderr()}`));
      });
    });
    return { port, child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface SerialPair {
  /** The gateway's end and the device's end. */
  a: string;
  b: string;
  stop(): Promise<void>;
}

/** A virtual null-modem cable: two linked ptys (socat). */
export async function startSerialPair(): Promise<SerialPair> {
  const dir = mkdtempSync(join(tmpdir(), 'ct-modbus-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const { child, stderr, stop } = spawnPeer(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    'ignore',
    dir,
  );
  const deadline = Date.now() + 10_000;
  while (!(existsSync(a) && existsSync(b) && stderr().includes('starting data transfer loop'))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`socat did not start: ${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { a, b, stop };
}

export interface MbServer {
  port: number;
  server: ServerTCP;
  /** Drops every client connection and stops listening. */
  stop(): Promise<void>;
}

/** modbus-serial's own ServerTCP on 127.0.0.1:`port` (a free one when omitted). */
export async function startServerTcp(vector: IServiceVector, port?: number): Promise<MbServer> {
  const p = port ?? (await freePort());
  const server = new ServerTCP(vector, { host: '127.0.0.1', port: p, unitID: 255 });
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });
  server.on('socketError', () => {});
  return {
    port: p,
    server,
    async stop() {
      for (const sock of (server as unknown as { socks: Map<Socket, unknown> }).socks.keys()) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Register words of a float32 in big-endian (ABCD) order. */
export function f32Words(v: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

/** A campus with rooms r-101/r-102 and the given Modbus devices (each `{id, roomId?, modbus}`). */
export function modbusCampus(
  devices: { id: string; roomId?: string; kind?: string; modbus: Record<string, unknown> }[],
  extra: Record<string, unknown> = {},
): Campus {
  return campusFrom({
    campus: { id: 'modbus-test' },
    buildings: [
      {
        id: 'b1',
        floors: [{ id: 'b1-f1', rooms: [{ id: 'r-101' }, { id: 'r-102' }] }],
      },
    ],
    devices: devices.map((d) => ({
      id: d.id,
      roomId: d.roomId ?? 'r-101',
      kind: d.kind ?? 'modbus',
      modbus: d.modbus,
    })),
    ...extra,
  });
}

/** The error a ServerTCP vector passes to its callback to answer with a Modbus exception. */
export function exception(code: number): Error {
  return Object.assign(new Error(`exception ${code}`), { modbusErrorCode: code });
}

/** A bus to a Modbus TCP server on 127.0.0.1:`port` (the serial settings are unused but required). */
export function tcpBus(port: number, key = 'tcp://test'): ModbusBus {
  return new ModbusBus(
    key,
    {
      transport: 'tcp',
      host: '127.0.0.1',
      port,
      path: '',
      baudRate: 9600,
      parity: 'none',
      stopBits: 1,
      dataBits: 8,
    },
    createLogger({ level: 'silent' }),
  );
}

/** The Modbus part of each device's row in a gateway's /api/devices, by device id. */
export async function modbusReports(gw: TestGateway): Promise<Map<string, ModbusDeviceReport>> {
  const { devices } = await getJson<{ devices: { deviceId: string; modbus?: ModbusDeviceReport }[] }>(
    `${gw.httpUrl}/api/devices`,
  );
  return new Map(devices.filter((d) => d.modbus).map((d) => [d.deviceId, d.modbus!]));
}
