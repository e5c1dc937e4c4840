/**
 * An in-process gateway with a simulated clock feeding a real local hub through the real uplink, for the
 * `wire` and `drain` benchmarks: 10,000 sensors (2,500 four-channel devices) reporting every 10 s, with
 * values from the simulated campus model. Readings enter through the pipeline (the ingest path is measured
 * by `ingest`); everything after it — journal, windows, twin, outbox, uplink, hub — is the real thing.
 */
import { join } from 'node:path';
import { createHub, type Hub, hubConfigFrom } from '../../cloud/hub/index.ts';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { gatewayConfigFrom } from '../../gateway/config/index.ts';
import { loadCampus } from '../../gateway/registry/index.ts';
import type { Campus } from '../../shared/campus.ts';
import type { Reading } from '../../shared/events.ts';
import { createLogger } from '../../shared/logger.ts';
import { QUANTITIES } from '../../shared/quantities.ts';
import { type SimDevice, sampleDevice, simDevicesFrom, unitHash } from '../../shared/simulate/index.ts';
import { writeBenchCampus } from './campus.ts';
import { tempDir } from './children.ts';

export const SENSORS = 10_000;
export const INTERVAL_MS = 10_000;
export const HUB = 'campus-twin';
/** A weekday just before the first lectures: rooms fill at 09:00, so the twin changes as on a real day. */
export const SIM_START = Date.UTC(2026, 10, 24, 8, 52, 0);

export interface Rig {
  gw: Gateway;
  hub: Hub;
  hubConfig: ReturnType<typeof hubConfigFrom>;
  campus: Campus;
  devices: SimDevice[];
  dir: string;
  clock: { now: number };
  submitted: number;
  /** Submit one reporting interval of all sensors at the clock, then advance the clock by it. */
  step(): Promise<void>;
  /** Submit one reading per channel of `which`, each device at `tsOf(device)`. */
  submit(which: readonly SimDevice[], tsOf: (d: SimDevice) => number): Promise<void>;
  restartHub(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRig(opts: {
  hubRunning: boolean;
  uplink?: Record<string, unknown>;
  extraHubs?: string[];
}): Promise<Rig> {
  const dir = tempDir('ct-bench-uplink-');
  const campusFile = join(dir, 'campus.yaml');
  await writeBenchCampus(campusFile, {
    count: SENSORS / 4,
    devicesPerRoom: 4,
    expectedIntervalMs: INTERVAL_MS,
  });
  const campus = loadCampus(campusFile);
  const devices = simDevicesFrom(campus);
  // Warnings to stderr: stdout carries only the benchmarks' JSON lines.
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const hubConfig = hubConfigFrom({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'hub'),
    hubs: [HUB, ...(opts.extraHubs ?? [])],
    log: { level: 'warn' },
  });
  let hub = createHub(hubConfig, { logger });
  await hub.start();
  const port = hub.port;
  const connectionString = hub.connectionString();
  if (!opts.hubRunning) await hub.stop();
  const clock = { now: SIM_START };
  const gw = createGateway(
    gatewayConfigFrom({
      gatewayId: 'gw-bench',
      dataDir: join(dir, 'gateway'),
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
      uplink: { connectionString, hubName: HUB, ...opts.uplink },
    }),
    { campus, logger, now: () => clock.now },
  );
  await gw.start();
  const channelsOf = new Map(devices.map((d) => [d.deviceId, d.channels]));
  const rig: Rig = {
    gw,
    get hub() {
      return hub;
    },
    hubConfig,
    campus,
    devices,
    dir,
    clock,
    submitted: 0,
    async step() {
      const base = clock.now;
      await rig.submit(devices, (d) => base + Math.floor(unitHash(d.deviceId, 'phase') * INTERVAL_MS));
      clock.now = base + INTERVAL_MS;
      gw.pipeline.tick();
    },
    async submit(which, tsOf) {
      let batch: Reading[] = [];
      for (const d of which) {
        const ts = tsOf(d);
        const values = sampleDevice(d, ts);
        for (const ch of channelsOf.get(d.deviceId)!) {
          batch.push({
            deviceId: d.deviceId,
            channel: ch.name,
            roomId: d.roomId,
            quantity: ch.quantity,
            value: values[ch.name]!,
            unit: QUANTITIES[ch.quantity].unit,
            ts,
            receivedAt: ts,
            source: 'mqtt',
          });
        }
        if (batch.length >= 4_000) {
          await gw.pipeline.submitAsync(batch);
          rig.submitted += batch.length;
          batch = [];
        }
      }
      if (batch.length) {
        await gw.pipeline.submitAsync(batch);
        rig.submitted += batch.length;
      }
    },
    async restartHub() {
      hub = createHub(hubConfigFrom({ ...hubConfig, port }), { logger });
      await hub.start();
    },
    async stop() {
      await gw.stop();
      await hub.stop().catch(() => undefined);
    },
  };
  return rig;
}

/** Sum of `count` over the aggregates waiting in the outbox: the readings a backlog represents. */
export function outboxReadings(gw: Gateway): number {
  const row = gw.pipeline.store.db
    .prepare("SELECT COALESCE(SUM(json_extract(body, '$.count')), 0) AS n FROM outbox_aggregate")
    .get() as { n: number };
  return row.n;
}
