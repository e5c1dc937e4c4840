/**
 * A sensor's windows on SQLite, read by seeks into the time-major window key (schema version 10).
 *
 * The windows' unique key is (window_ms, window_start, sensor_id). An apply call's windows are recent, so
 * their key entries go side by side at the end of the index. Under the sensor-major key of versions 4–9,
 * a call's entries went into one place per sensor, each in the middle of the index, and every one of those
 * index pages was written again at the commit.
 *
 * The reads know where to look from `sensor_windows`: per sensor, window size and phase (start modulo size),
 * the first window start and a bound on the last (SPAN_AHEAD). Every window of that span starts at
 * first + k × size, so a read seeks each of those keys in the requested range.
 */
import type Database from 'better-sqlite3';
import { NestedMap } from './sensor-map.ts';

/** Where a sensor's windows of one size and phase start, and a bound on where they end (inclusive). */
export interface WindowSpan {
  ms: number;
  phase: number;
  first: number;
  last: number;
}

export const SENSOR_WINDOWS_DDL = `CREATE TABLE IF NOT EXISTS sensor_windows (
  sensor_id INTEGER NOT NULL, window_ms INTEGER NOT NULL, phase INTEGER NOT NULL,
  first_start INTEGER NOT NULL, last_start INTEGER NOT NULL,
  PRIMARY KEY (sensor_id, window_ms, phase)) WITHOUT ROWID;`;

/** Every sensor's spans from the windows a file already holds (run once, when `sensor_windows` is new). */
export const FILL_SENSOR_WINDOWS = `INSERT INTO sensor_windows (sensor_id, window_ms, phase, first_start, last_start)
  SELECT sensor_id, window_ms, ((window_start % window_ms) + window_ms) % window_ms, MIN(window_start), MAX(window_start)
  FROM aggregates GROUP BY 1, 2, 3`;

/** A span written, merged with the one stored (portable: PostgreSQL runs it over arrays, pg-window-seeks.ts). */
export const UPSERT_SPAN = `INSERT INTO sensor_windows (sensor_id, window_ms, phase, first_start, last_start)
  VALUES (?, ?, ?, ?, ?) ON CONFLICT (sensor_id, window_ms, phase) DO UPDATE SET
  first_start = CASE WHEN excluded.first_start < sensor_windows.first_start
    THEN excluded.first_start ELSE sensor_windows.first_start END,
  last_start = CASE WHEN excluded.last_start > sensor_windows.last_start
    THEN excluded.last_start ELSE sensor_windows.last_start END`;

/** A sensor's spans (both stores; `?` becomes `$1` on PostgreSQL). */
export const SPANS = `SELECT window_ms AS ms, phase, first_start AS first, last_start AS last FROM sensor_windows
  WHERE sensor_id = ? ORDER BY window_ms, phase`;

/** One seek per window start from @first to @last (inclusive) in steps of @ms. */
const SEEK = `WITH RECURSIVE st(x) AS (SELECT @first UNION ALL SELECT x + @ms FROM st WHERE x + @ms <= @last)
  SELECT a.* FROM st CROSS JOIN aggregates a
  ON a.window_ms = @ms AND a.window_start = st.x AND a.sensor_id = @sensor
  ORDER BY a.window_start`;

/** `start`'s phase for windows of `ms`: in [0, ms). */
export function phaseOf(start: number, ms: number): number {
  return ((start % ms) + ms) % ms;
}

/**
 * The first and last start of `span` inside [from, to) (to exclusive), or undefined when it has none there.
 */
export function startsIn(
  span: WindowSpan,
  from: number,
  to: number,
): { first: number; last: number } | undefined {
  // Starts are whole milliseconds: a bound between two is taken to the next one.
  const lo = Math.ceil(Math.max(from, span.first));
  const first = lo + phaseOf(span.phase - lo, span.ms);
  const hi = Math.min(Math.ceil(to) - 1, span.last);
  const last = hi - phaseOf(hi - span.phase, span.ms);
  return first <= last ? { first, last } : undefined;
}

/**
 * The time slices [at, end) a read of the first `limit` windows in [from, to) walks, in order: from the spans'
 * first start, each `limit` windows of the smallest size long, so a long range stops seeking once the limit
 * is reached (the caller stops asking).
 */
export function* timeSlices(
  spans: readonly WindowSpan[],
  from: number,
  to: number,
  limit: number,
): Generator<[number, number]> {
  if (spans.length === 0 || limit <= 0) return;
  const lo = Math.max(from, Math.min(...spans.map((s) => s.first)));
  const hi = Math.min(to, Math.max(...spans.map((s) => s.last)) + 1);
  const slice = limit * Math.min(...spans.map((s) => s.ms));
  for (let at = lo; at < hi; at += slice) yield [at, Math.min(hi, at + slice)];
}

interface Row {
  window_start: number;
  window_ms: number;
}

/** Rows of several spans in (window_start, window_ms) order. */
export function byStartThenSize<T extends Row>(rows: T[]): T[] {
  return rows.sort((a, b) => a.window_start - b.window_start || a.window_ms - b.window_ms);
}

/**
 * How many windows ahead of the newest a span's last start is written. A span's `last_start` is an upper
 * bound: a read seeks at most this many keys past a sensor's newest window (and none past its `to`), and a
 * sensor's span is written once per this many windows instead of at every apply call (with 10,000 sensors,
 * about one span row per window applied).
 */
export const SPAN_AHEAD = 1024;

/**
 * The spans an apply transaction extended, written at its end. Remembers what it wrote, so a span already
 * covered is not written again; forget() after a rollback.
 *
 * A store whose transactions run concurrently (PostgreSQL) gives each transaction its own tracker over the
 * store's `committed` one: a transaction then writes every span it extends beyond what committed
 * transactions wrote, whatever the others in flight do, and its spans join `committed` only once it has
 * committed (commit).
 */
export class SpanTracker {
  /** Spans as written (committed or in the open transaction), by sensor, size and phase. */
  readonly #known = new NestedMap<number, number, number, WindowSpan>();
  /** Spans this transaction extended, with their sensor. */
  readonly #dirty = new Map<WindowSpan, number>();
  readonly #committed: SpanTracker | undefined;

  constructor(committed?: SpanTracker) {
    this.#committed = committed;
  }

  /** Whether `start` is inside a span this tracker knows. */
  covers(sensor: number, ms: number, start: number): boolean {
    const span = this.#known.get(sensor, ms, phaseOf(start, ms));
    return span !== undefined && start >= span.first && start <= span.last;
  }

  note(sensor: number, ms: number, start: number): void {
    if (this.#committed?.covers(sensor, ms, start)) return;
    const phase = phaseOf(start, ms);
    let span = this.#known.get(sensor, ms, phase);
    if (!span) {
      span = { ms, phase, first: start, last: start + SPAN_AHEAD * ms };
      this.#known.set(sensor, ms, phase, span);
    } else if (start < span.first) span.first = start;
    else if (start > span.last) span.last = start + SPAN_AHEAD * ms;
    else return;
    this.#dirty.set(span, sensor);
  }

  /** The spans to write, each once; the list is emptied. */
  take(): { sensor: number; span: WindowSpan }[] {
    const out = [...this.#dirty].map(([span, sensor]) => ({ sensor, span }));
    this.#dirty.clear();
    return out;
  }

  /**
   * After this transaction committed: the spans it wrote join the `committed` tracker it was made over (the
   * store wrote them merged with what was there).
   */
  commit(): void {
    const committed = this.#committed;
    if (!committed) return;
    for (const [sensor, ms, phase, span] of this.#known.entries()) {
      const same = committed.#known.get(sensor, ms, phase);
      if (!same) committed.#known.set(sensor, ms, phase, { ...span });
      else {
        same.first = Math.min(same.first, span.first);
        same.last = Math.max(same.last, span.last);
      }
    }
  }

  forget(): void {
    this.#known.clear();
    this.#dirty.clear();
  }
}

/** The SQLite statements: spans written by the apply, windows read by seeks. */
export class SqliteWindowSeeks {
  readonly #upsert: Database.Statement<[number, number, number, number, number]>;
  readonly #spans: Database.Statement<[number], WindowSpan>;
  readonly #seek: Database.Statement;

  constructor(db: Database.Database) {
    this.#upsert = db.prepare(UPSERT_SPAN);
    this.#spans = db.prepare(SPANS);
    this.#seek = db.prepare(SEEK);
  }

  /** Write the spans `tracker` collected (inside the apply's transaction). */
  write(tracker: SpanTracker): void {
    for (const { sensor, span } of tracker.take())
      this.#upsert.run(sensor, span.ms, span.phase, span.first, span.last);
  }

  #seekSpan<T>(sensor: number, span: WindowSpan, from: number, to: number): T[] {
    const r = startsIn(span, from, to);
    return r ? (this.#seek.all({ sensor, ms: span.ms, first: r.first, last: r.last }) as T[]) : [];
  }

  /** A sensor's windows starting in [from, to): by size, then start (one seek run per size and phase). */
  bySize<T extends Row>(sensor: number, from: number, to: number): T[] {
    const rows = this.#spans.all(sensor).flatMap((span) => this.#seekSpan<T>(sensor, span, from, to));
    return rows.sort((a, b) => a.window_ms - b.window_ms || a.window_start - b.window_start);
  }

  /**
   * The first `limit` windows starting in [from, to), by start then size, read slice by slice (timeSlices).
   */
  inTimeOrder<T extends Row>(sensor: number, from: number, to: number, limit: number): T[] {
    const spans = this.#spans.all(sensor);
    const out: T[] = [];
    for (const [at, end] of timeSlices(spans, from, to, limit)) {
      const rows: T[] = [];
      for (const span of spans) rows.push(...this.#seekSpan<T>(sensor, span, at, end));
      out.push(...byStartThenSize(rows));
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }
}
