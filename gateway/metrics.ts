/**
 * Counters the gateway keeps: Prometheus metrics (one registry per gateway instance, so two gateways can
 * run in one test process) plus the plain tallies the status API reports.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface RejectionTally {
  source: string;
  deviceId: string;
  code: string;
  count: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();

  constructor() {
    // Process CPU, memory, event-loop lag and GC, with the ct_ prefix like the rest.
    collectDefaultMetrics({ register: this.registry, prefix: 'ct_' });
  }

  readonly accepted = new Counter({
    name: 'ct_readings_accepted_total',
    help: 'Readings journaled, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'ct_readings_duplicate_total',
    help: 'Readings acknowledged again but not stored (already journaled), by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly late = new Counter({
    name: 'ct_readings_late_total',
    help: 'Readings that arrived after their window closed and went out as late corrections',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'ct_readings_rejected_total',
    help: 'Rejected readings or payloads, by source and error code',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'ct_auth_failures_total',
    help: 'Refused MQTT connections, publishes and subscriptions, and refused staff logins, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly commits = new Counter({
    name: 'ct_journal_commits_total',
    help: 'Group-commit transactions',
    registers: [this.registry],
  });
  readonly commitErrors = new Counter({
    name: 'ct_journal_commit_errors_total',
    help: 'Group commits that failed (nothing in them was acknowledged)',
    registers: [this.registry],
  });
  readonly windowsClosed = new Counter({
    name: 'ct_windows_closed_total',
    help: 'Aggregation windows closed into the outbox',
    registers: [this.registry],
  });
  readonly twinChanges = new Counter({
    name: 'ct_twin_changes_total',
    help: 'Room twin changes, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly twinErrors = new Counter({
    name: 'ct_twin_errors_total',
    help: 'Readings the room twin reducer failed on (they are journaled and aggregated all the same)',
    registers: [this.registry],
  });
  readonly outboxRows = new Gauge({
    name: 'ct_outbox_rows',
    help: 'Rows waiting in the outbox, by class',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  readonly outboxBytes = new Gauge({
    name: 'ct_outbox_bytes',
    help: 'Bytes waiting in the outbox, by class',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  readonly outboxOldestAge = new Gauge({
    name: 'ct_outbox_oldest_age_seconds',
    help: 'Age of the oldest item waiting in the outbox, by class (0 when empty): backlog alerts',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  readonly journalRows = new Gauge({
    name: 'ct_journal_rows',
    help: 'Readings held in the journal',
    registers: [this.registry],
  });
  /** Set from the broker when scraped. */
  readonly mqttClients = new Gauge({
    name: 'ct_mqtt_clients',
    help: 'Connected MQTT clients',
    registers: [this.registry],
  });

  /** `${source}\0${deviceId}\0${code}` → tally */
  readonly #rejections = new Map<string, RejectionTally>();

  /** A labelled counter's values by `source`, for the status API (the counter is the one tally). */
  static async bySource(counter: Counter<'source'>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const v of (await counter.get()).values)
      if (v.labels.source !== undefined) out[v.labels.source] = v.value;
    return out;
  }

  countRejected(source: string, deviceId: string | undefined, code: string): void {
    this.rejected.inc({ source, code });
    const dev = deviceId ?? '(unknown)';
    const key = `${source}\u0000${dev}\u0000${code}`;
    const t = this.#rejections.get(key);
    if (t) t.count++;
    else this.#rejections.set(key, { source, deviceId: dev, code, count: 1 });
  }

  rejections(): RejectionTally[] {
    return [...this.#rejections.values()];
  }

  rejectedByDevice(deviceId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.#rejections.values())
      if (t.deviceId === deviceId) out[t.code] = (out[t.code] ?? 0) + t.count;
    return out;
  }
}
