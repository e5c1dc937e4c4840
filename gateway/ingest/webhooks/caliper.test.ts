import { describe, expect, it } from 'vitest';
import type { LearningEvent } from '../../../shared/events.ts';
import { mapCaliper } from './caliper.ts';
import { ctx, fixture, fixtures, ok, pseudonym } from './test-support.ts';

const DIR = 'caliper-v1p2/';
type J = Record<string, unknown>;
const idOf = (v: unknown) => (typeof v === 'string' ? v : ((v as J | undefined)?.id as string | undefined));

/** Who a Caliper event is about: the actor, except a grade, which is about the attempt's assignee. */
function expectedLearner(e: J): string {
  if (e.type === 'GradeEvent') return idOf((e.object as J).assignee)!;
  return idOf(e.actor)!;
}

const TYPES: Record<string, string> = {
  caliperEventSessionLoggedIn: 'session.login',
  caliperEventSessionLoggedInExtended: 'session.login',
  caliperEventSessionLoggedOut: 'session.logout',
  caliperEventSessionTimedOut: 'session.logout',
  caliperEventViewViewedDocument: 'resource.viewed',
  caliperEventNavigationNavigatedToWebPage: 'resource.viewed',
  caliperEventNavigationNavigatedToWebPageThinned: 'resource.viewed',
  caliperEventAssessmentStarted: 'assessment.started',
  caliperEventAssessmentSubmitted: 'assessment.submitted',
  caliperEventGradeGraded: 'assessment.graded',
  caliperEventMessagePosted: 'forum.posted',
  caliperEventMessageReplied: 'forum.posted',
  caliperEventToolLaunchLaunched: 'tool.launched',
  caliperEventToolUseUsed: 'tool.used',
  caliperEventMediaPausedVideo: 'other',
  caliperEventForumSubscribed: 'other',
};

describe('Caliper 1.2 fixtures', () => {
  const events = fixtures(DIR, (n) => n.startsWith('caliperEvent'));

  it('has the spec fixtures', () => {
    expect(events.length).toBeGreaterThanOrEqual(50);
  });

  it.each(events)('%s maps to one event with the learner pseudonym, course and type', (name) => {
    const raw = fixture(DIR, name) as J;
    const r = ok(mapCaliper(raw, ctx));
    expect(r.events).toHaveLength(1);
    const e = r.events[0] as LearningEvent;
    expect(e.eventId).toBe(raw.id);
    expect(e.source).toBe('caliper');
    expect(e.actorId).toBe(pseudonym(expectedLearner(raw)));
    expect(e.actorId).toMatch(/^p_[A-Za-z0-9_-]{22}$/);
    expect(e.courseId).toBe(idOf(raw.group) ?? idOf((raw.membership as J | undefined)?.organization) ?? null);
    expect(e.ts).toBe(Date.parse(raw.eventTime as string));
    expect(e.originalType).toBe(`${raw.type}.${raw.action}`);
    const expected = TYPES[name.replace(/\.json$/, '')];
    if (expected) expect(e.type).toBe(expected);
    // No student id in anything that leaves the gateway.
    expect(JSON.stringify(e)).not.toMatch(/users\/(554433|112233|778899)/);
  });

  it('takes the score of a grade and names the assessment, not the attempt', () => {
    const e = ok(mapCaliper(fixture(DIR, 'caliperEventGradeGraded.json'), ctx)).events[0] as LearningEvent;
    expect(e).toMatchObject({
      type: 'assessment.graded',
      actorId: pseudonym('https://example.edu/users/554433'),
      objectId: 'https://example.edu/terms/201601/courses/7/sections/1/assess/1',
      score: 10,
      maxScore: 15,
    });
  });

  it.each(fixtures(DIR, (n) => n.startsWith('caliperEnvelope')))(
    'envelope %s is accepted: events mapped, entities ignored',
    (name) => {
      const raw = fixture(DIR, name) as { data: J[] };
      const r = ok(mapCaliper(raw, ctx));
      const nEvents = raw.data.filter((d) => 'action' in d).length;
      expect(r.events).toHaveLength(nEvents);
      expect(r.ignored).toBe(raw.data.length - nEvents);
      for (const [i, e] of r.events.entries()) {
        const src = raw.data.filter((d) => 'action' in d)[i]!;
        expect(e.eventId).toBe(src.id);
        expect(e.actorId).toBe(pseudonym(expectedLearner(src)));
      }
    },
  );

  it.each([
    ...fixtures(DIR, (n) => n.startsWith('caliperEntity')),
    'caliperEndpointConfigPayload.json',
    'caliperIdentifierSystemIdentifier.json',
  ])('non-event %s is refused with CT_ERR_SCHEMA', (name) => {
    const r = mapCaliper(fixture(DIR, name), ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.code).toBe('CT_ERR_SCHEMA');
  });

  it.each([
    ['caliperEvent-NoActor.json', 'actor'],
    ['caliperEvent-NullActor.json', 'actor'],
    ['caliperEvent-MalformedActorNotAString.json', 'actor'],
    ['caliperEvent-NoAction.json', 'action'],
    ['caliperEvent-NoObject.json', 'object'],
    ['caliperEvent-NullObject.json', 'object'],
    ['caliperEvent-NoEventTime.json', 'eventTime'],
    ['caliperEvent-NoId.json', 'id'],
  ])('spec error fixture %s is refused at path "%s"', (name, path) => {
    const r = mapCaliper(fixture(`${DIR}commonErrorFixtures/`, name), ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.path).toBe(path);
  });

  it('names the path inside an envelope', () => {
    const env = fixture(DIR, 'caliperEnvelopeEventBatch.json') as { data: J[] };
    delete env.data[1]!.eventTime;
    const r = mapCaliper(env, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection).toMatchObject({ code: 'CT_ERR_SCHEMA', path: 'data[1].eventTime' });
  });

  it('pseudonymises an object that is a person, and object ids that embed a student id', () => {
    const e = fixture(DIR, 'caliperEventViewViewedDocument.json') as J;
    // A generic Event (General Profile) may have any entity as its object, a Person too.
    const general = { ...e, type: 'Event', profile: 'GeneralProfile' };
    const person = ok(
      mapCaliper({ ...general, object: { id: 'https://example.edu/people/778899', type: 'Person' } }, ctx),
    );
    expect(person.events[0]!).toMatchObject({ objectId: pseudonym('https://example.edu/people/778899') });
    const embedded = ok(mapCaliper({ ...e, object: 'https://example.edu/portfolio/554433/page/2' }, ctx));
    expect((embedded.events[0] as LearningEvent).objectId).toMatch(/^p_/);
    const email = ok(mapCaliper({ ...e, object: 'https://example.edu/inbox/ana@uni.example' }, ctx));
    expect((email.events[0] as LearningEvent).objectId).toMatch(/^p_/);
    const plain = ok(mapCaliper({ ...e, object: 'https://example.edu/etexts/5544331.epub' }, ctx));
    expect((plain.events[0] as LearningEvent).objectId).toBe('https://example.edu/etexts/5544331.epub');
  });

  it('refuses an unknown event type, naming the field and the rule', () => {
    const e = fixture(DIR, 'caliperEventSessionLoggedIn.json') as J;
    const r = mapCaliper({ ...e, type: 'TeleportEvent', action: 'Teleported' }, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection).toMatchObject({ path: 'type', rule: 'caliper-event-type' });
  });

  it('accepts Caliper 1.1 events (v1p1 context)', () => {
    const e = fixture(DIR, 'caliperEventAssessmentSubmitted.json') as J;
    const r = ok(mapCaliper({ ...e, '@context': 'http://purl.imsglobal.org/ctx/caliper/v1p1' }, ctx));
    expect(r.events[0]!.type).toBe('assessment.submitted');
  });
});

describe('Caliper 1.1 fixtures', () => {
  const DIR11 = 'caliper-v1p1/';
  const events = fixtures(DIR11, (n) => n.startsWith('caliperEvent'));
  const envelopes = fixtures(DIR11, (n) => n.startsWith('caliperEnvelope'));

  it('has the spec fixtures', () => {
    expect(events.length).toBeGreaterThanOrEqual(40);
    expect(envelopes.length).toBeGreaterThanOrEqual(3);
  });

  it.each([...events, ...envelopes])('%s is accepted with every event mapped', (name) => {
    const raw = fixture(DIR11, name) as J;
    const r = ok(mapCaliper(raw, ctx));
    const list = Array.isArray(raw.data) ? (raw.data as J[]).filter((d) => 'action' in d) : [raw];
    expect(r.events.map((e) => e.eventId)).toEqual(list.map((e) => e.id));
  });
});

/** The rule a common-error fixture breaks, from its name (the spec's naming), where it names one. */
function expectedRule(name: string): string | undefined {
  if (/WrongAction|UnknownAction/.test(name)) return 'caliper-action';
  if (/UnknownEventType/.test(name)) return 'caliper-event-type';
  if (/UnknownProfile/.test(name)) return 'caliper-profile';
  if (/NoFederatedSession/.test(name)) return 'caliper-required';
  if (/^caliperEvent.*WrongEntityType|^caliperEvent.*-Malformed\w*EntityType/.test(name))
    return 'caliper-entity-type';
  return undefined;
}

describe('Caliper 1.2 common error fixtures (the spec set)', () => {
  const ERR = `${DIR}commonErrorFixtures/`;
  const all = fixtures(ERR);

  it('has the whole set', () => {
    expect(all.length).toBe(279);
  });

  it.each(all)('%s is refused', (name) => {
    let body: unknown;
    try {
      body = fixture(ERR, name);
    } catch {
      // Not JSON (BadJson, and one with a trailing comma): the route answers 400 before any mapper runs.
      return expect(name).toMatch(/BadJson|caliperEntitySurvey-MalformedItemsContainsWrongEntityType/);
    }
    const r = mapCaliper(body, ctx);
    expect(r.ok, JSON.stringify(r)).toBe(false);
    if (r.ok) return;
    expect(r.rejection.code).toBe('CT_ERR_SCHEMA');
    const rule = expectedRule(name);
    if (rule) expect(r.rejection.rule, r.rejection.message).toBe(rule);
  });
});
