/**
 * One node-cron task the cloud runs (snapshots, risk refresh): never overlapping itself (a tick while the last
 * run is still going is skipped and reported), node-cron's own messages routed to our log.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../../shared/logger.ts';

export function scheduleTask(opts: {
  name: string;
  cron: string;
  timezone: string;
  logger: Logger;
  run: () => Promise<void>;
  onOverlap: () => void;
}): ScheduledTask {
  const { logger } = opts;
  const task = cron.schedule(opts.cron, opts.run, {
    name: opts.name,
    timezone: opts.timezone,
    noOverlap: true,
    logger: {
      info: (m) => logger.debug(m),
      warn: (m) => logger.warn(m),
      error: (m, err) => logger.error({ err: err ?? m }, 'node-cron error'),
      debug: (m) => logger.debug(typeof m === 'string' ? m : m.message),
    },
  });
  task.on('execution:overlap', opts.onOverlap);
  return task;
}
