/**
 * A simulated cohort in the LMS, as xAPI statements: `students` learners in `courses` courses, active on
 * weekdays 08:00–22:00 UTC; a share of them (`disengageShare`, drawn per student from the seed) tapers off
 * after `disengageAfterDays` and stops a week later — what the cloud's dropout risk should pick up. Pure and
 * deterministic: statementsBetween(from, to) is the same for the same options, and statement ids are
 * stable, so a resend is recognised as a duplicate by the gateway. startLmsSimulator posts them, signed, to
 * a gateway's xAPI webhook as time passes.
 */
import { startWebhookFeed, type WebhookFeed, type WebhookFeedOptions } from './feed.ts';
import { unitHash } from './model.ts';

export interface LmsCohort {
  students: number;
  courses: number;
  seed: string;
  /** When the term starts (epoch ms): disengagement counts from here. */
  termStart: number;
  disengageShare: number;
  disengageAfterDays: number;
  /** Statements per engaged student per active hour, on average. */
  perHour: number;
}

export const DEFAULT_COHORT: Omit<LmsCohort, 'termStart'> = {
  students: 60,
  courses: 4,
  seed: 'campus-twin',
  disengageShare: 0.2,
  disengageAfterDays: 14,
  perHour: 0.5,
};

const VERBS = [
  ['http://adlnet.gov/expapi/verbs/experienced', 'experienced'],
  ['http://adlnet.gov/expapi/verbs/answered', 'answered'],
  ['http://adlnet.gov/expapi/verbs/completed', 'completed'],
  ['http://adlnet.gov/expapi/verbs/attempted', 'attempted'],
] as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function uuidFrom(...parts: (string | number)[]): string {
  const hex = (k: number) =>
    Math.floor(unitHash(...parts, k) * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  const h = hex(1) + hex(2) + hex(3) + hex(4);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Whether student `s` disengages, and how active they still are at `ts` (1 … 0). */
export function activity(c: LmsCohort, s: number, ts: number): number {
  if (unitHash(c.seed, 'disengage', s) >= c.disengageShare) return 1;
  const days = (ts - c.termStart) / DAY - c.disengageAfterDays;
  return days <= 0 ? 1 : Math.max(0, 1 - days / 7);
}

/** The cohort's statements with timestamps in [from, to), in time order. */
export function statementsBetween(c: LmsCohort, from: number, to: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let hour = Math.floor(from / HOUR); hour * HOUR < to; hour++) {
    const t0 = hour * HOUR;
    const d = new Date(t0);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6 || d.getUTCHours() < 8 || d.getUTCHours() >= 22) continue;
    for (let s = 0; s < c.students; s++) {
      // Up to 4 chances an hour, each taken with perHour/4 × activity.
      for (let k = 0; k < 4; k++) {
        if (unitHash(c.seed, s, hour, k) >= (c.perHour / 4) * activity(c, s, t0)) continue;
        const ts = t0 + Math.floor(unitHash(c.seed, s, hour, k, 'at') * HOUR);
        if (ts < from || ts >= to) continue;
        const course = Math.floor(unitHash(c.seed, 'course', s) * c.courses);
        const [verb, word] = VERBS[Math.floor(unitHash(c.seed, s, hour, k, 'verb') * VERBS.length)]!;
        out.push({
          id: uuidFrom(c.seed, s, hour, k),
          actor: {
            objectType: 'Agent',
            account: { homePage: 'https://lms.example.edu', name: `student-${s}` },
          },
          verb: { id: verb, display: { 'en-US': word } },
          object: {
            objectType: 'Activity',
            id: `https://lms.example.edu/course/${course}/activity/${Math.floor(unitHash(c.seed, s, hour, k, 'a') * 12)}`,
          },
          context: {
            contextActivities: { grouping: [{ id: `https://lms.example.edu/course/${course}` }] },
          },
          timestamp: new Date(ts).toISOString(),
        });
      }
    }
  }
  return out.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
}

export interface LmsSimOptions extends Omit<WebhookFeedOptions, 'source' | 'bearer'> {
  secret: string;
  cohort: LmsCohort;
}

export type LmsSim = WebhookFeed;

/** Posts each interval's statements (signed, in batches) to the xAPI webhook as the clock passes them. */
export function startLmsSimulator(opts: LmsSimOptions): LmsSim {
  return startWebhookFeed({ ...opts, source: 'xapi' }, (opts.now ?? Date.now)(), (from, to) =>
    statementsBetween(opts.cohort, from, to),
  );
}
