/**
 * What to do when the outbox would pass its disk quota (pure). Raw readings go first, then the oldest
 * aggregates, then superseded twin changes; alerts and learning/admin events are never dropped: a new one
 * that cannot fit is refused (webhooks answer 503 + Retry-After).
 */
import type { OutboxClass } from './schema.ts';

export const EVICTION_ORDER: readonly OutboxClass[] = ['raw', 'aggregate', 'twin'];
export const NEVER_DROPPED: readonly OutboxClass[] = ['alert', 'event'];

export interface ClassUsage {
  rows: number;
  bytes: number;
}

export interface Admission {
  /** Bytes to free from each class, oldest first, before the item is written. */
  evict: { cls: OutboxClass; bytes: number }[];
  /** The item cannot be stored without dropping something that is never dropped. */
  refuse: boolean;
}

export function planAdmission(
  usage: Readonly<Record<OutboxClass, ClassUsage>>,
  quotaBytes: number,
  incoming: OutboxClass,
  incomingBytes: number,
): Admission {
  let total = 0;
  for (const u of Object.values(usage)) total += u.bytes;
  let excess = total + incomingBytes - quotaBytes;
  if (excess <= 0) return { evict: [], refuse: false };
  const evict: Admission['evict'] = [];
  // An item may only displace classes that rank below it (an aggregate never evicts a twin change).
  const rankOfIncoming = EVICTION_ORDER.indexOf(incoming);
  for (let i = 0; i < EVICTION_ORDER.length && excess > 0; i++) {
    const cls = EVICTION_ORDER[i]!;
    if (rankOfIncoming !== -1 && i > rankOfIncoming) break;
    const available = usage[cls].bytes;
    if (available <= 0) continue;
    const take = Math.min(available, excess);
    evict.push({ cls, bytes: take });
    excess -= take;
  }
  return excess > 0 ? { evict: [], refuse: true } : { evict, refuse: false };
}
