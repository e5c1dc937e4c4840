/**
 * A room's history for one quantity, re-aggregated from stored windows into fixed intervals (aligned to
 * multiples of the interval since the epoch, so hourly buckets start on the hour in UTC). Pure.
 * Windows from several sensors of the room merge into the same buckets: count and sum add, min/max widen.
 */

export interface StoredWindow {
  windowStart: number;
  windowMs: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface HistoryBucket {
  ts: number;
  count: number;
  min: number;
  max: number;
  mean: number;
}

/** "90s", "5m", "1h", "1d" or milliseconds; undefined when malformed or not positive. */
export function parseInterval(v: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  const ms = Number(m[1]) * unit;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** Buckets in time order; a window belongs to the bucket its start falls in. */
export function rebucket(windows: readonly StoredWindow[], intervalMs: number): HistoryBucket[] {
  const buckets = new Map<number, { count: number; sum: number; min: number; max: number }>();
  for (const w of windows) {
    const ts = Math.floor(w.windowStart / intervalMs) * intervalMs;
    const b = buckets.get(ts);
    if (!b) buckets.set(ts, { count: w.count, sum: w.sum, min: w.min, max: w.max });
    else {
      b.count += w.count;
      b.sum += w.sum;
      if (w.min < b.min) b.min = w.min;
      if (w.max > b.max) b.max = w.max;
    }
  }
  return [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([ts, b]) => ({ ts, count: b.count, min: b.min, max: b.max, mean: b.sum / b.count }));
}
