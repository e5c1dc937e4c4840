/**
 * `npm run bench occupancy` (also `npm run eval:occupancy`): how right the room twin's occupancy is on
 * real data. The UCI Occupancy Detection file (Candanedo & Feldheim 2016: one office, a row a minute,
 * ground truth from pictures; `BENCH_UCI_FILE`, default ../shared/datasets/uci-occupancy/datatraining.txt)
 * is replayed through the real path — MQTT QoS 1 to `devices/{id}/backfill` with the rows' original 2015
 * timestamps, a real gateway (journal, twin in event time) — and after each acknowledged row the room is
 * read back from `GET /api/rooms/{id}`. Twice: with the light sensor, and with the light sensor silent (the
 * room still has it in its registry, so the twin should say it is missing).
 *
 * Figures per run, each beside baselines computed on the same rows: accuracy against the single rule
 * "light > 365 lux" (with light) or always answering "empty" (without); Brier score of the twin's
 * P(occupied) against the base rate; arrival and departure latency (median and p90, minutes from the
 * label's change to the twin's) against the light rule; mean confidence when right and when wrong; and a
 * reliability table (on stderr). Tune on the training file only: the two test files are for acceptance.
 */
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { createGateway } from '../gateway/app.ts';
import { gatewayConfigFrom } from '../gateway/config/index.ts';
import { campusFrom, hashPassword } from '../gateway/registry/index.ts';
import { createLogger } from '../shared/logger.ts';
import { loadUciRows, type UciRow } from '../tests/helpers/uci.ts';
import { REPO_ROOT, removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round } from './lib/report.ts';

const DEVICE = 'uci-sensor';
const ROOM = 'uci-office';
const PASSWORD = 'bench-uci-password';

interface Minute {
  label: boolean;
  occupied: boolean;
  /** P(occupied); null when the twin has no evidence. */
  p: number | null;
  confidence: number;
  reasons: string[];
}

async function replay(rows: readonly UciRow[], withLight: boolean): Promise<Minute[]> {
  const dir = tempDir('ct-bench-occupancy-');
  const campus = campusFrom({
    campus: { id: 'uci' },
    buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: ROOM, capacity: 4 }] }] }],
    devices: [
      {
        id: DEVICE,
        roomId: ROOM,
        kind: 'env',
        passwordHash: await hashPassword(PASSWORD, 1024, 8, 1),
      },
    ],
    deviceKinds: {
      env: { channels: ['temperature', 'humidity', 'co2', 'light'], expectedIntervalMs: 60_000 },
    },
  });
  const config = gatewayConfigFrom({
    gatewayId: 'gw-uci',
    dataDir: dir,
    dev: true,
    mqtt: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
  });
  const gw = createGateway(config, { campus, logger: createLogger({ level: 'silent' }) });
  await gw.start();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.ports.mqtt}`, {
    clientId: `uci-${withLight ? 'light' : 'dark'}`,
    username: DEVICE,
    password: PASSWORD,
    reconnectPeriod: 0,
  });
  const out: Minute[] = [];
  try {
    for (const [i, r] of rows.entries()) {
      const readings: Record<string, number> = {
        temperature: r.temperature,
        humidity: r.humidity,
        co2: r.co2,
      };
      if (withLight) readings.light = r.light;
      await client.publishAsync(`devices/${DEVICE}/backfill`, JSON.stringify({ ts: r.ts, readings }), {
        qos: 1,
      });
      const res = await fetch(`http://127.0.0.1:${gw.ports.http}/api/rooms/${ROOM}`);
      const room = (await res.json()) as {
        occupancy: { occupied: boolean; probability: number | null; confidence: number; reasons: string[] };
      };
      const o = room.occupancy;
      out.push({
        label: r.occupied,
        occupied: o.occupied,
        p: o.probability,
        confidence: o.confidence,
        reasons: o.reasons,
      });
      if (i % 2000 === 1999) progress('occupancy', `${withLight ? 'light' : 'no light'}: ${i + 1} rows`);
    }
  } finally {
    await client.endAsync();
    await gw.stop();
    removeDir(dir);
  }
  return out;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * Minutes from each change of the label (arrival: to occupied; departure: to empty) until the prediction
 * shows the same, counted up to the label's next change (a change never seen counts as that whole span).
 */
function latencies(labels: readonly boolean[], predicted: readonly boolean[]) {
  const arrival: number[] = [];
  const departure: number[] = [];
  for (let i = 1; i < labels.length; i++) {
    if (labels[i] === labels[i - 1]) continue;
    let j = i;
    while (j < labels.length && labels[j] === labels[i] && predicted[j] !== labels[i]) j++;
    (labels[i] ? arrival : departure).push(j - i);
  }
  return { arrival, departure };
}

function reliability(minutes: readonly Minute[]): string[] {
  const bins = Array.from({ length: 10 }, () => ({ n: 0, p: 0, y: 0 }));
  for (const m of minutes) {
    const p = m.p ?? 0.5;
    const b = bins[Math.min(9, Math.floor(p * 10))]!;
    b.n++;
    b.p += p;
    b.y += m.label ? 1 : 0;
  }
  return bins.map(
    (b, i) =>
      `  p ${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${String(b.n).padStart(5)} minutes, ` +
      `mean p ${b.n ? (b.p / b.n).toFixed(3) : '  -  '}, occupied ${b.n ? (b.y / b.n).toFixed(3) : '  -  '}`,
  );
}

function report(name: string, rows: readonly UciRow[], minutes: readonly Minute[], withLight: boolean) {
  const labels = minutes.map((m) => m.label);
  const predicted = minutes.map((m) => m.occupied);
  const accuracy = mean(minutes.map((m) => (m.occupied === m.label ? 1 : 0)));
  const base = mean(labels.map((l) => (l ? 1 : 0)));
  const lightRule = rows.map((r) => r.light > 365);
  const lightAccuracy = mean(rows.map((r, i) => (lightRule[i] === r.occupied ? 1 : 0)));
  const emptyAccuracy = 1 - base;
  const brier = mean(minutes.map((m) => ((m.p ?? 0.5) - (m.label ? 1 : 0)) ** 2));
  const baseBrier = mean(labels.map((l) => (base - (l ? 1 : 0)) ** 2));
  const twin = latencies(labels, predicted);
  const rule = latencies(labels, lightRule);
  const right = minutes.filter((m) => m.occupied === m.label).map((m) => m.confidence);
  const wrong = minutes.filter((m) => m.occupied !== m.label).map((m) => m.confidence);
  const unknown = minutes.filter((m) => m.p === null).length;
  const silentLight = minutes.filter((m) =>
    m.reasons.some((r) => /light sensor (silent|has not reported)/.test(r)),
  );
  progress('occupancy', `${name} reliability (P(occupied) bins; unknown counted as 0.5):`);
  for (const line of reliability(minutes)) process.stderr.write(`${line}\n`);
  const baselineName = withLight ? 'light > 365 lux' : 'always empty';
  const baselineAccuracy = withLight ? lightAccuracy : emptyAccuracy;
  emit({
    name: `occupancy-accuracy-${name}`,
    value: round(accuracy, 4),
    unit: 'share of minutes',
    baseline: round(baselineAccuracy, 4),
    ratio: round(accuracy / baselineAccuracy),
    meaning: `twin occupied = label, ${minutes.length} minutes; baseline = ${baselineName} on the same rows`,
    lightRuleAccuracy: round(lightAccuracy, 4),
    alwaysEmptyAccuracy: round(emptyAccuracy, 4),
    minutesWithoutEvidence: unknown,
    meanConfidenceRight: round(mean(right), 3),
    meanConfidenceWrong: round(mean(wrong), 3),
    ...(withLight ? {} : { minutesSayingLightSilent: silentLight.length }),
  });
  emit({
    name: `occupancy-brier-${name}`,
    value: round(brier, 4),
    unit: 'Brier score (lower is better)',
    baseline: round(baseBrier, 4),
    ratio: round(brier / baseBrier),
    meaning: 'mean (P(occupied) − label)²; baseline = always the base rate',
  });
  for (const kind of ['arrival', 'departure'] as const) {
    emit({
      name: `occupancy-${kind}-latency-${name}`,
      value: quantile(twin[kind], 0.5),
      unit: 'minutes (median)',
      baseline: quantile(rule[kind], 0.5),
      ratio: round((quantile(twin[kind], 0.5) + 1) / (quantile(rule[kind], 0.5) + 1)),
      meaning: `minutes from the label's ${kind} to the twin's; baseline = the light > 365 rule; ratio of (minutes + 1)`,
      p90: quantile(twin[kind], 0.9),
      baselineP90: quantile(rule[kind], 0.9),
      changes: twin[kind].length,
    });
  }
}

export async function run(): Promise<void> {
  const file = resolve(
    process.env.BENCH_UCI_FILE ??
      join(REPO_ROOT, '..', 'shared', 'datasets', 'uci-occupancy', 'datatraining.txt'),
  );
  const rows = loadUciRows(file);
  progress('occupancy', `replaying ${rows.length} rows of ${file} over MQTT (backfill, 2015 timestamps)`);
  for (const withLight of [true, false]) {
    const started = Date.now();
    const minutes = await replay(rows, withLight);
    progress('occupancy', `${withLight ? 'with' : 'without'} light replayed`, {
      seconds: (Date.now() - started) / 1000,
    });
    report(withLight ? 'light' : 'no-light', rows, minutes, withLight);
  }
}
