/**
 * Training and scoring through a real SQLite store on a synthetic campus: three terms of one course, students
 * whose activity relates to whether they withdraw. Checks the held-out figures are computed, training is
 * deterministic, post-cut-off events cannot change a model or a score (leakage), and scores carry factors.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS } from './features.ts';
import { NOW, storeWith, TERM_STARTS } from './synthetic.ts';
import { modelFor, scoreCourses, trainRisk } from './train.ts';

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
