/** Canvas, Moodle and admin mappers (Caliper and xAPI have their own files). */
import { describe, expect, it } from 'vitest';
import { ADMIN_EVENT_TYPES, type AdminEvent, type LearningEvent } from '../../../shared/events.ts';
import { mapAdmin } from './admin.ts';
import { mapCanvas } from './canvas.ts';
import { mapMoodle } from './moodle.ts';
import { ctx, fixture, fixtures, ok, pseudonym } from './test-support.ts';

const CANVAS_USER = pseudonym('urn:instructure:canvas:user:21070000000000123');
const CANVAS_COURSE = 'urn:instructure:canvas:course:21070000000000565';

describe('Canvas Live Events', () => {
  it.each([
    ['canvas-logged_in.json', 'session.login', null],
    ['canvas-asset_accessed.json', 'resource.viewed', CANVAS_COURSE],
    ['canvas-submission_created.json', 'assignment.submitted', CANVAS_COURSE],
    ['canvas-grade_change.json', 'assessment.graded', CANVAS_COURSE],
    ['canvas-discussion_entry_created.json', 'forum.posted', CANVAS_COURSE],
    ['canvas-caliper-asset_accessed.json', 'resource.viewed', CANVAS_COURSE],
    ['canvas-caliper-logged_in.json', 'session.login', null],
  ])('%s → %s for the student', (name, type, course) => {
    const e = ok(mapCanvas(fixture('canvas/', name), ctx)).events[0] as LearningEvent;
    expect(e).toMatchObject({ source: 'canvas', type, actorId: CANVAS_USER, courseId: course });
    expect(JSON.stringify(e)).not.toMatch(/21070000000000123|oxana@|456-T45/);
  });

  it('covers every Canvas fixture', () => {
    for (const name of fixtures('canvas/'))
      expect(mapCanvas(fixture('canvas/', name), ctx).ok, name).toBe(true);
  });

  it('both Canvas formats name the same object; a grade carries the score; unknown events are other', () => {
    const native = ok(mapCanvas(fixture('canvas/', 'canvas-asset_accessed.json'), ctx))
      .events[0] as LearningEvent;
    const caliper = ok(mapCanvas(fixture('canvas/', 'canvas-caliper-asset_accessed.json'), ctx))
      .events[0] as LearningEvent;
    expect(native.objectId).toBe(caliper.objectId);
    const grade = ok(mapCanvas(fixture('canvas/', 'canvas-grade_change.json'), ctx))
      .events[0] as LearningEvent;
    expect(grade).toMatchObject({ score: 8, maxScore: 10 });
    const other = ok(mapCanvas(fixture('canvas/', 'canvas-wiki_page_updated.json'), ctx)).events[0]!;
    expect(other).toMatchObject({ type: 'other', originalType: 'wiki_page_updated' });
  });

  it('a viewed user profile is pseudonymised like the actor', () => {
    const raw = fixture('canvas/', 'canvas-asset_accessed.json') as { body: Record<string, unknown> };
    raw.body = { asset_type: 'user', asset_id: '21070000000000456', asset_name: 'Ana Lopez' };
    const e = ok(mapCanvas(raw, ctx)).events[0] as LearningEvent;
    expect(e.objectId).toBe(pseudonym('urn:instructure:canvas:user:21070000000000456'));
    expect(JSON.stringify(e)).not.toMatch(/21070000000000456|Ana/);
  });

  it('a resend has the same content id; a missing event_time is refused with its path', () => {
    const raw = fixture('canvas/', 'canvas-asset_accessed.json') as { metadata: Record<string, unknown> };
    const a = ok(mapCanvas(raw, ctx)).events[0]!.eventId;
    expect(ok(mapCanvas(structuredClone(raw), ctx)).events[0]!.eventId).toBe(a);
    delete raw.metadata.event_time;
    const r = mapCanvas(raw, ctx);
    expect(!r.ok && r.rejection.path).toBe('metadata.event_time');
  });
});

describe('Moodle events', () => {
  const user5 = pseudonym('moodle:user:5');

  it('maps a submission, a login (no raw user id anywhere) and a batch', () => {
    const sub = ok(mapMoodle(fixture('moodle/', 'moodle-assessable_submitted.json'), ctx)).events[0]!;
    expect(sub).toMatchObject({
      source: 'moodle',
      type: 'assignment.submitted',
      actorId: user5,
      courseId: 'moodle:course:3',
      objectId: 'moodle:cm:51',
      ts: 1700049600_000,
    });
    const login = ok(mapMoodle(fixture('moodle/', 'moodle-user_loggedin.json'), ctx)).events[0]!;
    expect(login).toMatchObject({ type: 'session.login', actorId: user5, courseId: null, objectId: user5 });
    expect(JSON.stringify(login)).not.toMatch(/jsmith|:5\b/);
    const batch = ok(mapMoodle(fixture('moodle/', 'moodle-batch.json'), ctx)).events;
    expect(batch.map((e) => e.type)).toEqual([
      'resource.viewed',
      'assessment.graded',
      'forum.posted',
      'other',
    ]);
    // The grade is about the student (relateduserid 5), not the teacher (userid 2).
    expect(batch[1]).toMatchObject({ actorId: user5, score: 72.5 });
    expect(batch[3]).toMatchObject({ originalType: '\\mod_book\\event\\chapter_viewed' });
  });

  it('takes an event without userid as about its relateduserid, and one without a course as site-level', () => {
    const e = fixture('moodle/', 'moodle-assessable_submitted.json') as Record<string, unknown>;
    delete e.userid;
    e.relateduserid = 5;
    delete e.courseid;
    const r = mapMoodle(e, ctx);
    expect(r.ok && r.events[0]).toMatchObject({ actorId: ctx.pseudonym('moodle:user:5'), courseId: null });
    e.userid = 'five';
    expect(
      !mapMoodle(e, ctx).ok && (mapMoodle(e, ctx) as { rejection: { path: string } }).rejection.path,
    ).toBe('userid');
  });

  it.each([
    ['eventname', 'eventname'],
    ['timecreated', 'timecreated'],
  ])('refuses an event without %s', (field, path) => {
    const e = fixture('moodle/', 'moodle-assessable_submitted.json') as Record<string, unknown>;
    delete e[field];
    const r = mapMoodle(e, ctx);
    expect(!r.ok && r.rejection.path).toBe(path);
    const b = mapMoodle([fixture('moodle/', 'moodle-user_loggedin.json'), e], ctx);
    expect(!b.ok && b.rejection.path).toBe(`[1].${path}`);
  });
});

describe('admin events', () => {
  it('maps every documented type', () => {
    const r = ok(
      mapAdmin(
        {
          events: [
            {
              eventId: 'sis-1',
              type: 'enrolment.created',
              ts: '2026-09-01T08:00:00Z',
              studentId: 's1234567',
              courseId: 'CS101-2026',
              studentEmail: 'ana@uni.example',
            },
            {
              eventId: 'sis-2',
              type: 'enrolment.withdrawn',
              ts: 1788000000000,
              studentId: 's1234567',
              courseId: 'CS101-2026',
            },
            {
              eventId: 'sis-3',
              type: 'enrolment.completed',
              ts: 1788000000000,
              studentId: 's1234567',
              courseId: 'CS101-2026',
            },
            {
              eventId: 'tt-1',
              type: 'room.booked',
              ts: 1788000000000,
              roomId: 'B1-101',
              bookingId: 'bk-9',
              startTs: '2026-09-02T09:00:00Z',
              endTs: '2026-09-02T11:00:00Z',
              courseId: 'CS101-2026',
            },
            {
              eventId: 'tt-2',
              type: 'room.released',
              ts: 1788000000000,
              roomId: 'B1-101',
              bookingId: 'bk-9',
            },
            {
              eventId: 'wo-1',
              type: 'workorder.opened',
              ts: 1788000000000,
              workOrderId: 'WO-77',
              roomId: 'B1-101',
              priority: 'high',
            },
            { eventId: 'wo-2', type: 'workorder.closed', ts: 1788000000000, workOrderId: 'WO-77' },
            { eventId: 'x-1', type: 'parking.permit_issued', ts: 1788000000000 },
          ],
        },
        ctx,
      ),
    ).events as AdminEvent[];
    // One event of each catalogued type, in catalogue order; the last, of an unlisted type, is kept as other.
    expect(r.map((e) => e.type)).toEqual([...ADMIN_EVENT_TYPES]);
    expect(r[0]).toMatchObject({
      actorId: pseudonym('s1234567'),
      courseId: 'CS101-2026',
      ts: Date.parse('2026-09-01T08:00:00Z'),
    });
    expect(r[3]).toMatchObject({ roomId: 'B1-101', startTs: Date.parse('2026-09-02T09:00:00Z') });
    expect(r[7]).toMatchObject({ originalType: 'parking.permit_issued' });
    expect(JSON.stringify(r)).not.toMatch(/s1234567|ana@/);
  });

  it('names the bad field', () => {
    const r = mapAdmin(
      [{ eventId: 'a', type: 'room.booked', ts: 1, roomId: 'B1-101', bookingId: 'b', startTs: 1 }],
      ctx,
    );
    expect(!r.ok && r.rejection).toMatchObject({ code: 'CT_ERR_SCHEMA', path: '[0].endTs' });
    const r2 = mapAdmin({ eventId: 'a', type: 'enrolment.created', ts: 1, courseId: 'C' }, ctx);
    expect(!r2.ok && r2.rejection.path).toBe('studentId');
  });

  it('keeps names and emails only when configured', () => {
    const ev = {
      eventId: 'sis-1',
      type: 'enrolment.created',
      ts: 1,
      studentId: 's1',
      courseId: 'C',
      studentName: 'Ana',
      studentEmail: 'ana@uni.example',
    };
    expect(ok(mapAdmin(ev, ctx)).events[0]).not.toHaveProperty('actorEmail');
    expect(ok(mapAdmin(ev, { ...ctx, keepNames: true, keepEmails: true })).events[0]).toMatchObject({
      actorName: 'Ana',
      actorEmail: 'ana@uni.example',
    });
  });
});
