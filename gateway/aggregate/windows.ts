/**
 * Tumbling event-time windows per sensor (device + channel). Pure functions over plain data plus a small
 * container that owns the open windows. Closing is driven by a watermark that the caller computes from
 * wall-clock time (`closeWatermark`): every window whose end is at or before it is final. A reading whose
 * window is already closed is a late correction, never merged silently into a closed window.
 */
import type { Aggregate, Reading } from '../../shared/events.ts';

export { aggregateItemId } from '../../shared/wire.ts';

export interface WindowConfig {
  windowMs: number;
  allowedLatenessMs: number;
}

export interface OpenWindow {
  deviceId: string;
  channel: string;
  roomId: string;
  quantity: Reading['quantity'];
  unit: string;
  windowStart: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  first: number;
  firstTs: number;
  last: number;
  lastTs: number;
}

export function windowStartOf(ts: number, windowMs: number): number {
  return Math.floor(ts / windowMs) * windowMs;
}

/** All windows ending at or before the returned instant are closed at wall-clock time `now`. */
export function closeWatermark(now: number, cfg: WindowConfig): number {
  return windowStartOf(now - cfg.allowedLatenessMs, cfg.windowMs);
}

export function openWindow(r: Reading, windowMs: number): OpenWindow {
  return {
    deviceId: r.deviceId,
    channel: r.channel,
    roomId: r.roomId,
    quantity: r.quantity,
    unit: r.unit,
    windowStart: windowStartOf(r.ts, windowMs),
    count: 1,
    min: r.value,
    max: r.value,
    sum: r.value,
    first: r.value,
    firstTs: r.ts,
    last: r.value,
    lastTs: r.ts,
  };
}

/** Fold one reading into its window (mutates `w`: windows are owned by one container). */
export function addToWindow(w: OpenWindow, r: Reading): void {
  w.count++;
  w.sum += r.value;
  if (r.value < w.min) w.min = r.value;
  if (r.value > w.max) w.max = r.value;
  if (r.ts < w.firstTs) {
    w.first = r.value;
    w.firstTs = r.ts;
  }
  if (r.ts >= w.lastTs) {
    w.last = r.value;
    w.lastTs = r.ts;
  }
}

export function toAggregate(w: OpenWindow, windowMs: number, late = false): Aggregate {
  return {
    deviceId: w.deviceId,
    channel: w.channel,
    roomId: w.roomId,
    quantity: w.quantity,
    unit: w.unit,
    windowStart: w.windowStart,
    windowMs,
    count: w.count,
    min: w.min,
    max: w.max,
    sum: w.sum,
    mean: w.sum / w.count,
    first: w.first,
    firstTs: w.firstTs,
    last: w.last,
    lastTs: w.lastTs,
    late,
  };
}

/** A reading that arrived after its window closed, as a one-reading delta to merge downstream. */
export function lateCorrection(r: Reading, windowMs: number): Aggregate {
  return toAggregate(openWindow(r, windowMs), windowMs, true);
}

/** The open windows of every sensor. */
export class WindowSet {
  readonly #cfg: WindowConfig;
  /** sensor key → windowStart → window */
  readonly #open = new Map<string, Map<number, OpenWindow>>();
  #count = 0;

  constructor(cfg: WindowConfig) {
    this.#cfg = cfg;
  }

  get size(): number {
    return this.#count;
  }

  add(r: Reading): void {
    const key = `${r.deviceId}\u0000${r.channel}`;
    let windows = this.#open.get(key);
    if (!windows) {
      windows = new Map();
      this.#open.set(key, windows);
    }
    const start = windowStartOf(r.ts, this.#cfg.windowMs);
    const w = windows.get(start);
    if (w) addToWindow(w, r);
    else {
      windows.set(start, openWindow(r, this.#cfg.windowMs));
      this.#count++;
    }
  }

  /** Every window ending at or before `watermark`, as aggregates; the windows stay open until `evict`. */
  closedBy(watermark: number): Aggregate[] {
    const out: Aggregate[] = [];
    const { windowMs } = this.#cfg;
    for (const windows of this.#open.values()) {
      for (const [start, w] of windows) if (start + windowMs <= watermark) out.push(toAggregate(w, windowMs));
    }
    return out;
  }

  /** Forget the windows `closedBy(watermark)` returned, once they are durably in the outbox. */
  evict(watermark: number): void {
    const { windowMs } = this.#cfg;
    for (const [key, windows] of this.#open) {
      for (const start of windows.keys()) {
        if (start + windowMs <= watermark) {
          windows.delete(start);
          this.#count--;
        }
      }
      if (windows.size === 0) this.#open.delete(key);
    }
  }

  /** Read-only view of the open windows, for status. */
  *openWindows(): Iterable<OpenWindow> {
    for (const windows of this.#open.values()) yield* windows.values();
  }
}
