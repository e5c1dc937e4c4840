/**
 * Issue 5, acceptance 4 and the trust-and-safety answers, through real gateways over HTTP: signatures
 * (valid, wrong, stale, replayed), bearer tokens, 400/413/415/422/429/503 with codes, counted and
 * quarantined, and a journal that never holds a raw student id or email.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFrom } from '../gateway/config/index.ts';
import { signBody } from '../gateway/ingest/webhooks/index.ts';
import { getJson, STAFF_AUTH, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import {
  BEARER_TOKEN,
  bearerHeaders,
  fixtureFiles,
  HOOK_SECRET,
  post,
  quarantineRows,
  readFixture,
  webhookConfig,
} from './helpers/webhooks.ts';

const CALIPER = '/webhooks/lms/caliper';
const event = readFixture('caliper-v1p2/', 'caliperEventSessionLoggedIn.json');
const now = () => Math.floor(Date.now() / 1000);

describe('signatures and replay', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(webhookConfig());
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('valid → 202; wrong → 401; stale or future → 401; the same signed request again → 202 duplicate; re-signed resend → duplicate', async () => {
    const ts = now();
    const body = event;
    const sig = `sha256=${signBody(Buffer.from(HOOK_SECRET), ts, body)}`;
    const ok = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts, signature: sig });
    expect(ok.status).toBe(202);
    expect(ok.json).toMatchObject({ accepted: 1, duplicates: 0 });

    const wrong = await post(gw.httpUrl, CALIPER, body, { secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ code: 'CT_ERR_SIGNATURE' });
    const tampered = await post(gw.httpUrl, CALIPER, body.replace('554433', '554434'), {
      timestampSec: ts,
      signature: sig,
    });
    expect(tampered.json.error).toMatchObject({ code: 'CT_ERR_SIGNATURE' });
    const unsigned = await post(gw.httpUrl, CALIPER, body, { signature: '' });
    expect(unsigned.json.error).toMatchObject({ code: 'CT_ERR_SIGNATURE' });

    for (const skew of [-400, 400]) {
      const stale = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts + skew });
      expect(stale.status).toBe(401);
      expect(stale.json.error).toMatchObject({ code: 'CT_ERR_SIGNATURE_EXPIRED' });
    }

    // The client's 202 was lost: it sends the same signed bytes again at once, and is told they are stored.
    const retry = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts, signature: sig });
    expect(retry.status).toBe(202);
    expect(retry.json).toMatchObject({ accepted: 0, duplicates: 1 });

    const resent = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts + 1 });
    expect(resent.status).toBe(202);
    expect(resent.json).toMatchObject({ accepted: 0, duplicates: 1 });

    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ct_webhook_requests_total\{source="caliper",code="CT_ERR_SIGNATURE"\} 3/);
    expect(metrics).toMatch(
      /ct_webhook_requests_total\{source="caliper",code="CT_ERR_SIGNATURE_EXPIRED"\} 2/,
    );
    expect(metrics).toMatch(/ct_webhook_requests_total\{source="caliper",code="repeated"\} 1/);
    expect(metrics).toMatch(/ct_webhook_events_total\{source="caliper",result="duplicate"\} 2/);
  });

  it('a different body under a stored event id is a 409 conflict: counted, quarantined, on /api/status; never lost silently', async () => {
    const base = JSON.parse(event) as Record<string, unknown>;
    const id = 'urn:uuid:7f2d8a9c-conflict-test-0001';
    const first = JSON.stringify({ ...base, id, eventTime: '2026-11-30T10:00:00.000Z' });
    const ok = await post(gw.httpUrl, CALIPER, first);
    expect(ok.status).toBe(202);
    expect(ok.json).toMatchObject({ accepted: 1 });
    // The same event again (re-signed, a second later): a duplicate, not a conflict.
    expect((await post(gw.httpUrl, CALIPER, first, { timestampSec: now() + 1 })).json).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
    // Another body under the same id (a corrected event, or a sender bug): refused with 409 and kept.
    const changed = JSON.stringify({ ...base, id, eventTime: '2026-11-30T10:05:00.000Z' });
    const conflict = await post(gw.httpUrl, CALIPER, changed);
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      error: { code: 'CT_ERR_CONFLICT' },
      accepted: 0,
      duplicates: 0,
      conflicts: [id],
    });
    expect((conflict.json.error as { message: string }).message).toContain(id);
    const quarantined = quarantineRows(gw.dataDir).filter((q) => q.code === 'CT_ERR_CONFLICT');
    expect(quarantined.length).toBe(1);
    expect(quarantined[0]!.payload?.toString()).toContain('10:05:00');
    const status = await getJson<{
      webhooks: {
        events: Record<string, Record<string, number>>;
        requests: Record<string, Record<string, number>>;
      };
    }>(`${gw.httpUrl}/api/status`);
    expect(status.webhooks.events.caliper?.conflict).toBe(1);
    expect(status.webhooks.requests.caliper?.CT_ERR_CONFLICT).toBe(1);
  });

  it('admin uses a bearer token', async () => {
    const body = JSON.stringify({
      eventId: 'sis-9',
      type: 'enrolment.created',
      ts: Date.now(),
      studentId: 's7654321',
      courseId: 'CS101',
    });
    expect((await post(gw.httpUrl, '/webhooks/admin', body)).json.error).toMatchObject({
      code: 'CT_ERR_AUTH',
    });
    const bad = await post(gw.httpUrl, '/webhooks/admin', body, { headers: bearerHeaders('nope') });
    expect(bad.status).toBe(401);
    const good = await post(gw.httpUrl, '/webhooks/admin', body, { headers: bearerHeaders(BEARER_TOKEN) });
    expect(good.status).toBe(202);
  });

  it('answers 400 for bad JSON, 415 for a non-JSON type, 422 with a path; quarantines each, emails masked', async () => {
    const notJson = await post(gw.httpUrl, CALIPER, '{"actor": "mailto:someone@example.com",');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toMatchObject({ code: 'CT_ERR_NOT_JSON' });
    const latin1 = await post(gw.httpUrl, CALIPER, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    expect(latin1.json.error).toMatchObject({ code: 'CT_ERR_NOT_JSON' });
    // No content type at all is taken as JSON (some LMS plugins send none).
    const none = await post(
      gw.httpUrl,
      CALIPER,
      Buffer.from(readFixture('caliper-v1p2/', 'caliperEventSessionLoggedOut.json')),
      {
        contentType: null,
      },
    );
    expect(none.status).toBe(202);
    const form = await post(gw.httpUrl, CALIPER, 'a=b', { contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.json.error).toMatchObject({ code: 'CT_ERR_MEDIA_TYPE' });
    const bad = await post(
      gw.httpUrl,
      '/webhooks/lms/xapi',
      '{"actor":{"mbox":"mailto:x@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"}}',
    );
    expect(bad.status).toBe(422);
    expect(bad.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA', path: 'object' });

    const q = quarantineRows(gw.dataDir);
    expect(q.map((r) => r.code)).toEqual(
      expect.arrayContaining(['CT_ERR_NOT_JSON', 'CT_ERR_MEDIA_TYPE', 'CT_ERR_SCHEMA']),
    );
    const schema = q.find((r) => r.source === 'webhook:xapi')!;
    expect(schema.message).toContain('object');
    expect(schema.payload?.toString()).toContain('[email]');
    expect(schema.payload?.toString()).not.toContain('x@example.com');
    const api = await getJson<{ items: { source: string }[] }>(`${gw.httpUrl}/api/quarantine`);
    expect(api.items.some((i) => i.source === 'webhook:caliper')).toBe(true);
  });

  it('never journals a raw student id, login or email', async () => {
    const posts: [string, string, Record<string, string>?][] = [
      ...fixtureFiles('caliper-v1p2/', (n) => n.startsWith('caliperEvent')).map(
        (n) => [CALIPER, readFixture('caliper-v1p2/', n)] as [string, string],
      ),
      ...fixtureFiles('xapi-spec-examples/').map(
        (n) => ['/webhooks/lms/xapi', readFixture('xapi-spec-examples/', n)] as [string, string],
      ),
      ...fixtureFiles('canvas/').map(
        (n) => ['/webhooks/lms/canvas', readFixture('canvas/', n)] as [string, string],
      ),
      ...fixtureFiles('moodle/').map(
        (n) => ['/webhooks/lms/moodle', readFixture('moodle/', n)] as [string, string],
      ),
      [
        '/webhooks/admin',
        JSON.stringify({
          eventId: 'sis-10',
          type: 'enrolment.created',
          ts: 1,
          studentId: 's1234567',
          courseId: 'CS101',
          studentName: 'Ana Lopez',
          studentEmail: 'ana.lopez@uni.example',
        }),
        bearerHeaders(),
      ],
    ];
    for (const [i, [route, body, headers]] of posts.entries()) {
      const res = await post(gw.httpUrl, route, body, {
        timestampSec: now() - i,
        ...(headers ? { headers } : {}),
      });
      // The spec's example files reuse some event ids with other bodies: those are conflicts (409, kept in
      // quarantine, emails masked), the rest are stored.
      expect([202, 409], `${route}: ${JSON.stringify(res.json)}`).toContain(res.status);
    }
    const db = new Database(join(gw.dataDir, 'gateway.db'), { readonly: true });
    const text = [
      ...(db.prepare('SELECT body FROM event_requests').pluck().all() as string[]),
      ...(db.prepare('SELECT body FROM outbox_event').pluck().all() as string[]),
    ].join('\n');
    db.close();
    expect(text.length).toBeGreaterThan(10_000);
    for (const raw of [
      'users/554433',
      'users/112233',
      'users/778899',
      'Example Learner',
      'canvas:user:21070000000000123',
      '456-T45',
      'moodle:user:5',
      'jsmith',
      's1234567',
      'Ana Lopez',
      '13936749',
    ]) {
      expect(text, raw).not.toContain(raw);
    }
    expect(text).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/); // no email address at all
    expect(text).toContain('https://example.edu/terms/201601/courses/7/sections/1'); // course ids stay readable
  });
});

describe('limits: body size, rate, outbox quota', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const cfg = webhookConfig() as { webhooks: { sources: Record<string, Record<string, unknown>> } };
    cfg.webhooks.sources.moodle = { ...cfg.webhooks.sources.moodle, maxBodyBytes: 2048 };
    cfg.webhooks.sources.canvas = {
      ...cfg.webhooks.sources.canvas,
      rateLimit: { requestsPerSec: 0.5, burst: 2 },
    };
    gw = await startTestGateway({ ...cfg, outbox: { quotaBytes: 6000 } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('413 above the source body limit', async () => {
    const big = JSON.stringify({ eventname: '\\core\\event\\x', pad: 'x'.repeat(3000) });
    const res = await post(gw.httpUrl, '/webhooks/lms/moodle', big);
    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: 'CT_ERR_PAYLOAD_TOO_LARGE' });
  });

  it('429 with Retry-After over the rate limit', async () => {
    const body = readFixture('canvas/', 'canvas-logged_in.json');
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(await post(gw.httpUrl, '/webhooks/lms/canvas', body, { timestampSec: now() + i }));
    expect(statuses.map((r) => r.status)).toEqual([202, 202, 429]);
    expect(statuses[2]!.json.error).toMatchObject({ code: 'CT_ERR_RATE_LIMITED' });
    expect(Number(statuses[2]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('503 with Retry-After when the outbox is full, storing nothing of the refused request', async () => {
    const files = fixtureFiles('caliper-v1p2/', (n) => n.startsWith('caliperEvent'));
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    const before = await getJson<{ outbox: { byClass: { event: { rows: number } } } }>(
      `${gw.httpUrl}/api/status`,
    );
    let stored = before.outbox.byClass.event.rows;
    for (const name of files) {
      const res = await post(gw.httpUrl, CALIPER, readFixture('caliper-v1p2/', name));
      if (res.status === 503) {
        refused = res;
        const status = await getJson<{ outbox: { byClass: { event: { rows: number } } } }>(
          `${gw.httpUrl}/api/status`,
        );
        expect(status.outbox.byClass.event.rows).toBe(stored);
        // The same signed request may be retried as it is (nothing was stored, the replay cache let go).
        const ts = now();
        const body = readFixture('caliper-v1p2/', name);
        const sig = `sha256=${signBody(Buffer.from(HOOK_SECRET), ts, body)}`;
        const a = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts, signature: sig });
        const b = await post(gw.httpUrl, CALIPER, body, { timestampSec: ts, signature: sig });
        expect([a.status, b.status]).toEqual([503, 503]);
        break;
      }
      expect(res.status).toBe(202);
      stored += res.json.accepted as number;
    }
    expect(refused?.json.error).toMatchObject({ code: 'CT_ERR_OUTBOX_FULL' });
    expect(Number(refused?.headers.get('retry-after'))).toBe(30);
    // A resend of a stored event is still an idempotent success.
    const again = await post(gw.httpUrl, CALIPER, readFixture('caliper-v1p2/', files[0]!), {
      timestampSec: now() - 5,
    });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 1 });
  });
});

describe('configuration', () => {
  it('refuses an enabled source without a secret, unsigned outside dev, and no campus secret', () => {
    expect(() =>
      gatewayConfigFrom({
        webhooks: { sources: { xapi: { enabled: true } }, pseudonym: { secret: 'x'.repeat(20) } },
      }),
    ).toThrow(/webhooks\.sources\.xapi\.secret/);
    expect(() =>
      gatewayConfigFrom({
        webhooks: {
          sources: { xapi: { enabled: true, auth: 'none' } },
          pseudonym: { secret: 'x'.repeat(20) },
        },
      }),
    ).toThrow(/webhooks\.sources\.xapi\.auth/);
    expect(() =>
      gatewayConfigFrom({ webhooks: { sources: { xapi: { enabled: true, secret: 's' } } } }),
    ).toThrow(/webhooks\.pseudonym\.secret/);
    expect(gatewayConfigFrom({}).webhooks.sources.caliper.enabled).toBe(false);
    const c = gatewayConfigFrom({
      webhooks: {
        sources: { xapi: { enabled: true, secretEnv: 'HOOK' } },
        pseudonym: { secretFile: '/run/secrets/campus' },
      },
    });
    expect(c.webhooks.sources.xapi).toMatchObject({ secretEnv: 'HOOK', signatureHeader: 'x-ct-signature' });
  });

  it('dev mode allows an unsigned source and makes a local campus key', async () => {
    const gw = await startTestGateway({
      dev: true,
      webhooks: { sources: { xapi: { enabled: true, auth: 'none' } } },
    });
    try {
      const res = await post(
        gw.httpUrl,
        '/webhooks/lms/xapi',
        readFixture('xapi-spec-examples/', 'xapi_data_md_example_02.json'),
        {
          signature: '',
          headers: { 'x-ct-timestamp': '' },
        },
      );
      expect(res.status).toBe(202);
      expect(existsSync(join(gw.dataDir, 'pseudonym-dev.key'))).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  it('fails fast when secretEnv names a variable that is not set', async () => {
    await expect(
      startTestGateway({
        webhooks: {
          sources: { caliper: { enabled: true, secretEnv: 'NOT_SET_ANYWHERE' } },
          pseudonym: { secret: 'x'.repeat(20) },
        },
      }),
    ).rejects.toThrow(/secretEnv.*NOT_SET_ANYWHERE/);
  });
});

describe('staff auth still guards the status API', () => {
  it('webhook routes are open to signed senders, /api/status is not', async () => {
    const gw = await startTestGateway(webhookConfig());
    try {
      expect((await fetch(`${gw.httpUrl}/api/status`)).status).toBe(401);
      expect(
        (await fetch(`${gw.httpUrl}/api/status`, { headers: { authorization: STAFF_AUTH } })).status,
      ).toBe(200);
      expect((await post(gw.httpUrl, CALIPER, event)).status).toBe(202);
    } finally {
      await gw.stop();
    }
  });
});
