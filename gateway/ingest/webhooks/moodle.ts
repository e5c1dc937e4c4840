/**
 * Moodle events → LearningEvent (pure), as webhook plugins (local_webhooks and the like) post them and as
 * the standard log store keeps them: the event's `get_data()` — eventname, component, action, target,
 * objecttable, objectid, crud, edulevel, contextid, contextlevel, contextinstanceid, userid, courseid,
 * relateduserid, anonymous, other, timecreated (Unix seconds) — one object, an array, or `{events: […]}`.
 * Only eventname and timecreated are required (the learner is userid, or relateduserid for a grade or a
 * system-raised event; site-level events have no course): component, target and action are derived
 * from the event name when absent (`\mod_assign\event\assessable_submitted` → mod_assign, assessable,
 * submitted), and `other` may be an object, JSON text, or PHP-serialised text (the log store's own form).
 * Moodle sends no event id: a content hash stands in. User ids become pseudonyms of `moodle:user:<id>`;
 * course ids `moodle:course:<id>`.
 */
import type { LearningEvent, LearningEventType } from '../../../shared/events.ts';
import {
  contentId,
  eventsIn,
  isObject,
  type Json,
  join,
  type MapContext,
  MapError,
  type MapResult,
  obj,
  optNum,
  runMapper,
  str,
} from './common.ts';
import { looksPhpSerialized, phpUnserialize } from './php-serialize.ts';

const TYPES: Record<string, LearningEventType> = {
  '\\core\\event\\user_loggedin': 'session.login',
  '\\core\\event\\user_loggedout': 'session.logout',
  '\\core\\event\\course_viewed': 'resource.viewed',
  '\\mod_assign\\event\\assessable_submitted': 'assignment.submitted',
  '\\mod_quiz\\event\\attempt_started': 'assessment.started',
  '\\mod_quiz\\event\\attempt_submitted': 'assessment.submitted',
  '\\core\\event\\user_graded': 'assessment.graded',
  '\\mod_assign\\event\\submission_graded': 'assessment.graded',
  '\\mod_forum\\event\\post_created': 'forum.posted',
  '\\mod_forum\\event\\discussion_created': 'forum.posted',
  '\\mod_lti\\event\\course_module_viewed': 'tool.launched',
  '\\core\\event\\course_module_completion_updated': 'activity.completed',
  '\\core\\event\\course_completed': 'activity.completed',
};

/** Moodle's CONTEXT_MODULE: contextinstanceid is then the course module id. */
const CONTEXT_MODULE = 70;

function int(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new MapError(path, 'expected an integer ≥ 0');
  return n;
}

function optInt(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : int(v, path);
}

function moodleType(eventname: string, action: string, target: string | undefined): LearningEventType {
  const t = TYPES[eventname];
  if (t) return t;
  if (action === 'viewed' && target === 'course_module') return 'resource.viewed';
  return 'other';
}

/** component, target and action from `\component\event\target_action`. */
export function namesOf(
  eventname: string,
): { component: string; target: string; action: string } | undefined {
  const m = /^\\([a-z0-9_]+)\\event\\([a-z0-9_]+)$/.exec(eventname);
  if (!m) return undefined;
  const name = m[2]!;
  const cut = name.lastIndexOf('_');
  return {
    component: m[1]!,
    target: cut > 0 ? name.slice(0, cut) : name,
    action: cut > 0 ? name.slice(cut + 1) : name,
  };
}

/** `other` as an object, whatever form it came in (object, JSON text, PHP-serialised text, empty). */
function otherOf(v: unknown, path: string): Json | unknown[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (isObject(v) || Array.isArray(v)) return v as Json;
  if (typeof v !== 'string') throw new MapError(path, 'expected an object, JSON text or PHP-serialised text');
  try {
    const parsed = looksPhpSerialized(v) ? phpUnserialize(v) : JSON.parse(v);
    if (parsed === null) return undefined;
    if (isObject(parsed) || Array.isArray(parsed)) return parsed as Json;
  } catch (err) {
    throw new MapError(path, `not JSON or PHP-serialised text (${(err as Error).message})`);
  }
  throw new MapError(path, 'expected an object');
}

function mapMoodleEvent(e: Json, path: string, ctx: MapContext): LearningEvent {
  const eventname = str(e.eventname, join(path, 'eventname'), 256);
  if (!eventname.startsWith('\\'))
    throw new MapError(join(path, 'eventname'), 'expected \\component\\event\\name');
  const derived = namesOf(eventname);
  if (e.component !== undefined) str(e.component, join(path, 'component'), 128);
  const action = e.action !== undefined ? str(e.action, join(path, 'action'), 128) : derived?.action;
  if (action === undefined)
    throw new MapError(
      join(path, 'action'),
      'required when eventname is not \\component\\event\\target_action',
    );
  const target = typeof e.target === 'string' ? e.target : derived?.target;
  // Events raised by the system (cron completions, automatic submissions) name the student only in
  // relateduserid; site-level events have no course (null or 0).
  const userid = optInt(e.userid, join(path, 'userid')) ?? 0;
  const courseid = optInt(e.courseid, join(path, 'courseid')) ?? 0;
  const contextinstanceid = optInt(e.contextinstanceid, join(path, 'contextinstanceid')) ?? 0;
  const timecreated = int(e.timecreated, join(path, 'timecreated'));
  const relateduserid = optInt(e.relateduserid, join(path, 'relateduserid'));
  const objectid = optInt(e.objectid, join(path, 'objectid'));
  const contextlevel = optInt(e.contextlevel, join(path, 'contextlevel'));
  const other = otherOf(e.other, join(path, 'other'));
  const type = moodleType(eventname, action, target);
  // A grade is about the graded student (relateduserid), not the teacher who graded.
  const learner = (type === 'assessment.graded' || userid === 0) && relateduserid ? relateduserid : userid;
  const anonymous = e.anonymous === 1 || e.anonymous === true;
  const user = (id: number) => ctx.pseudonym(`moodle:user:${id}`);
  let objectId: string | null;
  if (e.objecttable === 'user' && objectid !== undefined) objectId = user(objectid);
  else if (contextlevel === CONTEXT_MODULE) objectId = `moodle:cm:${contextinstanceid}`;
  else if (typeof e.objecttable === 'string' && objectid !== undefined)
    objectId = `moodle:${e.objecttable}:${objectid}`;
  else objectId = courseid > 0 ? `moodle:course:${courseid}` : null;
  const out: LearningEvent = {
    eventId: contentId('moodle', { ...e, host: undefined, token: undefined }),
    source: 'moodle',
    type,
    originalType: eventname,
    actorId: learner > 0 && !anonymous ? user(learner) : null,
    courseId: courseid > 0 ? `moodle:course:${courseid}` : null,
    objectId,
    ts: timecreated * 1000,
    receivedAt: ctx.receivedAt,
  };
  if (type === 'assessment.graded' && isObject(other)) {
    const score = optNum(other.finalgrade ?? other.grade, join(path, 'other.finalgrade'));
    const max = optNum(other.grademax, join(path, 'other.grademax'));
    if (score !== undefined) out.score = score;
    if (max !== undefined) out.maxScore = max;
  }
  return out;
}

export function mapMoodle(body: unknown, ctx: MapContext): MapResult {
  return runMapper(() => ({
    events: eventsIn(body).map(({ event, path }) => mapMoodleEvent(obj(event, path), path, ctx)),
    ignored: 0,
  }));
}
