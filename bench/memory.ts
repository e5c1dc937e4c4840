/**
 * `memory`: resident memory of the gateway (the real CLI, `campus-twin gateway`, in its own process) while
 * 10,000 registered sensors report: 2,500 devices × 4 channels, each device on its own authenticated MQTT
 * connection from this process, publishing all its channels every 10 s (QoS 1), staggered evenly over
 * the 10 s. Runs BENCH_MEMORY_MINUTES (default 5). VmRSS is sampled from /proc every few seconds.
 * value = RSS at the end; baseline = RSS of the same gateway idle right after start;
 * ratio = value ÷ the 200 MB budget (≤ 1 is within budget).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BENCH_CHANNELS, writeBenchCampus } from './lib/campus.ts';
import { nodeFlags, removeDir, spawnUntilReady, tempDir } from './lib/children.ts';
import { connectFleet } from './lib/mqtt-load.ts';
import { cpuSeconds, type RssBreakdown, rssBreakdown } from './lib/proc.ts';
import { emit, progress, round, sleep } from './lib/report.ts';
import { benchStaffConfig, gatewayCounts, heapBreakdown } from './lib/status.ts';

/** What shared/cli/campus-twin.mjs's shebang and deploy/ give the gateway. */
const SHIPPED_NODE_OPTIONS = '--max-semi-space-size=4';

/** MALLOC_ARENA_MAX as shipped, unless BENCH_GATEWAY_MALLOC_ARENA_MAX says otherwise ("" = unset). */
function shippedMallocEnv(): Record<string, string> {
  const v = process.env.BENCH_GATEWAY_MALLOC_ARENA_MAX ?? '2';
  return v === '' ? {} : { MALLOC_ARENA_MAX: v };
}

const DEVICES = Number(process.env.BENCH_MEMORY_DEVICES ?? 2_500);
const INTERVAL_MS = 10_000;
const MINUTES = Number(process.env.BENCH_MEMORY_MINUTES ?? 5);
const SAMPLE_MS = 5_000;
const BUDGET_MB = 200;
const CONNECT_CONCURRENCY = 50;

interface Ready {
  ports: { mqtt: number; http: number };
}

/** Per-device sensor values that drift slowly inside the comfort bands, as a real room's would. */
class Room {
  readonly #v: Float64Array;
  constructor(devices: number) {
    this.#v = new Float64Array(devices * 4);
    for (let i = 0; i < devices; i++)
      this.#v.set([21 + Math.random(), 45 + 5 * Math.random(), 600, 300], i * 4);
  }

  payload(device: number, ts: number): string {
    const v = this.#v;
    const o = device * 4;
    const walk = (k: number, step: number, lo: number, hi: number) => {
      v[o + k] = Math.min(hi, Math.max(lo, v[o + k]! + (Math.random() - 0.5) * step));
      return v[o + k]!;
    };
    const [t, h, c, l] = [
      walk(0, 0.2, 20, 24),
      walk(1, 1, 35, 55),
      walk(2, 20, 450, 900),
      walk(3, 30, 50, 600),
    ];
    return `{"ts":${ts},"readings":{"${BENCH_CHANNELS[0]}":${t.toFixed(2)},"${BENCH_CHANNELS[1]}":${h.toFixed(1)},"${BENCH_CHANNELS[2]}":${Math.round(c)},"${BENCH_CHANNELS[3]}":${Math.round(l)}}}`;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Least-squares slope of (t, y) in y-units per minute. */
function slopePerMinute(points: { t: number; mb: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.mb - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-memory-');
  try {
    progress('memory', `generating campus: ${DEVICES} devices × ${BENCH_CHANNELS.length} channels`);
    const campusFile = join(dir, 'campus.yaml');
    const { devices, rooms } = await writeBenchCampus(campusFile, {
      count: DEVICES,
      devicesPerRoom: 5,
      expectedIntervalMs: INTERVAL_MS,
    });
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(
      configFile,
      stringify({
        gatewayId: 'gw-bench-memory',
        mqtt: { host: '127.0.0.1' },
        http: { host: '127.0.0.1', staff: await benchStaffConfig() },
        journal: { synchronous: 'FULL' },
      }),
    );

    progress('memory', 'starting the gateway CLI');
    const gw = await spawnUntilReady<Ready>(
      process.execPath,
      [
        ...nodeFlags(),
        // BENCH_GATEWAY_CLI: another build of the same CLI (e.g. an esbuild bundle of shared/cli/main.ts).
        process.env.BENCH_GATEWAY_CLI || join('shared', 'cli', 'campus-twin.mjs'),
        'gateway',
        '--config',
        configFile,
        '--campus',
        campusFile,
        '--data-dir',
        join(dir, 'data'),
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
        '--log-level',
        'silent',
      ],
      {
        label: 'gateway CLI',
        isReady: (l) => l.event === 'gateway:ready',
        readyTimeoutMs: 120_000,
        // The gateway runs with the flags it ships with (the launcher's shebang, deploy/, npm start);
        // BENCH_GATEWAY_NODE_OPTIONS replaces them (e.g. "" for V8's defaults, or --max-old-space-size=128).
        // The launcher sets the old space's growth itself; CT_HEAP_GROWING_PERCENT (passed on with this
        // environment) changes it, 0 for V8's own.
        env: {
          ...process.env,
          NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS ?? SHIPPED_NODE_OPTIONS,
          // As the launcher's shebang, deploy/ and npm start set it (BENCH_GATEWAY_MALLOC_ARENA_MAX="" for
          // glibc's default).
          ...shippedMallocEnv(),
        },
      },
    );
    let last: RssBreakdown | undefined;
    const sampleRss = (): number => {
      last = rssBreakdown(gw.pid);
      const mb = last?.rssMb;
      if (mb === undefined || gw.exited())
        throw new Error(`gateway exited during the run\n${gw.stderrTail()}`);
      return mb;
    };
    try {
      // Idle baseline: the started gateway with its registry loaded, no connections yet.
      await sleep(2_000);
      const idle: number[] = [];
      for (let i = 0; i < 3; i++, await sleep(1_000)) idle.push(sampleRss());
      const idleMb = idle.sort((a, b) => a - b)[1]!;
      const idleParts = last!;
      const idleHeap = await heapBreakdown(gw.ready.ports.http);
      progress('memory', 'idle', { rssMb: round(idleMb, 1) });

      const connectStarted = performance.now();
      const fleet = await connectFleet(
        `mqtt://127.0.0.1:${gw.ready.ports.mqtt}`,
        devices.map((d) => ({ deviceId: d.deviceId, password: d.password })),
        { concurrency: CONNECT_CONCURRENCY },
      );
      const connectSeconds = (performance.now() - connectStarted) / 1000;
      const connectedMb = sampleRss();
      progress('memory', `${DEVICES} devices connected`, {
        seconds: round(connectSeconds, 1),
        rssMb: round(connectedMb, 1),
      });

      // Load: device i publishes at start + i·(interval/N) + k·interval, all four channels, QoS 1.
      const room = new Room(DEVICES);
      const topics = devices.map((d) => `devices/${d.deviceId}/telemetry`);
      const latencies = new Float64Array(Math.ceil((MINUTES * 60_000 * DEVICES) / INTERVAL_MS) + DEVICES);
      let sent = 0;
      let acked = 0;
      let publishErrors = 0;
      let inflight = 0;
      let next = 0;
      let cycle = 0;
      const loadStart = Date.now();
      const loadEnd = loadStart + MINUTES * 60_000;
      const publishDue = () => {
        const now = Date.now();
        while (now < loadEnd && loadStart + cycle * INTERVAL_MS + (next * INTERVAL_MS) / DEVICES <= now) {
          const i = next;
          const client = fleet.clients[i]!;
          const at = performance.now();
          const slot = sent++;
          inflight++;
          client.publish(topics[i]!, room.payload(i, now), { qos: 1 }, (err) => {
            inflight--;
            if (err) publishErrors++;
            else {
              acked++;
              if (slot < latencies.length) latencies[slot] = performance.now() - at;
            }
          });
          if (++next === DEVICES) {
            next = 0;
            cycle++;
          }
        }
      };
      const scheduler = setInterval(publishDue, 20);
      const samples: { t: number; mb: number; parts: RssBreakdown }[] = [];
      const cpuStart = cpuSeconds(gw.pid) ?? 0;
      let lastReport = 0;
      try {
        while (Date.now() < loadEnd) {
          await sleep(Math.min(SAMPLE_MS, Math.max(0, loadEnd - Date.now())));
          const t = Date.now() - loadStart;
          samples.push({ t, mb: sampleRss(), parts: last! });
          if (t - lastReport >= 60_000) {
            lastReport = t;
            progress('memory', `${Math.round(t / 1000)} s`, {
              rssMb: round(samples.at(-1)!.mb, 1),
              sent,
              acked,
              inflight,
              unexpectedCloses: fleet.health.unexpectedCloses,
            });
          }
        }
      } catch (err) {
        clearInterval(scheduler);
        await fleet.end();
        throw err;
      }
      clearInterval(scheduler);
      const loadSeconds = (Date.now() - loadStart) / 1000;
      const cpuPct = (100 * ((cpuSeconds(gw.pid) ?? cpuStart) - cpuStart)) / loadSeconds;
      const drainUntil = Date.now() + 15_000;
      while (inflight > 0 && Date.now() < drainUntil) await sleep(50);
      const endMb = sampleRss();
      samples.push({ t: Date.now() - loadStart, mb: endMb, parts: last! });
      const counts = await gatewayCounts(gw.ready.ports.http);
      const endHeap = await heapBreakdown(gw.ready.ports.http);
      const health = { ...fleet.health };
      await fleet.end();

      const lat = latencies.slice(0, Math.min(acked, latencies.length)).sort();
      const maxMb = Math.max(...samples.map((s) => s.mb), connectedMb);
      const peak = samples.reduce((a, b) => (b.mb > a.mb ? b : a));
      const parts = (p: RssBreakdown) => ({
        anon: round(p.anonMb, 1),
        file: round(p.fileMb, 1),
        shmem: round(p.shmemMb, 1),
      });
      const secondHalf = samples.filter((s) => s.t >= (MINUTES * 60_000) / 2);
      const expectedRows = acked * BENCH_CHANNELS.length;
      emit({
        name: 'memory',
        value: round(endMb, 1),
        unit: 'MB RSS',
        baseline: round(idleMb, 1),
        ratio: round(endMb / BUDGET_MB),
        meaning: `ratio = RSS at the end ÷ ${BUDGET_MB} MB budget (≤ 1 is within budget); baseline = RSS of the same gateway idle right after start`,
        maxMb: round(maxMb, 1),
        maxRatio: round(maxMb / BUDGET_MB),
        growthVsIdle: round(endMb / idleMb, 2),
        partsMb: { idle: parts(idleParts), peak: parts(peak.parts), end: parts(last!) },
        // The V8 heap and external (Buffer) memory as the gateway's own /metrics reports them: RssAnon
        // minus these is native memory (SQLite's page cache, sockets, malloc arenas).
        heapMb: { idle: idleHeap, end: endHeap },
        peakAtSeconds: Math.round(peak.t / 1000),
        rssAfterConnectMb: round(connectedMb, 1),
        slopeSecondHalfMbPerMin: round(slopePerMinute(secondHalf), 2),
        rssTimelineMb: samples
          .filter((_, i) => i % 6 === 5 || i === samples.length - 1)
          .map((s) => round(s.mb, 0)),
        minutes: round(loadSeconds / 60, 2),
        devices: DEVICES,
        sensors: DEVICES * BENCH_CHANNELS.length,
        rooms,
        gatewayCli: process.env.BENCH_GATEWAY_CLI || 'shared/cli/campus-twin.mjs',
        gatewayNodeOptions: process.env.BENCH_GATEWAY_NODE_OPTIONS ?? SHIPPED_NODE_OPTIONS,
        gatewayHeapGrowingPercent: process.env.CT_HEAP_GROWING_PERCENT ?? "the launcher's default",
        gatewayMallocArenaMax: shippedMallocEnv().MALLOC_ARENA_MAX ?? 'glibc default',
        connections: fleet.clients.length,
        connectionMode: 'one authenticated MQTT connection per device (scrypt N=1024 hashes)',
        connectSeconds: round(connectSeconds, 1),
        publishIntervalMs: INTERVAL_MS,
        gatewayCpuPct: round(cpuPct, 1),
        sent,
        acked,
        publishErrors,
        unacked: inflight,
        ackLatencyMs: {
          p50: round(percentile(lat, 0.5), 1),
          p99: round(percentile(lat, 0.99), 1),
          max: round(percentile(lat, 1), 1),
        },
        readingsAccepted: counts.accepted,
        readingsExpected: expectedRows,
        journalCheck:
          counts.accepted === expectedRows &&
          counts.duplicates === 0 &&
          Object.keys(counts.rejected).length === 0
            ? 'ok'
            : 'MISMATCH',
        journalDuplicates: counts.duplicates,
        journalRejected: counts.rejected,
        journalLate: counts.late,
        journalRows: counts.journalRows,
        outboxRows: counts.outboxRows,
        mqttClientsAtEnd: counts.mqttClients,
        countsVia: counts.via,
        unexpectedCloses: health.unexpectedCloses,
        clientErrors: health.errorSamples,
        loadgenRssMb: round(process.memoryUsage.rss() / 2 ** 20, 0),
      });
    } finally {
      const code = await gw.stop(20_000);
      if (code !== 0) progress('memory', `gateway exited with ${code}`, { stderr: gw.stderrTail() });
    }
  } finally {
    removeDir(dir);
  }
}
