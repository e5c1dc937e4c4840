import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.ts';
import { hookedThread, MapPool, type ThreadCode } from './map-pool.ts';
import { type CheckedRequest, type HmacHeaders, type MapRequest, mapRequest } from './map-request.ts';
import { createPseudonymiser } from './pseudonym.ts';
import { signBody, verifyHmac } from './signature.ts';
import { fixtures, RECEIVED_AT, TEST_SECRET } from './test-support.ts';

const FIXTURES = new URL('../../../tests/fixtures/lms/', import.meta.url);
const body = (sub: string, name: string) => readFileSync(new URL(`${sub}${name}`, FIXTURES));
type Source = MapRequest['source'];
const HOOK_SECRET = Buffer.from('hook-secret-for-the-caliper-source');
/** What the handler answers from: the signature's verdict first, then the mapping (the pool's reference). */
const inline = (source: Source, b: Uint8Array, hmac?: HmacHeaders): CheckedRequest => {
  const ctx = {
    pseudonym: createPseudonymiser(TEST_SECRET),
    receivedAt: RECEIVED_AT,
    keepNames: false,
    keepEmails: false,
  };
  const auth = hmac
    ? verifyHmac({ ...hmac, secret: HOOK_SECRET, body: b, nowMs: RECEIVED_AT })
    : { ok: true as const };
  return auth.ok ? { auth, map: mapRequest(source, b, ctx) } : { auth };
};
const signed = (b: Uint8Array, tsSec = RECEIVED_AT / 1000, secret = HOOK_SECRET): HmacHeaders => ({
  timestampHeader: String(tsSec),
  signatureHeader: `sha256=${signBody(secret, tsSec, b)}`,
  toleranceMs: 300_000,
});

async function until(what: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MapPool (webhook map threads)', () => {
  let pool: MapPool | undefined;
  afterEach(async () => {
    await pool?.close();
  });
  const open = (threads: number, threadCode?: () => ThreadCode) => {
    pool = new MapPool({
      ...(threadCode ? { threadCode } : {}),
      hmacSecrets: { caliper: HOOK_SECRET },
      threads,
      secret: TEST_SECRET,
      keepNames: false,
      keepEmails: false,
      logger: createLogger({ level: 'silent' }),
    });
    return pool;
  };

  it('checks signatures and maps on its threads exactly as the handler would, failures included', async () => {
    const p = open(2);
    const envelope = body(
      'caliper-v1p2/',
      fixtures('caliper-v1p2/', (n) => n.startsWith('caliperEnvelope'))[0]!,
    );
    // The first request starts the threads and is mapped inline meanwhile.
    expect(await p.map('caliper', envelope, RECEIVED_AT)).toEqual(inline('caliper', envelope));
    await until(() => p.running === 2);
    const inlineBefore = p.inline;
    const cases: [Source, Buffer, HmacHeaders?][] = [
      ...fixtures('caliper-v1p2/').map((n): [Source, Buffer, HmacHeaders] => {
        const b = body('caliper-v1p2/', n);
        return ['caliper', b, signed(b)];
      }),
      ...fixtures('xapi-spec-examples/').map((n): [Source, Buffer] => [
        'xapi',
        body('xapi-spec-examples/', n),
      ]),
      ['caliper', Buffer.from('{"not json'), signed(Buffer.from('{"not json'))],
      ['xapi', Buffer.from([0x7b, 0xff, 0x7d])],
      ['xapi', Buffer.from('{"actor": {}, "actor": {}}')],
      ['caliper', envelope, signed(envelope, RECEIVED_AT / 1000, Buffer.from('not-the-secret'))],
      ['caliper', envelope, signed(envelope, RECEIVED_AT / 1000 - 3_600)],
    ];
    const answers = await Promise.all(cases.map(([s, b, h]) => p.map(s, b, RECEIVED_AT, h)));
    expect(p.inline).toBe(inlineBefore);
    expect(answers).toEqual(cases.map(([s, b, h]) => inline(s, b, h)));
    expect(answers.filter((a) => a.map?.ok).length).toBeGreaterThan(50);
    expect(
      answers.slice(-5).map((a) => (a.auth.ok ? a.map?.ok || a.map?.failure.code : a.auth.code)),
    ).toEqual([
      'CT_ERR_NOT_JSON',
      'CT_ERR_NOT_JSON',
      'CT_ERR_SCHEMA',
      'CT_ERR_SIGNATURE',
      'CT_ERR_SIGNATURE_EXPIRED',
    ]);
    // A signed request's replay key is the signature's.
    expect(answers[0]!.auth).toMatchObject({ ok: true, replayKey: expect.any(String) });
  });

  it('answers every request it holds when its threads stop, and maps inline from then on', async () => {
    const p = open(1);
    const envelope = body(
      'caliper-v1p2/',
      fixtures('caliper-v1p2/', (n) => n.startsWith('caliperEnvelope'))[0]!,
    );
    await p.map('caliper', envelope, RECEIVED_AT);
    await until(() => p.running === 1);
    const held = Array.from({ length: 50 }, () => p.map('caliper', envelope, RECEIVED_AT));
    await p.close();
    const expected = inline('caliper', envelope);
    expect(await Promise.all(held)).toEqual(held.map(() => expected));
    expect(p.running).toBe(0);
    expect(await p.map('caliper', envelope, RECEIVED_AT)).toEqual(expected);
  });

  it('runs its threads from the sources through the loader hook where no bundle can be built', async () => {
    const p = open(1, hookedThread);
    const envelope = body(
      'caliper-v1p2/',
      fixtures('caliper-v1p2/', (n) => n.startsWith('caliperEnvelope'))[0]!,
    );
    await p.map('caliper', envelope, RECEIVED_AT);
    await until(() => p.running === 1);
    const inlineBefore = p.inline;
    expect(await p.map('caliper', envelope, RECEIVED_AT)).toEqual(inline('caliper', envelope));
    expect(p.inline).toBe(inlineBefore);
  });

  it('with no threads maps in the handler', async () => {
    const p = open(0);
    const envelope = body(
      'caliper-v1p2/',
      fixtures('caliper-v1p2/', (n) => n.startsWith('caliperEnvelope'))[0]!,
    );
    expect(p.map('caliper', envelope, RECEIVED_AT)).toEqual(inline('caliper', envelope));
    await new Promise((r) => setTimeout(r, 100));
    expect(p.running).toBe(0);
    expect(p.inline).toBe(1);
  });
});
