/**
 * Caliper events held to the specification's own rules (pure), beyond the required fields caliper.ts reads:
 * a known event type, an action its type allows, entity types per property (the actor of a ViewEvent is a
 * Person, its object a DigitalResource…), "an object or its IRI" for every entity-valued property, an
 * `extensions` object, and in 1.2 a known metric profile that allows the event type and action. Tables
 * in caliper-profiles.ts. Each refusal names the field (`path`) and the rule broken (`rule`).
 */
import {
  type CaliperVersion,
  COMMON_PROPERTY_TYPES,
  EVENT_RULES,
  type EventRule,
  isA,
  PROFILES,
  profileAllows,
  requiredFor,
} from './caliper-profiles.ts';
import { isIri, isObject, type Json, join, localName, MapError } from './common.ts';

/** What a refusal says it broke: the field is in the error's path. */
export type CaliperRule =
  | 'caliper-event-type'
  | 'caliper-action'
  | 'caliper-entity-type'
  | 'caliper-entity-or-iri'
  | 'caliper-required'
  | 'caliper-extensions'
  | 'caliper-profile';

/** The version an event declares in its `@context` (a string, or an array holding one), else `fallback`. */
export function caliperVersion(v: Json, fallback: CaliperVersion): CaliperVersion {
  const ctx = v['@context'];
  const text = Array.isArray(ctx) ? ctx.filter((c) => typeof c === 'string').join(' ') : ctx;
  if (typeof text !== 'string') return fallback;
  if (text.includes('/v1p1')) return 'v1p1';
  if (text.includes('/v1p2')) return 'v1p2';
  return fallback;
}

function fail(path: string, rule: CaliperRule, detail: string): never {
  throw new MapError(path, detail, 'CT_ERR_SCHEMA', rule);
}

/**
 * An entity-valued property `key` of the event at `path` (absent: nothing to check): an object of an
 * allowed type, or a string that is an IRI. Its path is spelt out only for a refusal.
 */
function checkEntity(v: unknown, path: string, key: string, allowed: readonly string[] | undefined): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'string') {
    if (!isIri(v)) fail(join(path, key), 'caliper-entity-or-iri', 'expected an entity object or its IRI');
    return;
  }
  if (!isObject(v)) fail(join(path, key), 'caliper-entity-or-iri', 'expected an entity object or its IRI');
  if (!allowed) return;
  const type = typeof v.type === 'string' ? localName(v.type) : '';
  for (const a of allowed) if (isA(type, a)) return;
  fail(
    join(join(path, key), 'type'),
    'caliper-entity-type',
    `${type || 'no type'} is not allowed here (expected ${allowed.join(' or ')})`,
  );
}

const COMMON = COMMON_PROPERTY_TYPES;

/**
 * Throws a MapError (code CT_ERR_SCHEMA, with path and rule) when the event breaks its type's or profile's
 * rules. The event's `type` and `action` are already checked to be strings; `type` and `action` here are
 * their local names (the caller has them already).
 */
export function checkCaliperEvent(
  e: Json,
  path: string,
  version: CaliperVersion,
  type = localName(String(e.type)),
  action = localName(String(e.action)),
): void {
  const rules = EVENT_RULES[version];
  const rule: EventRule | undefined = Object.hasOwn(rules, type) ? rules[type] : undefined;
  if (!rule) fail(join(path, 'type'), 'caliper-event-type', `${type} is not a Caliper ${version} event type`);
  if (!rule.actions.includes(action))
    fail(
      join(path, 'action'),
      'caliper-action',
      `${action} is not an action of ${type} (expected ${rule.actions.join(', ')})`,
    );
  // Each property read by name (not in a loop over names, whose one load site sees every event shape).
  checkEntity(e.actor, path, 'actor', rule.actor);
  checkEntity(e.object, path, 'object', rule.object);
  checkEntity(e.generated, path, 'generated', rule.generated);
  checkEntity(e.target, path, 'target', rule.target);
  checkEntity(e.referrer, path, 'referrer', rule.referrer);
  checkEntity(e.edApp, path, 'edApp', COMMON.edApp);
  checkEntity(e.group, path, 'group', COMMON.group);
  checkEntity(e.membership, path, 'membership', COMMON.membership);
  checkEntity(e.session, path, 'session', COMMON.session);
  checkEntity(e.federatedSession, path, 'federatedSession', COMMON.federatedSession);
  for (const p of requiredFor(version, type, action))
    if (e[p] === undefined || e[p] === null)
      fail(join(path, p), 'caliper-required', `required for ${type} ${action}`);
  if (e.extensions !== undefined && !isObject(e.extensions))
    fail(join(path, 'extensions'), 'caliper-extensions', 'expected an object of extension properties');
  if (version === 'v1p2' && e.profile !== undefined) {
    if (typeof e.profile !== 'string')
      fail(join(path, 'profile'), 'caliper-profile', 'expected a profile name');
    const name = localName(e.profile);
    if (!Object.hasOwn(PROFILES, name))
      fail(join(path, 'profile'), 'caliper-profile', `${e.profile} is not a Caliper profile`);
    // The spec's own examples label other events GeneralProfile: only the specific profiles are held to
    // their lists of events and actions.
    if (name !== 'GeneralProfile' && !profileAllows(name, type, action))
      fail(join(path, 'profile'), 'caliper-profile', `${e.profile} does not include ${type} ${action}`);
  }
}
