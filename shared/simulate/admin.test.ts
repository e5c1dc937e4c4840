import { describe, expect, it } from 'vitest';
import { adminEventsBetween } from './admin.ts';
import { activity, DEFAULT_COHORT, type LmsCohort } from './lms.ts';
import { peopleAt } from './model.ts';

const DAY = 86_400_000;
const TERM = Date.UTC(2026, 8, 7); // a Monday
const cohort: LmsCohort = { ...DEFAULT_COHORT, termStart: TERM, students: 40 };
const rooms = [{ roomId: 'r-101' }, { roomId: 'r-102' }];
const opts = { cohort, rooms, workOrdersPerWeek: 2 };
const of = (events: Record<string, unknown>[], type: string) => events.filter((e) => e.type === type);

describe('simulated admin systems', () => {
  const term = adminEventsBetween(opts, TERM - DAY, TERM + 28 * DAY);

  it('is deterministic with unique event ids, and the same split into intervals', () => {
    expect(adminEventsBetween(opts, TERM - DAY, TERM + 28 * DAY)).toEqual(term);
    expect(new Set(term.map((e) => e.eventId)).size).toBe(term.length);
    const split = [
      ...adminEventsBetween(opts, TERM - DAY, TERM + 9.37 * DAY),
      ...adminEventsBetween(opts, TERM + 9.37 * DAY, TERM + 28 * DAY),
    ];
    expect(split).toEqual(term);
    const times = term.map((e) => Date.parse(String(e.ts)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('enrols every student at the start of term and withdraws exactly those who stop in the LMS', () => {
    const enrolled = of(term, 'enrolment.created').map((e) => e.studentId);
    expect(enrolled).toEqual(Array.from({ length: cohort.students }, (_, s) => `student-${s}`));
    const stopped = Array.from({ length: cohort.students }, (_, s) => s)
      .filter((s) => activity(cohort, s, TERM + 30 * DAY) === 0)
      .map((s) => `student-${s}`);
    expect(stopped.length).toBeGreaterThan(0);
    const withdrawn = of(term, 'enrolment.withdrawn');
    expect(withdrawn.map((e) => e.studentId).sort()).toEqual(stopped.sort());
    for (const w of withdrawn) expect(Date.parse(String(w.ts))).toBeGreaterThanOrEqual(TERM + 21 * DAY);
  });

  it('books the lecture hours the sensor model fills, announced at 07:00 the same day', () => {
    const bookings = of(term, 'room.booked');
    expect(bookings.length).toBeGreaterThan(2 * 20 * 9 * 0.4);
    for (const b of bookings) {
      const start = Date.parse(String(b.startTs));
      expect(new Date(String(b.ts)).getUTCHours()).toBe(7);
      expect(String(b.ts).slice(0, 10)).toBe(String(b.startTs).slice(0, 10));
      // People are in the booked room 10 minutes in, and gone after it ends.
      expect(peopleAt(String(b.roomId), 30, start + 10 * 60_000)).toBeGreaterThan(0);
      expect(peopleAt(String(b.roomId), 30, Date.parse(String(b.endTs)) + 60_000)).toBe(0);
    }
    // An hour with people is always booked.
    for (let h = 0; h < 4 * 24; h++) {
      const t = TERM + h * 3_600_000 + 20 * 60_000;
      if (peopleAt('r-101', 30, t) === 0) continue;
      expect(
        bookings.some((b) => b.roomId === 'r-101' && Date.parse(String(b.startTs)) === t - 20 * 60_000),
      ).toBe(true);
    }
  });

  it('opens work orders in rooms and closes each one later', () => {
    const opened = of(term, 'workorder.opened');
    const closed = of(term, 'workorder.closed');
    expect(opened.length).toBeGreaterThan(2);
    for (const o of opened) {
      const c = closed.find((x) => x.workOrderId === o.workOrderId);
      if (!c) continue; // closed after the span
      expect(Date.parse(String(c.ts))).toBeGreaterThan(Date.parse(String(o.ts)));
      expect(c.roomId).toBe(o.roomId);
    }
    expect(closed.length).toBeGreaterThanOrEqual(opened.length - 1);
  });
});
