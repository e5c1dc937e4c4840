/**
 * The admin systems simulator against a real gateway's admin webhook: on a fast clock (a second is an
 * hour) enrolments, withdrawals, bookings and work orders are accepted and journaled, none refused; a resend
 * is recognised as duplicates.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { replayOverWebhook } from '../shared/replay/webhooks.ts';
import { adminEventsBetween, DEFAULT_COHORT, startAdminSimulator } from '../shared/simulate/index.ts';
import { startTestGateway, type TestGateway, tempDir, waitFor } from './helpers/gateway.ts';
import { spawnCli } from './helpers/process.ts';
import { BEARER_TOKEN, webhookConfig } from './helpers/webhooks.ts';

describe('simulated admin events', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(webhookConfig());
  });
  afterAll(async () => {
    await t?.stop();
  });
  const adminAccepted = async () => {
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    return Number(
      /ct_webhook_events_total\{source="admin",result="accepted"\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
  };

  it('campus-twin simulate --admin-webhook posts them with the token from --admin-bearer-env', async () => {
    const dir = tempDir('ct-sim-admin-');
    const file = join(dir, 'campus.yaml');
    writeFileSync(
      file,
      stringifyYaml({
        campus: { id: 'c' },
        buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r-1' }] }] }],
      }),
    );
    const before = await adminAccepted();
    const sim = spawnCli(
      [
        'simulate',
        '--campus',
        file,
        '--mqtt',
        'mqtt://127.0.0.1:1',
        '--interval-ms',
        '200',
        '--admin-webhook',
        `${t.httpUrl}/webhooks/admin`,
        '--admin-bearer-env',
        'SIM_ADMIN_TOKEN',
      ],
      { SIM_ADMIN_TOKEN: BEARER_TOKEN },
    );
    try {
      // The cohort's first enrolment is due as the simulator starts.
      await waitFor(
        async () => ((await adminAccepted()) > before ? true : undefined),
        20_000,
        'an enrolment',
      );
      expect(sim.stderr()).toContain('admin events →');
      expect(sim.stderr()).not.toContain('simulate: admin:');
    } finally {
      expect(await sim.kill('SIGINT')).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('posts enrolments, bookings and work orders to the admin webhook, all journaled', async () => {
    const start = Date.UTC(2026, 8, 7, 6); // Monday 06:00 UTC, term starting
    const wall = Date.now();
    const options = {
      // Its own seed: the CLI test's cohort has the default one, and an event id sent again with other
      // content is refused as a conflicting resend.
      cohort: { ...DEFAULT_COHORT, seed: 'admin-test', termStart: start, students: 20 },
      rooms: [{ roomId: 'r-101' }, { roomId: 'r-102' }],
      workOrdersPerWeek: 7,
    };
    const before = await adminAccepted();
    const clock = () => start + (Date.now() - wall) * 3600;
    const sim = startAdminSimulator({
      ...options,
      url: `${t.httpUrl}/webhooks/admin`,
      bearer: BEARER_TOKEN,
      intervalMs: 200,
      now: clock,
    });
    await new Promise((r) => setTimeout(r, 3000));
    await sim.stop();
    const end = clock();
    expect(sim.refused).toBe(0);
    expect(sim.accepted).toBe(sim.posted);
    const types = new Set(adminEventsBetween(options, start, start + 40 * 3_600_000).map((e) => e.type));
    expect(types).toEqual(
      new Set(['enrolment.created', 'room.booked', 'workorder.opened', 'workorder.closed']),
    );
    const journaled = (await adminAccepted()) - before;
    expect(sim.posted).toBeGreaterThanOrEqual(20);
    expect(journaled).toBe(sim.posted);
    // What the simulator posted is what adminEventsBetween says up to where its clock stopped.
    const expected = adminEventsBetween(options, start, end);
    expect(sim.posted).toBeGreaterThanOrEqual(expected.length - 5);
    // A resend of the same events is all duplicates: event ids are stable.
    const again = await replayOverWebhook(adminEventsBetween(options, start, start + 3_600_000), {
      url: `${t.httpUrl}/webhooks/admin`,
      source: 'admin',
      bearer: BEARER_TOKEN,
      batch: 50,
      concurrency: 1,
    });
    expect(again.events).toBeGreaterThanOrEqual(20);
    expect(again.duplicates).toBe(again.events);
  });
});
