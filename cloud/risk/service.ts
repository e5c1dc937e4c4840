/**
 * Dropout scores refreshed on a node-cron schedule (`reporting.riskCron`): every student still enrolled is
 * scored as of now with the latest models; a refresh that finds the last one still running is skipped.
 */
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../../shared/logger.ts';
import type { CloudMetrics } from '../metrics.ts';
import { scheduleTask } from '../reporting/cron.ts';
import type { CloudStore } from '../store/types.ts';
import { scoreCourses } from './train.ts';

export interface RiskService {
  refresh(): Promise<{ courses: number; scores: number }>;
  start(): void;
  stop(): Promise<void>;
}

export function createRiskService(deps: {
  store: CloudStore;
  now: () => number;
  logger: Logger;
  metrics: CloudMetrics;
  cron: string;
  timezone: string;
}): RiskService {
  const { logger, metrics } = deps;
  let task: ScheduledTask | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const refresh = async () => {
    try {
      const r = await scoreCourses(deps.store, deps.now());
      metrics.riskRefreshes.inc({ outcome: 'ok' });
      metrics.riskScores.set(r.scores);
      if (r.scores > 0) logger.info(r, 'risk scores refreshed');
      return r;
    } catch (err) {
      metrics.riskRefreshes.inc({ outcome: 'failed' });
      logger.error({ err }, 'risk score refresh failed');
      throw err;
    }
  };
  return {
    refresh() {
      const p = refresh();
      running = p.catch(() => undefined);
      return p;
    },
    start() {
      if (!deps.cron || task) return;
      task = scheduleTask({
        name: 'risk-scores',
        cron: deps.cron,
        timezone: deps.timezone,
        logger,
        onOverlap: () => metrics.riskRefreshes.inc({ outcome: 'skipped_overlap' }),
        run: async () => {
          running = refresh().catch(() => undefined);
          await running;
        },
      });
    },
    async stop() {
      await task?.destroy();
      task = undefined;
      await running;
    },
  };
}
