/**
 * Training and scoring through a real SQLite store on a synthetic campus: three terms of one course, students
 * whose activity relates to whether they withdraw. Checks the held-out figures are computed, training is
 * deterministic, post-cut-off events cannot change a model or a score (leakage), and scores carry factors.
 */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../consume/validate.ts';
import { eventColumns } from '../consume/validate.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { DAY_MS } from './features.ts';
import { modelFor, scoreCourses, trainRisk } from './train.ts';

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TERM_STARTS = [Date.UTC(2024, 1, 1), Date.UTC(2024, 9, 1), Date.UTC(2025, 1, 1)];
const NOW = Date.UTC(2026, 0, 1);

function stored(body: Record<string, unknown>): StoredEvent {
  return { ...eventColumns(body), json: JSON.stringify(body) };
}

/** Events of a synthetic campus; `postCutoff` decides what happens after day 28 (the leakage test varies it). */
function campus(seed: number, postCutoff: (rand: () => number, day: number) => number) {
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

async function storeWith(seed: number, postCutoff: (rand: () => number, day: number) => number) {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const { events, courses } = campus(seed, postCutoff);
  await store.upsertCourses(courses);
  await store.importEvents(events);
  return store;
}

describe('dropout risk: training and scoring on a synthetic campus', () => {
  it('trains on older terms, measures on the newest, and is deterministic', async () => {
    const store = await storeWith(1, (r) => r());
    try {
      const m = await trainRisk(store, { cutoffDay: 28, now: NOW });
      expect(m.training.courses).toEqual(['C-0', 'C-1']);
      expect(m.holdout.courses).toEqual(['C-2']);
      expect(m.training.rows + m.holdout.rows).toBe(450);
      expect(m.holdout.auc).toBeGreaterThan(0.7);
      expect(m.holdout.auc!).toBeGreaterThanOrEqual(m.holdout.baselineAucNegClicks! - 0.05);
      expect(m.holdout.bins.reduce((n, b) => n + b.count, 0)).toBe(m.holdout.rows);
      expect(m.importances[0]!.feature).toMatch(/clicks|active|days_since|no_activity|submissions/);
      const again = await trainRisk(store, { cutoffDay: 28, now: NOW + 1 });
      expect({ ...again, createdAt: 0 }).toEqual({ ...m, createdAt: 0 });
    } finally {
      await store.close();
    }
  });

  it('cannot see past the cut-off: other post-cut-off events give the same model and scores', async () => {
    const a = await storeWith(2, (r) => r());
    const b = await storeWith(2, (r, day) => (r() + day * 0.37) % 1); // different activity after day 28
    try {
      const ma = await trainRisk(a, { cutoffDay: 28, now: NOW });
      const mb = await trainRisk(b, { cutoffDay: 28, now: NOW });
      expect(mb.modelId).toBe(ma.modelId);
      // Score every course as of day 28 of the newest term with the same model.
      const at = TERM_STARTS[2]! + 28 * DAY_MS;
      await a.saveRiskModel(ma);
      await b.saveRiskModel(ma);
      await scoreCourses(a, at);
      await scoreCourses(b, at);
      const sa = await a.riskScores({ courseId: 'C-2', top: 1000 });
      expect(sa.length).toBeGreaterThan(50);
      expect(await b.riskScores({ courseId: 'C-2', top: 1000 })).toEqual(sa);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('scores students still enrolled, highest risk first, each with its top factors', async () => {
    const store = await storeWith(3, (r) => r());
    try {
      const m = await trainRisk(store, { cutoffDay: 28, now: NOW });
      await store.saveRiskModel(m);
      const at = TERM_STARTS[2]! + 28 * DAY_MS;
      const r = await scoreCourses(store, at);
      expect(r.courses).toBe(3);
      const top = await store.riskScores({ courseId: 'C-2', top: 5 });
      expect(top.map((s) => s.probability)).toEqual([...top.map((s) => s.probability)].sort((x, y) => y - x));
      expect(top[0]!.factors.length).toBe(3);
      expect(top[0]!.factors.some((f) => f.direction === 'raises')).toBe(true);
      expect(top[0]).toMatchObject({ modelId: m.modelId, courseDay: 28, computedAt: at });
      // A student withdrawn before `at` is not scored.
      const all = await store.riskScores({ courseId: 'C-0', top: 1000 });
      expect(all.length).toBe(0); // C-0 ended long before: everyone withdrew or completed
      expect(modelFor([m, { ...m, modelId: 'x', cutoffDay: 56 }], 40)?.modelId).toBe(m.modelId);
      expect(modelFor([m, { ...m, modelId: 'x', cutoffDay: 56 }], 60)?.modelId).toBe('x');
      expect(modelFor([{ ...m, cutoffDay: 56 }], 10)?.cutoffDay).toBe(56);
    } finally {
      await store.close();
    }
  });
});
