/**
 * The strict shape of an xAPI 1.0.3 statement (pure), as the ADL LRS conformance suite (test/v1_0_3)
 * expects an LRS to check a POSTed statement: no `null` outside extensions (Part Two §2.2); no property the
 * spec does not name, with key case as written (§2.2); objectType values exact and valid where they stand
 * (§2.4.2, §2.4.4); Agents and Groups with at most one identifier, account {homePage IRL, name} (§2.4.2);
 * language maps keyed by RFC 5646 tags (§4.2) and extensions keyed by IRIs (§4.1); Activity definitions
 * and interaction components (§2.4.4.1); result types, ISO 8601 durations and score bounds (§2.4.5);
 * context rules (revision/platform only about an Activity, team a Group, contextActivities Activities)
 * (§2.4.6); authority an Agent or an anonymous Group of two (§2.4.9); version 1.0[.x] (§2.4.10);
 * attachment metadata (§2.4.11); a SubStatement without id, stored, version, authority or a SubStatement
 * (§2.4.4.3); a voiding statement about a StatementRef (§2.3.2). Each refusal is a MapError naming the
 * JSON path of the offending field. The fields the mapper reads are checked again in xapi.ts.
 */
import { iri, isObject, isoTime, type Json, join, MapError } from './common.ts';

export interface CheckOptions {
  /** Checking the object of a statement that is itself a SubStatement. */
  sub?: boolean;
}

const STATEMENT = [
  'id',
  'actor',
  'verb',
  'object',
  'result',
  'context',
  'timestamp',
  'stored',
  'authority',
  'version',
  'attachments',
];
const SUBSTATEMENT = [
  'objectType',
  'actor',
  'verb',
  'object',
  'result',
  'context',
  'timestamp',
  'attachments',
];
const AGENT = ['objectType', 'name', 'mbox', 'mbox_sha1sum', 'openid', 'account'];
const GROUP = [...AGENT, 'member'];
const IFIS = ['mbox', 'mbox_sha1sum', 'openid', 'account'];
const DEFINITION = [
  'name',
  'description',
  'type',
  'moreInfo',
  'interactionType',
  'correctResponsesPattern',
  'choices',
  'scale',
  'source',
  'target',
  'steps',
  'extensions',
];
const CONTEXT = [
  'registration',
  'instructor',
  'team',
  'contextActivities',
  'revision',
  'platform',
  'language',
  'statement',
  'extensions',
];
const CONTEXT_ACTIVITIES = ['parent', 'grouping', 'category', 'other'];
const ATTACHMENT = ['usageType', 'display', 'description', 'contentType', 'length', 'sha2', 'fileUrl'];
/** Interaction types (§2.4.4.1.1) and the component lists each may carry. */
const INTERACTIONS: Record<string, string[]> = {
  'true-false': [],
  choice: ['choices'],
  'fill-in': [],
  'long-fill-in': [],
  matching: ['source', 'target'],
  performance: ['steps'],
  sequencing: ['choices'],
  likert: ['scale'],
  numeric: [],
  other: [],
};
const COMPONENT_LISTS = ['choices', 'scale', 'source', 'target', 'steps'];
const VOIDED = 'http://adlnet.gov/expapi/verbs/voided';

/** 8-4-4-4-12 hex, as xapi.ts reads it (version and variant nibbles are not checked: v6–v8 ids stay valid). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An mbox (`mailto:` and an address) and an mbox_sha1sum (40 hex digits), §2.4.2.3. */
export const MBOX = /^mailto:[^\s@]+@[^\s@]+$/i;
export const SHA1 = /^[0-9a-f]{40}$/i;
/** An IRL: an absolute URL with an authority (`scheme://host…`). */
const IRL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#]+\S*$/;
/** ISO 8601 duration (the forms §4.6 allows: `PnYnMnDTnHnMnS` with a decimal last part, or `PnW`). */
const DURATION =
  /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$|^P\d+(\.\d+)?W$/;
/** RFC 5646 Language-Tag (langtag, privateuse or a grandfathered tag), case-insensitive. */
const LANGTAG = new RegExp(
  '^(?:' +
    '(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})' + // language (+ extlang)
    '(?:-[a-z]{4})?' + // script
    '(?:-(?:[a-z]{2}|\\d{3}))?' + // region
    '(?:-(?:[a-z\\d]{5,8}|\\d[a-z\\d]{3}))*' + // variants
    '(?:-[a-wyz\\d](?:-[a-z\\d]{2,8})+)*' + // extensions
    '(?:-x(?:-[a-z\\d]{1,8})+)?' + // private use
    '|x(?:-[a-z\\d]{1,8})+' +
    '|en-gb-oed|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)' +
    '|sgn-(?:be-fr|be-nl|ch-de)|art-lojban|cel-gaulish|no-(?:bok|nyn)|zh-(?:guoyu|hakka|min|min-nan|xiang)' +
    ')$',
  'i',
);

function fail(path: string, detail: string): never {
  throw new MapError(path, detail);
}

/** An object whose keys are all in `allowed` (exact case) and whose values are not null. */
function shape(v: unknown, path: string, allowed: readonly string[], what: string): Json {
  if (v === null) fail(path, 'null is not allowed');
  if (!isObject(v)) fail(path, `expected ${what} object`);
  for (const [k, val] of Object.entries(v)) {
    if (!allowed.includes(k)) fail(join(path, k), `not a property of ${what}`);
    if (val === null) fail(join(path, k), 'null is not allowed');
  }
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  return v;
}

function irl(v: unknown, path: string): void {
  if (!IRL.test(string(v, path))) fail(path, 'expected an IRL (scheme://host…)');
}

function uuid(v: unknown, path: string): void {
  if (!UUID.test(string(v, path))) fail(path, 'expected a UUID in its string form');
}

/** A timestamp (§4.5): ISO 8601 with a non-negative-zero offset (RFC 3339 forbids -00:00). */
function timestamp(v: unknown, path: string): void {
  const s = string(v, path);
  if (/-00(:?00)?$/.test(s)) fail(path, 'a -00:00 offset is not allowed');
  isoTime(s, path);
}

function langMap(v: unknown, path: string): void {
  if (!isObject(v)) fail(path, 'expected a language map');
  for (const [tag, text] of Object.entries(v)) {
    if (!LANGTAG.test(tag)) fail(join(path, tag), 'expected an RFC 5646 language tag');
    if (typeof text !== 'string') fail(join(path, tag), 'expected a string');
  }
}

/** Extensions (§4.1): an object keyed by IRIs; any value, null included. */
function extensions(v: unknown, path: string): void {
  if (!isObject(v)) fail(path, 'expected an extensions object');
  for (const k of Object.keys(v)) iri(k, join(path, k));
}

function boolean(v: unknown, path: string): void {
  if (typeof v !== 'boolean') fail(path, 'expected true or false');
}

function number(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'expected a number');
  return v;
}

/** Agent or Group (§2.4.2). `as` limits the objectType; a Group member must be an Agent. */
export function checkAgent(v: unknown, path: string, as: 'Agent' | 'Group' | 'either' = 'either'): Json {
  const kind = isObject(v) ? (v.objectType ?? 'Agent') : 'Agent';
  if (kind !== 'Agent' && kind !== 'Group') fail(join(path, 'objectType'), 'expected Agent or Group');
  if (as !== 'either' && kind !== as) fail(join(path, 'objectType'), `expected ${as}`);
  const a = shape(v, path, kind === 'Group' ? GROUP : AGENT, kind === 'Group' ? 'a Group' : 'an Agent');
  if (a.name !== undefined) string(a.name, join(path, 'name'));
  const ifis = IFIS.filter((k) => a[k] !== undefined);
  if (ifis.length > 1) fail(path, `exactly one identifier allowed, got ${ifis.join(', ')}`);
  if (a.mbox !== undefined && !MBOX.test(string(a.mbox, join(path, 'mbox'))))
    fail(join(path, 'mbox'), 'expected mailto:address');
  if (a.mbox_sha1sum !== undefined && !SHA1.test(string(a.mbox_sha1sum, join(path, 'mbox_sha1sum'))))
    fail(join(path, 'mbox_sha1sum'), 'expected 40 hex digits');
  if (a.openid !== undefined) iri(string(a.openid, join(path, 'openid')), join(path, 'openid'));
  if (a.account !== undefined) {
    const p = join(path, 'account');
    const acc = shape(a.account, p, ['homePage', 'name'], 'an account');
    if (acc.homePage === undefined) fail(join(p, 'homePage'), 'required');
    irl(acc.homePage, join(p, 'homePage'));
    if (acc.name === undefined) fail(join(p, 'name'), 'required');
    string(acc.name, join(p, 'name'));
  }
  if (kind === 'Agent' && ifis.length === 0)
    fail(path, 'an Agent needs one of mbox, mbox_sha1sum, openid, account');
  if (kind === 'Group') {
    if (a.member === undefined && ifis.length === 0)
      fail(join(path, 'member'), 'an anonymous Group needs members');
    if (a.member !== undefined) {
      if (!Array.isArray(a.member)) fail(join(path, 'member'), 'expected an array of Agents');
      for (const [i, m] of a.member.entries()) checkAgent(m, join(join(path, 'member'), i), 'Agent');
    }
  }
  return a;
}

function verb(v: unknown, path: string): string {
  const o = shape(v, path, ['id', 'display'], 'a Verb');
  if (o.id === undefined) fail(join(path, 'id'), 'required');
  const id = iri(o.id, join(path, 'id'));
  if (o.display !== undefined) langMap(o.display, join(path, 'display'));
  return id;
}

function components(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, 'expected an array of interaction components');
  const seen = new Set<string>();
  v.forEach((c, i) => {
    const p = join(path, i);
    const o = shape(c, p, ['id', 'description'], 'an interaction component');
    const id = string(o.id, join(p, 'id'));
    if (seen.has(id)) fail(join(p, 'id'), 'duplicate component id');
    seen.add(id);
    if (o.description !== undefined) langMap(o.description, join(p, 'description'));
  });
}

function definition(v: unknown, path: string): void {
  const d = shape(v, path, DEFINITION, 'an Activity definition');
  if (d.name !== undefined) langMap(d.name, join(path, 'name'));
  if (d.description !== undefined) langMap(d.description, join(path, 'description'));
  if (d.type !== undefined) iri(d.type, join(path, 'type'));
  if (d.moreInfo !== undefined) irl(d.moreInfo, join(path, 'moreInfo'));
  if (d.extensions !== undefined) extensions(d.extensions, join(path, 'extensions'));
  const type = d.interactionType;
  if (type !== undefined && (typeof type !== 'string' || !Object.hasOwn(INTERACTIONS, type)))
    fail(join(path, 'interactionType'), `expected one of ${Object.keys(INTERACTIONS).join(', ')}`);
  if (d.correctResponsesPattern !== undefined) {
    const p = join(path, 'correctResponsesPattern');
    if (type === undefined) fail(p, 'only with an interactionType');
    if (!Array.isArray(d.correctResponsesPattern)) fail(p, 'expected an array of strings');
    for (const [i, r] of d.correctResponsesPattern.entries()) string(r, join(p, i));
  }
  for (const list of COMPONENT_LISTS) {
    if (d[list] === undefined) continue;
    if (type === undefined || !INTERACTIONS[type as string]?.includes(list))
      fail(join(path, list), `not allowed for interactionType ${String(type ?? '(none)')}`);
    components(d[list], join(path, list));
  }
}

function activity(v: unknown, path: string): void {
  const o = shape(v, path, ['objectType', 'id', 'definition'], 'an Activity');
  if (o.objectType !== undefined && o.objectType !== 'Activity')
    fail(join(path, 'objectType'), 'expected Activity');
  if (o.id === undefined) fail(join(path, 'id'), 'required');
  iri(o.id, join(path, 'id'));
  if (o.definition !== undefined) definition(o.definition, join(path, 'definition'));
}

function statementRef(v: unknown, path: string): void {
  const o = shape(v, path, ['objectType', 'id'], 'a StatementRef');
  if (o.objectType !== 'StatementRef') fail(join(path, 'objectType'), 'expected StatementRef');
  if (o.id === undefined) fail(join(path, 'id'), 'required');
  uuid(o.id, join(path, 'id'));
}

/** The object (§2.4.4); returns its objectType. */
function object(v: unknown, path: string, sub: boolean): string {
  if (!isObject(v)) fail(path, v === null || v === undefined ? 'required' : 'expected an object');
  if (v.objectType === undefined && [...IFIS, 'member'].some((k) => v[k] !== undefined))
    fail(join(path, 'objectType'), 'an Agent or Group object must state its objectType');
  const kind = v.objectType ?? 'Activity';
  switch (kind) {
    case 'Activity':
      activity(v, path);
      break;
    case 'Agent':
    case 'Group':
      checkAgent(v, path);
      break;
    case 'StatementRef':
      statementRef(v, path);
      break;
    case 'SubStatement':
      if (sub) fail(join(path, 'objectType'), 'a SubStatement cannot contain a SubStatement');
      checkStatement(v, path, { sub: true });
      break;
    default:
      fail(join(path, 'objectType'), 'expected Activity, Agent, Group, StatementRef or SubStatement');
  }
  return kind as string;
}

function result(v: unknown, path: string): void {
  const r = shape(
    v,
    path,
    ['score', 'success', 'completion', 'response', 'duration', 'extensions'],
    'a result',
  );
  if (r.success !== undefined) boolean(r.success, join(path, 'success'));
  if (r.completion !== undefined) boolean(r.completion, join(path, 'completion'));
  if (r.response !== undefined) string(r.response, join(path, 'response'));
  if (r.duration !== undefined && !DURATION.test(string(r.duration, join(path, 'duration'))))
    fail(join(path, 'duration'), 'expected an ISO 8601 duration');
  if (r.extensions !== undefined) extensions(r.extensions, join(path, 'extensions'));
  if (r.score === undefined) return;
  const sp = join(path, 'score');
  const s = shape(r.score, sp, ['scaled', 'raw', 'min', 'max'], 'a score');
  const [scaled, raw, min, max] = (['scaled', 'raw', 'min', 'max'] as const).map((k) =>
    s[k] === undefined ? undefined : number(s[k], join(sp, k)),
  );
  if (scaled !== undefined && (scaled < -1 || scaled > 1)) fail(join(sp, 'scaled'), 'expected -1…1');
  if (min !== undefined && max !== undefined && min >= max) fail(join(sp, 'min'), 'must be less than max');
  if (raw !== undefined && min !== undefined && raw < min) fail(join(sp, 'raw'), 'below min');
  if (raw !== undefined && max !== undefined && raw > max) fail(join(sp, 'raw'), 'above max');
}

function context(v: unknown, path: string, objectType: string): void {
  const c = shape(v, path, CONTEXT, 'a context');
  if (c.registration !== undefined) uuid(c.registration, join(path, 'registration'));
  if (c.instructor !== undefined) checkAgent(c.instructor, join(path, 'instructor'));
  if (c.team !== undefined) checkAgent(c.team, join(path, 'team'), 'Group');
  for (const k of ['revision', 'platform'] as const) {
    if (c[k] === undefined) continue;
    string(c[k], join(path, k));
    if (objectType !== 'Activity') fail(join(path, k), 'only allowed when the object is an Activity');
  }
  if (c.language !== undefined && !LANGTAG.test(string(c.language, join(path, 'language'))))
    fail(join(path, 'language'), 'expected an RFC 5646 language tag');
  if (c.statement !== undefined) statementRef(c.statement, join(path, 'statement'));
  if (c.extensions !== undefined) extensions(c.extensions, join(path, 'extensions'));
  if (c.contextActivities === undefined) return;
  const cp = join(path, 'contextActivities');
  const ca = shape(c.contextActivities, cp, CONTEXT_ACTIVITIES, 'contextActivities');
  for (const [k, list] of Object.entries(ca)) {
    if (Array.isArray(list)) for (const [i, a] of list.entries()) activity(a, join(join(cp, k), i));
    else activity(list, join(cp, k));
  }
}

function attachments(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, 'expected an array of attachments');
  v.forEach((a, i) => {
    const p = join(path, i);
    const o = shape(a, p, ATTACHMENT, 'an attachment');
    for (const k of ['usageType', 'display', 'contentType', 'length', 'sha2'])
      if (o[k] === undefined) fail(join(p, k), 'required');
    iri(o.usageType, join(p, 'usageType'));
    langMap(o.display, join(p, 'display'));
    if (o.description !== undefined) langMap(o.description, join(p, 'description'));
    string(o.contentType, join(p, 'contentType'));
    if (!Number.isInteger(o.length) || (o.length as number) < 0)
      fail(join(p, 'length'), 'expected an integer');
    string(o.sha2, join(p, 'sha2'));
    if (o.fileUrl !== undefined) irl(o.fileUrl, join(p, 'fileUrl'));
  });
}

/** Authority (§2.4.9): an Agent, or an anonymous Group of exactly two Agents (an OAuth pair). */
function authority(v: unknown, path: string): void {
  const a = checkAgent(v, path);
  if (a.objectType !== 'Group') return;
  if (IFIS.some((k) => a[k] !== undefined)) fail(path, 'an authority Group must be anonymous');
  if (!Array.isArray(a.member) || a.member.length !== 2)
    fail(join(path, 'member'), 'an authority Group has exactly two members');
}

/** A Statement (or, with `opts.sub`, a SubStatement) checked whole; throws MapError at the first fault. */
export function checkStatement(v: unknown, path: string, opts: CheckOptions = {}): void {
  // The spec's SubStatement example (Data.md) is a bare {objectType: "SubStatement", …}: tolerated at the top.
  const bare = !opts.sub && isObject(v) && v.objectType === 'SubStatement';
  const st =
    opts.sub || bare
      ? shape(v, path, SUBSTATEMENT, 'a SubStatement')
      : shape(v, path, STATEMENT, 'a Statement');
  for (const k of ['actor', 'verb', 'object'] as const)
    if (st[k] === undefined) fail(join(path, k), 'required');
  if (st.id !== undefined) uuid(st.id, join(path, 'id'));
  checkAgent(st.actor, join(path, 'actor'));
  const verbId = verb(st.verb, join(path, 'verb'));
  const kind = object(st.object, join(path, 'object'), opts.sub === true || bare);
  if (verbId === VOIDED && kind !== 'StatementRef')
    fail(join(path, 'object.objectType'), 'a voiding statement must have a StatementRef object');
  if (st.result !== undefined) result(st.result, join(path, 'result'));
  if (st.context !== undefined) context(st.context, join(path, 'context'), kind);
  if (st.timestamp !== undefined) timestamp(st.timestamp, join(path, 'timestamp'));
  if (st.stored !== undefined) timestamp(st.stored, join(path, 'stored'));
  if (st.authority !== undefined) authority(st.authority, join(path, 'authority'));
  if (st.version !== undefined && !/^1\.0(\.\d+)?$/.test(string(st.version, join(path, 'version'))))
    fail(join(path, 'version'), 'expected 1.0 or 1.0.x');
  if (st.attachments !== undefined) attachments(st.attachments, join(path, 'attachments'));
}
