/**
 * The history file format `campus-twin cloud import` reads: JSON Lines, one record per line. Pure parsing:
 * each line becomes a canonical event, a course, or a rejection with its error code.
 *
 * - an event: a canonical learning or admin event (shared/events.ts) — `eventId`, `source`, `type`, `ts`,
 *   `actorId` (a pseudonym), `courseId`, … — with an optional `count` for a summary row (a day's clicks);
 * - a course: `{"kind":"course","courseId","name"?,"startTs","endTs"?,"assessments"?:[{"assessmentId",
 *   "kind"?,"dueTs"?,"weight"?}]}` — what lets risk features be taken at "day N of the course" and
 *   submissions be judged against due dates.
 */
import { z } from 'zod';
import type { ErrorCode } from '../../shared/errors.ts';
import { isRejection, type StoredEvent, validateItem } from '../consume/validate.ts';

export interface CourseRecord {
  courseId: string;
  name: string | null;
  startTs: number;
  endTs: number | null;
  assessments: { assessmentId: string; kind: string | null; dueTs: number | null; weight: number | null }[];
}

const ms = z.number().int().nonnegative();
const id = z.string().min(1).max(512);
const courseSchema = z
  .object({
    kind: z.literal('course'),
    courseId: id,
    name: z.string().max(512).optional(),
    startTs: ms,
    endTs: ms.optional(),
    assessments: z
      .array(
        z.object({
          assessmentId: id,
          kind: z.string().max(64).optional(),
          dueTs: ms.optional(),
          weight: z.number().finite().nonnegative().optional(),
        }),
      )
      .max(10_000)
      .default([]),
  })
  .refine((c) => c.endTs === undefined || c.endTs >= c.startTs, { message: 'endTs is before startTs' });

export type ImportRecord =
  | { kind: 'event'; event: StoredEvent }
  | { kind: 'course'; course: CourseRecord }
  | { kind: 'rejected'; code: ErrorCode; message: string }
  | { kind: 'blank' };

export function parseRecord(line: string): ImportRecord {
  if (line.trim() === '') return { kind: 'blank' };
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch (err) {
    return { kind: 'rejected', code: 'CT_ERR_NOT_JSON', message: (err as Error).message };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { kind: 'rejected', code: 'CT_ERR_SCHEMA', message: 'a line must be a JSON object' };
  const rec = body as Record<string, unknown>;
  if (rec.kind === 'course') {
    const r = courseSchema.safeParse(rec);
    if (!r.success) {
      const issue = r.error.issues[0];
      return {
        kind: 'rejected',
        code: 'CT_ERR_SCHEMA',
        message: `course: ${issue?.path.join('.') || ''} ${issue?.message ?? ''}`.trim(),
      };
    }
    const c = r.data;
    return {
      kind: 'course',
      course: {
        courseId: c.courseId,
        name: c.name ?? null,
        startTs: c.startTs,
        endTs: c.endTs ?? null,
        assessments: c.assessments.map((a) => ({
          assessmentId: a.assessmentId,
          kind: a.kind ?? null,
          dueTs: a.dueTs ?? null,
          weight: a.weight ?? null,
        })),
      },
    };
  }
  const v = validateItem('event', { id: String(rec.eventId ?? ''), body: rec });
  if (isRejection(v)) return { kind: 'rejected', code: 'CT_ERR_SCHEMA', message: v.reason };
  if (v.cls !== 'event') return { kind: 'rejected', code: 'CT_ERR_SCHEMA', message: 'not an event' };
  return { kind: 'event', event: v.value };
}
