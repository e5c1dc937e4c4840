/**
 * Modbus TCP end to end: the SDM120 profile against a real pymodbus server and against modbus-serial's own
 * ServerTCP, read whole by the probe's map reader and polled by a real gateway into the journal, the room
 * twin and /api/devices; and implausible values (wrong word order, NaN, out of range) quarantined, not
 * forwarded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readMap } from '../gateway/ingest/modbus/probe.ts';
import { builtinProfiles } from '../gateway/ingest/modbus/settings.ts';
import { getJson, startTestGateway, type TestGateway, waitFor } from './helpers/gateway.ts';
import {
  exception,
  f32Words,
  type MbServer,
  modbusCampus,
  type Point,
  type PyServer,
  startPymodbus,
  startServerTcp,
  tcpBus,
} from './helpers/modbus.ts';

const SDM120 = builtinProfiles().get('sdm120')!;

/** A distinct, realistic-looking value per SDM120 register (what a meter would serve). */
function sdmValues(): Map<string, number> {
  const v = new Map<string, number>();
  SDM120.registers.forEach((r, i) => {
    if (r.type === 'uint32') v.set(r.name, 12_345_678);
    else v.set(r.name, Math.round((1 + i * 7.37 + Math.sin(i) * 3) * 1000) / 1000);
  });
  v.set('voltage', 230.1);
  v.set('current', 4.37);
  v.set('power_active', 1005.5);
  v.set('total_energy_active', 15234.25);
  v.set('power_factor', -0.98);
  return v;
}

/** The SDM120's registers serving `values` in a byte/word order, as pymodbus points. */
function sdmPoints(values: Map<string, number>, order: Point['order']): Point[] {
  return SDM120.registers.map((r) => ({
    table: r.fc === 4 ? 'ir' : 'hr',
    address: r.address,
    type: r.type,
    value: values.get(r.name)!,
    order,
  }));
}

interface DeviceRow {
  deviceId: string;
  health: string;
  rejected: Record<string, number>;
  modbus?: {
    state: string;
    consecutiveFailures: number;
    counters: {
      ok: number;
      failed: number;
      polls: number;
      faults: Record<string, number>;
      readingsJournaled: number;
    };
    lastError: { code: string; message: string } | null;
  };
}

async function device(gw: TestGateway, id: string): Promise<DeviceRow> {
  const { devices } = await getJson<{ devices: DeviceRow[] }>(`${gw.httpUrl}/api/devices`);
  return devices.find((d) => d.deviceId === id)!;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function expectMapExact(port: number, values: Map<string, number>) {
  const bus = tcpBus(port, 't');
  try {
    const read = await readMap(bus, SDM120, { unitId: 1, timeoutMs: 2000 });
    expect(read).toHaveLength(35);
    for (const v of read) {
      const spec = SDM120.registers.find((r) => r.name === v.name)!;
      const served = values.get(v.name)!;
      expect(v.problem, v.name).toBeUndefined();
      expect(v.decoded?.raw, v.name).toBe(spec.type === 'float32' ? Math.fround(served) : served);
    }
  } finally {
    await bus.close();
  }
}

async function expectPolledIntoTwin(port: number, values: Map<string, number>) {
  const gw = await startTestGateway(
    {},
    {
      campus: modbusCampus([
        {
          id: 'sdm-1',
          roomId: 'r-102',
          modbus: { host: '127.0.0.1', port, profile: 'sdm120', pollIntervalMs: 200 },
        },
      ]),
    },
  );
  cleanups.push(() => gw.stop());
  const dev = await waitFor(
    async () => {
      const d = await device(gw, 'sdm-1');
      return (d.modbus?.counters.ok ?? 0) >= 2 ? d : undefined;
    },
    15_000,
    'two good polls',
  );
  expect(dev.modbus).toMatchObject({ state: 'online', consecutiveFailures: 0, lastError: null });
  expect(dev.health).toBe('online');
  // Journaled with the profile's scale: W on the wire, kW in the journal.
  const rows = [...gw.gw.pipeline.store.rowsSince(0)].filter((r) => r.deviceId === 'sdm-1');
  const latest = (ch: string) => rows.filter((r) => r.channel === ch).at(-1)?.value;
  expect(latest('voltage')).toBe(Math.fround(values.get('voltage')!));
  expect(latest('current')).toBe(Math.fround(values.get('current')!));
  expect(latest('power_active')).toBeCloseTo(Math.fround(values.get('power_active')!) * 0.001, 12);
  expect(latest('total_energy_active')).toBe(Math.fround(values.get('total_energy_active')!));
  expect(new Set(rows.map((r) => r.channel))).toEqual(
    new Set(['voltage', 'current', 'power_active', 'total_energy_active']),
  );
  expect(rows.every((r) => r.source === 'modbus')).toBe(true);
  // Power feeds the room twin like an MQTT meter's.
  const room = await getJson<{ powerKw: number }>(`${gw.httpUrl}/api/rooms/r-102`);
  expect(room.powerKw).toBeCloseTo(1.0055, 6);
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  expect(metrics).toMatch(/ct_modbus_polls_total\{device="sdm-1",result="ok"\} [1-9]/);
  expect(metrics).toMatch(/ct_modbus_device_up\{device="sdm-1"\} 1/);
  expect(metrics).toMatch(/ct_readings_accepted_total\{source="modbus"\} [1-9]/);
}

describe('Modbus TCP: SDM120 profile', () => {
  it('against pymodbus: every register decodes to the exact float served, and polls reach journal and twin', async () => {
    const values = sdmValues();
    const py: PyServer = await startPymodbus({ points: sdmPoints(values, 'ABCD') }, { tcp: true });
    cleanups.push(() => py.stop());
    await expectMapExact(py.port, values);
    await expectPolledIntoTwin(py.port, values);
  });

  it("against modbus-serial's ServerTCP: the same", async () => {
    const values = sdmValues();
    const ir = new Map<number, number>();
    const hr = new Map<number, number>();
    for (const r of SDM120.registers) {
      const v = values.get(r.name)!;
      const words = r.type === 'float32' ? f32Words(v) : [v >>> 16, v & 0xffff];
      for (const [i, w] of words.entries()) (r.fc === 4 ? ir : hr).set(r.address + i, w);
    }
    const serve =
      (table: Map<number, number>) =>
      (addr: number, len: number, _unit: number, cb: (err: Error | null, v: number[]) => void) => {
        const out: number[] = [];
        for (let a = addr; a < addr + len; a++) {
          const w = table.get(a);
          // Like the meter: an address outside the map is exception 02.
          if (w === undefined) return cb(exception(2), []);
          out.push(w);
        }
        cb(null, out);
      };
    const srv: MbServer = await startServerTcp({
      getMultipleInputRegisters: serve(ir),
      getMultipleHoldingRegisters: serve(hr),
    });
    cleanups.push(() => srv.stop());
    await expectMapExact(srv.port, values);
    await expectPolledIntoTwin(srv.port, values);
  });
});

describe('Modbus TCP: implausible values', () => {
  it('quarantines garbage from a wrong word order, NaN and out-of-range values with a code, forwards the rest', async () => {
    const words = new Map<number, number>();
    const put = (addr: number, w: readonly number[]) => {
      for (const [i, x] of w.entries()) words.set(addr + i, x);
    };
    const [hi, lo] = f32Words(230.1);
    put(0, [lo, hi]); // served CDAB, configured ABCD: ≈1.6e-23
    put(2, [0x7fc0, 0x0000]); // NaN
    put(4, f32Words(5e6)); // 5e6 A: outside the current range
    put(6, f32Words(49.5)); // fine
    const srv = await startServerTcp({
      getMultipleInputRegisters: (addr: number, len: number) =>
        Array.from({ length: len }, (_, i) => words.get(addr + i) ?? 0),
    });
    cleanups.push(() => srv.stop());
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          {
            id: 'meter-x',
            modbus: {
              host: '127.0.0.1',
              port: srv.port,
              pollIntervalMs: 150,
              registers: [
                { name: 'voltage', ref: 30001, type: 'float32', quantity: 'voltage' },
                { name: 'power', ref: 30003, type: 'float32', quantity: 'power' },
                { name: 'current', ref: 30005, type: 'float32', quantity: 'current' },
                { name: 'energy', ref: 30007, type: 'float32', quantity: 'energy' },
              ],
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    const dev = await waitFor(
      async () => {
        const d = await device(gw, 'meter-x');
        return (d.modbus?.counters.ok ?? 0) >= 2 ? d : undefined;
      },
      10_000,
      'polls',
    );
    expect(dev.rejected.CT_ERR_IMPLAUSIBLE).toBeGreaterThanOrEqual(2);
    expect(dev.rejected.CT_ERR_BAD_VALUE).toBeGreaterThanOrEqual(2);
    expect(dev.rejected.CT_ERR_OUT_OF_RANGE).toBeGreaterThanOrEqual(2);
    const rows = [...gw.gw.pipeline.store.rowsSince(0)].filter((r) => r.deviceId === 'meter-x');
    expect(new Set(rows.map((r) => r.channel))).toEqual(new Set(['energy']));
    expect(rows.every((r) => r.value === 49.5)).toBe(true);
    const q = await getJson<{ items: { code: string; source: string; topic: string }[] }>(
      `${gw.httpUrl}/api/quarantine`,
    );
    const implausible = q.items.find((i) => i.code === 'CT_ERR_IMPLAUSIBLE');
    expect(implausible).toMatchObject({ source: 'modbus', topic: 'modbus/meter-x/voltage' });
  });
});

describe('Modbus TCP: a register map in the wrong byte/word order', () => {
  it('is flagged on the first poll with the likely order, and nothing of the device is journalled', async () => {
    // The meter sends CDAB; the SDM120 profile says ABCD.
    const py: PyServer = await startPymodbus({ points: sdmPoints(sdmValues(), 'CDAB') }, { tcp: true });
    cleanups.push(() => py.stop());
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          {
            id: 'sdm-x',
            roomId: 'r-102',
            modbus: { host: '127.0.0.1', port: py.port, profile: 'sdm120', pollIntervalMs: 150 },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    const dev = await waitFor(
      async () => {
        const d = await device(gw, 'sdm-x');
        return (d.modbus?.counters.polls ?? 0) >= 3 ? d : undefined;
      },
      15_000,
      'three polls',
    );
    expect(dev.modbus?.state).toBe('degraded');
    expect(dev.modbus?.lastError).toMatchObject({ code: 'CT_ERR_MODBUS_ORDER' });
    expect(dev.modbus?.lastError?.message).toMatch(
      /order ABCD reads 0\/4 values plausibly, CDAB reads 4\/4: set order: CDAB/,
    );
    expect(dev.modbus?.counters.readingsJournaled).toBe(0);
    expect(dev.rejected.CT_ERR_MODBUS_ORDER).toBeGreaterThanOrEqual(3);
    const rows = [...gw.gw.pipeline.store.rowsSince(0)].filter((r) => r.deviceId === 'sdm-x');
    expect(rows).toEqual([]);
    const q = await getJson<{ items: { code: string; topic: string }[] }>(`${gw.httpUrl}/api/quarantine`);
    expect(q.items.find((i) => i.code === 'CT_ERR_MODBUS_ORDER')).toMatchObject({ topic: 'modbus/sdm-x' });
  });
});
