/**
 * The SDK's CheckpointStore over our CloudStore: partition ownership (compare-and-set on etag) and
 * checkpoints live in the cloud database. The consumer never calls `context.updateCheckpoint`: the
 * checkpoint is written inside the apply transaction (CloudStore.applyBatch). updateCheckpoint is here
 * for the SDK's contract and writes the same table, never backwards.
 */
import type { Checkpoint, CheckpointStore, PartitionOwnership } from '@azure/event-hubs';
import type { CloudStore } from '../store/types.ts';

export class DbCheckpointStore implements CheckpointStore {
  readonly #store: CloudStore;
  readonly #now: () => number;

  constructor(store: CloudStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  listOwnership(ns: string, eventHubName: string, consumerGroup: string): Promise<PartitionOwnership[]> {
    return this.#store.listOwnership(ns, eventHubName, consumerGroup);
  }

  claimOwnership(ownerships: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    return this.#store.claimOwnership(ownerships, this.#now());
  }

  listCheckpoints(ns: string, eventHubName: string, consumerGroup: string): Promise<Checkpoint[]> {
    return this.#store.listCheckpoints(ns, eventHubName, consumerGroup);
  }

  updateCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.#store.updateCheckpoint(checkpoint, this.#now());
  }
}
