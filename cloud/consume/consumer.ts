/**
 * The Event Hubs adapter: the real SDK's EventHubConsumerClient with our DbCheckpointStore, load balanced
 * over the ownership table. Each processEvents call (one received batch of one partition) is prepared
 * (pure) and applied in ONE store transaction with the partition's checkpoint at its last event; we
 * never call context.updateCheckpoint. If apply throws, the error is handed to the SDK as non-retryable,
 * so the SDK stops that partition's pump and later resumes from the checkpoint in the database: nothing
 * past the last committed transaction is ever skipped.
 */
import {
  type CheckpointStore,
  EventHubConsumerClient,
  earliestEventPosition,
  type PartitionContext,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import type { Logger } from '../../shared/logger.ts';
import { settledWithin } from '../../shared/within.ts';
import type { CloudMetrics } from '../metrics.ts';
import type { ApplyResult, CloudStore } from '../store/types.ts';
import { prepareEvent } from './prepare.ts';

export interface ConsumerOptions {
  connectionString: string;
  /** This consumer's owner id in partition ownership (stable across restarts: identity.ts). */
  identifier?: string;
  /** Omit when the connection string carries EntityPath. */
  hubName?: string;
  consumerGroup: string;
  maxBatchSize: number;
  maxWaitTimeInSeconds: number;
  maxEventBytes: number;
  maxBodyBytes: number;
  loadBalancing: {
    strategy: 'balanced' | 'greedy';
    updateIntervalInMs: number;
    partitionOwnershipExpirationIntervalInMs: number;
  };
  retryOptions: {
    maxRetries: number;
    retryDelayInMs: number;
    maxRetryDelayInMs: number;
    timeoutInMs: number;
  };
  /** After this long of consumer errors with no batch processed, reconnect with a new client. */
  recoverAfterMs: number;
}

export interface ConsumerDeps {
  store: CloudStore;
  checkpointStore: CheckpointStore;
  metrics: CloudMetrics;
  logger: Logger;
  now: () => number;
  /** Called after each committed apply (tests and the ready line wait on it). */
  onApplied?: (partitionId: string, result: ApplyResult) => void;
}

export interface Consumer {
  start(): void;
  stop(): Promise<void>;
  readonly isRunning: boolean;
}

export function createConsumer(opts: ConsumerOptions, deps: ConsumerDeps): Consumer {
  const { store, metrics, logger, now } = deps;
  const clientOptions = {
    ...(opts.identifier ? { identifier: opts.identifier } : {}),
    retryOptions: { ...opts.retryOptions },
    loadBalancingOptions: { ...opts.loadBalancing },
  };
  const newClient = () =>
    opts.hubName
      ? new EventHubConsumerClient(
          opts.consumerGroup,
          opts.connectionString,
          opts.hubName,
          checkpointStore,
          clientOptions,
        )
      : new EventHubConsumerClient(opts.consumerGroup, opts.connectionString, checkpointStore, clientOptions);
  let client: EventHubConsumerClient | undefined;
  const prepareOpts = { maxEventBytes: opts.maxEventBytes, maxBodyBytes: opts.maxBodyBytes };
  let subscription: Subscription | undefined;
  // Applies in flight, so stop() can let them commit before the store closes (matters for an async store).
  const inFlight = new Set<Promise<unknown>>();

  // Recovery watchdog state, per partition ('' for errors of the load-balancing loop): set on a connection
  // error or a failed apply, cleared by that partition's next processEvents call (the SDK calls it every
  // maxWaitTimeInSeconds per owned partition, with no events when idle). Per partition, because a healthy
  // partition's batches must not hide one whose pump stopped after a failed apply: the SDK restarts that
  // one only when its ownership expires.
  const failingSince = new Map<string, number>();
  // The SDK's load-balancing loop lists ownership once per iteration, after its $management call
  // succeeded: when that stops, the loop is stuck (typically in an SDK-internal 60 s timeout + retries).
  let loopAliveAt = now();
  // Partitions this process has claimed or is reading. With a stable identity, ownership rows under our own id that
  // we are not reading were left by our previous life (a crash): the SDK would take them as already ours
  // and neither read nor reclaim them until they expire, so they are shown to it as abandoned, which it
  // claims at once (compare-and-set on the row's etag, so a live second owner is never overridden).
  const receiving = new Set<string>();
  const checkpointStore: CheckpointStore = {
    listOwnership: async (...args) => {
      loopAliveAt = now();
      const rows = await deps.checkpointStore.listOwnership(...args);
      if (!opts.identifier) return rows;
      return rows.map((r) =>
        r.ownerId === opts.identifier && !receiving.has(r.partitionId) ? { ...r, ownerId: '' } : r,
      );
    },
    claimOwnership: async (...args) => {
      const won = await deps.checkpointStore.claimOwnership(...args);
      // Claimed in this life: ours from now on, even before its pump has started.
      for (const o of won) if (o.ownerId === opts.identifier) receiving.add(o.partitionId);
      return won;
    },
    listCheckpoints: (...args) => deps.checkpointStore.listCheckpoints(...args),
    updateCheckpoint: (...args) => deps.checkpointStore.updateCheckpoint(...args),
  };
  const staleAfterMs = Math.max(opts.recoverAfterMs, 3 * opts.loadBalancing.updateIntervalInMs);
  let watchdog: NodeJS.Timeout | undefined;
  // Per partition, the sequence number the next event should have (checkpoint + 1). Event Hubs numbers a
  // partition's events without holes, so a jump means the hub's retention deleted events before this
  // consumer read them: the gateway has already let them go, so say so loudly.
  const expectedSeq = new Map<string, number>();

  function noteGap(partitionId: string, first: number): void {
    const expected = expectedSeq.get(partitionId);
    if (expected !== undefined && first > expected) {
      metrics.missed.inc({ partition: partitionId }, first - expected);
      logger.error(
        {
          partitionId,
          expectedSequenceNumber: expected,
          firstSequenceNumber: first,
          missed: first - expected,
        },
        'events expired in Event Hubs before they were consumed (retention): data lost upstream of the cloud',
      );
    }
  }
  let restarting = false;
  let stopped = false;

  async function processEvents(events: ReceivedEventData[], context: PartitionContext): Promise<void> {
    failingSince.delete(context.partitionId);
    failingSince.delete('');
    const last = events.at(-1);
    if (!last) return;
    noteGap(context.partitionId, events[0]!.sequenceNumber);
    const prepared = events.map((e) =>
      prepareEvent(
        {
          properties: e.properties,
          body: e.body,
          sequenceNumber: e.sequenceNumber,
          offset: String(e.offset),
          enqueuedTimeMs: e.enqueuedTimeUtc.getTime(),
        },
        prepareOpts,
      ),
    );
    const partition = {
      fullyQualifiedNamespace: context.fullyQualifiedNamespace,
      eventHubName: context.eventHubName,
      consumerGroup: context.consumerGroup,
      partitionId: context.partitionId,
    };
    const endTimer = metrics.applySeconds.startTimer();
    let result: ApplyResult;
    try {
      const applying = store.applyBatch(partition, prepared, prepared.at(-1)!.position, now());
      inFlight.add(applying);
      try {
        result = await applying;
      } finally {
        inFlight.delete(applying);
      }
    } catch (err) {
      // A plain Error (no `retryable`): the SDK closes this pump and resumes from the DB checkpoint.
      if (!failingSince.has(context.partitionId)) failingSince.set(context.partitionId, now());
      throw new Error(`apply failed on partition ${context.partitionId}: ${(err as Error).message}`);
    } finally {
      endTimer();
    }
    expectedSeq.set(context.partitionId, last.sequenceNumber + 1);
    metrics.record(result);
    const lastEnqueued = context.lastEnqueuedEventProperties?.sequenceNumber;
    if (typeof lastEnqueued === 'number')
      metrics.partitionLag.set(
        { partition: context.partitionId },
        Math.max(0, lastEnqueued - last.sequenceNumber),
      );
    if (result.quarantined.length)
      logger.warn(
        { partitionId: context.partitionId, quarantined: result.quarantined },
        'events quarantined',
      );
    deps.onApplied?.(context.partitionId, result);
  }

  function subscribe(): void {
    loopAliveAt = now();
    failingSince.clear();
    client = newClient();
    subscription = client.subscribe(
      {
        processEvents,
        processError: async (err, context) => {
          metrics.errors.inc();
          // Losing a partition to another process is load balancing, not a failure.
          const id = context.partitionId ?? '';
          if ((err as { code?: string }).code !== 'ReceiverDisconnectedError' && !failingSince.has(id))
            failingSince.set(id, now());
          logger.warn({ err, partitionId: context.partitionId }, 'event hubs consumer error');
        },
        processInitialize: async (context) => {
          receiving.add(context.partitionId);
          logger.info({ partitionId: context.partitionId }, 'partition claimed');
          const checkpoints = await deps.checkpointStore.listCheckpoints(
            context.fullyQualifiedNamespace,
            context.eventHubName,
            context.consumerGroup,
          );
          const cp = checkpoints.find((c) => c.partitionId === context.partitionId);
          if (cp?.sequenceNumber !== undefined) expectedSeq.set(context.partitionId, cp.sequenceNumber + 1);
          else expectedSeq.delete(context.partitionId);
        },
        processClose: async (reason, context) => {
          receiving.delete(context.partitionId);
          metrics.partitionLag.remove({ partition: context.partitionId });
          // Lost to another process: its health is that process's concern now.
          if (reason === 'OwnershipLost') failingSince.delete(context.partitionId);
          logger.info({ partitionId: context.partitionId, reason }, 'partition released');
        },
      },
      {
        maxBatchSize: opts.maxBatchSize,
        maxWaitTimeInSeconds: opts.maxWaitTimeInSeconds,
        // No checkpoint yet: start at the beginning of the retention, not at "latest" (the SDK default).
        startPosition: earliestEventPosition,
        skipParsingBodyAsJson: true,
        trackLastEnqueuedEventProperties: true,
      },
    );
  }

  /** Close subscription and client, but never wait longer than `limitMs` for an SDK call stuck in a timeout. */
  async function closeClient(limitMs: number): Promise<void> {
    const [sub, cl] = [subscription, client];
    subscription = undefined;
    client = undefined;
    await settledWithin(
      (async () => {
        await sub?.close().catch(() => undefined);
        await Promise.allSettled([...inFlight]);
        await cl?.close().catch(() => undefined);
      })(),
      limitMs,
    );
  }

  /**
   * The SDK's load-balancing loop makes its $management calls without our retryOptions (60 s timeout,
   * 30 s retry delays), so after an outage it can sit for minutes before it reclaims partitions. When
   * errors have gone on for recoverAfterMs with no batch (not even an empty one) processed, start afresh
   * with a new client: it reads the checkpoints from the store and carries on where the last commit ended.
   */
  function checkHealth(): void {
    if (stopped || restarting) return;
    const t = now();
    const pumpsFailing = [...failingSince.values()].some((since) => t - since >= opts.recoverAfterMs);
    const loopStuck = t - loopAliveAt >= staleAfterMs;
    if (!pumpsFailing && !loopStuck) return;
    restarting = true;
    metrics.restarts.inc();
    logger.warn({ pumpsFailing, loopStuck }, 'consumer failing: reconnecting with a new client');
    closeClient(5000)
      .then(() => {
        if (!stopped) subscribe();
      })
      .catch((err: unknown) => logger.error({ err }, 'consumer restart failed'))
      .finally(() => {
        restarting = false;
      });
  }

  return {
    get isRunning() {
      return subscription?.isRunning ?? false;
    },
    start() {
      stopped = false;
      subscribe();
      watchdog = setInterval(checkHealth, Math.min(1000, opts.recoverAfterMs));
      watchdog.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(watchdog);
      await closeClient(10_000);
    },
  };
}
