/**
 * Our own admin-event schema (student records, timetabling, maintenance) → AdminEvent (pure).
 * POST /webhooks/admin takes one event, an array, or `{events: […]}`. Every event has `eventId` (the
 * sender's unique id: a resend is a duplicate), `type` and `ts` (ISO 8601 or epoch ms); the rest depends on
 * the type (README "Admin events"). A well-formed event of a type not listed is kept as `other`.
 * studentId becomes a pseudonym; name and email are dropped unless configured.
 */
import { z } from 'zod';
import { ADMIN_EVENT_TYPES, type AdminEvent, type AdminEventType } from '../../../shared/events.ts';
import { eventsIn, isObject, join, type MapContext, MapError, type MapResult, runMapper } from './common.ts';

const text = z.string().min(1).max(256);
const time = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true, local: false }).transform((s) => Date.parse(s)),
]);

const base = z.object({
  eventId: z.string().min(1).max(512),
  ts: time,
  studentName: z.string().max(256).optional(),
  studentEmail: z.string().max(320).optional(),
});

const enrolment = base.extend({
  type: z.enum(['enrolment.created', 'enrolment.withdrawn', 'enrolment.completed']),
  studentId: text,
  courseId: text,
  reason: z.string().max(256).optional(),
});
const booking = base.extend({
  type: z.literal('room.booked'),
  roomId: text,
  bookingId: text,
  startTs: time,
  endTs: time,
  courseId: text.optional(),
});
const release = base.extend({
  type: z.literal('room.released'),
  roomId: text,
  bookingId: text,
});
const workOrder = base.extend({
  type: z.enum(['workorder.opened', 'workorder.closed']),
  workOrderId: text,
  roomId: text.optional(),
  priority: z.enum(['low', 'normal', 'high', 'urgent']).optional(),
});
const other = base.extend({
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'expected a dotted type such as room.booked'),
  studentId: text.optional(),
  courseId: text.optional(),
  roomId: text.optional(),
});

const KNOWN = new Set<string>(ADMIN_EVENT_TYPES);

function schemaFor(type: unknown): z.ZodType {
  switch (type) {
    case 'enrolment.created':
    case 'enrolment.withdrawn':
    case 'enrolment.completed':
      return enrolment;
    case 'room.booked':
      return booking;
    case 'room.released':
      return release;
    case 'workorder.opened':
    case 'workorder.closed':
      return workOrder;
    default:
      return other;
  }
}

function mapAdminEvent(v: unknown, path: string, ctx: MapContext): AdminEvent {
  if (!isObject(v)) throw new MapError(path, 'expected an object');
  const r = schemaFor(v.type).safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    let p = path;
    for (const k of issue.path) p = join(p, typeof k === 'number' ? k : String(k));
    throw new MapError(p, issue.message);
  }
  const d = r.data as Record<string, unknown> & { eventId: string; type: string; ts: number };
  const known = KNOWN.has(d.type) && d.type !== 'other';
  const out: AdminEvent = {
    eventId: d.eventId,
    source: 'admin',
    type: (known ? d.type : 'other') as AdminEventType,
    originalType: d.type,
    ts: d.ts,
    receivedAt: ctx.receivedAt,
    actorId: typeof d.studentId === 'string' ? ctx.pseudonym(d.studentId) : null,
    courseId: typeof d.courseId === 'string' ? d.courseId : null,
    roomId: typeof d.roomId === 'string' ? d.roomId : null,
  };
  if (typeof d.bookingId === 'string') out.bookingId = d.bookingId;
  if (typeof d.workOrderId === 'string') out.workOrderId = d.workOrderId;
  if (typeof d.startTs === 'number') out.startTs = d.startTs;
  if (typeof d.endTs === 'number') out.endTs = d.endTs;
  if (typeof d.priority === 'string') out.priority = d.priority as AdminEvent['priority'] & string;
  if (ctx.keepNames && typeof d.studentName === 'string') out.actorName = d.studentName;
  if (ctx.keepEmails && typeof d.studentEmail === 'string') out.actorEmail = d.studentEmail;
  return out;
}

export function mapAdmin(body: unknown, ctx: MapContext): MapResult {
  return runMapper(() => ({
    events: eventsIn(body).map(({ event, path }) => mapAdminEvent(event, path, ctx)),
    ignored: 0,
  }));
}
