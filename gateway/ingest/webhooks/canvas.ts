/**
 * Canvas Live Events → LearningEvent (pure). Canvas delivers in one of two formats, chosen per
 * subscription (Canvas "Live Events" docs, Data Services):
 *  - Canvas format: `{metadata: {event_name, event_time, user_id, context_type, context_id, …}, body: {…}}`;
 *  - Caliper format: Caliper 1.1 envelopes/events (IMS ids `urn:instructure:canvas:user:<id>` …), mapped
 *    by caliper.ts with source `canvas`.
 * Canvas-format ids are written the way the Caliper format writes them, so both formats give the same
 * pseudonym for a user and the same course id. Canvas sends no event id: a content hash stands in.
 */
import type { LearningEvent, LearningEventType } from '../../../shared/events.ts';
import { mapCaliper } from './caliper.ts';
import {
  type CanonicalEvent,
  contentId,
  isObject,
  isoTime,
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

const TYPES: Record<string, LearningEventType> = {
  logged_in: 'session.login',
  logged_out: 'session.logout',
  asset_accessed: 'resource.viewed',
  wiki_page_viewed: 'resource.viewed',
  submission_created: 'assignment.submitted',
  quiz_submitted: 'assessment.submitted',
  quizzes_next_quiz_submitted: 'assessment.submitted',
  grade_change: 'assessment.graded',
  discussion_entry_created: 'forum.posted',
  discussion_topic_created: 'forum.posted',
  module_item_completed: 'activity.completed',
  course_completed: 'activity.completed',
};

const PREFIX = 'urn:instructure:canvas';
const idText = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** What the event is about, in Canvas's own ids, by the body's fields (the first one present wins). */
const OBJECT_KEYS: readonly [string, string][] = [
  ['assignment_id', 'assignment'],
  ['quiz_id', 'quiz'],
  ['discussion_topic_id', 'discussionTopic'],
  ['wiki_page_id', 'wikiPage'],
  ['module_item_id', 'moduleItem'],
  ['attachment_id', 'attachment'],
  ['course_id', 'course'],
];

function mapCanvasEvent(m: Json, b: Json, path: string, ctx: MapContext): LearningEvent {
  const mp = join(path, 'metadata');
  const name = str(m.event_name, join(mp, 'event_name'), 128);
  const ts = isoTime(m.event_time, join(mp, 'event_time'));
  const canonical = TYPES[name] ?? 'other';
  // A grade change is about the student, not the grader (metadata.user_id).
  const learner =
    canonical === 'assessment.graded'
      ? (idText(b.student_id) ?? idText(b.user_id) ?? idText(m.user_id))
      : (idText(m.user_id) ?? idText(b.user_id));
  const course =
    m.context_type === 'Course' ? idText(m.context_id) : (idText(b.course_id) ?? idText(m.course_id));
  let objectId: string | null = null;
  if (name === 'asset_accessed' && idText(b.asset_id) && typeof b.asset_type === 'string') {
    // A user asset (a profile page) is a person: its id is pseudonymised like the actor's.
    const assetType = b.asset_type.toLowerCase() === 'user' ? 'user' : b.asset_type;
    objectId = `${PREFIX}:${assetType}:${idText(b.asset_id)}`;
  } else {
    for (const [key, kind] of OBJECT_KEYS) {
      const v = idText(b[key]);
      if (v) {
        objectId = `${PREFIX}:${kind}:${v}`;
        break;
      }
    }
  }
  const out: LearningEvent = {
    eventId: contentId('canvas', { metadata: m, body: b }),
    source: 'canvas',
    type: canonical,
    originalType: name,
    actorId: learner ? ctx.pseudonym(`${PREFIX}:user:${learner}`) : null,
    courseId: course ? `${PREFIX}:course:${course}` : null,
    objectId: objectId?.startsWith(`${PREFIX}:user:`) ? ctx.pseudonym(objectId) : objectId,
    ts,
    receivedAt: ctx.receivedAt,
  };
  if (canonical === 'assessment.graded') {
    const score = optNum(b.score, join(path, 'body.score'));
    const max = optNum(b.points_possible, join(path, 'body.points_possible'));
    if (score !== undefined) out.score = score;
    if (max !== undefined) out.maxScore = max;
  }
  if (ctx.keepNames && typeof b.user_name === 'string') out.actorName = b.user_name;
  if (ctx.keepEmails && typeof m.user_login === 'string' && m.user_login.includes('@'))
    out.actorEmail = m.user_login;
  return out;
}

function isCanvasFormat(v: Json): boolean {
  return 'metadata' in v && 'body' in v;
}

export function mapCanvas(body: unknown, ctx: MapContext): MapResult {
  if (isObject(body) && !isCanvasFormat(body)) return mapCaliper(body, ctx, 'canvas');
  return runMapper(() => {
    const events: CanonicalEvent[] = [];
    const list = Array.isArray(body) ? body : [body];
    for (let i = 0; i < list.length; i++) {
      const p = Array.isArray(body) ? join('', i) : '';
      const e = obj(list[i], p);
      if (!isCanvasFormat(e)) throw new MapError(p, 'expected a Canvas live event {metadata, body}');
      events.push(mapCanvasEvent(obj(e.metadata, join(p, 'metadata')), obj(e.body, join(p, 'body')), p, ctx));
    }
    return { events, ignored: 0 };
  });
}
