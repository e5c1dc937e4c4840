/**
 * `modbus`: 100 Modbus TCP devices × 20 input registers (ten float32) on loopback, served by modbus-serial
 * ServerTCP instances in a child process (bench/servers/modbus-devices.ts).
 *  - baseline: raw modbus-serial block reads of the same registers — 100 clients, one per device, each
 *    reading registers 0..19 in a loop (readInputRegisters(0, 20)), nothing else done with them;
 *  - value: the gateway (createGateway, in this process) polling the same 100 devices back to back
 *    (pollIntervalMs 1): fair bus queue, block read, decode, plausibility, validation, group-committed journal
 *    (synchronous=FULL), window aggregates and room twin. Counted: registers whose readings were journaled
 *    (ct_readings_accepted_total{source="modbus"} × 2 registers per float32).
 * Rounds: b g g b b g g b (each 1 s warm-up + BENCH_MODBUS_SECONDS, default 3, measured), so that the
 * shared machine's noise falls on both sides alike; each side's figure is the mean of its rounds.
 * ratio = gateway registers/s ÷ baseline registers/s. Target ≥ 0.7.
 */
import modbusSerial from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { createGateway, type Gateway } from '../gateway/app.ts';
import { gatewayConfigFrom } from '../gateway/config/index.ts';
import { campusFrom } from '../gateway/registry/index.ts';
import { createLogger } from '../shared/logger.ts';
import { removeDir, spawnTs, tempDir } from './lib/children.ts';
import { emit, progress, round, sleep } from './lib/report.ts';

const ModbusRTU = modbusSerial as unknown as typeof ModbusClient;
const DEVICES = 100;
const REGISTERS = 20;
const WARMUP_MS = 1000;
const MEASURE_MS = Number(process.env.BENCH_MODBUS_SECONDS ?? 3) * 1000;

/** CPU of this process (client side: raw reads, or the whole gateway) in % of one core, last round. */
let lastCpuPct = 0;
function cpuPct(since: NodeJS.CpuUsage, seconds: number): number {
  const d = process.cpuUsage(since);
  return round(((d.user + d.system) / 1e6 / seconds) * 100, 0);
}

async function baselineRound(ports: readonly number[]): Promise<number> {
  const clients = await Promise.all(
    ports.map(async (port) => {
      const c = new ModbusRTU();
      await c.connectTCP('127.0.0.1', { port });
      c.setID(1);
      c.setTimeout(2000);
      return c;
    }),
  );
  let counting = false;
  let registers = 0;
  let stop = false;
  const loops = clients.map(async (c) => {
    while (!stop) {
      const r = await c.readInputRegisters(0, REGISTERS);
      if (counting) registers += r.data.length;
    }
  });
  await sleep(WARMUP_MS);
  counting = true;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(MEASURE_MS);
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  lastCpuPct = cpuPct(cpu0, seconds);
  stop = true;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
  return registers / seconds;
}

function benchCampus(ports: readonly number[]) {
  const rooms = Array.from({ length: 10 }, (_, i) => ({ id: `room-${i}` }));
  return campusFrom({
    campus: { id: 'bench-modbus' },
    buildings: [{ id: 'b', floors: [{ id: 'b-f0', rooms }] }],
    modbusProfiles: {
      bench: {
        registers: Array.from({ length: 10 }, (_, k) => ({
          name: `v${k}`,
          fc: 4,
          address: 2 * k,
          type: 'float32',
          unit: 'V',
          quantity: 'voltage',
        })),
      },
    },
    devices: ports.map((port, i) => ({
      id: `mb-${i}`,
      roomId: `room-${i % 10}`,
      kind: 'meter',
      // Judged against a realistic reporting interval, not the back-to-back polling of the benchmark (1 ms
      // would flip the twin's device health between online and stale on every commit).
      expectedIntervalMs: 10_000,
      modbus: { host: '127.0.0.1', port, profile: 'bench', pollIntervalMs: 1, timeoutMs: 2000 },
    })),
  });
}

async function accepted(gw: Gateway): Promise<number> {
  const v = (await gw.metrics.accepted.get()).values.find((x) => x.labels.source === 'modbus');
  return v?.value ?? 0;
}

async function gatewayRound(
  ports: readonly number[],
): Promise<{ rate: number; check: Record<string, unknown> }> {
  const dataDir = tempDir('ct-bench-modbus-');
  const config = gatewayConfigFrom({
    gatewayId: 'gw-bench-modbus',
    dataDir,
    mqtt: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    // What-if only (BENCH_MODBUS_SYNC=NORMAL): the figure is always taken with the default, FULL.
    journal: { synchronous: (process.env.BENCH_MODBUS_SYNC ?? 'FULL') as 'FULL' | 'NORMAL' },
  });
  const gw = createGateway(config, { campus: benchCampus(ports), logger: createLogger({ level: 'silent' }) });
  try {
    await gw.start();
    await sleep(WARMUP_MS);
    const a0 = await accepted(gw);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await sleep(MEASURE_MS);
    const a1 = await accepted(gw);
    const seconds = (performance.now() - t0) / 1000;
    lastCpuPct = cpuPct(cpu0, seconds);
    await gw.modbus.stop();
    // Honesty check: every accepted reading is in the journal, no poll failed, nothing was rejected.
    let failed = 0;
    let polls = 0;
    for (let i = 0; i < ports.length; i++) {
      const r = gw.modbus.report(`mb-${i}`)!;
      failed += r.counters.failed + r.counters.partial;
      polls += r.counters.polls;
    }
    const journalRows = gw.pipeline.store.journalStats(Date.now()).rows;
    const total = await accepted(gw);
    return {
      rate: ((a1 - a0) * 2) / seconds,
      check: {
        polls,
        failedPolls: failed,
        rejected: gw.metrics.rejections().filter((t) => t.source === 'modbus').length,
        journalCheck: journalRows === total ? 'ok' : `journal ${journalRows} rows ≠ accepted ${total}`,
      },
    };
  } finally {
    await gw.stop();
    removeDir(dataDir);
  }
}

export async function run(): Promise<void> {
  const servers = await spawnTs<{ ports: number[] }>('bench/servers/modbus-devices.ts', [String(DEVICES)], {
    isReady: (l) => l.event === 'server:ready',
    label: 'modbus devices',
  });
  try {
    const { ports } = servers.ready;
    progress('modbus', 'servers ready', { devices: ports.length });
    const baseline: number[] = [];
    const value: number[] = [];
    const baselineCpu: number[] = [];
    const gatewayCpu: number[] = [];
    let check: Record<string, unknown> = {};
    // BENCH_MODBUS_ROUNDS=gateway runs one side only (for profiling: BENCH_CPU_PROF_DIR).
    const rounds = (
      process.env.BENCH_MODBUS_ROUNDS ?? 'baseline,gateway,gateway,baseline,baseline,gateway,gateway,baseline'
    ).split(',');
    for (const kind of rounds) {
      if (kind === 'baseline') {
        const r = await baselineRound(ports);
        baseline.push(r);
        baselineCpu.push(lastCpuPct);
        progress('modbus', 'baseline round', { registersPerSecond: round(r, 0), cpuPct: lastCpuPct });
      } else {
        const r = await gatewayRound(ports);
        value.push(r.rate);
        gatewayCpu.push(lastCpuPct);
        check = r.check;
        progress('modbus', 'gateway round', {
          registersPerSecond: round(r.rate, 0),
          cpuPct: lastCpuPct,
          ...r.check,
        });
      }
    }
    if (!value.length || !baseline.length) return;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // CPU microseconds of this process per register counted, mean of the rounds' own: steadier than the
    // rates on a shared machine, since a busy neighbour slows both sides but adds little CPU to either.
    const micros = (cpuPct: number[], rates: number[]) =>
      mean(rates.map((rate, i) => ((cpuPct[i]! / 100) * 1e6) / rate));
    const v = mean(value);
    const b = mean(baseline);
    emit({
      name: 'modbus',
      value: round(v, 0),
      unit: 'registers/s',
      baseline: round(b, 0),
      ratio: round(v / b, 3),
      devices: DEVICES,
      registersPerDevice: REGISTERS,
      measuredSeconds: MEASURE_MS / 1000,
      rounds: { baseline: baseline.map((x) => round(x, 0)), gateway: value.map((x) => round(x, 0)) },
      // This process' CPU (% of one core): near 100 on the gateway rounds means the gateway's own work,
      // not the devices, is the limit.
      baselineCpuPct: round(mean(baselineCpu), 0),
      gatewayCpuPct: round(mean(gatewayCpu), 0),
      cpuMicrosPerRegister: {
        baseline: round(micros(baselineCpu, baseline), 3),
        gateway: round(micros(gatewayCpu, value), 3),
      },
      ...check,
    });
  } finally {
    await servers.stop();
  }
}
