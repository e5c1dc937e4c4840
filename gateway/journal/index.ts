export { type EventCommitResult, EventJournal, type JournalEvent } from './events.ts';
export { type AddResult, type OutboxRow, type OutboxTotals, outboxTotals } from './outbox.ts';
export { EVICTION_ORDER, NEVER_DROPPED, planAdmission } from './policy.ts';
export { OUTBOX_CLASSES, type OutboxClass } from './schema.ts';
export {
  type CommitResult,
  GatewayStore,
  HISTORY_BUCKET_MS,
  HISTORY_KEEP_MS,
  type JournalRow,
  type QuarantineEntry,
  type StoreOptions,
} from './store.ts';
