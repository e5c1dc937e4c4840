/**
 * Acceptance 2: kill -9 the gateway process while a client publishes 50,000 QoS 1 readings and republishes
 * whatever was not acknowledged; restart it; the sum of closed-window counts equals the number of distinct
 * readings acknowledged — no loss, no double count.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { journalReadingCount } from '../gateway/journal/rows.ts';
import type { Aggregate } from '../shared/events.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, tempDir, waitFor, writeCliGatewayConfig } from './helpers/gateway.ts';
import { type CliProcess, startCli } from './helpers/process.ts';

const TOTAL = 50_000;
const DEVICES = ['env-1', 'env-2', 'env-3', 'env-4'];
const IN_FLIGHT = 100;

interface Msg {
  deviceId: string;
  payload: string;
}

/** Publish `ids` with at most IN_FLIGHT outstanding; resolves when all are acked or the connection dies. */
function publishAll(
  clients: Map<string, MqttClient>,
  msgs: Msg[],
  ids: number[],
  acked: Set<number>,
  onAck?: () => void,
) {
  return new Promise<void>((resolve) => {
    let next = 0;
    let outstanding = 0;
    let dead = false;
    const pump = () => {
      while (!dead && outstanding < IN_FLIGHT && next < ids.length) {
        const id = ids[next++]!;
        const m = msgs[id]!;
        const client = clients.get(m.deviceId)!;
        outstanding++;
        client.publish(`devices/${m.deviceId}/telemetry`, m.payload, { qos: 1 }, (err) => {
          outstanding--;
          if (!err) {
            acked.add(id);
            onAck?.();
          }
          if (!dead) pump();
          if (outstanding === 0 && (next >= ids.length || dead)) resolve();
        });
      }
      if (outstanding === 0 && next >= ids.length) resolve();
    };
    for (const c of clients.values()) {
      c.once('close', () => {
        dead = true;
        resolve();
      });
    }
    pump();
  });
}

async function connectAll(port: number): Promise<Map<string, MqttClient>> {
  const clients = new Map<string, MqttClient>();
  for (const d of DEVICES) {
    clients.set(
      d,
      await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: d,
        password: testPassword(d),
        clientId: `crash-${d}`,
        reconnectPeriod: 0,
      }),
    );
  }
  return clients;
}

describe('kill -9 during ingest', () => {
  const dir = tempDir('ct-crash-');
  let gw: CliProcess | undefined;
  afterAll(async () => {
    await gw?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('after restart, closed-window counts equal the distinct readings acknowledged', async () => {
    const configFile = await writeCliGatewayConfig(dir, {
      gatewayId: 'gw-crash',
      aggregate: { windowMs: 1000, allowedLatenessMs: 500 },
    });
    const args = ['gateway', '--config', configFile];

    // Distinct readings: each device's readings have distinct event times.
    const base = Date.now();
    const msgs: Msg[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const deviceId = DEVICES[i % DEVICES.length]!;
      msgs.push({
        deviceId,
        payload: JSON.stringify({
          ts: base + Math.floor(i / DEVICES.length),
          readings: { temperature: 20 + (i % 50) / 10 },
        }),
      });
    }
    const acked = new Set<number>();

    gw = await startCli(args);
    let clients = await connectAll(gw.ready.ports.mqtt!);
    const killAt = 15_000 + Math.floor(Math.random() * 10_000);
    let killed = false;
    const firstRun = publishAll(clients, msgs, [...msgs.keys()], acked, () => {
      if (!killed && acked.size >= killAt) {
        killed = true;
        gw!.child.kill('SIGKILL');
      }
    });
    await firstRun;
    for (const c of clients.values()) c.end(true);
    expect(killed).toBe(true);
    await waitFor(() => gw!.child.exitCode !== null || gw!.child.signalCode !== null, 5000, 'gateway exit');
    const ackedBeforeKill = acked.size;
    expect(ackedBeforeKill).toBeLessThan(TOTAL);

    // Restart on the same data; republish everything not acknowledged (some of it may have been journaled
    // already), plus the last 1,000 that were acknowledged, as a device resending after reconnect would.
    gw = await startCli(args);
    clients = await connectAll(gw.ready.ports.mqtt!);
    const ackedList = [...acked].sort((a, b) => a - b);
    const resend = ackedList.slice(-1000);
    const rest = [...resend, ...[...msgs.keys()].filter((i) => !acked.has(i))];
    await publishAll(clients, msgs, rest, acked);
    for (const c of clients.values()) await c.endAsync();
    expect(acked.size).toBe(TOTAL);

    const http = `http://127.0.0.1:${gw.ready.ports.http}`;
    const status = await getJson<{ readings: { duplicates: Record<string, number> } }>(`${http}/api/status`);
    // Wait until every window holding these readings has closed.
    await waitFor(
      async () => {
        const s = await getJson<{ journal: { openWindows: number; closedUntil: number } }>(
          `${http}/api/status`,
        );
        return s.journal.openWindows === 0 && s.journal.closedUntil > base + TOTAL / DEVICES.length;
      },
      30_000,
      'all windows closed',
    );
    expect(await gw.kill('SIGTERM')).toBe(0);

    const db = new Database(join(dir, 'data', 'gateway.db'), { readonly: true });
    const rows = db.prepare('SELECT body FROM outbox_aggregate').all() as { body: string }[];
    const journaled = journalReadingCount(db);
    db.close();
    const sum = rows.reduce((s, r) => s + (JSON.parse(r.body) as Aggregate).count, 0);
    console.log(
      `kill -9 after ${ackedBeforeKill} acks; republished ${rest.length}; duplicates ignored after restart: ${status.readings.duplicates.mqtt ?? 0}; aggregate items ${rows.length}; sum of counts ${sum}`,
    );
    expect(status.readings.duplicates.mqtt ?? 0).toBeGreaterThanOrEqual(resend.length);
    expect(journaled).toBe(TOTAL);
    expect(sum).toBe(TOTAL);
  });
});
