/**
 * `api`: the cloud's read API under autocannon, 50 concurrent keep-alive connections, against bare fastify
 * routes measured in the same run:
 *   - room state (`GET /api/rooms/r1`) and room history (`GET /api/rooms/r1/history?quantity=temperature`
 *     over 24 h = 1,440 windows): requests/s and p99 against fastify's hello world (`GET /`);
 *   - snapshot CSV (`GET /api/snapshots/{id}`, 10,000 rows): MB/s of response against a bare route that
 *     streams the same CSV bytes from memory (`GET /csv`).
 * The cloud API (SqliteCloudStore filled through applyBatch, one snapshot, buildCloudApi with a static
 * bearer token) and the baseline app each run in their own child process; autocannon runs here. Each
 * figure's rounds go baseline, value, value, baseline (2 s warm-up + 8 s measured each), so a drift in
 * background load hits both sides alike. Every measured response must be 2xx with no errors.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { SnapshotInfo } from '../cloud/store/types.ts';
import { type ReadyChild, removeDir, spawnTs, tempDir } from './lib/children.ts';
import { cpuSeconds, ownCpuSeconds } from './lib/proc.ts';
import { emit, progress, round } from './lib/report.ts';

const CONNECTIONS = 50;
const WARMUP_S = 2;
const MEASURE_S = Number(process.env.BENCH_API_SECONDS ?? 8);
const TOKEN = 'bench-api-token-0123456789abcdef';
const SNAPSHOT_ROWS = 10_000;
const CSV_HEADER = 'snapshot_id,student_id,course_id,facility_id,snapshot_ts,state';
const P99_TARGET_MS = 50;
const MB = 1e6;

interface BaselineReady {
  ports: { http: number };
}

interface CloudReady {
  ports: { http: number };
  roomId: string;
  sensor: { deviceId: string; channel: string; from: number; to: number; windows: number };
  snapshot: SnapshotInfo;
  filled: Record<string, number>;
}

interface Round {
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
}

interface Target {
  label: string;
  server: ReadyChild<unknown>;
  path: string;
}

async function get(port: number, path: string, auth = true): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: auth ? { authorization: `Bearer ${TOKEN}` } : {},
  });
  return { status: res.status, body: await res.text() };
}

function cannon(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
}

/** A 2 s warm-up run, then the measured run with the server's and this process' CPU around it. */
async function measure(target: Target): Promise<Round> {
  const url = `http://127.0.0.1:${(target.server.ready as { ports: { http: number } }).ports.http}${target.path}`;
  await cannon(url, WARMUP_S);
  const cpu0 = cpuSeconds(target.server.pid) ?? 0;
  const own0 = ownCpuSeconds();
  const r = await cannon(url, MEASURE_S);
  const serverCpu = (cpuSeconds(target.server.pid) ?? cpu0) - cpu0;
  const ownCpu = ownCpuSeconds() - own0;
  const round1: Round = {
    requestsPerSecond: r.requests.total / r.duration,
    bytesPerSecond: r.throughput.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    serverCpuPct: (100 * serverCpu) / r.duration,
    loadgenCpuPct: (100 * ownCpu) / r.duration,
  };
  progress('api', `${target.label} round`, {
    requestsPerSecond: Math.round(round1.requestsPerSecond),
    mbPerSecond: round(round1.bytesPerSecond / MB, 1),
    p50: round1.p50,
    p99: round1.p99,
    errors: round1.errors,
    non2xx: round1.non2xx,
    serverCpuPct: Math.round(round1.serverCpuPct),
    loadgenCpuPct: Math.round(round1.loadgenCpuPct),
  });
  return round1;
}

/** Rounds baseline, value, value, baseline. */
async function abba(baseline: Target, value: Target): Promise<{ baseline: Round[]; value: Round[] }> {
  const out = { baseline: [] as Round[], value: [] as Round[] };
  for (const side of ['baseline', 'value', 'value', 'baseline'] as const)
    out[side].push(await measure(side === 'baseline' ? baseline : value));
  return out;
}

const mean = (rs: Round[], f: (r: Round) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
const worst = (rs: Round[], f: (r: Round) => number) => Math.max(...rs.map(f));
const sum = (rs: Round[], f: (r: Round) => number) => rs.reduce((s, r) => s + f(r), 0);

/** Context fields shared by the three figures: latency, failures, CPU, per-round values. */
function context(rs: { baseline: Round[]; value: Round[] }, perRound: (r: Round) => number) {
  return {
    p50: worst(rs.value, (r) => r.p50),
    p99: worst(rs.value, (r) => r.p99),
    baselineP50: worst(rs.baseline, (r) => r.p50),
    baselineP99: worst(rs.baseline, (r) => r.p99),
    errors: sum(rs.value, (r) => r.errors),
    timeouts: sum(rs.value, (r) => r.timeouts),
    non2xx: sum(rs.value, (r) => r.non2xx),
    baselineErrors: sum(rs.baseline, (r) => r.errors),
    baselineNon2xx: sum(rs.baseline, (r) => r.non2xx),
    connections: CONNECTIONS,
    measureSecondsPerRound: MEASURE_S,
    rounds: {
      order: 'baseline,value,value,baseline',
      baseline: rs.baseline.map((r) => round(perRound(r), 1)),
      value: rs.value.map((r) => round(perRound(r), 1)),
      p99: rs.value.map((r) => r.p99),
    },
    serverCpuPct: round(
      mean(rs.value, (r) => r.serverCpuPct),
      0,
    ),
    baselineCpuPct: round(
      mean(rs.baseline, (r) => r.serverCpuPct),
      0,
    ),
    loadgenCpuPct: round(
      mean(rs.value, (r) => r.loadgenCpuPct),
      0,
    ),
    baselineLoadgenCpuPct: round(
      mean(rs.baseline, (r) => r.loadgenCpuPct),
      0,
    ),
  };
}

function failures(rs: { baseline: Round[]; value: Round[] }): number {
  return sum([...rs.baseline, ...rs.value], (r) => r.errors + r.timeouts + r.non2xx);
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-api-');
  const servers: ReadyChild<unknown>[] = [];
  try {
    progress('api', 'filling a SQLite cloud store and starting the cloud API (child process)');
    const cloud = await spawnTs<CloudReady>(
      join('bench', 'servers', 'api-cloud.ts'),
      [join(dir, 'cloud'), TOKEN],
      {
        label: 'cloud api server',
        isReady: (l) => l.event === 'server:ready',
        readyTimeoutMs: 180_000,
      },
    );
    servers.push(cloud);
    const { roomId, sensor, snapshot, filled } = cloud.ready;
    progress('api', 'cloud api ready', { filled, snapshot: snapshot.snapshotId });
    const port = cloud.ready.ports.http;
    const roomPath = `/api/rooms/${roomId}`;
    // The reporting route: the room's temperature sensors re-aggregated (here at their own 1-min windows).
    const historyPath = `/api/rooms/${roomId}/history?quantity=temperature&from=${sensor.from}&to=${sensor.to}`;
    const snapshotPath = `/api/snapshots/${encodeURIComponent(snapshot.snapshotId)}`;

    // Check once that every route answers what it should, so the figures are about real answers.
    const unauth = await get(port, roomPath, false);
    if (unauth.status !== 401)
      throw new Error(`without a token ${roomPath} answered ${unauth.status}, not 401`);
    const room = await get(port, roomPath);
    const roomView = JSON.parse(room.body) as {
      state?: Record<string, unknown>;
      health?: Record<string, unknown>;
    };
    if (
      room.status !== 200 ||
      !roomView.state?.occupancy ||
      !roomView.state.comfort ||
      !roomView.health?.[sensor.deviceId]
    )
      throw new Error(`${roomPath}: ${room.status} ${room.body.slice(0, 300)}`);
    const history = await get(port, historyPath);
    const windows =
      history.status === 200 ? (JSON.parse(history.body) as { buckets: unknown[] }).buckets.length : -1;
    if (windows !== sensor.windows)
      throw new Error(`${historyPath}: ${history.status}, ${windows} windows, want ${sensor.windows}`);
    const csv = await get(port, snapshotPath);
    const csvLines = csv.body.split('\n').length - (csv.body.endsWith('\n') ? 1 : 0);
    if (csv.status !== 200 || csvLines !== SNAPSHOT_ROWS + 1 || !csv.body.startsWith(`${CSV_HEADER}\n`))
      throw new Error(
        `${snapshotPath}: ${csv.status}, ${csvLines} lines (want ${SNAPSHOT_ROWS + 1}), starts ${JSON.stringify(csv.body.slice(0, 80))}`,
      );
    const csvBytes = Buffer.byteLength(csv.body);
    const csvFile = join(dir, 'snapshot.csv');
    writeFileSync(csvFile, csv.body);

    progress('api', 'starting the bare fastify baseline (child process)');
    const base = await spawnTs<BaselineReady>(join('bench', 'servers', 'api-baseline.ts'), [csvFile], {
      label: 'api baseline server',
      isReady: (l) => l.event === 'server:ready',
    });
    servers.push(base);
    const staticCsv = await get(base.ready.ports.http, '/csv');
    if (staticCsv.status !== 200 || staticCsv.body !== csv.body)
      throw new Error(
        `baseline /csv: ${staticCsv.status}, ${Buffer.byteLength(staticCsv.body)} bytes, not the snapshot's`,
      );

    const hello: Target = { label: 'hello world', server: base, path: '/' };
    const roomRounds = await abba(hello, { label: 'room state', server: cloud, path: roomPath });
    const historyRounds = await abba(hello, { label: 'room history', server: cloud, path: historyPath });
    const csvRounds = await abba(
      { label: 'static csv', server: base, path: '/csv' },
      { label: 'snapshot csv', server: cloud, path: snapshotPath },
    );

    const rps = (r: Round) => r.requestsPerSecond;
    const mbps = (r: Round) => r.bytesPerSecond / MB;
    for (const [name, rs, what, bytes] of [
      ['api-room-state', roomRounds, `GET ${roomPath}`, Buffer.byteLength(room.body)],
      [
        'api-room-history',
        historyRounds,
        `GET ${historyPath} (${sensor.windows} one-minute windows)`,
        Buffer.byteLength(history.body),
      ],
    ] as const) {
      const value = mean(rs.value, rps);
      const baseline = mean(rs.baseline, rps);
      const p99 = worst(rs.value, (r) => r.p99);
      emit({
        name,
        value: round(value, 0),
        unit: 'requests/s',
        baseline: round(baseline, 0),
        ratio: round(value / baseline),
        // The targets: room state ≥ 0.5 of hello world; p99 < 50 ms for state and history (a 150 KB
        // history answer has no requests/s target against a 20-byte hello world).
        target: name === 'api-room-state' ? '>= 0.5' : 'none (p99 only)',
        p99Target: `< ${P99_TARGET_MS} ms`,
        p99Ok: p99 < P99_TARGET_MS,
        meaning: `${what} answered 2xx per second by the cloud API (SQLite store, bearer token) ÷ fastify hello world (GET /), ${CONNECTIONS} connections; p50/p99 in ms (worst measured round)`,
        ...context(rs, rps),
        responseBytes: bytes,
      });
    }
    const value = mean(csvRounds.value, mbps);
    const baseline = mean(csvRounds.baseline, mbps);
    emit({
      name: 'api-snapshot-csv',
      value: round(value, 1),
      unit: 'MB/s',
      baseline: round(baseline, 1),
      ratio: round(value / baseline),
      target: `>= 50 MB/s`,
      valueOk: value >= 50,
      meaning: `GET ${snapshotPath} (${SNAPSHOT_ROWS} rows, CSV streamed page by page from the store): response MB/s (10^6 bytes, autocannon throughput) ÷ a bare fastify route streaming the same CSV bytes from memory (GET /csv), ${CONNECTIONS} connections`,
      ...context(csvRounds, mbps),
      snapshotsPerSecond: round(mean(csvRounds.value, rps), 1),
      baselineSnapshotsPerSecond: round(mean(csvRounds.baseline, rps), 1),
      responseBytes: csvBytes,
      rows: SNAPSHOT_ROWS,
    });

    const failed = {
      roomState: failures(roomRounds),
      roomHistory: failures(historyRounds),
      snapshotCsv: failures(csvRounds),
    };
    if (failed.roomState + failed.roomHistory + failed.snapshotCsv > 0)
      throw new Error(`errors, timeouts or non-2xx answers during the load: ${JSON.stringify(failed)}`);
  } finally {
    for (const s of servers.reverse()) {
      if (!s.exited()) await s.stop();
    }
    removeDir(dir);
  }
}
