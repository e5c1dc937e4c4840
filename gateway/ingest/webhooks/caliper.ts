/**
 * Caliper Analytics 1.1 / 1.2 → LearningEvent (pure). Accepts an envelope (`sensor`, `sendTime`,
 * `dataVersion`, `data[]`, Caliper 1.2 §4) or a single event. An envelope's `data` may mix events and entity
 * "describes" (§4.2): events are mapped, entities are counted as ignored. A bare entity, or anything that is
 * neither an event nor an envelope, is refused. Canvas's Caliper format goes through here too.
 *
 * Event (§5): `id` (a UUID URN), `type`, `actor`, `action`, `object` and `eventTime` are required; actor,
 * object, group… may be full entities or "thinned" to their IRI (§5.3). Beyond that each event is held to
 * its type's and profile's rules (caliper-rules.ts): an unknown event type, an action its type does not
 * allow or an entity of the wrong type is refused with the field and the rule. Known events we have no
 * canonical type for are kept as `other` with the original `Type.Action`.
 */
import type { LearningEvent, LearningEventType, LearningSource } from '../../../shared/events.ts';
import type { CaliperVersion } from './caliper-profiles.ts';
import { caliperVersion, checkCaliperEvent } from './caliper-rules.ts';
import {
  type CanonicalEvent,
  eventIdOf,
  iri,
  isObject,
  isoTime,
  type Json,
  join,
  localName,
  type MapContext,
  MapError,
  type MapResult,
  optNum,
  runMapper,
  safeObjectId,
  str,
} from './common.ts';

const TYPES: Record<string, LearningEventType> = {
  'SessionEvent.LoggedIn': 'session.login',
  'SessionEvent.LoggedOut': 'session.logout',
  'SessionEvent.TimedOut': 'session.logout',
  'ViewEvent.Viewed': 'resource.viewed',
  'NavigationEvent.NavigatedTo': 'resource.viewed',
  'ReadingEvent.Viewed': 'resource.viewed',
  'MediaEvent.Started': 'media.played',
  'MediaEvent.Resumed': 'media.played',
  'AssignableEvent.Submitted': 'assignment.submitted',
  'AssessmentEvent.Started': 'assessment.started',
  'AssessmentEvent.Submitted': 'assessment.submitted',
  'GradeEvent.Graded': 'assessment.graded',
  'OutcomeEvent.Graded': 'assessment.graded',
  'MessageEvent.Posted': 'forum.posted',
  'ToolLaunchEvent.Launched': 'tool.launched',
  'ToolUseEvent.Used': 'tool.used',
  'AssignableEvent.Completed': 'activity.completed',
};

const PERSON_TYPES = new Set(['Person', 'Agent']);

/** An event has an action (every Caliper event does; no entity has one). */
function isEvent(v: Json): boolean {
  return 'action' in v || (typeof v.type === 'string' && /Event$/.test(localName(v.type)));
}

function isEnvelope(v: Json): boolean {
  return Array.isArray(v.data) && ('sensor' in v || 'dataVersion' in v || 'sendTime' in v);
}

/** An entity or its IRI (thinned): its id. */
function idOf(v: unknown, path: string): string {
  if (typeof v === 'string') return iri(v, path);
  if (isObject(v)) return iri(v.id, join(path, 'id'));
  if (v === undefined || v === null) throw new MapError(path, 'required');
  throw new MapError(path, 'expected an entity or its IRI');
}

function optIdOf(v: unknown, path: string): string | null {
  return v === undefined || v === null ? null : idOf(v, path);
}

function mapCaliperEvent(
  e: Json,
  path: string,
  ctx: MapContext,
  source: LearningSource,
  version: CaliperVersion,
): LearningEvent {
  const eventId = eventIdOf(e.id, join(path, 'id'));
  const type = str(e.type, join(path, 'type'), 256);
  const action = str(e.action, join(path, 'action'), 256);
  const actorRaw = idOf(e.actor, join(path, 'actor'));
  const objectRaw = idOf(e.object, join(path, 'object'));
  const ts = isoTime(e.eventTime, join(path, 'eventTime'));
  const typeName = localName(type);
  const actionName = localName(action);
  checkCaliperEvent(e, path, caliperVersion(e, version), typeName, actionName);
  const originalType = `${typeName}.${actionName}`;
  const canonical = TYPES[originalType] ?? 'other';
  const object = isObject(e.object) ? e.object : undefined;
  const generated = isObject(e.generated) ? e.generated : undefined;

  // A grade is about the learner who made the attempt, not the grader (often an autograder).
  let learnerRaw = actorRaw;
  let objectId = objectRaw;
  const attempt =
    object?.type === 'Attempt' ? object : isObject(generated?.attempt) ? generated.attempt : undefined;
  if (attempt) {
    const assignee = optIdOf(attempt.assignee, join(path, 'object.assignee'));
    if (assignee && canonical === 'assessment.graded') learnerRaw = assignee;
    // The attempt's own id embeds the learner: name the assignable (the assessment) instead.
    const assignable = optIdOf(attempt.assignable, join(path, 'object.assignable'));
    if (object === attempt && assignable) objectId = assignable;
  }

  let courseId = optIdOf(e.group, join(path, 'group'));
  if (courseId === null && isObject(e.membership))
    courseId = optIdOf(e.membership.organization, join(path, 'membership'));

  const out: LearningEvent = {
    eventId,
    source,
    type: canonical,
    originalType,
    actorId: ctx.pseudonym(learnerRaw),
    courseId,
    // An object that is a person (a profile viewed, a member added) is pseudonymised like an actor.
    objectId: PERSON_TYPES.has(String(object?.type))
      ? ctx.pseudonym(objectRaw)
      : safeObjectId(objectId, learnerRaw === actorRaw ? [actorRaw] : [actorRaw, learnerRaw], ctx.pseudonym),
    ts,
    receivedAt: ctx.receivedAt,
  };
  if (generated && (generated.type === 'Score' || generated.type === 'Result')) {
    const score = optNum(
      generated.scoreGiven ?? generated.resultScore ?? generated.totalScore,
      join(path, 'generated'),
    );
    const max = optNum(generated.maxScore ?? generated.maxResultScore, join(path, 'generated.maxScore'));
    if (score !== undefined) out.score = score;
    if (max !== undefined) out.maxScore = max;
  }
  if (isObject(e.actor)) {
    if (ctx.keepNames && typeof e.actor.name === 'string') out.actorName = e.actor.name;
    if (ctx.keepEmails && typeof e.actor.email === 'string') out.actorEmail = e.actor.email;
  }
  return out;
}

export function mapCaliper(body: unknown, ctx: MapContext, source: LearningSource = 'caliper'): MapResult {
  return runMapper(() => {
    if (!isObject(body)) throw new MapError('', 'expected a Caliper envelope or event object');
    const events: CanonicalEvent[] = [];
    let ignored = 0;
    if (isEnvelope(body)) {
      str(body.sensor, 'sensor');
      isoTime(body.sendTime, 'sendTime');
      const version = caliperVersion({ '@context': str(body.dataVersion, 'dataVersion') }, 'v1p2');
      const data = body.data as unknown[];
      for (let i = 0; i < data.length; i++) {
        const item = data[i];
        const p = join('data', i);
        if (!isObject(item)) throw new MapError(p, 'expected an event or entity object');
        if (isEvent(item)) events.push(mapCaliperEvent(item, p, ctx, source, version));
        else if (typeof item.type === 'string') ignored++;
        else throw new MapError(join(p, 'type'), 'required');
      }
      return { events, ignored };
    }
    if (!isEvent(body)) {
      const what =
        typeof body.type === 'string' ? `a ${body.type} entity` : 'neither an event nor an envelope';
      throw new MapError(
        typeof body.type === 'string' ? 'type' : '',
        `${what}; send events (entities only inside an envelope)`,
      );
    }
    events.push(mapCaliperEvent(body, '', ctx, source, 'v1p2'));
    return { events, ignored };
  });
}
