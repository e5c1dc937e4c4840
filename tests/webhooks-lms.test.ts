/**
 * Issue 5, acceptance 1–3 through a real gateway over HTTP: every Caliper 1.2 event and envelope fixture
 * and every xAPI spec example is accepted and journaled with the right pseudonym, course and type;
 * entities and statements missing actor, verb or object are refused with 422 and the path; Canvas (both
 * formats) and Moodle payloads are accepted and mapped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymOf } from '../gateway/ingest/webhooks/index.ts';
import type { LearningEvent } from '../shared/events.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import {
  CAMPUS_SECRET,
  fixtureFiles,
  journalEvents,
  post,
  readFixture,
  webhookConfig,
} from './helpers/webhooks.ts';

type J = Record<string, unknown>;
const p = (id: string) => pseudonymOf(Buffer.from(CAMPUS_SECRET), id);
const idOf = (v: unknown) => (typeof v === 'string' ? v : ((v as J | undefined)?.id as string | undefined));
const learnerOf = (e: J) => (e.type === 'GradeEvent' ? idOf((e.object as J).assignee)! : idOf(e.actor)!);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(webhookConfig());
});
afterAll(async () => {
  await gw.stop();
});

function journaled(): Map<string, LearningEvent> {
  return new Map(
    journalEvents(gw.dataDir).events.map((r) => [r.event_id, JSON.parse(r.body) as LearningEvent]),
  );
}

describe('Caliper 1.2 (POST /webhooks/lms/caliper)', () => {
  const DIR = 'caliper-v1p2/';
  const eventFiles = fixtureFiles(DIR, (n) => n.startsWith('caliperEvent'));
  const envelopeFiles = fixtureFiles(DIR, (n) => n.startsWith('caliperEnvelope'));

  // First, so that the valid fixtures below (whose ids the error set reuses) prove a refused event never
  // occupies an id.
  it("refuses every fixture of the spec's common-error set with 400/422, a path and a rule, storing nothing", async () => {
    const ERR = `${DIR}commonErrorFixtures/`;
    const files = fixtureFiles(ERR);
    expect(files).toHaveLength(279);
    const before = journaled().size;
    const answers = new Map<number, number>();
    for (const name of files) {
      const res = await post(gw.httpUrl, '/webhooks/lms/caliper', readFixture(ERR, name));
      answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
      const err = res.json.error as J | undefined;
      expect([400, 422], `${name}: ${res.status} ${JSON.stringify(res.json)}`).toContain(res.status);
      if (res.status === 422) expect(typeof err?.path, name).toBe('string');
      if (/^caliperEvent.*(WrongAction|WrongEntityType|UnknownEventType|UnknownProfile)/.test(name))
        expect(err?.rule, `${name}: ${JSON.stringify(err)}`).toMatch(/^caliper-/);
    }
    // Not JSON: caliperEntity-BadJson.json, and a Survey fixture with a trailing comma.
    expect(answers.get(400)).toBe(2);
    expect(journaled().size).toBe(before);
  });

  it('accepts every event and envelope fixture and journals each event with its learner, course and type', async () => {
    expect(eventFiles.length + envelopeFiles.length).toBeGreaterThan(60);
    const expected: J[] = [];
    for (const name of [...eventFiles, ...envelopeFiles]) {
      const text = readFixture(DIR, name);
      const res = await post(gw.httpUrl, '/webhooks/lms/caliper', text);
      const raw = JSON.parse(text) as J;
      const events = Array.isArray(raw.data) ? (raw.data as J[]).filter((d) => 'action' in d) : [raw];
      // The spec reuses a few event ids: the first body is stored; the same event again is a duplicate,
      // another body under that id a conflict (409, nothing stored for it, never silently dropped).
      const fresh = events.filter((e) => !expected.some((x) => x.id === e.id));
      const conflicts = (res.json.conflicts ?? []) as string[];
      expect(res.status, `${name}: ${JSON.stringify(res.json)}`).toBe(conflicts.length > 0 ? 409 : 202);
      for (const id of conflicts) expect(expected.map((x) => x.id)).toContain(id);
      expect(res.json.accepted as number, name).toBe(fresh.length);
      expect((res.json.duplicates as number) + conflicts.length, name).toBe(events.length - fresh.length);
      expected.push(...fresh);
    }
    const rows = journaled();
    for (const e of expected) {
      const got = rows.get(e.id as string);
      expect(got, e.id as string).toBeDefined();
      expect(got).toMatchObject({
        source: 'caliper',
        actorId: p(learnerOf(e)),
        courseId: idOf(e.group) ?? idOf((e.membership as J | undefined)?.organization) ?? null,
        originalType: `${e.type}.${e.action}`,
        ts: Date.parse(e.eventTime as string),
      });
    }
    expect(rows.get('urn:uuid:fcd495d0-3740-4298-9bec-1154571dc211')?.type).toBe('session.login');
    expect(rows.get('urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d')?.type).toBe('assessment.graded');
  });

  it.each([
    ...fixtureFiles('caliper-v1p2/', (n) => n.startsWith('caliperEntity')),
    'caliperEndpointConfigPayload.json',
  ])('refuses the entity fixture %s with 422', async (name) => {
    const res = await post(gw.httpUrl, '/webhooks/lms/caliper', readFixture(DIR, name));
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA' });
  });

  it('refuses an event without an actor, naming the path', async () => {
    const res = await post(
      gw.httpUrl,
      '/webhooks/lms/caliper',
      readFixture(`${DIR}commonErrorFixtures/`, 'caliperEvent-NoActor.json'),
    );
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA', path: 'actor' });
  });
});

describe('xAPI 1.0.3 (POST /webhooks/lms/xapi)', () => {
  const DIR = 'xapi-spec-examples/';

  it('accepts every spec example, one by one and as an array (repeats are duplicates)', async () => {
    const files = fixtureFiles(DIR);
    expect(files).toHaveLength(9);
    let accepted = 0;
    const statuses: number[] = [];
    for (const name of files) {
      const res = await post(gw.httpUrl, '/webhooks/lms/xapi', readFixture(DIR, name));
      statuses.push(res.status);
      accepted += res.json.accepted as number;
    }
    // Examples 08 and 09 are the same statement (09 adds only what the mapping does not keep): a duplicate.
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 202, 202, 202]);
    expect(accepted).toBe(8);
    // All again as one array: nothing new and, although examples 01–04 and 07 carry no timestamp (the
    // receipt time stands in), nothing reads as a conflict.
    const all = `[${files.map((n) => readFixture(DIR, n)).join(',')}]`;
    const again = await post(gw.httpUrl, '/webhooks/lms/xapi', all);
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 9 });
    const e = journaled().get('urn:uuid:7ccd3322-e1a5-411a-a67d-6a735c76f119');
    expect(e).toMatchObject({ source: 'xapi', actorId: p('mailto:example.learner@adlnet.gov'), score: 0.95 });
  });

  it.each(['actor', 'verb', 'object'])(
    'refuses a statement missing %s with 422 and its path',
    async (field) => {
      const st = JSON.parse(readFixture(DIR, 'xapi_data_md_example_05.json')) as J;
      delete st[field];
      const one = await post(gw.httpUrl, '/webhooks/lms/xapi', JSON.stringify(st));
      expect(one.status).toBe(422);
      expect(one.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA', path: field });
      const good = readFixture(DIR, 'xapi_data_md_example_02.json');
      const arr = await post(gw.httpUrl, '/webhooks/lms/xapi', `[${good},${JSON.stringify(st)}]`);
      expect(arr.status).toBe(422);
      expect(arr.json.error).toMatchObject({ path: `[1].${field}` });
    },
  );

  it('refuses a statement with a duplicate property (xAPI 1.0.3), which JSON.parse would have resolved silently', async () => {
    const text = readFixture(DIR, 'xapi_data_md_example_05.json');
    // A second "actor" after the first: the last one would win, and the event would name the wrong learner.
    const twice = text.replace(
      /^\{/,
      '{"actor": {"objectType": "Agent", "mbox": "mailto:someone.else@example.org"},',
    );
    const res = await post(gw.httpUrl, '/webhooks/lms/xapi', twice);
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA', path: 'actor' });
    const inArray = await post(
      gw.httpUrl,
      '/webhooks/lms/xapi',
      `[${readFixture(DIR, 'xapi_data_md_example_02.json')},${twice}]`,
    );
    expect(inArray.json.error).toMatchObject({ path: '[1].actor' });
  });
});

describe('Canvas and Moodle', () => {
  it('accepts every Canvas fixture (Canvas and Caliper formats) and maps them', async () => {
    for (const name of fixtureFiles('canvas/')) {
      const res = await post(gw.httpUrl, '/webhooks/lms/canvas', readFixture('canvas/', name));
      expect(res.status, `${name}: ${JSON.stringify(res.json)}`).toBe(202);
    }
    const canvas = [...journaled().values()].filter((e) => e.source === 'canvas');
    const student = p('urn:instructure:canvas:user:21070000000000123');
    expect(canvas.map((e) => e.type).sort()).toEqual(
      [
        'assessment.graded',
        'assignment.submitted',
        'forum.posted',
        'other',
        'resource.viewed',
        'resource.viewed',
        'session.login',
        'session.login',
      ].sort(),
    );
    for (const e of canvas.filter((x) => x.type !== 'other')) expect(e.actorId).toBe(student);
    expect(canvas.find((e) => e.type === 'assessment.graded')).toMatchObject({
      courseId: 'urn:instructure:canvas:course:21070000000000565',
      score: 8,
      maxScore: 10,
    });
  });

  it('accepts Moodle events, single and batched, and maps them', async () => {
    for (const name of fixtureFiles('moodle/')) {
      const res = await post(gw.httpUrl, '/webhooks/lms/moodle', readFixture('moodle/', name));
      expect(res.status, `${name}: ${JSON.stringify(res.json)}`).toBe(202);
    }
    const moodle = [...journaled().values()].filter((e) => e.source === 'moodle');
    expect(moodle).toHaveLength(6);
    const student = p('moodle:user:5');
    expect(moodle.every((e) => e.actorId === student)).toBe(true);
    expect(moodle.map((e) => e.type).sort()).toEqual(
      [
        'assessment.graded',
        'assignment.submitted',
        'forum.posted',
        'other',
        'resource.viewed',
        'session.login',
      ].sort(),
    );
    expect(moodle.filter((e) => e.courseId === 'moodle:course:3')).toHaveLength(5);
  });

  it("accepts Moodle's own log form: names derived from eventname, `other` as PHP-serialised or JSON text", async () => {
    for (const name of fixtureFiles('moodle-logstore/')) {
      const res = await post(gw.httpUrl, '/webhooks/lms/moodle', readFixture('moodle-logstore/', name));
      expect(res.status, `${name}: ${JSON.stringify(res.json)}`).toBe(202);
    }
    const mine = [...journaled().values()].filter((e) => e.courseId === 'moodle:course:4');
    expect(mine.map((e) => e.type).sort()).toEqual([
      'assessment.graded',
      'assessment.submitted',
      'forum.posted',
      'resource.viewed',
      'session.login',
    ]);
    // The grade came PHP-serialised and is about the graded student, not the teacher.
    expect(mine.find((e) => e.type === 'assessment.graded')).toMatchObject({
      actorId: p('moodle:user:8'),
      score: 7.5,
      maxScore: 10,
    });
    expect(mine.find((e) => e.type === 'forum.posted')?.objectId).toBe('moodle:cm:61');
    // Broken PHP-serialised text is refused with the field's path, not stored as prose.
    const broken = JSON.parse(readFixture('moodle-logstore/', 'course_viewed.json')) as J;
    broken.other = 'a:1:{s:4:"name";}';
    const bad = await post(gw.httpUrl, '/webhooks/lms/moodle', JSON.stringify(broken));
    expect(bad.status).toBe(422);
    expect(bad.json.error).toMatchObject({ code: 'CT_ERR_SCHEMA', path: 'other' });
  });
});
