/**
 * The free-space guard (pure decision, thin adapter): below `minFreeBytes` free on the data volume the
 * gateway goes into low-disk mode before the volume is full — the journal keeps only the rows open windows
 * need (the deduplication horizon shrinks), the outbox quota is lowered to what still fits so its backlog
 * policy (raw, then oldest aggregates, then superseded twin changes) makes room — and it leaves that mode
 * by itself once free space is back above 1.5 × the guard (hysteresis, so it does not flap).
 */
import { statfsSync } from 'node:fs';

export interface Space {
  free: number;
  total: number;
}

/** Free and total bytes of the volume holding `dir` (what an unprivileged process may use). */
export function volumeSpace(dir: string): Space {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** The guard for a volume: the configured bytes, but never more than a fifth of a small volume. */
export function guardBytes(minFreeBytes: number, total: number): number {
  return Math.min(minFreeBytes, Math.floor(total / 5));
}

/** Whether low-disk mode should be on, given whether it is on now. */
export function lowDisk(space: Space, minFreeBytes: number, on: boolean): boolean {
  const guard = guardBytes(minFreeBytes, space.total);
  return on ? space.free < guard * 1.5 : space.free < guard;
}

/**
 * The outbox quota in low-disk mode: what it holds now plus half of what is left above the guard (the
 * journal and SQLite need the rest), so it can still take the most important items by evicting others.
 */
export function lowDiskQuota(outboxBytes: number, space: Space, minFreeBytes: number): number {
  const guard = guardBytes(minFreeBytes, space.total);
  return outboxBytes + Math.max(0, Math.floor((space.free - guard / 2) / 2));
}
