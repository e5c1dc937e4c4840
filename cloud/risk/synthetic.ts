/**
 * A synthetic campus for risk tests: three terms of one course, 150 students each, whose activity before day
 * 28 relates to whether they later withdraw. Deterministic (seeded); `postCutoff` varies what happens after
 * day 28 so a test can show it cannot matter.
 */

import { rng } from '../../shared/random.ts';
import { eventColumns, type StoredEvent } from '../consume/validate.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { DAY_MS } from './features.ts';

export const TERM_STARTS = [Date.UTC(2024, 1, 1), Date.UTC(2024, 9, 1), Date.UTC(2025, 1, 1)];
export const NOW = Date.UTC(2026, 0, 1);

function stored(body: Record<string, unknown>): StoredEvent {
  return { ...eventColumns(body), json: JSON.stringify(body) };
}

/** Events of a synthetic campus; `postCutoff` decides what happens after day 28 (the leakage test varies it). */
export function campus(seed: number, postCutoff: (rand: () => number, day: number) => number) {
  const rand = rng(seed);
  const events: StoredEvent[] = [];
  const courses = TERM_STARTS.map((start, t) => ({
    courseId: `C-${t}`,
    name: null,
    startTs: start,
    endTs: start + 200 * DAY_MS,
    assessments: [{ assessmentId: `a-${t}`, kind: 'TMA', dueTs: start + 20 * DAY_MS, weight: 10 }],
  }));
  const rand2 = rng(seed + 1000);
  for (const c of courses) {
    for (let s = 0; s < 150; s++) {
      const student = `p_${c.courseId}_${s}`;
      const engaged = rand(); // 0…1
      const ev = (id: string, type: string, ts: number, over: Record<string, unknown> = {}) =>
        events.push(
          stored({
            eventId: `${student}:${id}`,
            source: over.source ?? 'import',
            type,
            originalType: type,
            ts,
            receivedAt: ts,
            actorId: student,
            courseId: c.courseId,
            objectId: null,
            ...over,
          }),
        );
      ev('reg', 'enrolment.created', c.startTs - Math.floor(rand() * 60) * DAY_MS, { source: 'admin' });
      for (let d = -5; d < 28; d++)
        if (rand() < engaged * 0.8)
          ev(`v${d}`, 'resource.viewed', c.startTs + d * DAY_MS + 43_200_000, {
            count: 1 + Math.floor(rand() * 20 * engaged),
          });
      if (rand() < engaged)
        ev('sub', 'assessment.submitted', c.startTs + (15 + Math.floor(rand() * 8)) * DAY_MS, {
          objectId: c.assessments[0]!.assessmentId,
        });
      // After the cut-off: activity drawn by the variant, then the outcome.
      for (let d = 28; d < 150; d++)
        if (postCutoff(rand2, d) < engaged * 0.5)
          ev(`v${d}`, 'resource.viewed', c.startTs + d * DAY_MS + 43_200_000, { count: 3 });
      const withdraws = rand() > engaged * 1.3;
      if (withdraws)
        ev('out', 'enrolment.withdrawn', c.startTs + (30 + Math.floor(rand() * 100)) * DAY_MS, {
          source: 'admin',
        });
      else ev('out', 'enrolment.completed', c.endTs, { source: 'admin' });
    }
  }
  return { events, courses };
}

export async function storeWith(seed: number, postCutoff: (rand: () => number, day: number) => number) {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const { events, courses } = campus(seed, postCutoff);
  await store.upsertCourses(courses);
  await store.importEvents(events);
  return store;
}
