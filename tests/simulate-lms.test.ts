/**
 * The LMS cohort simulator against a real gateway's xAPI webhook (signed): on a fast clock (a second is
 * an hour) its statements are accepted and journaled, nothing refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_COHORT, startLmsSimulator } from '../shared/simulate/index.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { HOOK_SECRET, webhookConfig } from './helpers/webhooks.ts';

describe('simulated LMS activity', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(webhookConfig());
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("posts the cohort's statements, signed, and the gateway journals them all", async () => {
    const start = Date.UTC(2026, 8, 7, 8); // Monday 08:00 UTC
    const wall = Date.now();
    const sim = startLmsSimulator({
      url: `${t.httpUrl}/webhooks/lms/xapi`,
      secret: HOOK_SECRET,
      intervalMs: 200,
      cohort: { ...DEFAULT_COHORT, termStart: start, students: 30, perHour: 2 },
      now: () => start + (Date.now() - wall) * 3600,
    });
    await new Promise((r) => setTimeout(r, 3000));
    await sim.stop();
    expect(sim.posted).toBeGreaterThan(20);
    expect(sim.refused).toBe(0);
    expect(sim.accepted).toBe(sim.posted);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    const journaled = Number(
      /ct_webhook_events_total\{source="xapi",result="accepted"\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    expect(journaled).toBe(sim.posted);
  });
});
