/** Consuming uplink events: pure preparation and validation, the merge rules, and the SDK adapter. */
export { DbCheckpointStore } from './checkpoint-store.ts';
export { type Consumer, type ConsumerOptions, createConsumer } from './consumer.ts';
export { type MergedWindow, mergeAll, mergeWindows, windowKey } from './merge.ts';
export { type EventPosition, type IncomingEvent, type PreparedEvent, prepareEvent } from './prepare.ts';
export { type ItemRejection, type ValidItem, validateItem } from './validate.ts';
