/**
 * Modbus RTU over a virtual serial pair (socat): the room-sensor profile polled from pymodbus' serial
 * server, with a second, absent unit on the same line that must not stall it; the probe over serial; and
 * CRC errors from a responder that corrupts its frames.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../gateway/ingest/modbus/cli.ts';
import { getJson, startTestGateway, waitFor } from './helpers/gateway.ts';
import { modbusCampus, modbusReports, startPymodbus, startSerialPair } from './helpers/modbus.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('Modbus RTU', () => {
  it('polls a room sensor from pymodbus over a serial pair; an absent unit on the line does not stall it', async () => {
    const pair = await startSerialPair();
    cleanups.push(() => pair.stop());
    const py = await startPymodbus(
      {
        unit: 1,
        points: [
          { table: 'ir', address: 0, type: 'int16', value: 215 },
          { table: 'ir', address: 1, type: 'uint16', value: 455 },
          { table: 'ir', address: 2, type: 'uint16', value: 612 },
          { table: 'ir', address: 3, type: 'uint16', value: 350 },
          { table: 'di', address: 0, type: 'bool', value: true },
        ],
      },
      // A pty cannot set parity (pyserial gets EINVAL), so the line is 19200 8N1.
      { serial: pair.b, baud: 19200, parity: 'N', stopbits: 1 },
    );
    cleanups.push(() => py.stop());
    const line = { transport: 'rtu', path: pair.a, baudRate: 19200, parity: 'none', pollIntervalMs: 150 };
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          { id: 'room-1', modbus: { ...line, unitId: 1, profile: 'room-sensor' } },
          {
            id: 'ghost-9',
            modbus: {
              ...line,
              unitId: 9,
              profile: 'room-sensor',
              timeoutMs: 200,
              retries: 0,
              backoffBaseMs: 300,
              backoffMaxMs: 600,
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    const r = await waitFor(
      async () => {
        const m = await modbusReports(gw);
        return (m.get('room-1')?.counters.ok ?? 0) >= 6 && (m.get('ghost-9')?.counters.failed ?? 0) >= 3
          ? m
          : undefined;
      },
      20_000,
      'polls on the serial line',
    );
    const room = r.get('room-1')!;
    expect(room).toMatchObject({ transport: 'rtu', endpoint: pair.a, state: 'online', blocks: 2 });
    expect(room.counters.failed).toBe(0);
    const ghost = r.get('ghost-9')!;
    expect(ghost.state).toBe('offline');
    expect(ghost.lastError?.code).toMatch(/CT_ERR_MODBUS_(TIMEOUT|EXCEPTION)/);

    const rows = [...gw.gw.pipeline.store.rowsSince(0)].filter((x) => x.deviceId === 'room-1');
    const latest = (ch: string) => rows.filter((x) => x.channel === ch).at(-1)?.value;
    expect(latest('temperature')).toBeCloseTo(21.5, 10);
    expect(latest('humidity')).toBeCloseTo(45.5, 10);
    expect(latest('co2')).toBe(612);
    expect(latest('light')).toBe(350);
    expect(latest('occupied')).toBe(1);
    const twin = await getJson<{ temperatureC?: number; co2Ppm?: number }>(`${gw.httpUrl}/api/rooms/r-101`);
    expect(JSON.stringify(twin)).toContain('21.5');

    // The line is the gateway's while it runs; afterwards the probe can use it.
    await gw.stop();
    cleanups.pop();
    let out = '';
    const code = await run(
      [
        'probe',
        '--serial',
        pair.a,
        '--baud',
        '19200',
        '--parity',
        'none',
        '--unit',
        '1',
        '--ref',
        '30001',
        '--count',
        '1',
      ],
      { write: (s: string) => (out += s) },
      { write: (s: string) => (out += s) },
    );
    expect(code).toBe(0);
    expect(out).toMatch(/^int16 +ABCD +215 +plausible$/m);
  });

  it('counts CRC errors from a device whose frames are corrupted', async () => {
    const pair = await startSerialPair();
    cleanups.push(() => pair.stop());
    // A responder on the device end: a well-formed FC4 answer (unit 1, 2 registers) with a wrong CRC.
    const rx = createReadStream(pair.b);
    const tx = createWriteStream(pair.b);
    rx.on('error', () => {});
    tx.on('error', () => {});
    rx.on('data', () => tx.write(Buffer.from([0x01, 0x04, 0x04, 0x41, 0x20, 0x00, 0x00, 0xde, 0xad])));
    cleanups.push(async () => {
      rx.destroy();
      tx.destroy();
    });
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          {
            id: 'crc-1',
            modbus: {
              transport: 'rtu',
              path: pair.a,
              unitId: 1,
              pollIntervalMs: 100,
              timeoutMs: 300,
              retries: 1,
              backoffBaseMs: 100,
              backoffMaxMs: 200,
              registers: [{ name: 'power', ref: 30001, type: 'float32', quantity: 'power' }],
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    const rep = await waitFor(
      async () => {
        const d = (await modbusReports(gw)).get('crc-1');
        return (d?.counters.failed ?? 0) >= 2 ? d : undefined;
      },
      10_000,
      'failed polls',
    );
    expect(rep.counters.faults.crc).toBeGreaterThanOrEqual(2);
    expect(rep.counters.retries).toBeGreaterThanOrEqual(1);
    expect(rep.lastError).toMatchObject({ fault: 'crc', code: 'CT_ERR_MODBUS_FRAME' });
    expect([...gw.gw.pipeline.store.rowsSince(0)].filter((x) => x.deviceId === 'crc-1')).toHaveLength(0);
  });
});
