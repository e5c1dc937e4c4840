/**
 * `ingest`: QoS 1 publishes acknowledged per second through the gateway's full path (device auth, decode
 * and validation, group-committed journal with synchronous=FULL, twin, windows) against a bare aedes broker,
 * under the same closed-loop load: 8 mqtt.js clients (one per device), 100 publishes in flight each.
 *
 * Each server runs in its own child process, started once; this process only generates load. Rounds go
 * aedes, gateway, gateway, aedes (ABBA) so a drift in the machine's background load hits both sides alike;
 * each side's figure is its acks over its measured time. Afterwards the gateway's /api/status must account
 * for every acknowledged reading (and nothing else), so the figure cannot come from acks never journaled.
 */
import { join } from 'node:path';
import { writeBenchCampus } from './lib/campus.ts';
import { type ReadyChild, removeDir, spawnTs, tempDir } from './lib/children.ts';
import { type ClosedLoopResult, connectFleet, type DeviceLogin, runClosedLoop } from './lib/mqtt-load.ts';
import { emit, progress, round } from './lib/report.ts';
import { gatewayCounts } from './lib/status.ts';

const CLIENTS = 8;
const INFLIGHT_PER_CLIENT = 100;
const WARMUP_MS = 2_000;
const MEASURE_MS = Number(process.env.BENCH_INGEST_SECONDS ?? 8) * 1000;
const DRAIN_TIMEOUT_MS = 10_000;
/** Channels per payload: each acknowledged publish is this many journal rows. */
const ROWS_PER_PUBLISH = 2;
const ORDER = ['aedes', 'gateway', 'gateway', 'aedes'] as const;
type Side = (typeof ORDER)[number];

interface Ready {
  ports: { mqtt: number; http?: number };
}

/**
 * ~110 bytes, like a real environment sensor: a device timestamp, two readings (slowly varying, inside the
 * comfort bands, as a real room would be), and two housekeeping fields the decoder ignores (unknown
 * top-level keys are allowed). Publish `seq` of a device has ts = start + seq ms, so every reading is
 * distinct; starting a minute in the past keeps them all inside the open windows and the 5-minute future
 * limit for the length of the run.
 */
function payloadMaker(startTs: number): (client: number, seq: number) => string {
  return (client, seq) => {
    const temperature = (21 + (((seq >> 6) + client * 7) % 200) / 100).toFixed(2);
    const co2 = 520 + (((seq >> 6) + client * 31) % 300);
    return `{"ts":${startTs + seq},"seq":${seq},"fw":"env-2.4.1","batteryMv":3012,"readings":{"temperature":${temperature},"co2":${co2}}}`;
  };
}

interface SideTotals {
  acked: number;
  seconds: number;
  serverCpuSeconds: number;
  loadgenCpuSeconds: number;
  rounds: number[];
  unacked: number;
  publishErrors: number;
  unexpectedCloses: number;
  clientErrors: string[];
  ackedAll: number;
}

function emptyTotals(): SideTotals {
  return {
    acked: 0,
    seconds: 0,
    serverCpuSeconds: 0,
    loadgenCpuSeconds: 0,
    rounds: [],
    unacked: 0,
    publishErrors: 0,
    unexpectedCloses: 0,
    clientErrors: [],
    ackedAll: 0,
  };
}

function addRound(t: SideTotals, r: ClosedLoopResult, closes: number, errors: string[]): void {
  t.acked += r.ackedInWindow;
  t.seconds += r.windowSeconds;
  t.serverCpuSeconds += (r.serverCpuPct / 100) * r.windowSeconds;
  t.loadgenCpuSeconds += (r.loadgenCpuPct / 100) * r.windowSeconds;
  t.rounds.push(Math.round(r.ackedPerSecond));
  t.unacked += r.unacked;
  t.publishErrors += r.publishErrors;
  t.unexpectedCloses += closes;
  for (const e of errors) if (!t.clientErrors.includes(e)) t.clientErrors.push(e);
  t.ackedAll += r.acked;
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-ingest-');
  const servers: ReadyChild<Ready>[] = [];
  try {
    const campusFile = join(dir, 'campus.yaml');
    const { devices } = await writeBenchCampus(campusFile, {
      count: CLIENTS,
      devicesPerRoom: 4,
      expectedIntervalMs: 10_000,
    });
    const logins: DeviceLogin[] = devices.map((d) => ({ deviceId: d.deviceId, password: d.password }));
    const topics = logins.map((d) => `devices/${d.deviceId}/telemetry`);

    progress('ingest', 'starting bare aedes and gateway (separate processes)');
    const aedes = await spawnTs<Ready>(join('bench', 'servers', 'aedes.ts'), [], {
      label: 'aedes server',
      isReady: (l) => l.event === 'server:ready',
    });
    servers.push(aedes);
    // BENCH_GATEWAY_SERVER: another entry with the same contract (e.g. an esbuild bundle of servers/gateway.ts).
    const gatewayServer = process.env.BENCH_GATEWAY_SERVER || join('bench', 'servers', 'gateway.ts');
    const gw = await spawnTs<Ready>(gatewayServer, [campusFile, join(dir, 'data')], {
      label: 'gateway server',
      isReady: (l) => l.event === 'gateway:ready',
    });
    servers.push(gw);

    const totals: Record<Side, SideTotals> = { aedes: emptyTotals(), gateway: emptyTotals() };
    // Sequence numbers (hence timestamps) continue across a side's rounds: no reading is sent twice.
    const seq: Record<Side, number[]> = { aedes: [], gateway: [] };
    const payload = payloadMaker(Date.now() - 60_000);
    for (const side of ORDER) {
      const server = side === 'aedes' ? aedes : gw;
      // Bare aedes has no authenticate hook, so the device credentials are simply accepted there.
      const fleet = await connectFleet(`mqtt://127.0.0.1:${server.ready.ports.mqtt}`, logins, {
        concurrency: CLIENTS,
      });
      try {
        const r = await runClosedLoop({
          fleet,
          topics,
          inflightPerClient: INFLIGHT_PER_CLIENT,
          payload,
          startSeq: seq[side],
          warmupMs: WARMUP_MS,
          measureMs: MEASURE_MS,
          drainTimeoutMs: DRAIN_TIMEOUT_MS,
          serverPid: server.pid,
        });
        seq[side] = r.nextSeq;
        addRound(totals[side], r, fleet.health.unexpectedCloses, fleet.health.errorSamples);
        progress('ingest', `${side} round`, {
          ackedPerSecond: Math.round(r.ackedPerSecond),
          serverCpuPct: Math.round(r.serverCpuPct),
          loadgenCpuPct: Math.round(r.loadgenCpuPct),
        });
      } finally {
        await fleet.end();
      }
    }

    const counts = await gatewayCounts(gw.ready.ports.http ?? 0);
    const g = totals.gateway;
    const a = totals.aedes;
    const value = g.acked / g.seconds;
    const baseline = a.acked / a.seconds;
    const ackedRows = g.ackedAll * ROWS_PER_PUBLISH;
    // Acked ⇒ journaled. journaled > acked would mean readings written whose PUBACK never arrived.
    const journalCheck =
      counts.accepted === ackedRows && counts.duplicates === 0 && Object.keys(counts.rejected).length === 0
        ? 'ok'
        : 'MISMATCH';
    emit({
      name: 'ingest',
      value: round(value, 0),
      unit: 'publishes/s',
      baseline: round(baseline, 0),
      ratio: round(value / baseline),
      target: '>= 0.6',
      meaning: `QoS 1 PUBACKs/s through the gateway ÷ the same load against bare aedes (each publish = ${ROWS_PER_PUBLISH} readings = ${ROWS_PER_PUBLISH} journal rows)`,
      gatewayRowsPerSecond: round(value * ROWS_PER_PUBLISH, 0),
      rounds: { aedes: a.rounds, gateway: g.rounds, order: ORDER.join(',') },
      clients: CLIENTS,
      inflightPerClient: INFLIGHT_PER_CLIENT,
      payloadBytes: Buffer.byteLength(payload(0, 123_456)),
      measureSecondsPerSide: round(g.seconds, 1),
      synchronous: 'FULL',
      gatewayServer,
      gatewayCpuPct: round((100 * g.serverCpuSeconds) / g.seconds, 0),
      baselineCpuPct: round((100 * a.serverCpuSeconds) / a.seconds, 0),
      loadgenCpuPct: round((100 * g.loadgenCpuSeconds) / g.seconds, 0),
      baselineLoadgenCpuPct: round((100 * a.loadgenCpuSeconds) / a.seconds, 0),
      // When the load generator saturates its core on the aedes rounds, the baseline is capped by the client,
      // not by aedes; server CPU per publish is then the fairer comparison.
      cpuPerPublishRatio: round(
        a.serverCpuSeconds / a.seconds / (baseline || 1) / (g.serverCpuSeconds / g.seconds / (value || 1)),
      ),
      journalCheck,
      ackedRows,
      journaledRows: counts.accepted,
      journalDuplicates: counts.duplicates,
      journalRejected: counts.rejected,
      journalLate: counts.late,
      countsVia: counts.via,
      unacked: g.unacked,
      publishErrors: g.publishErrors,
      unexpectedCloses: g.unexpectedCloses,
      clientErrors: g.clientErrors,
      baselineUnacked: a.unacked,
      baselineUnexpectedCloses: a.unexpectedCloses,
    });
  } finally {
    for (const s of servers.reverse()) {
      const code = await s.stop();
      if (code !== 0) progress('ingest', `server ${s.pid} exited with ${code}`, { stderr: s.stderrTail() });
    }
    removeDir(dir);
  }
}
