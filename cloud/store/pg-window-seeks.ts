/**
 * The windows' spans and seeks on PostgreSQL (migration 8): the SQLite store's scheme (window-seeks.ts).
 * The windows' key is time-major, so an apply's new windows go to the key's end; a read by sensor takes the
 * sensor's spans from `sensor_windows` and probes the key at each window start (generate_series).
 *
 * `sensor_windows` and `aggregates` are both distributed by `sensor_id` on Citus and joined on it.
 */
import { bulk, bulkSql, type PgQueryable, pgPlaceholders, pgRows } from './pg-sql.ts';
import type { WindowRow } from './room-periods.ts';
import { SPANS, type SpanTracker, timeSlices, UPSERT_SPAN, type WindowSpan } from './window-seeks.ts';

const B = 'bigint';

/** Spans written in key order, so two consumers' transactions lock shared rows in the same order. */
const UPSERT_SPANS = bulkSql(UPSERT_SPAN, [B, B, B, B, B]);

/** The first window start of span `s` at or after `lo` (an SQL expression). */
const alignedFrom = (lo: string) =>
  `GREATEST(${lo}, s.first_start) + (((s.phase - GREATEST(${lo}, s.first_start)) % s.window_ms) + s.window_ms) % s.window_ms`;

/** $1 sensor, windows starting in [$2, $3), by start then size. */
const SENSOR_SLICE = `SELECT a.* FROM sensor_windows s
  CROSS JOIN LATERAL generate_series(${alignedFrom('$2::bigint')}, LEAST($3::bigint - 1, s.last_start), s.window_ms) AS g(x)
  JOIN aggregates a ON a.window_ms = s.window_ms AND a.window_start = g.x AND a.sensor_id = s.sensor_id
  WHERE s.sensor_id = $1
  ORDER BY a.window_start, a.window_ms`;

const PG_SPANS = pgPlaceholders(SPANS);

/**
 * Several sensors' windows starting in [their from, $3), of every size each has, in one round trip; each
 * sensor's rows by size, then start.
 */
const SENSORS_WINDOWS = `SELECT s.sensor_id, a.window_start, a.window_ms, a.count, a.sum, a.min, a.max,
  a.first_value, a.last_value
FROM unnest($1::bigint[], $2::bigint[]) AS u(sensor, from_ts)
JOIN sensor_windows s ON s.sensor_id = u.sensor
CROSS JOIN LATERAL generate_series(${alignedFrom('u.from_ts')}, LEAST($3::bigint - 1, s.last_start), s.window_ms) AS g(x)
JOIN aggregates a ON a.window_ms = s.window_ms AND a.window_start = g.x AND a.sensor_id = s.sensor_id
ORDER BY s.sensor_id, a.window_ms, a.window_start`;

/** Write the spans `tracker` collected (inside the apply's transaction). */
export async function pgWriteSpans(db: PgQueryable, tracker: SpanTracker): Promise<void> {
  const rows = tracker
    .take()
    .map(({ sensor, span }) => [sensor, span.ms, span.phase, span.first, span.last] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  await bulk(db, UPSERT_SPANS, rows);
}

/** A sensor's first `limit` windows starting in [from, to), by start then size (time slice by slice). */
export async function pgSensorWindows<T extends { window_start: number; window_ms: number }>(
  db: PgQueryable,
  sensor: number,
  from: number,
  to: number,
  limit: number,
): Promise<T[]> {
  const spans = await pgRows<WindowSpan>(db, PG_SPANS, [sensor]);
  const out: T[] = [];
  for (const [at, end] of timeSlices(spans, from, to, limit)) {
    out.push(...(await pgRows<T>(db, SENSOR_SLICE, [sensor, at, end])));
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

/** Several sensors' windows (SENSORS_WINDOWS), by sensor id. */
export async function pgSensorsWindows(
  db: PgQueryable,
  reads: readonly { sensorId: number; from: number }[],
  to: number,
): Promise<Map<number, WindowRow[]>> {
  const out = new Map<number, WindowRow[]>();
  if (reads.length === 0) return out;
  const found = await pgRows<WindowRow & { sensor_id: number }>(db, SENSORS_WINDOWS, [
    reads.map((r) => r.sensorId),
    reads.map((r) => r.from),
    to,
  ]);
  for (const { sensor_id, ...row } of found) {
    const list = out.get(sensor_id);
    if (list) list.push(row);
    else out.set(sensor_id, [row]);
  }
  return out;
}
