/**
 * `drain`: after a one-hour outage at campus load (10,000 sensors every 10 s), how fast the backlog
 * reaches the hub while live data keeps flowing. The hour is simulated (clock injected), then the clock
 * follows real time, live readings arrive at the same load (1,000/s), and the hub comes back.
 * Figure: backlog drain rate in readings represented per second (sum of the drained aggregates' counts
 * over the drain time) against the live ingest rate measured over the same seconds; target ≥ 10×.
 * Drain time runs from the uplink's first successful send after the hub returns (the reconnect wait is
 * reported separately: it is the backoff, capped at 2 s here) to the last backlog item sent, with the
 * default backlog cap (uplink.backlogBytesPerSec).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { removeDir } from './lib/children.ts';
import { emit, progress, round, sleep } from './lib/report.ts';
import { outboxReadings, SENSORS, startRig } from './lib/uplink-rig.ts';

const OUTAGE_MINUTES = Number(process.env.BENCH_DRAIN_OUTAGE_MINUTES ?? 60);

export async function run(): Promise<void> {
  const rig = await startRig({ hubRunning: false, uplink: { backoff: { baseMs: 250, maxMs: 2_000 } } });
  let follower: NodeJS.Timeout | undefined;
  let feeder: NodeJS.Timeout | undefined;
  try {
    progress('drain', `simulating a ${OUTAGE_MINUTES} min outage at ${SENSORS} sensors every 10 s`);
    const t0 = Date.now();
    for (let i = 0; i < OUTAGE_MINUTES * 6; i++) await rig.step();
    const db = rig.gw.pipeline.store.db;
    const backlogRows = (db.prepare('SELECT COUNT(*) AS n FROM outbox_aggregate').get() as { n: number }).n;
    const backlogReadings = outboxReadings(rig.gw);
    const status = await rig.gw.uplink!.status();
    progress('drain', `outage simulated in ${((Date.now() - t0) / 1000).toFixed(1)} s`, {
      readings: rig.submitted,
      backlogRows,
      backlogReadings,
      backlogMb: round(status.backlog.bytes / 1e6, 1),
      uplink: status.state,
    });

    // From here the clock follows real time and live readings flow at the campus load.
    const offset = rig.clock.now - Date.now();
    follower = setInterval(() => {
      rig.clock.now = Date.now() + offset;
    }, 20);
    const restartAt = rig.clock.now;
    let live = 0;
    let slice = 0;
    const perSlice = Math.ceil(rig.devices.length / 10);
    feeder = setInterval(() => {
      const devs = rig.devices.slice(slice * perSlice, (slice + 1) * perSlice);
      slice = (slice + 1) % 10;
      const ts = rig.clock.now;
      const before = rig.submitted;
      rig
        .submit(devs, () => ts)
        .then(
          () => {
            live += rig.submitted - before;
          },
          (err) => progress('drain', `live submit failed: ${String(err)}`),
        );
    }, 1_000);

    // Existence, not COUNT: this runs on the gateway's loop every 20 ms and must not be what stalls it.
    const left = db.prepare('SELECT 1 AS one FROM outbox_aggregate WHERE created_at < ? LIMIT 1');
    // How much the drain stalls the gateway's event loop (MQTT acks wait behind it).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const hubBack = Date.now();
    await rig.restartHub();
    while ((await rig.gw.uplink!.status()).sent.events === 0) await sleep(10);
    const connected = Date.now();
    const liveAtConnect = live;
    while (left.get(restartAt) !== undefined) await sleep(20);
    const done = Date.now();
    loop.disable();
    const seconds = (done - connected) / 1000;
    const drainRate = backlogReadings / seconds;
    // Live ingest over at least 10 s from the same start (one slice a second is too coarse for less).
    while (Date.now() - connected < 10_000) await sleep(50);
    const liveReadings = live - liveAtConnect;
    const liveRate = liveReadings / ((Date.now() - connected) / 1000);
    emit({
      name: 'drain',
      value: Math.round(drainRate),
      unit: 'readings/s',
      baseline: Math.round(liveRate),
      ratio: round(drainRate / liveRate, 1),
      drainSeconds: round(seconds, 2),
      reconnectMs: connected - hubBack,
      backlogReadings,
      backlogAggregateItems: backlogRows,
      liveReadingsMeasured: liveReadings,
      eventLoopDelayMsDuringDrain: {
        p50: round(loop.percentile(50) / 1e6, 1),
        p99: round(loop.percentile(99) / 1e6, 1),
        max: round(loop.max / 1e6, 1),
      },
      uplinkAfter: (await rig.gw.uplink!.status()).state,
    });
  } finally {
    if (follower) clearInterval(follower);
    if (feeder) clearInterval(feeder);
    await rig.stop();
    removeDir(rig.dir);
  }
}
