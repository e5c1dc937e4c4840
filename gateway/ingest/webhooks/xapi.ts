/**
 * xAPI 1.0.3 statements → LearningEvent (pure). One statement or an array of them (as POST /statements
 * takes). Checked as the spec says (xAPI 1.0.3 Part Two §2.4): `actor`, `verb` and `object` required;
 * an Agent or identified Group has exactly one inverse functional identifier (mbox `mailto:` IRI,
 * mbox_sha1sum, openid, account {homePage, name}) (§2.4.2.3); verb.id is an IRI (§2.4.3); an Activity
 * object has an IRI id (§2.4.4.1); a StatementRef's id and the statement id are UUIDs (§2.4.1, §2.4.4.3);
 * timestamp is ISO 8601 (§2.4.7); result.score.scaled lies in [-1, 1] (§2.4.5.1).
 * A statement without an id (the LRS would assign one) gets a content-derived id, so a resend is a
 * duplicate. The actor becomes a pseudonym of its identifier; names and emails are dropped.
 */
import type { LearningEvent, LearningEventType } from '../../../shared/events.ts';
import {
  type CanonicalEvent,
  contentId,
  iri,
  isObject,
  type Json,
  join,
  type MapContext,
  MapError,
  type MapResult,
  obj,
  optIsoTime,
  optNum,
  runMapper,
  safeObjectId,
  str,
} from './common.ts';
import { checkStatement, MBOX, SHA1, UUID } from './xapi-strict.ts';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const VERBS: Record<string, LearningEventType> = {
  [`${ADL}logged-in`]: 'session.login',
  'https://w3id.org/xapi/adl/verbs/logged-in': 'session.login',
  [`${ADL}logged-out`]: 'session.logout',
  'https://w3id.org/xapi/adl/verbs/logged-out': 'session.logout',
  [`${ADL}experienced`]: 'resource.viewed',
  'http://id.tincanapi.com/verb/viewed': 'resource.viewed',
  'https://w3id.org/xapi/video/verbs/played': 'media.played',
  [`${ADL}launched`]: 'tool.launched',
  [`${ADL}attempted`]: 'assessment.started',
  [`${ADL}initialized`]: 'assessment.started',
  [`${ADL}scored`]: 'assessment.graded',
  [`${ADL}passed`]: 'assessment.graded',
  [`${ADL}failed`]: 'assessment.graded',
  [`${ADL}completed`]: 'activity.completed',
  [`${ADL}mastered`]: 'activity.completed',
  'http://activitystrea.ms/schema/1.0/submit': 'assignment.submitted',
  'http://activitystrea.ms/schema/1.0/post': 'forum.posted',
  'http://id.tincanapi.com/verb/replied': 'forum.posted',
};

const COURSE_TYPES = new Set([
  'http://adlnet.gov/expapi/activities/course',
  'https://w3id.org/xapi/cmi5/activitytype/course',
]);

function uuid(v: unknown, path: string): string {
  const s = str(v, path, 64);
  if (!UUID.test(s)) throw new MapError(path, 'expected a UUID');
  return s.toLowerCase();
}

interface Who {
  /** The identifier that is pseudonymised. */
  key: string;
  name?: string;
  email?: string;
}

/** An Agent's or identified Group's inverse functional identifier, checked. */
function ifiOf(a: Json, path: string): Who | undefined {
  const present = (['mbox', 'mbox_sha1sum', 'openid', 'account'] as const).filter(
    (k) => a[k] !== undefined && a[k] !== null,
  );
  if (present.length > 1)
    throw new MapError(path, `exactly one identifier allowed, got ${present.join(', ')}`);
  const name = typeof a.name === 'string' ? a.name : undefined;
  switch (present[0]) {
    case 'mbox': {
      const m = str(a.mbox, join(path, 'mbox'), 320);
      if (!MBOX.test(m)) throw new MapError(join(path, 'mbox'), 'expected mailto:address');
      return { key: `mailto:${m.slice(7).toLowerCase()}`, name, email: m.slice(7) };
    }
    case 'mbox_sha1sum': {
      const h = str(a.mbox_sha1sum, join(path, 'mbox_sha1sum'), 40);
      if (!SHA1.test(h)) throw new MapError(join(path, 'mbox_sha1sum'), 'expected 40 hex digits');
      return { key: `sha1:${h.toLowerCase()}`, name };
    }
    case 'openid':
      return { key: iri(a.openid, join(path, 'openid')), name };
    case 'account': {
      const acc = obj(a.account, join(path, 'account'));
      const home = iri(acc.homePage, join(path, 'account.homePage'));
      const user = str(acc.name, join(path, 'account.name'), 512);
      return { key: `${home}#${user}`, name };
    }
    default:
      return undefined;
  }
}

/** Agent or Group (§2.4.2). */
function agent(v: unknown, path: string): Who {
  const a = obj(v, path);
  const kind = a.objectType ?? 'Agent';
  if (kind !== 'Agent' && kind !== 'Group')
    throw new MapError(join(path, 'objectType'), 'expected Agent or Group');
  const who = ifiOf(a, path);
  if (who) {
    if (kind === 'Group' && a.member !== undefined) members(a.member, join(path, 'member'));
    return who;
  }
  if (kind === 'Agent') throw new MapError(path, 'an Agent needs one of mbox, mbox_sha1sum, openid, account');
  // Anonymous Group: identified by its members.
  const list = members(a.member, join(path, 'member'));
  if (list.length === 0) throw new MapError(join(path, 'member'), 'an anonymous Group needs members');
  return {
    key: `group:${list
      .map((m) => m.key)
      .sort()
      .join('|')}`,
  };
}

function members(v: unknown, path: string): Who[] {
  if (!Array.isArray(v)) throw new MapError(path, 'expected an array of Agents');
  return v.map((m, i) => {
    const p = join(path, i);
    const who = ifiOf(obj(m, p), p);
    if (!who) throw new MapError(p, 'a member needs one of mbox, mbox_sha1sum, openid, account');
    return who;
  });
}

interface Target {
  id: string;
  personal: boolean;
}

/** The statement's object (§2.4.4): Activity, Agent/Group, StatementRef or SubStatement. */
function target(v: unknown, path: string, ctx: MapContext, nested: boolean): Target {
  const o = obj(v, path);
  const kind = o.objectType ?? 'Activity';
  switch (kind) {
    case 'Activity':
      return { id: iri(o.id, join(path, 'id')), personal: false };
    case 'Agent':
    case 'Group':
      return { id: ctx.pseudonym(agent(o, path).key), personal: true };
    case 'StatementRef':
      return { id: `urn:uuid:${uuid(o.id, join(path, 'id'))}`, personal: false };
    case 'SubStatement': {
      if (nested)
        throw new MapError(join(path, 'objectType'), 'a SubStatement cannot contain a SubStatement');
      agent(o.actor, join(path, 'actor'));
      verb(o.verb, join(path, 'verb'));
      return target(o.object, join(path, 'object'), ctx, true);
    }
    default:
      throw new MapError(
        join(path, 'objectType'),
        'expected Activity, Agent, Group, StatementRef or SubStatement',
      );
  }
}

function verb(v: unknown, path: string): string {
  const o = obj(v, path);
  return iri(o.id, join(path, 'id'));
}

function courseOf(context: unknown, path: string): string | null {
  if (context === undefined || context === null) return null;
  const c = obj(context, path);
  if (c.contextActivities === undefined) return null;
  const ca = obj(c.contextActivities, join(path, 'contextActivities'));
  const lists: Record<string, Json[]> = {};
  for (const key of ['parent', 'grouping', 'category', 'other'] as const) {
    const raw = ca[key];
    if (raw === undefined) continue;
    // §2.4.6.2: a single Activity object is allowed and means a one-element array.
    const arr = Array.isArray(raw) ? raw : [raw];
    lists[key] = arr.map((a, i) => {
      const p = Array.isArray(raw)
        ? join(join(path, `contextActivities.${key}`), i)
        : join(path, `contextActivities.${key}`);
      const act = obj(a, p);
      iri(act.id, join(p, 'id'));
      return act;
    });
  }
  for (const list of Object.values(lists)) {
    for (const a of list) {
      const def = isObject(a.definition) ? a.definition : undefined;
      if (typeof def?.type === 'string' && COURSE_TYPES.has(def.type)) return a.id as string;
    }
  }
  const first = lists.grouping?.[0] ?? lists.parent?.[0];
  return first ? (first.id as string) : null;
}

function mapStatement(s: unknown, path: string, ctx: MapContext): LearningEvent {
  const st = obj(s, path);
  checkStatement(st, path);
  const id = st.id === undefined || st.id === null ? undefined : uuid(st.id, join(path, 'id'));
  const actor = agent(st.actor, join(path, 'actor'));
  const verbId = verb(st.verb, join(path, 'verb'));
  const object = target(st.object, join(path, 'object'), ctx, false);
  const ts = optIsoTime(st.timestamp, join(path, 'timestamp')) ?? optIsoTime(st.stored, join(path, 'stored'));
  const courseId = courseOf(st.context, join(path, 'context'));
  const out: LearningEvent = {
    eventId: id ? `urn:uuid:${id}` : contentId('xapi', st),
    source: 'xapi',
    type: VERBS[verbId] ?? 'other',
    originalType: verbId,
    actorId: ctx.pseudonym(actor.key),
    courseId,
    objectId: object.personal ? object.id : safeObjectId(object.id, [actor.key], ctx.pseudonym),
    ts: ts ?? ctx.receivedAt,
    receivedAt: ctx.receivedAt,
  };
  if (st.result !== undefined && st.result !== null) {
    const r = obj(st.result, join(path, 'result'));
    if (r.score !== undefined && r.score !== null) {
      const sp = join(path, 'result.score');
      const sc = obj(r.score, sp);
      const scaled = optNum(sc.scaled, join(sp, 'scaled'));
      if (scaled !== undefined && (scaled < -1 || scaled > 1))
        throw new MapError(join(sp, 'scaled'), 'expected -1…1');
      const raw = optNum(sc.raw, join(sp, 'raw'));
      const max = optNum(sc.max, join(sp, 'max'));
      if (raw !== undefined) {
        out.score = raw;
        if (max !== undefined) out.maxScore = max;
      } else if (scaled !== undefined) {
        out.score = scaled;
        out.maxScore = 1;
      }
    }
  }
  if (ctx.keepNames && actor.name) out.actorName = actor.name;
  if (ctx.keepEmails && actor.email) out.actorEmail = actor.email;
  return out;
}

export function mapXapi(body: unknown, ctx: MapContext): MapResult {
  return runMapper(() => {
    const events: CanonicalEvent[] = [];
    if (Array.isArray(body)) {
      if (body.length === 0) throw new MapError('', 'expected at least one statement');
      for (let i = 0; i < body.length; i++) events.push(mapStatement(body[i], join('', i), ctx));
    } else {
      if (!isObject(body)) throw new MapError('', 'expected a statement object or an array of statements');
      events.push(mapStatement(body, '', ctx));
    }
    return { events, ignored: 0 };
  });
}
