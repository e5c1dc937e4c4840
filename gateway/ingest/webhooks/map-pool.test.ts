import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.ts';
import { hookedThread, MapPool, type ThreadCode } from './map-pool.ts';
import { type MapOutcome, mapRequest } from './map-request.ts';
import { createPseudonymiser } from './pseudonym.ts';
import { fixtures, RECEIVED_AT, TEST_SECRET } from './test-support.ts';

const FIXTURES = new URL('../../../tests/fixtures/lms/', import.meta.url);
const body = (sub: string, name: string) => readFileSync(new URL(`${sub}${name}`, FIXTURES));
const inline = (source: Parameters<typeof mapRequest>[0], b: Uint8Array): MapOutcome =>
  mapRequest(source, b, {
    pseudonym: createPseudonymiser(TEST_SECRET),
    receivedAt: RECEIVED_AT,
    keepNames: false,
    keepEmails: false,
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
      threads,
      secret: TEST_SECRET,
      keepNames: false,
      keepEmails: false,
      logger: createLogger({ level: 'silent' }),
    });
    return pool;
  };

  it('maps on its threads exactly as the handler would, failures included', async () => {
    const p = open(2);
    const envelope = body(
      'caliper-v1p2/',
      fixtures('caliper-v1p2/', (n) => n.startsWith('caliperEnvelope'))[0]!,
    );
    // The first request starts the threads and is mapped inline meanwhile.
    expect(await p.map('caliper', envelope, RECEIVED_AT)).toEqual(inline('caliper', envelope));
    await until(() => p.running === 2);
    const inlineBefore = p.inline;
    const cases: [Parameters<typeof mapRequest>[0], Buffer][] = [
      ...fixtures('caliper-v1p2/').map((n): [Parameters<typeof mapRequest>[0], Buffer] => [
        'caliper',
        body('caliper-v1p2/', n),
      ]),
      ...fixtures('xapi-spec-examples/').map((n): [Parameters<typeof mapRequest>[0], Buffer] => [
        'xapi',
        body('xapi-spec-examples/', n),
      ]),
      ['caliper', Buffer.from('{"not json')],
      ['caliper', Buffer.from([0x7b, 0xff, 0x7d])],
      ['xapi', Buffer.from('{"actor": {}, "actor": {}}')],
    ];
    const answers = await Promise.all(cases.map(([s, b]) => p.map(s, b, RECEIVED_AT)));
    expect(p.inline).toBe(inlineBefore);
    expect(answers).toEqual(cases.map(([s, b]) => inline(s, b)));
    expect(answers.some((a) => a.ok)).toBe(true);
    expect(answers.slice(-3).map((a) => !a.ok && a.failure.code)).toEqual([
      'CT_ERR_NOT_JSON',
      'CT_ERR_NOT_JSON',
      'CT_ERR_SCHEMA',
    ]);
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
