/**
 * The simulator's Modbus TCP devices, polled by a real gateway over real sockets: an SDM120 meter and a
 * room sensor sharing one endpoint (told apart by unit id) read back as the campus model says, from their
 * built-in register profiles; and the faults on demand: a meter that fails every read (exception 04) and a
 * busy one (exception 06 every few reads), each counted by code on the gateway's device view.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { loadCampus } from '../gateway/registry/index.ts';
import { simModbusDevicesFrom, startModbusSimulator } from '../shared/simulate/modbus.ts';
import { getJson, startTestGateway, type TestGateway, tempDir, waitFor } from './helpers/gateway.ts';
import { freePort, modbusCampus, modbusReports } from './helpers/modbus.ts';
import { spawnCli } from './helpers/process.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface DeviceView {
  health: string;
  latest: { quantity: string; value: number; channel: string; ts: number }[];
}

const latestOf = (gw: TestGateway, id: string) =>
  getJson<DeviceView>(`${gw.httpUrl}/api/devices/${id}`).then(
    (d) => new Map(d.latest.map((l) => [l.quantity, l])),
  );

describe('campus-twin simulate: Modbus TCP devices', () => {
  it("campus-twin simulate --modbus serves the registry's devices, --meter-failing fails one", async () => {
    const dir = tempDir('ct-sim-modbus-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const meter = (id: string, unitId: number) => ({
      id,
      roomId: 'r-1',
      kind: 'meter',
      modbus: { host: '127.0.0.1', port, unitId, profile: 'sdm120', pollIntervalMs: 200, backoffMaxMs: 400 },
    });
    const file = join(dir, 'campus.yaml');
    writeFileSync(
      file,
      stringifyYaml({
        campus: { id: 'sim-cli' },
        buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r-1', capacity: 10 }] }] }],
        devices: [meter('meter-1', 1), meter('meter-2', 2)],
      }),
    );
    const sim = spawnCli([
      'simulate',
      '--campus',
      file,
      '--modbus',
      '--meter-failing',
      'meter-2',
      '--mqtt',
      'mqtt://127.0.0.1:1',
    ]);
    cleanups.push(async () => {
      await sim.kill('SIGINT');
    });
    await waitFor(() => sim.stderr().includes('Modbus devices served'), 20_000, 'the simulator serving');
    expect(sim.stderr()).toContain(`2 Modbus devices served on 127.0.0.1:${port}`);
    const t = await startTestGateway({}, { campus: loadCampus(file) });
    cleanups.push(() => t.stop());
    const r = await waitFor(
      async () => {
        const m = await modbusReports(t);
        return (m.get('meter-1')?.counters.ok ?? 0) >= 2 &&
          (m.get('meter-2')?.counters.faults.exception_04 ?? 0) >= 2
          ? m
          : undefined;
      },
      15_000,
      'meter-1 read, meter-2 failing',
    );
    expect(r.get('meter-2')!.counters.ok).toBe(0);
    expect(await sim.kill('SIGINT')).toBe(0);
  });

  it('serves meters and room sensors from their register profiles, and fails on demand', async () => {
    const [shared, failingPort, busyPort] = [await freePort(), await freePort(), await freePort()];
    const poll = { host: '127.0.0.1', pollIntervalMs: 200, backoffBaseMs: 200, backoffMaxMs: 400 };
    const campus = modbusCampus([
      { id: 'meter-1', kind: 'meter', modbus: { ...poll, port: shared, unitId: 1, profile: 'sdm120' } },
      {
        id: 'rs-1',
        roomId: 'r-102',
        kind: 'sensor',
        modbus: { ...poll, port: shared, unitId: 2, profile: 'room-sensor' },
      },
      { id: 'meter-bad', kind: 'meter', modbus: { ...poll, port: failingPort, profile: 'sdm120' } },
      { id: 'meter-busy', kind: 'meter', modbus: { ...poll, port: busyPort, profile: 'sdm120', retries: 0 } },
    ]);
    const devices = simModbusDevicesFrom(campus);
    expect(devices.map((d) => d.deviceId).sort()).toEqual(['meter-1', 'meter-bad', 'meter-busy', 'rs-1']);
    // The busy rule applies to every device of a simulator, so the busy meter has a simulator of its own:
    // every 10th read is refused with 06 (an SDM120 poll is 4 reads, maxGapRegisters 0).
    const sim = await startModbusSimulator({
      devices: devices.filter((d) => d.deviceId !== 'meter-busy'),
      faults: { failing: ['meter-bad'] },
    });
    cleanups.push(() => sim.stop());
    const busy = await startModbusSimulator({
      devices: devices.filter((d) => d.deviceId === 'meter-busy'),
      faults: { busyEvery: 10 },
    });
    cleanups.push(() => busy.stop());
    expect(sim.endpoints.sort()).toEqual([`127.0.0.1:${failingPort}`, `127.0.0.1:${shared}`].sort());

    const t = await startTestGateway({}, { campus });
    cleanups.push(() => t.stop());
    const reports = await waitFor(
      async () => {
        const r = await modbusReports(t);
        const ok = (id: string) => (r.get(id)?.counters.ok ?? 0) >= 3;
        const faults = (id: string, code: string) => r.get(id)?.counters.faults[code] ?? 0;
        return ok('meter-1') &&
          ok('rs-1') &&
          faults('meter-bad', 'exception_04') >= 3 &&
          faults('meter-busy', 'exception_06') >= 1 &&
          ok('meter-busy')
          ? r
          : undefined;
      },
      20_000,
      'meters read and faults counted',
    );
    expect(reports.get('meter-1')!.counters.failed).toBe(0);
    expect(reports.get('meter-bad')!.counters.ok).toBe(0);
    expect(reports.get('meter-bad')!.state).not.toBe('online');

    // The values are the model's, through float32 W→kW (sdm120) and scaled integers (room sensor).
    const meter = await waitFor(
      async () => {
        const l = await latestOf(t, 'meter-1');
        return ['voltage', 'current', 'power', 'energy'].every((q) => l.has(q)) ? l : undefined;
      },
      10_000,
      "the meter's values on its device view",
    );
    expect(meter.get('voltage')!.value).toBeGreaterThan(228);
    expect(meter.get('voltage')!.value).toBeLessThan(232);
    expect(meter.get('power')!.value).toBeGreaterThan(1);
    expect(meter.get('power')!.value).toBeLessThan(8);
    const energy = meter.get('energy')!;
    // The model's register: 2 kW on average since the epoch (float32 keeps it to a fraction of a kWh).
    expect(Math.abs(energy.value - (energy.ts / 3_600_000) * 2)).toBeLessThan(1);
    const sensor = await waitFor(
      async () => {
        const l = await latestOf(t, 'rs-1');
        return l.has('co2') && l.has('temperature') ? l : undefined;
      },
      10_000,
      "the room sensor's values",
    );
    expect(sensor.get('co2')!.value).toBeGreaterThanOrEqual(400);
    expect(sensor.get('temperature')!.value).toBeGreaterThan(19);
    expect(sensor.get('temperature')!.value).toBeLessThan(25);
    expect(sim.exceptions).toBeGreaterThanOrEqual(3);
    expect(busy.exceptions).toBeGreaterThanOrEqual(1);
  });

  it('refuses a read of an address the device map does not hold with exception 02, like the meter', async () => {
    const port = await freePort();
    const campus = modbusCampus([
      {
        id: 'meter-gap',
        kind: 'meter',
        modbus: {
          host: '127.0.0.1',
          port,
          pollIntervalMs: 200,
          // Two registers with a gap the gateway is told to bridge: the block read covers 2-3, unmapped.
          registers: [
            { name: 'power', ref: 30001, type: 'float32', quantity: 'power' },
            { name: 'voltage', ref: 30005, type: 'float32', quantity: 'voltage' },
          ],
          maxGapRegisters: 4,
        },
      },
    ]);
    const sim = await startModbusSimulator({ devices: simModbusDevicesFrom(campus) });
    cleanups.push(() => sim.stop());
    const t = await startTestGateway({}, { campus });
    cleanups.push(() => t.stop());
    // The block is refused with 02 and the gateway falls back to reading value by value.
    const r = await waitFor(
      async () => {
        const m = (await modbusReports(t)).get('meter-gap');
        return m && (m.counters.faults.exception_02 ?? 0) >= 1 && m.counters.readingsJournaled >= 2
          ? m
          : undefined;
      },
      15_000,
      'refused block, then single reads',
    );
    expect(r.counters.readingsJournaled).toBeGreaterThanOrEqual(2);
    const latest = await latestOf(t, 'meter-gap');
    expect(latest.get('voltage')!.value).toBeGreaterThan(228);
  });
});
