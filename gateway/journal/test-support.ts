/** Shared by the event journal's unit tests: store options and Caliper-like learning events. */
import type { LearningEvent } from '../../shared/events.ts';
import type { EventCommitResult, StoreOptions } from './index.ts';

export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

export const EVENT_STORE_OPTS: StoreOptions = {
  synchronous: 'FULL',
  quotaBytes: 10_000_000,
  windowMs: 60_000,
  forwardRaw: false,
  quarantineMaxRows: 100,
  quarantineMaxPayloadBytes: 64,
};

/** Learning event `n`: its own id and time, received at T0. */
export const testEvent = (n: number): LearningEvent => ({
  eventId: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  source: 'caliper',
  type: 'resource.viewed',
  originalType: 'ViewEvent.Viewed',
  actorId: 'p_AAAAAAAAAAAAAAAAAAAAAA',
  courseId: 'course-1',
  objectId: 'doc-1',
  ts: T0 + n,
  receivedAt: T0,
});

/** A submission's result when it is stored: `accepted` new events, `duplicates` repeats, `conflicts` ids. */
export const stored = (accepted: number, duplicates = 0, conflicts: string[] = []): EventCommitResult => ({
  status: 'stored',
  accepted,
  duplicates,
  conflicts,
});
