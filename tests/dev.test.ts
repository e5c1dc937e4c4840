/**
 * `campus-twin dev` (what `npm start` runs): one command brings up hub, gateway, cloud and simulated
 * sensors; data flows from the simulated rooms to the cloud API; Ctrl-C (SIGINT) stops it all cleanly.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { type CliProcess, startCli } from './helpers/process.ts';

describe('campus-twin dev', () => {
  const dir = tempDir('ct-dev-');
  let dev: CliProcess | undefined;
  afterAll(async () => {
    await dev?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the whole system on embedded defaults, feeds the cloud, and stops on Ctrl-C', async () => {
    dev = await startCli(
      ['dev', '--data-dir', dir, '--random-ports', '--rooms', '2', '--interval-ms', '500'],
      {},
      'dev:ready',
    );
    const { ports } = dev.ready;
    expect(dev.ready.connectionString).toMatch(
      /^Endpoint=sb:\/\/localhost:\d+;SharedAccessKeyName=[^;]+;SharedAccessKey=[^;]+;UseDevelopmentEmulator=true$/,
    );
    await waitFor(() => dev!.stderr().includes('Ctrl-C stops everything'), 5_000, 'the banner');
    expect(dev.stderr()).toContain(`http://localhost:${ports.gatewayHttp}/`);
    expect(dev.stderr()).toContain(`http://localhost:${ports.cloudHttp}/api/gateways`);

    // Simulated readings reach the cloud as aggregates of the dev gateway (10 s windows in dev).
    type Gateways = { gateways: { gatewayId: string; items: Record<string, number> }[] };
    const gw = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.cloudHttp}/api/gateways`);
        const body = (await res.json()) as Gateways;
        const g = body.gateways.find((x) => x.gatewayId === 'gw-dev');
        return g && (g.items.aggregate ?? 0) > 0 ? g : undefined;
      },
      45_000,
      'aggregates from gw-dev in the cloud',
    );
    expect(gw.items.aggregate).toBeGreaterThan(0);
    const status = (await (await fetch(`http://127.0.0.1:${ports.gatewayHttp}/api/status`)).json()) as {
      mode: string;
      uplink: { connected: boolean };
    };
    expect(status.mode).toContain('dev');
    expect(status.uplink.connected).toBe(true);

    // The simulated SDM120 meters (one per simulated room, behind one Modbus TCP endpoint) are polled.
    expect(dev.stderr()).toMatch(/Modbus TCP meters {4}127\.0\.0\.1:\d+ {3}\(2 SDM120 meters/);
    type Devices = { devices: { deviceId: string; modbus?: { counters: { ok: number; failed: number } } }[] };
    const meters = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.gatewayHttp}/api/devices`);
        const ms = ((await res.json()) as Devices).devices.filter((d) => d.deviceId.startsWith('meter-mb-'));
        return ms.length === 2 && ms.every((m) => (m.modbus?.counters.ok ?? 0) > 0) ? ms : undefined;
      },
      20_000,
      'the simulated Modbus meters read',
    );
    for (const m of meters) expect(m.modbus!.counters.failed, m.deviceId).toBe(0);

    // The simulated admin systems post to the admin webhook (the cohort's first enrolment at least).
    const adminAccepted = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${ports.gatewayHttp}/metrics`)).text();
        const n = Number(
          /ct_webhook_events_total\{source="admin",result="accepted"\} (\d+)/.exec(text)?.[1] ?? 0,
        );
        return n > 0 ? n : undefined;
      },
      10_000,
      'admin events accepted',
    );
    expect(adminAccepted).toBeGreaterThan(0);

    const code = await dev.kill('SIGINT');
    expect(code).toBe(0);
    expect(dev.stderr()).toContain('stopping');
  }, 90_000);

  it('runs an uplink outage drill on demand: the hub goes down, the backlog grows, the gateway reconnects and sends', async () => {
    const drillDir = tempDir('ct-dev-drill-');
    const drill = await startCli(
      [
        'dev',
        '--data-dir',
        drillDir,
        '--random-ports',
        '--rooms',
        '2',
        '--interval-ms',
        '300',
        '--uplink-outage-every',
        '20',
        '--uplink-outage-for',
        '11',
      ],
      {},
      'dev:ready',
    );
    try {
      type Status = { uplink: { connected: boolean; backlog: { rows: number }; sent: { items: number } } };
      const status = async () =>
        (await (
          await fetch(`http://127.0.0.1:${drill.ready.ports.gatewayHttp}/api/status`)
        ).json()) as Status;
      await waitFor(
        () => drill.stderr().includes('uplink outage drill: hub down for 11 s'),
        30_000,
        'the drill',
      );
      const down = await waitFor(
        async () => {
          const s = await status();
          return !s.uplink.connected && s.uplink.backlog.rows > 0 ? s : undefined;
        },
        // The uplink notices at its next send: at the latest the next 10 s window's aggregates.
        15_000,
        'the gateway offline with a backlog',
      );
      expect(down.uplink.backlog.rows).toBeGreaterThan(0);
      // Back on the same port: the gateway reconnects by itself and sends what it kept.
      const up = await waitFor(
        async () => {
          const s = await status();
          return drill.stderr().includes('hub back') && s.uplink.connected ? s : undefined;
        },
        20_000,
        'the hub back and the gateway reconnected',
      );
      expect(up.uplink.sent.items).toBeGreaterThan(0);
      expect(await drill.kill('SIGINT')).toBe(0);
    } finally {
      await drill.kill('SIGKILL');
      rmSync(drillDir, { recursive: true, force: true });
    }
  }, 120_000);
});
