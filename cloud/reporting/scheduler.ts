/**
 * Snapshot builds, scheduled (node-cron, the client's chosen scheduler) and on demand, never overlapping:
 * builds run one at a time in this process (an on-demand request waits for a running build), a scheduled
 * tick that finds a build still running is skipped and counted, and the store's IMMEDIATE transaction
 * serialises builders across processes sharing one store.
 */
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../../shared/logger.ts';
import type { CloudMetrics } from '../metrics.ts';
import type { AnalyticsOptions, CloudStore, SnapshotInfo, SnapshotTrigger } from '../store/types.ts';
import { scheduleTask } from './cron.ts';

export interface SnapshotScheduleConfig {
  /** A node-cron expression (5 or 6 fields); '' disables the schedule. */
  cron: string;
  timezone: string;
}

export interface SnapshotService {
  /** Builds a snapshot with this cut-off after any build already running; resolves with it. */
  build(cutoffTs: number, trigger: SnapshotTrigger): Promise<SnapshotInfo>;
  readonly busy: boolean;
  /** The next scheduled build, or null without a schedule. */
  nextRun(): Date | null;
  start(): void;
  stop(): Promise<void>;
}

export function createSnapshotService(deps: {
  store: CloudStore;
  now: () => number;
  logger: Logger;
  metrics: CloudMetrics;
  schedule: SnapshotScheduleConfig;
  /** How facility analytics are computed (store default when absent). */
  analytics?: AnalyticsOptions;
}): SnapshotService {
  const { store, logger, metrics } = deps;
  let tail: Promise<unknown> = Promise.resolve();
  let running = 0;
  let task: ScheduledTask | undefined;

  const run = async (cutoffTs: number, trigger: SnapshotTrigger): Promise<SnapshotInfo> => {
    const end = metrics.snapshotSeconds.startTimer();
    try {
      const info = await store.createSnapshot({
        cutoffTs,
        now: deps.now(),
        trigger,
        ...(deps.analytics ? { analytics: deps.analytics } : {}),
      });
      const seconds = end();
      metrics.snapshots.inc({ trigger, outcome: 'ok' });
      logger.info({ ...info, seconds }, 'snapshot built');
      return info;
    } catch (err) {
      end();
      metrics.snapshots.inc({ trigger, outcome: 'failed' });
      logger.error({ err, trigger, cutoffTs }, 'snapshot build failed');
      throw err;
    }
  };

  const service: SnapshotService = {
    build(cutoffTs, trigger) {
      running++;
      const p = tail.then(() => run(cutoffTs, trigger));
      tail = p.catch(() => undefined).finally(() => running--);
      return p;
    },
    get busy() {
      return running > 0;
    },
    nextRun() {
      return task?.getNextRun() ?? null;
    },
    start() {
      if (!deps.schedule.cron || task) return;
      const skipped = () => {
        metrics.snapshots.inc({ trigger: 'schedule', outcome: 'skipped_overlap' });
        logger.warn('scheduled snapshot skipped: a build is still running');
      };
      task = scheduleTask({
        name: 'snapshots',
        cron: deps.schedule.cron,
        timezone: deps.schedule.timezone,
        logger,
        // A tick while the previous scheduled build still runs: node-cron's noOverlap skips it.
        onOverlap: skipped,
        run: async () => {
          // An on-demand build is running: this tick is skipped rather than queued behind it.
          if (service.busy) return skipped();
          // A failure is logged and counted in run(); the schedule keeps going.
          await service.build(deps.now(), 'schedule').catch(() => undefined);
        },
      });
    },
    async stop() {
      await task?.destroy();
      task = undefined;
      await tail;
    },
  };
  return service;
}
