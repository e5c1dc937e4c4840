/**
 * Issue 5, acceptance 5: 1,000 concurrent posts of mixed valid and invalid bodies through a real gateway.
 * No crash; every valid event journaled exactly once (resent ones included); every invalid post refused
 * with its code; the gateway still answers afterwards.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signBody } from '../gateway/ingest/webhooks/index.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { HOOK_SECRET, journalEvents, webhookConfig } from './helpers/webhooks.ts';

let gw: TestGateway;
let agent: Agent;
beforeAll(async () => {
  gw = await startTestGateway(webhookConfig());
  agent = new Agent({ keepAlive: true, maxSockets: 256 });
});
afterAll(async () => {
  agent.destroy();
  await gw.stop();
});

const uuid = (n: number) => `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const event = (n: number) => ({
  '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p2',
  id: uuid(n),
  type: 'ViewEvent',
  actor: { id: `https://example.edu/users/${100000 + (n % 50)}`, type: 'Person' },
  action: 'Viewed',
  object: { id: `https://example.edu/etexts/${n % 7}.epub`, type: 'Document' },
  eventTime: new Date(Date.UTC(2026, 10, 27, 9) + n).toISOString(),
  group: { id: `https://example.edu/courses/${n % 5}`, type: 'CourseSection' },
});
// The sensor id carries the request number: every body (and so every signature) is distinct.
const envelope = (events: unknown[], n: number) =>
  JSON.stringify({
    sensor: `https://example.edu/sensors/${n}`,
    sendTime: new Date().toISOString(),
    dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2',
    data: events,
  });

/** node:http with a 256-socket agent: 1,000 requests really are in flight together. */
function postRaw(
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.httpUrl}/webhooks/lms/caliper`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('1,000 concurrent mixed posts: no crash, every valid event journaled once', async () => {
  type Case = { body: string; sign: 'ok' | 'wrong'; expect: number; code?: string; ids: string[] };
  const cases: Case[] = [];
  for (let i = 0; i < 1000; i++) {
    const kind = i % 5;
    if (kind === 0 || kind === 1) {
      // Valid envelope of 3 events; every 4th reuses the ids of an earlier request (a resend).
      const base = i % 4 === 0 && i >= 20 ? (i - 20) * 3 : i * 3;
      const events = [event(base), event(base + 1), event(base + 2)];
      cases.push({ body: envelope(events, i), sign: 'ok', expect: 202, ids: events.map((e) => e.id) });
    } else if (kind === 2) {
      cases.push({
        body: `{"sensor": "${i}", "data": [`,
        sign: 'ok',
        expect: 400,
        code: 'CT_ERR_NOT_JSON',
        ids: [],
      });
    } else if (kind === 3) {
      const bad = event(1_000_000 + i) as Record<string, unknown>;
      delete bad.actor;
      cases.push({
        body: envelope([event(2_000_000 + i), bad], i),
        sign: 'ok',
        expect: 422,
        code: 'CT_ERR_SCHEMA',
        ids: [],
      });
    } else {
      cases.push({
        body: envelope([event(3_000_000 + i)], i),
        sign: 'wrong',
        expect: 401,
        code: 'CT_ERR_SIGNATURE',
        ids: [],
      });
    }
  }
  const ts = Math.floor(Date.now() / 1000);
  const results = await Promise.all(
    cases.map(async (c) => {
      const t = ts;
      const sig = signBody(Buffer.from(c.sign === 'ok' ? HOOK_SECRET : 'wrong-secret'), t, c.body);
      return postRaw(c.body, { 'x-ct-timestamp': String(t), 'x-ct-signature': `sha256=${sig}` });
    }),
  );
  let accepted = 0;
  let duplicates = 0;
  results.forEach((r, i) => {
    const c = cases[i]!;
    expect(r.status, `case ${i}`).toBe(c.expect);
    if (c.code) expect((r.json.error as { code: string }).code).toBe(c.code);
    else {
      accepted += r.json.accepted as number;
      duplicates += r.json.duplicates as number;
    }
  });
  const valid = new Set(cases.flatMap((c) => c.ids));
  const sent = cases.reduce((n, c) => n + c.ids.length, 0);
  expect(accepted).toBe(valid.size);
  expect(duplicates).toBe(sent - valid.size);
  expect(duplicates).toBeGreaterThan(0);

  const { events, outbox } = journalEvents(gw.dataDir);
  expect(events.map((e) => e.event_id).sort()).toEqual([...valid].sort());
  expect(outbox.map((o) => o.item_id).sort()).toEqual([...valid].sort());
  // Invalid requests stored nothing.
  expect(events.filter((e) => Number(e.event_id.slice(-12)) >= 1_000_000)).toEqual([]);
  expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
});
