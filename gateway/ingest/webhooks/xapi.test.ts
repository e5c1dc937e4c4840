import { describe, expect, it } from 'vitest';
import type { LearningEvent } from '../../../shared/events.ts';
import { ctx, fixture, fixtures, ok, pseudonym } from './test-support.ts';
import { mapXapi } from './xapi.ts';

const DIR = 'xapi-spec-examples/';
type J = Record<string, unknown>;

describe('xAPI 1.0.3 statements', () => {
  it.each(fixtures(DIR))('spec example %s is accepted', (name) => {
    const st = fixture(DIR, name) as J;
    const e = ok(mapXapi(st, ctx)).events[0] as LearningEvent;
    expect(e.source).toBe('xapi');
    expect(e.originalType).toBe((st.verb as J).id);
    expect(e.actorId).toMatch(/^p_/);
    if (typeof st.id === 'string') expect(e.eventId).toBe(`urn:uuid:${st.id}`);
    else expect(e.eventId).toMatch(/^xapi:sha256:[0-9a-f]{32}$/);
    // Names and emails are dropped.
    expect(JSON.stringify(e)).not.toMatch(/@|Example Learner|Andrew|Toby|Ena/);
  });

  it('pseudonymises the mbox, case-insensitively, and reads score and time', () => {
    const st = fixture(DIR, 'xapi_data_md_example_05.json') as J;
    const e = ok(mapXapi(st, ctx)).events[0] as LearningEvent;
    expect(e).toMatchObject({
      actorId: pseudonym('mailto:example.learner@adlnet.gov'),
      type: 'assessment.started',
      objectId: 'http://example.adlnet.gov/xapi/example/simpleCBT',
      ts: Date.parse('2015-12-18T12:17:00+00:00'),
      score: 0.95,
      maxScore: 1,
    });
    const upper = { ...st, actor: { mbox: 'mailto:Example.Learner@ADLNET.gov' } };
    expect(ok(mapXapi(upper, ctx)).events[0]!.actorId).toBe(e.actorId);
  });

  it('maps an array, naming the index of a bad statement', () => {
    const good = fixture(DIR, 'xapi_data_md_example_02.json') as J;
    expect(ok(mapXapi([good, good], ctx)).events).toHaveLength(2);
    const r = mapXapi([good, { ...good, verb: { display: { en: 'x' } } }], ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection).toMatchObject({ code: 'CT_ERR_SCHEMA', path: '[1].verb.id' });
  });

  it.each([
    ['actor', 'actor'],
    ['verb', 'verb'],
    ['object', 'object'],
  ])('refuses a statement without %s, naming the path', (field, path) => {
    const st = fixture(DIR, 'xapi_data_md_example_05.json') as J;
    delete st[field];
    const r = mapXapi(st, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.rejection.path).toBe(path);
      expect(r.rejection.message).toContain(path);
    }
  });

  it.each([
    [{ actor: { mbox: 'someone@example.com' } }, 'actor.mbox'],
    [{ actor: { mbox: 'mailto:a@b.c', openid: 'http://x.example/' } }, 'actor'],
    [{ actor: { objectType: 'Agent', name: 'No IFI' } }, 'actor'],
    [{ actor: { account: { homePage: 'http://lms.example.edu' } } }, 'actor.account.name'],
    [{ verb: { id: 'not an iri' } }, 'verb.id'],
    [{ object: { objectType: 'Activity' } }, 'object.id'],
    [{ object: { objectType: 'StatementRef', id: 'nope' } }, 'object.id'],
    [{ id: '1234' }, 'id'],
    [{ timestamp: 'yesterday' }, 'timestamp'],
    [{ result: { score: { scaled: 1.5 } } }, 'result.score.scaled'],
    [{ Actor: { mbox: 'mailto:a@b.c' } }, 'Actor'],
    [{ version: '1.1.0' }, 'version'],
    [{ result: { duration: 'P4W1D' } }, 'result.duration'],
    [{ result: { score: { raw: 5, min: 10, max: 20 } } }, 'result.score.raw'],
    [{ context: { platform: 'x', registration: null } }, 'context.registration'],
    [{ verb: { id: 'http://adlnet.gov/expapi/verbs/voided' } }, 'object.objectType'],
    [{ timestamp: '2008-09-15T15:53:00.601-00:00' }, 'timestamp'],
  ])('refuses %j at %s', (patch, path) => {
    const st = { ...(fixture(DIR, 'xapi_data_md_example_05.json') as J), ...patch };
    const r = mapXapi(st, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.path).toBe(path);
  });

  it('finds the course in contextActivities and keeps an unknown verb as other', () => {
    const st = {
      actor: { account: { homePage: 'https://lms.example.edu', name: 's1234567' } },
      verb: { id: 'https://example.edu/verbs/pondered' },
      object: { id: 'https://lms.example.edu/course/CS101/quiz/3' },
      context: {
        contextActivities: {
          parent: [{ id: 'https://lms.example.edu/course/CS101/week/2' }],
          grouping: {
            id: 'https://lms.example.edu/course/CS101',
            definition: { type: 'http://adlnet.gov/expapi/activities/course' },
          },
        },
      },
    };
    const e = ok(mapXapi(st, ctx)).events[0] as LearningEvent;
    expect(e).toMatchObject({
      type: 'other',
      originalType: 'https://example.edu/verbs/pondered',
      courseId: 'https://lms.example.edu/course/CS101',
      actorId: pseudonym('https://lms.example.edu#s1234567'),
      ts: ctx.receivedAt,
    });
    expect(JSON.stringify(e)).not.toContain('s1234567');
  });
});

/** The ADL LRS conformance suite's statement-body cases (see tests/fixtures/lms/xapi-conformance/README.md). */
describe('xAPI 1.0.3 conformance (ADL lrs-conformance-test-suite)', () => {
  const ACCEPT = 'xapi-conformance/accept/';
  const REJECT = 'xapi-conformance/reject/';

  it.each(fixtures(ACCEPT))('accepts %s', (name) => {
    expect(ok(mapXapi(fixture(ACCEPT, name), ctx)).events).toHaveLength(1);
  });

  it.each(fixtures(REJECT))('refuses %s', (name) => {
    const st = fixture(REJECT, name);
    const r = mapXapi(st, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejection.code).toBe('CT_ERR_SCHEMA');
    // The path names a field of the statement, or a missing field directly under an existing one.
    expect(unresolved(st, r.rejection.path), r.rejection.path).toMatch(/^[^.[]*$/);
  });
});

/**
 * What is left of a JSON path (`a.b[0].c`, '' for the body) after walking it into `v` as far as it goes;
 * keys may contain dots (extension IRIs, language tags), so the longest matching key is taken.
 */
function unresolved(v: unknown, path: string): string {
  let cur = v;
  let rest = path;
  while (rest !== '' && cur !== null && typeof cur === 'object') {
    const idx = /^\[(\d+)\]/.exec(rest);
    if (idx) {
      if (!Array.isArray(cur) || Number(idx[1]) >= cur.length) return rest;
      cur = cur[Number(idx[1])];
      rest = rest.slice(idx[0].length).replace(/^\./, '');
      continue;
    }
    const keys = Object.keys(cur)
      .filter((k) => rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`))
      .sort((a, b) => b.length - a.length);
    if (keys.length === 0) return rest;
    cur = (cur as Record<string, unknown>)[keys[0]!];
    rest = rest.slice(keys[0]!.length).replace(/^\./, '');
  }
  return rest;
}
