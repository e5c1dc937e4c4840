/** Prometheus metrics of one cloud instance (own registry, so two clouds can run in one test process). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckpointStats } from './store/checkpointer.ts';
import type { ApplyResult } from './store/types.ts';

export class CloudMetrics {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ct_cloud_' });
  }

  readonly batches = new Counter({
    name: 'ct_cloud_batches_applied_total',
    help: 'Event Hubs events (uplink batches) applied',
    registers: [this.registry],
  });
  readonly items = new Counter({
    name: 'ct_cloud_items_applied_total',
    help: 'Items applied, by class',
    labelNames: ['cls'] as const,
    registers: [this.registry],
  });
  readonly readings = new Counter({
    name: 'ct_cloud_readings_represented_total',
    help: 'Raw readings represented by the aggregates applied (sum of their counts)',
    registers: [this.registry],
  });
  readonly duplicateBatches = new Counter({
    name: 'ct_cloud_duplicate_batches_total',
    help: 'Events skipped because their batch id was already applied',
    registers: [this.registry],
  });
  readonly duplicateItems = new Counter({
    name: 'ct_cloud_duplicate_items_total',
    help: 'Items skipped because their id was already applied',
    registers: [this.registry],
  });
  readonly quarantined = new Counter({
    name: 'ct_cloud_quarantined_total',
    help: 'Events or items quarantined, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly partitionLag = new Gauge({
    name: 'ct_cloud_partition_lag_events',
    help: 'Events enqueued in a partition after the last one applied (owned partitions only)',
    labelNames: ['partition'] as const,
    registers: [this.registry],
  });
  readonly applySeconds = new Histogram({
    name: 'ct_cloud_apply_seconds',
    help: 'Duration of one apply transaction (one received SDK batch)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'ct_cloud_consumer_errors_total',
    help: 'Errors reported by the Event Hubs consumer or thrown by apply',
    registers: [this.registry],
  });

  readonly missed = new Counter({
    name: 'ct_cloud_events_missed_total',
    help: 'Events the hub no longer had when this consumer resumed (sequence numbers skipped after the checkpoint: retention ran out)',
    labelNames: ['partition'] as const,
    registers: [this.registry],
  });

  readonly restarts = new Counter({
    name: 'ct_cloud_consumer_restarts_total',
    help: 'Times the consumer reconnected with a new client after failing for eventHub.recoverAfterMs',
    registers: [this.registry],
  });

  readonly authRefused = new Counter({
    name: 'ct_cloud_api_auth_refused_total',
    help: 'API requests refused: 401 by reason (missing, malformed, expired, bad_signature, bad_claims, unknown_token) or 403 forbidden (scope)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly cache = new Counter({
    name: 'ct_cloud_api_cache_total',
    help: 'Cacheable API reads, by result (hit, miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'ct_cloud_api_rate_limited_total',
    help: 'API requests refused with 429 because their caller (token, else address) exceeded api.rateLimit',
    registers: [this.registry],
  });
  readonly riskRefreshes = new Counter({
    name: 'ct_cloud_risk_refreshes_total',
    help: 'Dropout score refreshes, by outcome (ok, failed, skipped_overlap)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly riskScores = new Gauge({
    name: 'ct_cloud_risk_scores',
    help: 'Enrolments scored by the last dropout score refresh',
    registers: [this.registry],
  });
  readonly snapshots = new Counter({
    name: 'ct_cloud_snapshots_total',
    help: 'Snapshots built, by trigger (schedule, api, cli) and outcome (ok, failed, skipped_overlap)',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Every API answer, by route pattern and status class (2xx, 4xx…): for latency alerts. */
  readonly apiSeconds = new Histogram({
    name: 'ct_cloud_api_request_seconds',
    help: 'Reporting API request duration, by route pattern and status class',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly snapshotSeconds = new Histogram({
    name: 'ct_cloud_snapshot_seconds',
    help: 'Duration of one snapshot build (rooms, enrolments and their analytics, one transaction)',
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });

  /**
   * The SQLite store's background checkpointer, read at each scrape: checkpoints and WAL frames copied (as
   * counters), checkpoints a reader kept from finishing, and whether it still runs (0: it failed and the
   * writer checkpoints inside its commits again; `ct_cloud_sqlite_checkpointer_up == 0` is worth an alert).
   */
  watchCheckpoints(stats: () => CheckpointStats | undefined): void {
    const seen = { runs: 0, frames: 0, busy: 0 };
    const counter = (name: string, help: string, field: keyof typeof seen) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (s && s[field] > seen[field]) this.inc(s[field] - seen[field]);
          if (s) seen[field] = s[field];
        },
      });
    counter(
      'ct_cloud_sqlite_checkpoints_total',
      'WAL checkpoints run by the background checkpointer',
      'runs',
    );
    counter(
      'ct_cloud_sqlite_checkpoint_frames_total',
      'WAL frames (pages) the background checkpointer copied back',
      'frames',
    );
    counter(
      'ct_cloud_sqlite_checkpoints_busy_total',
      'Background checkpoints a reader or another checkpointer kept from finishing',
      'busy',
    );
    new Gauge({
      name: 'ct_cloud_sqlite_checkpointer_up',
      help: 'Whether WAL checkpoints still run off the apply path (0 after the worker failed)',
      registers: [this.registry],
      collect() {
        this.set(stats()?.running ? 1 : 0);
      },
    });
  }

  record(r: ApplyResult): void {
    if (r.batchesApplied) this.batches.inc(r.batchesApplied);
    for (const [cls, n] of Object.entries(r.itemsApplied)) if (n) this.items.inc({ cls }, n);
    if (r.readingsRepresented) this.readings.inc(r.readingsRepresented);
    if (r.duplicateBatches) this.duplicateBatches.inc(r.duplicateBatches);
    if (r.duplicateItems) this.duplicateItems.inc(r.duplicateItems);
    for (const q of r.quarantined) this.quarantined.inc({ code: q.code }, q.count);
  }
}
