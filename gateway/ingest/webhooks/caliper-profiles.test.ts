import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  type CaliperVersion,
  COMMON_PROPERTY_TYPES,
  EVENT_RULES,
  isA,
  isKnownEntityType,
  PROFILES,
  profileAllows,
  requiredFor,
  SUPERTYPE,
} from './caliper-profiles.ts';
import { checkCaliperEvent } from './caliper-rules.ts';
import { MapError } from './common.ts';

type J = Record<string, unknown>;
const LMS = new URL('../../../tests/fixtures/lms/', import.meta.url);

const versionOf = (context: unknown): CaliperVersion =>
  JSON.stringify(context ?? '').includes('v1p1') ? 'v1p1' : 'v1p2';

/** What caliper-rules.ts finds wrong with an event: [] or its first problem (the field and the rule). */
function checkEventRules(event: J, version: CaliperVersion): { field: string; rule: string }[] {
  try {
    checkCaliperEvent(event, '', version);
    return [];
  } catch (err) {
    if (!(err instanceof MapError)) throw err;
    return [{ field: err.path.split('.')[0]!, rule: err.rule ?? err.detail }];
  }
}

function readJson(dir: string, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`${dir}/${name}`, LMS), 'utf8'));
}

/** Events of a fixture directory: each caliperEvent*.json, and each `data` item with an `action` in
 *  caliperEnvelope*.json (its version from its own @context, else the envelope's dataVersion). */
function validEvents(dir: string): { name: string; event: J; version: CaliperVersion }[] {
  const out: { name: string; event: J; version: CaliperVersion }[] = [];
  for (const name of readdirSync(new URL(dir, LMS)).sort()) {
    if (name.startsWith('caliperEvent') && name.endsWith('.json')) {
      const event = readJson(dir, name) as J;
      out.push({ name, event, version: versionOf(event['@context']) });
    } else if (name.startsWith('caliperEnvelope') && name.endsWith('.json')) {
      const envelope = readJson(dir, name) as J;
      const data = Array.isArray(envelope.data) ? (envelope.data as unknown[]) : [];
      data.forEach((item, i) => {
        if (item && typeof item === 'object' && 'action' in item) {
          const event = item as J;
          out.push({
            name: `${name}[${i}]`,
            event,
            version: versionOf(event['@context'] ?? envelope.dataVersion),
          });
        }
      });
    }
  }
  return out;
}

describe('caliper-profiles tables', () => {
  it('isA follows the hierarchy, reflexively, with two supertypes where the spec gives two', () => {
    expect(isA('Person', 'Person')).toBe(true);
    expect(isA('Person', 'Agent')).toBe(true);
    expect(isA('Person', 'Entity')).toBe(true);
    expect(isA('CourseSection', 'Organization')).toBe(true);
    expect(isA('VideoObject', 'DigitalResource')).toBe(true);
    expect(isA('LtiSession', 'Session')).toBe(true);
    expect(isA('Session', 'LtiSession')).toBe(false);
    expect(isA('Person', 'Organization')).toBe(false);
    expect(isA('Assessment', 'AssignableDigitalResource')).toBe(true);
    expect(isA('Assessment', 'DigitalResourceCollection')).toBe(true);
    expect(isA('Assessment', 'Collection')).toBe(true);
    expect(isA('Thesis', 'Entity')).toBe(false);
    expect(isA('Thesis', 'Thesis')).toBe(true);
  });

  it('knows entity types of both versions and only those', () => {
    for (const t of ['Entity', 'Person', 'EpubVolume', 'Reading', 'Questionnaire', 'AggregateMeasure']) {
      expect(isKnownEntityType(t), t).toBe(true);
    }
    for (const t of ['ViewEvent', 'Thesis', 'toString', '']) expect(isKnownEntityType(t), t).toBe(false);
  });

  it('every supertype chain ends at Entity', () => {
    for (const type of Object.keys(SUPERTYPE)) expect(isA(type, 'Entity'), type).toBe(true);
  });

  it('every type named by a rule is a known entity type, every action is in the vocabulary', () => {
    for (const version of ['v1p1', 'v1p2'] as const) {
      for (const [eventType, rule] of Object.entries(EVENT_RULES[version])) {
        for (const field of ['actor', 'object', 'generated', 'target', 'referrer'] as const) {
          for (const t of rule[field] ?? [])
            expect(isKnownEntityType(t), `${eventType}.${field} ${t}`).toBe(true);
        }
        for (const a of rule.actions) expect(ACTIONS[version], `${version} ${eventType} ${a}`).toContain(a);
      }
    }
    for (const types of Object.values(COMMON_PROPERTY_TYPES)) {
      for (const t of types) expect(isKnownEntityType(t)).toBe(true);
    }
  });

  it("every profile's event types and actions are allowed by the 1.2 event rules", () => {
    for (const [profile, events] of Object.entries(PROFILES)) {
      for (const [eventType, actions] of Object.entries(events)) {
        const rule = EVENT_RULES.v1p2[eventType];
        expect(rule, `${profile} ${eventType}`).toBeDefined();
        for (const a of actions) expect(rule!.actions, `${profile} ${eventType} ${a}`).toContain(a);
      }
    }
    expect(profileAllows('ReadingProfile', 'ViewEvent', 'Viewed')).toBe(true);
    expect(profileAllows('ReadingProfile', 'MediaEvent', 'Paused')).toBe(false);
    expect(profileAllows('GeneralProfile', 'Event', 'Rewound')).toBe(true);
    expect(profileAllows('GeneralProfile', 'ViewEvent', 'Viewed')).toBe(false);
    expect(profileAllows('NotAProfile', 'Event', 'Viewed')).toBe(false);
  });

  it('requiredFor: federatedSession for a tool launch, generated for a 1.2 copy', () => {
    expect(requiredFor('v1p2', 'ToolLaunchEvent', 'Launched')).toEqual(['federatedSession']);
    expect(requiredFor('v1p1', 'ToolLaunchEvent', 'Launched')).toEqual(['federatedSession']);
    expect(requiredFor('v1p2', 'ToolLaunchEvent', 'Returned')).toEqual([]);
    expect(requiredFor('v1p2', 'ResourceManagementEvent', 'Copied')).toEqual(['generated']);
    expect(requiredFor('v1p1', 'ResourceManagementEvent', 'Copied')).toEqual([]);
    expect(requiredFor('v1p2', 'ViewEvent', 'Viewed')).toEqual([]);
    expect(requiredFor('v1p2', 'NotAnEvent', 'toString')).toEqual([]);
  });

  it('1.1 keeps its deprecated events and actions; 1.2 drops them from the typed events', () => {
    expect(EVENT_RULES.v1p1.ReadingEvent?.actions).toContain('Viewed');
    expect(EVENT_RULES.v1p1.OutcomeEvent?.generated).toEqual(['Result']);
    expect(EVENT_RULES.v1p2.ReadingEvent).toBeUndefined();
    expect(EVENT_RULES.v1p1.MediaEvent?.actions).toContain('Rewound');
    expect(EVENT_RULES.v1p2.MediaEvent?.actions).not.toContain('Rewound');
    expect(EVENT_RULES.v1p2.Event?.actions).toContain('Rewound');
  });
});

describe('valid fixtures pass', () => {
  for (const dir of ['caliper-v1p1', 'caliper-v1p2']) {
    const events = validEvents(dir);
    it(`${dir}: has events`, () => expect(events.length).toBeGreaterThan(40));
    for (const { name, event, version } of events) {
      it(`${dir}/${name} (${version})`, () => expect(checkEventRules(event, version)).toEqual([]));
    }
  }

  it('profile membership holds for every 1.2 fixture but the two GeneralProfile NavigationEvents', () => {
    const outside = validEvents('caliper-v1p2')
      .filter(({ event }) => typeof event.profile === 'string')
      .filter(
        ({ event }) => !profileAllows(event.profile as string, event.type as string, event.action as string),
      )
      .map(({ name }) => name);
    expect(outside).toEqual(['caliperEnvelopeEventBatch.json[0]', 'caliperEnvelopeEventThinned.json[0]']);
  });
});

/** The property a *-Malformed<Property>…EntityType fixture breaks. Its name's typos are mapped, and
 *  caliperEventAssignable-MalformedTargetWrongEntityType in fact has no target but a Person `generated`. */
function fieldNamed(name: string): string {
  if (name === 'caliperEventAssignable-MalformedTargetWrongEntityType.json') return 'generated';
  const word = /-Malformed([A-Z][a-z]+(?:Session|App)?)/.exec(name)?.[1] ?? '';
  const typos: Record<string, string> = { Generatable: 'generated', Ojbect: 'object', Taret: 'target' };
  return typos[word] ?? word.charAt(0).toLowerCase() + word.slice(1);
}

describe('error fixtures fail', () => {
  const dir = 'caliper-v1p2/commonErrorFixtures';
  const pattern =
    /-WrongAction|WrongEntityType|-MalformedReferrerEntityType|-UnknownEventType|-UnknownProfile|-UnknownAction|-NoFederatedSession/;
  const names = readdirSync(new URL(dir, LMS))
    .filter((n) => n.startsWith('caliperEvent') && pattern.test(n))
    .sort();

  it('finds them', () => expect(names.length).toBeGreaterThan(50));

  for (const name of names) {
    it(name, () => {
      const event = readJson(dir, name) as J;
      const problems = checkEventRules(event, versionOf(event['@context']));
      expect(problems.length, JSON.stringify(problems)).toBeGreaterThan(0);
      if (/WrongAction|UnknownAction/.test(name))
        expect(problems).toContainEqual({ field: 'action', rule: 'caliper-action' });
      if (name.includes('UnknownEventType'))
        expect(problems).toContainEqual({ field: 'type', rule: 'caliper-event-type' });
      if (name.includes('UnknownProfile'))
        expect(problems).toContainEqual({ field: 'profile', rule: 'caliper-profile' });
      if (name.includes('NoFederatedSession')) {
        expect(problems).toEqual([{ field: 'federatedSession', rule: 'caliper-required' }]);
      }
      if (/EntityType/.test(name)) {
        expect(problems.every((p) => p.rule === 'caliper-entity-type')).toBe(true);
        expect(problems.map((p) => p.field)).toContain(fieldNamed(name));
      }
    });
  }

  it('an IRI string is never type-checked; a missing federatedSession on Returned is fine', () => {
    const base = {
      type: 'ToolLaunchEvent',
      actor: 'https://example.edu/u/1',
      object: 'https://example.edu/t',
    };
    expect(checkEventRules({ ...base, action: 'Returned' }, 'v1p2')).toEqual([]);
    expect(checkEventRules({ ...base, action: 'Launched', federatedSession: 'urn:x' }, 'v1p2')).toEqual([]);
  });

  it('refuses an entity that is neither an object nor an IRI, naming its full path', () => {
    const event = {
      type: 'ViewEvent',
      action: 'Viewed',
      actor: { id: 'https://example.edu/users/1', type: 'Person' },
      object: 'https://example.edu/etexts/1.epub',
    };
    const refusal = (e: J) => {
      try {
        checkCaliperEvent(e, 'data[3]', 'v1p2');
        return undefined;
      } catch (err) {
        if (!(err instanceof MapError)) throw err;
        return { path: err.path, rule: err.rule };
      }
    };
    expect(refusal(event)).toBeUndefined();
    expect(refusal({ ...event, edApp: 'not an iri' })).toEqual({
      path: 'data[3].edApp',
      rule: 'caliper-entity-or-iri',
    });
    expect(refusal({ ...event, group: 5 })).toEqual({ path: 'data[3].group', rule: 'caliper-entity-or-iri' });
    expect(refusal({ ...event, object: ['x'] })).toEqual({
      path: 'data[3].object',
      rule: 'caliper-entity-or-iri',
    });
    expect(refusal({ ...event, actor: { id: 'https://example.edu/apps/1', type: 'Document' } })).toEqual({
      path: 'data[3].actor.type',
      rule: 'caliper-entity-type',
    });
  });
});
