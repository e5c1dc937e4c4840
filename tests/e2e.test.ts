/**
 * Issue 3's spine, end to end through real sockets and the real SDK: MQTT → gateway journal → windows →
 * outbox → uplink → local hub (AMQP) → cloud consumer → cloud store. A reading accepted on campus reaches
 * the cloud store exactly once — through a hub outage and through the gateway being killed with SIGKILL
 * while batches are in flight.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import { startTestCloud } from './helpers/cloud.ts';
import {
  getJson,
  startTestGateway,
  type TestGateway,
  tempDir,
  waitFor,
  writeCliGatewayConfig,
} from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { type CliProcess, startCli } from './helpers/process.ts';
import { publishReadings } from './helpers/publish.ts';

const DEVICES = ['env-1', 'env-2', 'env-3', 'env-4'];
const FAST_UPLINK = {
  lingerMs: { alert: 0, twin: 100, event: 100, aggregate: 100, raw: 100 },
  backoff: { baseMs: 100, maxMs: 500 },
  sendTimeoutMs: 5000,
};

/** Publish `n` readings (QoS 1) with distinct (device, ts); resolves when all are acknowledged. */
function publish(mqttUrl: string, n: number, start = Date.now(), spacingMs = 1): Promise<void> {
  return publishReadings(mqttUrl, {
    devices: DEVICES,
    n,
    start,
    spacingMs,
    readings: (i) => ({ temperature: 20 + (i % 40) / 10 }),
  });
}

async function cloudReadings(cloud: Cloud): Promise<number> {
  return (await cloud.store.counts()).readingsRepresented;
}

/** Waits until the cloud holds `n` readings and has stayed there for a moment (no late double apply). */
async function settlesAt(cloud: Cloud, n: number, timeoutMs: number): Promise<number> {
  await waitFor(async () => (await cloudReadings(cloud)) >= n, timeoutMs, `cloud to hold ${n} readings`);
  await new Promise((r) => setTimeout(r, 1_500));
  return cloudReadings(cloud);
}

describe('gateway → hub → cloud, exactly once', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  /** A local hub and a cloud consuming from it (dev mode), both stopped after the test. */
  async function hubAndCloud(): Promise<{ hub: TestHub; dir: string; cloud: Cloud }> {
    const hub = await startTestHub();
    cleanups.push(() => hub.stop());
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const cloud = await startTestCloud(hub, dir, { dev: true });
    cleanups.push(() => cloud.stop());
    return { hub, dir, cloud };
  }

  it('N readings published over MQTT arrive in the cloud: the sum of aggregate counts is N', async () => {
    const { hub, cloud } = await hubAndCloud();
    const t = await startTestGateway({
      gatewayId: 'gw-e2e',
      aggregate: { windowMs: 1000, allowedLatenessMs: 200 },
      uplink: { connectionString: hub.connectionString, hubName: hub.hubName, ...FAST_UPLINK },
    });
    cleanups.push(() => t.stop());
    const N = 8_000;
    await publish(t.mqttUrl, N, Date.now() - 5_000, 2);
    expect(await settlesAt(cloud, N, 30_000)).toBe(N);
    // The read API agrees, per sensor and per gateway.
    const api = `http://127.0.0.1:${cloud.port}`;
    let perSensor = 0;
    for (const id of DEVICES) {
      const res = await fetch(
        `${api}/api/sensors/${id}/temperature/aggregates?from=0&to=${Date.now() + 60_000}`,
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { windows: { count: number }[] };
      perSensor += body.windows.reduce((a, w) => a + w.count, 0);
    }
    expect(perSensor).toBe(N);
    const gateways = (await (await fetch(`${api}/api/gateways`)).json()) as {
      gateways: { gatewayId: string; campusId: string | null }[];
    };
    // The uplink names the campus of the gateway's campus file on every event.
    expect(gateways.gateways.find((g) => g.gatewayId === 'gw-e2e')).toMatchObject({
      campusId: 'test-campus',
    });
  });

  it('a hub outage grows the backlog on the status page, which drains; the cloud still ends with exactly N', async () => {
    const { hub, cloud } = await hubAndCloud();
    const t: TestGateway = await startTestGateway({
      gatewayId: 'gw-outage',
      aggregate: { windowMs: 1000, allowedLatenessMs: 200 },
      uplink: { connectionString: hub.connectionString, hubName: hub.hubName, ...FAST_UPLINK },
    });
    cleanups.push(() => t.stop());
    type S = { uplink: { state: string; backlog: { rows: number }; connected: boolean } };
    const status = async () => (await getJson<S>(`${t.httpUrl}/api/status`)).uplink;

    let start = Date.now();
    const next = () => {
      start = Math.max(Date.now(), start + 2_000);
      return start;
    };
    await publish(t.mqttUrl, 2_000, start);
    await waitFor(async () => (await cloudReadings(cloud)) === 2_000, 20_000, 'first readings in the cloud');

    await hub.stop({ keepData: true });
    await publish(t.mqttUrl, 2_000, next());
    const down = await waitFor(
      async () => {
        const s = await status();
        return !s.connected && s.backlog.rows > 0 ? s : undefined;
      },
      15_000,
      'backlog while the hub is down',
    );
    await publish(t.mqttUrl, 2_000, next());
    await waitFor(async () => (await status()).backlog.rows > down.backlog.rows, 10_000, 'backlog growing');
    expect(await cloudReadings(cloud)).toBe(2_000);

    await hub.restart!();
    await waitFor(
      async () => {
        const s = await status();
        return s.connected && s.backlog.rows === 0;
      },
      20_000,
      'backlog drained',
    );
    expect(await settlesAt(cloud, 6_000, 30_000)).toBe(6_000);
  });

  it('the gateway killed with SIGKILL while batches are in flight, then restarted: exactly N in the cloud', async () => {
    const { hub, dir, cloud } = await hubAndCloud();

    const configFile = await writeCliGatewayConfig(dir, {
      gatewayId: 'gw-kill',
      dataDir: join(dir, 'gateway'),
      aggregate: { windowMs: 1000, allowedLatenessMs: 200 },
      // Small events, everything counted as backlog and drained at a modest rate: many sends in flight
      // over a few seconds, so the kills land mid-stream.
      uplink: {
        connectionString: hub.connectionString,
        hubName: hub.hubName,
        maxEventBytes: 4096,
        liveWindowMs: 1,
        backlogBytesPerSec: 40_000,
        ...FAST_UPLINK,
      },
    });
    let gw: CliProcess | undefined = await startCli(['gateway', '--config', configFile]);
    cleanups.push(async () => {
      await gw?.kill('SIGKILL');
    });
    // Spread over the last 50 minutes, one reading per device and 1 s window: thousands of windows (late
    // ones go out one correction per window), hence many small events to send.
    const N = 12_000;
    await publish(`mqtt://127.0.0.1:${gw.ready.ports.mqtt}`, N, Date.now() - 3_000_000, 1000);

    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const before = (await cloud.store.counts()).items.aggregate;
      await waitFor(
        async () => (await cloud.store.counts()).items.aggregate > before + 20,
        20_000,
        'batches flowing',
      );
      await gw.kill('SIGKILL');
      kills++;
      gw = await startCli(['gateway', '--config', configFile]);
    }
    expect(await settlesAt(cloud, N, 60_000)).toBe(N);
    const http = `http://127.0.0.1:${gw.ready.ports.http}`;
    const s = await getJson<{ uplink: { backlog: { rows: number } } }>(`${http}/api/status`);
    expect(s.uplink.backlog.rows).toBe(0);
    expect(kills).toBe(3);
  });
});
