/**
 * The api benchmark's value server: a SqliteCloudStore on a fresh file in `dataDir`, filled through its
 * public applyBatch (encodeBatch + prepareEvent, as the consumer does) with
 *   - one sensor (env-1/temperature, room r1): 24 h of 1-minute aggregate windows (1,440);
 *   - room r1's twin changes over the same day (occupancy every 15 min, comfort every 30 min, health of its
 *     two devices) and 30 alerts, so /api/rooms/r1 answers the latest state per kind and 20 recent alerts;
 *   - learning events (Caliper resource.viewed, 3 per pair) for 3,333 students × 3 courses = 9,999
 *     (student, course) pairs, which with r1's room row makes a snapshot of 10,000 rows;
 * then one snapshot (`createSnapshot`, trigger 'cli') at the end of that day, served by `buildCloudApi` with
 * a static bearer token on 127.0.0.1 port 0. Prints {"event":"server:ready","ports":{"http":N},…} with the
 * snapshot id and the sensor's range, and runs until SIGTERM/SIGINT or until its stdin ends.
 *
 * Usage: api-cloud.ts DATA_DIR TOKEN
 */
import { join } from 'node:path';
import { buildCloudApi } from '../../cloud/api/server.ts';
import { prepareEvent } from '../../cloud/consume/prepare.ts';
import { CloudMetrics } from '../../cloud/metrics.ts';
import { SqliteCloudStore } from '../../cloud/store/sqlite.ts';
import type { PartitionRef } from '../../cloud/store/types.ts';
import type { Aggregate } from '../../shared/events.ts';
import { aggregateItemId, encodeBatch, type WireClass, type WireItem } from '../../shared/wire.ts';
import { stopOnSignalOrStdinEnd } from '../lib/serve.ts';

const [dataDir, token] = process.argv.slice(2);
if (!dataDir || !token) {
  process.stderr.write('usage: api-cloud.ts DATA_DIR TOKEN\n');
  process.exit(2);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The snapshot's cut-off and the end of the sensor's day: 2026-11-27 08:00 UTC. */
const CUTOFF = Date.UTC(2026, 10, 27, 8);
const FROM = CUTOFF - DAY;
const ROOM = 'r1';
const DEVICE = 'env-1';
const CHANNEL = 'temperature';
const WINDOWS = 1_440;
const SNAPSHOT_ROWS = 10_000;
const STUDENTS = 3_333;
const COURSES = 3;
const EVENTS_PER_PAIR = 3;
const ITEMS_PER_EVENT = 1_000;
const GATEWAY = 'gw-bench';

const PARTITION: PartitionRef = {
  fullyQualifiedNamespace: 'bench',
  eventHubName: 'campus-twin',
  consumerGroup: '$Default',
  partitionId: '0',
};

const store = new SqliteCloudStore({ file: join(dataDir, 'cloud.db') });
let seq = 0;
let batchNo = 0;

/** Encodes `items` as wire events of ITEMS_PER_EVENT, prepares them and applies them in one call. */
async function apply(cls: WireClass, items: readonly WireItem[]): Promise<number> {
  const events = [];
  for (let i = 0; i < items.length; i += ITEMS_PER_EVENT) {
    const { body, properties } = encodeBatch(
      cls,
      GATEWAY,
      `b${batchNo++}`,
      items.slice(i, i + ITEMS_PER_EVENT),
    );
    seq++;
    const ev = prepareEvent(
      { properties, body, sequenceNumber: seq, offset: String(seq), enqueuedTimeMs: CUTOFF },
      { maxEventBytes: 1024 * 1024, maxBodyBytes: 1024 },
    );
    if (!ev.ok) throw new Error(`${cls}: ${ev.code} ${ev.reason}`);
    if (ev.invalid.length) throw new Error(`${cls}: invalid item ${JSON.stringify(ev.invalid[0])}`);
    events.push(ev);
  }
  const r = await store.applyBatch(PARTITION, events, events.at(-1)!.position, Date.now());
  const applied = r.itemsApplied[cls];
  if (applied !== items.length || r.quarantined.length)
    throw new Error(`${cls}: applied ${applied} of ${items.length} (${JSON.stringify(r.quarantined)})`);
  return applied;
}

const started = performance.now();

// One sensor, 24 h of one-minute windows of 6 readings (one every 10 s).
const aggregates: WireItem[] = [];
for (let i = 0; i < WINDOWS; i++) {
  const windowStart = FROM + i * MINUTE;
  const v = 20 + 2 * Math.sin((2 * Math.PI * i) / WINDOWS);
  const a: Aggregate = {
    deviceId: DEVICE,
    channel: CHANNEL,
    roomId: ROOM,
    quantity: 'temperature',
    unit: '°C',
    windowStart,
    windowMs: MINUTE,
    count: 6,
    min: v - 0.2,
    max: v + 0.2,
    sum: 6 * v,
    mean: v,
    first: v - 0.1,
    firstTs: windowStart,
    last: v + 0.1,
    lastTs: windowStart + 50_000,
    late: false,
  };
  aggregates.push({ id: aggregateItemId(a), body: { ...a } });
}
await apply('aggregate', aggregates);

// Room r1 over the same day: occupancy every 15 min, comfort every 30 min, health of its two devices.
const twins: WireItem[] = [];
const twin = (
  kind: 'occupancy' | 'comfort' | 'health',
  ts: number,
  from: string,
  to: string,
  deviceId?: string,
) =>
  twins.push({
    id: `twin:${ROOM}:${kind}:${deviceId ?? ''}:${ts}`,
    body: { roomId: ROOM, ts, kind, from, to, reasons: [`${kind} ${to}`], ...(deviceId ? { deviceId } : {}) },
  });
for (let t = FROM, k = 0; t < CUTOFF; t += 15 * MINUTE, k++)
  twin('occupancy', t, k % 2 ? 'occupied' : 'vacant', k % 2 ? 'vacant' : 'occupied');
for (let t = FROM, k = 0; t < CUTOFF; t += 30 * MINUTE, k++)
  twin('comfort', t, k % 3 ? 'ok' : 'warn', k % 3 ? 'warn' : 'ok');
for (const [d, deviceId] of [DEVICE, 'occ-1'].entries()) {
  twin('health', FROM + d * MINUTE, 'unknown', 'online', deviceId);
  twin('health', FROM + 6 * HOUR + d * MINUTE, 'online', 'stale', deviceId);
  twin('health', FROM + 7 * HOUR + d * MINUTE, 'stale', 'online', deviceId);
}
await apply('twin', twins);
const alerts: WireItem[] = Array.from({ length: 30 }, (_, i) => ({
  id: `alert-${i}`,
  body: {
    alertId: `alert-${i}`,
    ts: FROM + i * 45 * MINUTE,
    severity: i % 5 ? 'warning' : 'critical',
    code: 'co2_high',
    roomId: ROOM,
    deviceId: DEVICE,
    message: `CO2 above 1400 ppm in ${ROOM} (${i})`,
  },
}));
await apply('alert', alerts);

// Learning events: 3 resource views per (student, course), on different days of the last four weeks.
let events = 0;
for (let s0 = 1; s0 <= STUDENTS; s0 += 500) {
  const items: WireItem[] = [];
  for (let s = s0; s < Math.min(s0 + 500, STUDENTS + 1); s++) {
    const actorId = `p_${String(s).padStart(5, '0')}`;
    for (let c = 0; c < COURSES; c++) {
      for (let e = 0; e < EVENTS_PER_PAIR; e++) {
        const eventId = `ev-${s}-${c}-${e}`;
        const ts = CUTOFF - ((s * 7 + c * 3 + e * 5) % 28) * DAY - (e + 1) * HOUR;
        items.push({
          id: eventId,
          body: {
            eventId,
            source: 'caliper',
            type: 'resource.viewed',
            originalType: 'ViewEvent.Viewed',
            ts,
            receivedAt: ts + 2_000,
            actorId,
            courseId: `course-${c + 1}`,
            objectId: `https://example.edu/etexts/${(s + e) % 200}.epub`,
          },
        });
      }
    }
  }
  events += await apply('event', items);
}
const filledMs = performance.now() - started;

const snapshotStarted = performance.now();
const snapshot = await store.createSnapshot({ cutoffTs: CUTOFF, now: Date.now(), trigger: 'cli' });
const snapshotMs = performance.now() - snapshotStarted;
if (snapshot.rooms + snapshot.enrolments !== SNAPSHOT_ROWS)
  throw new Error(
    `snapshot has ${snapshot.rooms} rooms + ${snapshot.enrolments} enrolments, want ${SNAPSHOT_ROWS} rows`,
  );

const app = buildCloudApi({
  store,
  metrics: new CloudMetrics(),
  now: Date.now,
  auth: { open: false, tokens: [token], metricsPublic: true },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
process.stdout.write(
  `${JSON.stringify({
    event: 'server:ready',
    ports: { http: port },
    pid: process.pid,
    roomId: ROOM,
    sensor: { deviceId: DEVICE, channel: CHANNEL, from: FROM, to: CUTOFF, windows: WINDOWS },
    snapshot,
    filled: {
      aggregates: aggregates.length,
      twinChanges: twins.length,
      alerts: alerts.length,
      learningEvents: events,
      ms: Math.round(filledMs),
      snapshotMs: Math.round(snapshotMs),
    },
  })}\n`,
);

stopOnSignalOrStdinEnd('api-cloud', () => app.close().then(() => store.close()));
