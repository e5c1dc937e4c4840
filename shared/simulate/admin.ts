/**
 * Simulated admin systems, as our admin webhook's events (README "Admin events"): the student record
 * (every student of the LMS cohort enrolled at the start of term; those who disengage withdrawn when
 * they fall silent, a week after they start tapering off), timetabling (each morning at 07:00 UTC, the
 * day's bookings of every simulated room: the same lecture hours the sensor model fills, so the twin's
 * booking prior and its sensors agree) and maintenance (now and then a work order opened in a room and
 * closed a few hours later). Pure and deterministic, with stable event ids (a resend is a duplicate);
 * startAdminSimulator posts them, signed, as the clock passes them.
 */
import { startWebhookFeed, type WebhookFeed, type WebhookFeedOptions } from './feed.ts';
import type { LmsCohort } from './lms.ts';
import { activity } from './lms.ts';
import { bookedHour, unitHash } from './model.ts';

export interface AdminSimRoom {
  roomId: string;
}

export interface AdminSimOptions {
  cohort: LmsCohort;
  rooms: readonly AdminSimRoom[];
  /** The sensor model's seed, so bookings follow the same timetable (see simDevicesFrom). */
  seed?: string;
  /** Work orders per room per week, on average. */
  workOrdersPerWeek?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PRIORITIES = ['low', 'normal', 'normal', 'high', 'urgent'] as const;

/** The admin events with timestamps in [from, to), in time order. */
export function adminEventsBetween(o: AdminSimOptions, from: number, to: number): Record<string, unknown>[] {
  const c = o.cohort;
  const out: Record<string, unknown>[] = [];
  const at = (ts: number) => ts >= from && ts < to;
  const iso = (ts: number) => new Date(ts).toISOString();
  for (let s = 0; s < c.students; s++) {
    const studentId = `student-${s}`;
    const courseId = `course-${Math.floor(unitHash(c.seed, 'course', s) * c.courses)}`;
    const enrolled = c.termStart + s * 60_000;
    if (at(enrolled)) {
      out.push({
        eventId: `enrol-${c.seed}-${s}`,
        type: 'enrolment.created',
        ts: iso(enrolled),
        studentId,
        courseId,
      });
    }
    // Withdrawn once the LMS activity has stopped: disengageAfterDays + 7 days into the term.
    const stopped = c.termStart + (c.disengageAfterDays + 7) * DAY + s * 60_000;
    if (at(stopped) && activity(c, s, stopped) === 0) {
      out.push({
        eventId: `withdraw-${c.seed}-${s}`,
        type: 'enrolment.withdrawn',
        ts: iso(stopped),
        studentId,
        courseId,
        reason: 'no longer attending',
      });
    }
  }
  // Everything of a day happens within that day (bookings at 07:00, work orders closed by 23:00).
  for (let day = Math.floor(from / DAY); day * DAY < to; day++) {
    const published = day * DAY + 7 * HOUR;
    for (const { roomId } of o.rooms) {
      const seeded = o.seed ? `${o.seed}/${roomId}` : roomId;
      if (at(published)) {
        for (let h = 9; h < 18; h++) {
          const start = day * DAY + h * HOUR;
          if (!bookedHour(seeded, start)) continue;
          out.push({
            eventId: `booking-${seeded}-${start}`,
            type: 'room.booked',
            ts: iso(published),
            roomId,
            bookingId: `bk-${roomId}-${iso(start).slice(0, 13)}`,
            startTs: iso(start),
            endTs: iso(start + 50 * 60_000),
          });
        }
      }
      // A work order a room now and then (workOrdersPerWeek / 7 a day), open for 1-8 hours.
      const perDay = (o.workOrdersPerWeek ?? 0.5) / 7;
      if (unitHash(seeded, 'workorder', day) >= perDay) continue;
      const opened = day * DAY + (8 + Math.floor(unitHash(seeded, 'wo-at', day) * 8)) * HOUR;
      const closed = opened + (1 + Math.floor(unitHash(seeded, 'wo-for', day) * 8)) * HOUR;
      const workOrderId = `wo-${roomId}-${iso(opened).slice(0, 10)}`;
      const priority = PRIORITIES[Math.floor(unitHash(seeded, 'wo-pri', day) * PRIORITIES.length)]!;
      for (const [what, ts] of [
        ['opened', opened],
        ['closed', closed],
      ] as const) {
        if (!at(ts)) continue;
        const e = { eventId: `${workOrderId}-${what}`, type: `workorder.${what}`, ts: iso(ts) };
        out.push({ ...e, workOrderId, roomId, priority });
      }
    }
  }
  return out.sort(
    (a, b) => String(a.ts).localeCompare(String(b.ts)) || String(a.eventId).localeCompare(String(b.eventId)),
  );
}

export type AdminSimStartOptions = AdminSimOptions & Omit<WebhookFeedOptions, 'source'>;

export type AdminSim = WebhookFeed;

/**
 * Posts each interval's admin events as the clock passes them; the first tick also sends what already
 * happened today (the term's enrolments, this morning's bookings), as a records system catching up would.
 */
export function startAdminSimulator(opts: AdminSimStartOptions): AdminSim {
  const from = Math.min(opts.cohort.termStart, Math.floor((opts.now ?? Date.now)() / DAY) * DAY);
  return startWebhookFeed({ ...opts, source: 'admin' }, from, (a, b) => adminEventsBetween(opts, a, b));
}
