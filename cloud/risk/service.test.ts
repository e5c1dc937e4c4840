import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import { CloudMetrics } from '../metrics.ts';
import { DAY_MS } from './features.ts';
import { createRiskService } from './service.ts';
import { NOW, storeWith, TERM_STARTS } from './synthetic.ts';
import { trainRisk } from './train.ts';

describe('risk score refresh', () => {
  it('scores students still enrolled on its node-cron schedule', async () => {
    const store = await storeWith(9, (r) => r());
    const metrics = new CloudMetrics();
    const at = TERM_STARTS[2]! + 35 * DAY_MS;
    const svc = createRiskService({
      store,
      now: () => at,
      logger: createLogger({ level: 'silent' }),
      metrics,
      cron: '* * * * * *',
      timezone: 'UTC',
    });
    try {
      // Without a model there is nothing to score.
      expect(await svc.refresh()).toEqual({ courses: 0, scores: 0 });
      await store.saveRiskModel(await trainRisk(store, { cutoffDay: 28, now: NOW }));
      svc.start();
      const deadline = Date.now() + 5000;
      let scores = await store.riskScores({ courseId: 'C-2', top: 1000 });
      while (scores.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        scores = await store.riskScores({ courseId: 'C-2', top: 1000 });
      }
      expect(scores.length).toBeGreaterThan(50);
      expect(scores[0]).toMatchObject({ courseDay: 35, computedAt: at });
      const ok =
        (await metrics.riskRefreshes.get()).values.find((v) => v.labels.outcome === 'ok')?.value ?? 0;
      expect(ok).toBeGreaterThanOrEqual(2);
      // The gauge counts every course's scores (C-1 is still running too).
      const everyone = await store.riskScores({ top: 100_000 });
      expect(everyone.length).toBeGreaterThan(scores.length);
      expect((await metrics.riskScores.get()).values[0]?.value).toBe(everyone.length);
    } finally {
      await svc.stop();
      await store.close();
    }
  });
});
