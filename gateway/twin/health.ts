/**
 * Device health from last-seen time: a device is judged against its own expectedIntervalMs, so a meter
 * polled every 15 min and a sensor reporting every 10 s are both "online" when they keep their rhythm.
 */
import type { DeviceHealth } from '../../shared/events.ts';
import { formatNumber } from './comfort.ts';

export interface HealthConfig {
  /** Stale once the device has been silent for more than staleFactor × its expected interval. */
  staleFactor: number;
  /** Offline once silent for more than offlineFactor × its expected interval. */
  offlineFactor: number;
}

export interface HealthVerdict {
  health: DeviceHealth;
  reason: string;
}

export function judgeHealth(
  lastSeen: number | null,
  expectedIntervalMs: number,
  now: number,
  cfg: HealthConfig,
): HealthVerdict {
  if (lastSeen === null) return { health: 'offline', reason: 'never seen' };
  const silentMs = Math.max(0, now - lastSeen);
  const interval = `${formatDuration(expectedIntervalMs)} expected interval`;
  if (silentMs > cfg.offlineFactor * expectedIntervalMs) {
    return {
      health: 'offline',
      reason: `silent ${formatDuration(silentMs)} > ${formatNumber(cfg.offlineFactor)} × ${interval}`,
    };
  }
  if (silentMs > cfg.staleFactor * expectedIntervalMs) {
    return {
      health: 'stale',
      reason: `silent ${formatDuration(silentMs)} > ${formatNumber(cfg.staleFactor)} × ${interval}`,
    };
  }
  return { health: 'online', reason: `last seen ${formatDuration(silentMs)} ago` };
}

/** "45 s", "12 min", "3.5 h": for reasons that a person reads on the status page. */
export function formatDuration(ms: number): string {
  if (ms < 600_000) return `${formatNumber(ms / 1000)} s`;
  if (ms < 2 * 3600_000) return `${formatNumber(ms / 60_000)} min`;
  return `${formatNumber(ms / 3600_000)} h`;
}
