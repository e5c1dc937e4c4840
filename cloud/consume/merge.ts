/**
 * Order-independent merge rules (DESIGN.md "Uplink": redelivery and out-of-order backfill are harmless).
 * Pure. The store's SQL upserts implement exactly these rules; the unit tests check the two agree.
 *
 * Aggregates merge per (deviceId, channel, windowStart, windowMs): count and sum add, min/max, first is
 * the value at the smallest firstTs and last the value at the largest lastTs. Ties are broken by value
 * (smaller first, larger last) so that the result does not depend on arrival order. A late item is a
 * delta for its window and merges the same way.
 *
 * Room state is last-writer-wins by event time, ties broken by item id.
 */
import type { Aggregate } from '../../shared/events.ts';

/** What the store keeps per window (the canonical aggregate minus the per-item `late` flag). */
export type MergedWindow = Omit<Aggregate, 'late'>;

export function windowKey(a: Pick<Aggregate, 'deviceId' | 'channel' | 'windowStart' | 'windowMs'>): string {
  return `${a.deviceId}\u0000${a.channel}\u0000${a.windowMs}\u0000${a.windowStart}`;
}

export function toWindow(a: Aggregate): MergedWindow {
  const { late: _late, ...w } = a;
  return { ...w, mean: w.sum / w.count };
}

export function mergeWindows(a: MergedWindow, b: Aggregate | MergedWindow): MergedWindow {
  const takeFirst = b.firstTs < a.firstTs || (b.firstTs === a.firstTs && b.first < a.first);
  const takeLast = b.lastTs > a.lastTs || (b.lastTs === a.lastTs && b.last > a.last);
  const count = a.count + b.count;
  const sum = a.sum + b.sum;
  return {
    deviceId: a.deviceId,
    channel: a.channel,
    roomId: a.roomId,
    quantity: a.quantity,
    unit: a.unit,
    windowStart: a.windowStart,
    windowMs: a.windowMs,
    count,
    sum,
    mean: sum / count,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    first: takeFirst ? b.first : a.first,
    firstTs: takeFirst ? b.firstTs : a.firstTs,
    last: takeLast ? b.last : a.last,
    lastTs: takeLast ? b.lastTs : a.lastTs,
  };
}

/** Fold aggregates into merged windows, keyed by windowKey. */
export function mergeAll(items: readonly Aggregate[]): Map<string, MergedWindow> {
  const out = new Map<string, MergedWindow>();
  for (const a of items) {
    const k = windowKey(a);
    const cur = out.get(k);
    out.set(k, cur ? mergeWindows(cur, a) : toWindow(a));
  }
  return out;
}

export interface RoomStateEntry {
  state: string;
  ts: number;
  itemId: string;
}

/** Does `next` replace `cur` as a room's latest state? Last writer wins by event time, then item id. */
export function newerState(cur: RoomStateEntry | undefined, next: RoomStateEntry): boolean {
  return !cur || next.ts > cur.ts || (next.ts === cur.ts && next.itemId > cur.itemId);
}
