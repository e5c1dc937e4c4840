/**
 * Store-and-forward to Event Hubs. Owns the producer client, the send loop, its timers and the in-flight
 * record; decisions live in policy.ts and packing in pack.ts. Outbox rows are deleted only after
 * `sendBatch` resolves, and a batch's id and membership are persisted before it is sent, so a crash at
 * any point resends the same items under the same batch id (the cloud applies each item id once).
 */
import { randomUUID } from 'node:crypto';
import type { EventDataBatch } from '@azure/event-hubs';
import { Counter, Gauge } from 'prom-client';
import { type Logger, redactSecretsInText } from '../../shared/logger.ts';
import { settledWithin } from '../../shared/within.ts';
import { type OutboxRow, outboxTotals } from '../journal/index.ts';
import { OUTBOX_CLASSES, type OutboxClass } from '../journal/schema.ts';
import type { GatewayStore } from '../journal/store.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { InflightLog } from './inflight.ts';
import { type BatchOrigin, type PackedEvent, packRows } from './pack.ts';
import {
  backoffDelayMs,
  type ClassView,
  DrainBudget,
  etaSeconds,
  type NextSend,
  pickNext,
  RateMeter,
} from './policy.ts';

export interface UplinkOptions {
  gatewayId: string;
  /** Sent with every event (the wire's campusId), so the cloud can tell campuses apart. */
  campusId: string;
  connectionString: string;
  hubName: string;
  maxEventBytes: number;
  maxItemsPerEvent: number;
  liveWindowMs: number;
  backlogBytesPerSec: number;
  lingerMs: Readonly<Record<OutboxClass, number>>;
  backoff: { baseMs: number; maxMs: number };
  sendTimeoutMs: number;
  /** Idle for this long (no send, no probe): probe the hub, so an outage is noticed without traffic. */
  idleProbeMs?: number;
}

/** The part of the SDK's producer the uplink uses (a real EventHubProducerClient in production). */
export interface Producer {
  createBatch(options: { partitionKey: string; abortSignal?: AbortSignal }): Promise<EventDataBatch>;
  sendBatch(batch: EventDataBatch, options?: { abortSignal?: AbortSignal }): Promise<void>;
  getEventHubProperties(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  close(): Promise<void>;
}

export interface UplinkDeps {
  store: GatewayStore;
  metrics: GatewayMetrics;
  logger: Logger;
  now: () => number;
  random?: () => number;
  createProducer?: (opts: UplinkOptions) => Producer | Promise<Producer>;
  /** Told of every state change (the status page's live stream). */
  onState?: (state: UplinkState, at: number) => void;
  /** How long stop() waits for the producer to close (default CLOSE_WAIT_MS). */
  closeWaitMs?: number;
}

/**
 * The SDK's close can wait on a hub that is gone (seen after the hub was killed mid-send): stop() gives it this
 * long, then goes on. Nothing is lost by not waiting: what was sent is acknowledged, the batch in flight is
 * recorded (InflightLog) and goes again with the same id after the restart.
 */
export const CLOSE_WAIT_MS = 5_000;

export type UplinkState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface UplinkStatus {
  state: UplinkState;
  connected: boolean;
  since: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  retryAttempt: number;
  nextRetryAt: number | null;
  backlog: { rows: number; bytes: number; oldestAgeMs: number | null };
  drainRateItemsPerSec: number;
  etaSeconds: number | null;
  sent: { events: number; items: number; bytes: number };
}

/** Room left in an event for the AMQP envelope, annotations and our application properties. */
const ENVELOPE_BYTES = 2048;

/** The SDK (with rhea under it, about 17 MB of RSS) is loaded only by a gateway that has an uplink. */
async function defaultProducer(o: UplinkOptions): Promise<Producer> {
  const { EventHubProducerClient } = await import('@azure/event-hubs');
  const retryOptions = { maxRetries: 1, retryDelayInMs: 200, timeoutInMs: o.sendTimeoutMs };
  return o.hubName
    ? new EventHubProducerClient(o.connectionString, o.hubName, { retryOptions })
    : new EventHubProducerClient(o.connectionString, { retryOptions });
}

export class Uplink {
  readonly #o: UplinkOptions;
  readonly #d: UplinkDeps;
  readonly #log: Logger;
  readonly #inflight: InflightLog;
  readonly #budget: DrainBudget;
  readonly #meter = new RateMeter();
  readonly #m: ReturnType<typeof uplinkMetrics>;
  #producer: Producer | undefined;
  #state: UplinkState = 'connecting';
  #since: number;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #lastSuccessAt: number | null = null;
  /** The last time the hub answered (a send or a probe). */
  #lastContactAt = Number.NEGATIVE_INFINITY;
  #attempt = 0;
  #nextRetryAt: number | null = null;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  /** Aborts whatever call to the hub is outstanding when stop() is called. */
  readonly #stopSignal = new AbortController();
  /** The hub's own per-event limit (createBatch's maxSizeInBytes), once known: may be below ours (Basic tier). */
  #hubLimitBytes = Number.POSITIVE_INFINITY;

  constructor(options: UplinkOptions, deps: UplinkDeps) {
    this.#o = options;
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'uplink' });
    this.#inflight = new InflightLog(deps.store.db);
    this.#since = deps.now();
    this.#budget = new DrainBudget(options.backlogBytesPerSec, deps.now());
    this.#m = uplinkMetrics(deps.metrics);
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#loop();
  }

  /** New items were queued: look now instead of at the next idle tick. */
  notify(): void {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopSignal.abort();
    this.#wake?.();
    await this.#running;
    await this.#closeProducer();
    this.#setState('stopped');
  }

  async #closeProducer(): Promise<void> {
    if (!this.#producer) return;
    const waitMs = this.#d.closeWaitMs ?? CLOSE_WAIT_MS;
    if (!(await settledWithin(this.#producer.close(), waitMs)))
      this.#log.warn({ waitMs }, 'the Event Hubs producer did not close in time: stopping without it');
  }

  /** `sent` is read from the Prometheus counters: they are the one tally. */
  async status(): Promise<UplinkStatus> {
    const now = this.#d.now();
    const total = async (c: Counter<'class'>) => (await c.get()).values.reduce((a, v) => a + v.value, 0);
    const backlog = outboxTotals(this.#d.store.outbox.stats(now));
    const rate = this.#meter.perSec(now);
    return {
      state: this.#state,
      connected: this.#state === 'connected',
      since: this.#since,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      lastSuccessAt: this.#lastSuccessAt,
      retryAttempt: this.#attempt,
      nextRetryAt: this.#nextRetryAt,
      backlog,
      drainRateItemsPerSec: Math.round(rate * 10) / 10,
      etaSeconds: etaSeconds(backlog.rows, rate),
      sent: {
        events: await total(this.#m.events),
        items: await total(this.#m.items),
        bytes: await total(this.#m.bytes),
      },
    };
  }

  async #loop(): Promise<void> {
    while (!this.#stopping && !this.#producer) {
      try {
        this.#producer = await (this.#d.createProducer ?? defaultProducer)(this.#o);
      } catch (err) {
        // A connection string the SDK refuses: shown on the status page (redacted), retried after a pause.
        this.#onError(err);
        await this.#sleep(this.#o.backoff.maxMs);
      }
    }
    while (!this.#stopping) {
      let waitMs: number;
      try {
        waitMs = await this.#step();
        this.#attempt = 0;
        this.#nextRetryAt = null;
      } catch (err) {
        if (this.#stopping) break;
        waitMs = backoffDelayMs(this.#attempt, this.#o.backoff, (this.#d.random ?? Math.random)());
        this.#attempt++;
        this.#nextRetryAt = this.#d.now() + waitMs;
        this.#onError(err);
      }
      if (waitMs > 0) await this.#sleep(waitMs);
    }
  }

  /** One decision and at most one send; returns how long to wait before the next. */
  async #step(): Promise<number> {
    const now = this.#d.now();
    const pending = this.#inflight.load();
    if (pending) {
      const rows = this.#d.store.outbox.peekSeqs(pending.cls, pending.seqs);
      if (rows.length === 0) {
        this.#inflight.clear(pending.batchId);
        return 0;
      }
      const packed = await packRows(pending.cls, rows, this.#origin(pending.batchId));
      await this.#send(pending.cls, packed, false);
      return 0;
    }
    const next = this.#pick(now);
    if (next.kind === 'wait') {
      const idleProbeMs = this.#o.idleProbeMs ?? 15_000;
      if (this.#state !== 'connected' || now - this.#lastContactAt >= idleProbeMs) {
        await this.#probe();
        return Math.min(next.ms, idleProbeMs);
      }
      return Math.min(next.ms, this.#lastContactAt + idleProbeMs - now);
    }
    const outbox = this.#d.store.outbox;
    const rows =
      next.kind === 'live'
        ? outbox.peekSince(next.cls, next.since, this.#o.maxItemsPerEvent)
        : outbox.peek(next.cls, this.#o.maxItemsPerEvent);
    if (rows.length === 0) return 0;
    const packed = await this.#packToFit(next.cls, rows);
    if (!packed || this.#stopping) return 0;
    this.#inflight.save(packed.properties.batchId, next.cls, packed.seqs, now);
    await this.#send(next.cls, packed, next.kind === 'backlog');
    return 0;
  }

  #pick(now: number): NextSend {
    const since = now - this.#o.liveWindowMs;
    const views: ClassView[] = OUTBOX_CLASSES.map((cls) => ({
      cls,
      oldestLiveAt: this.#d.store.outbox.oldestSince(cls, since),
      hasBacklog: this.#d.store.outbox.hasBefore(cls, since),
    }));
    return pickNext(
      views,
      now,
      { liveWindowMs: this.#o.liveWindowMs, lingerMs: this.#o.lingerMs, idleMs: 1000 },
      this.#budget.waitMs(now),
    );
  }

  #origin(batchId: string): BatchOrigin {
    return { gatewayId: this.#o.gatewayId, campusId: this.#o.campusId, batchId };
  }

  /** Encode as many of the rows as fit in one event; an item that can never fit is dropped and counted. */
  async #packToFit(cls: OutboxClass, rows: readonly OutboxRow[]): Promise<PackedEvent | undefined> {
    const limit = Math.min(this.#ourLimitBytes, this.#hubLimitBytes);
    const packed = await packRows(cls, rows, this.#origin(randomUUID()), limit);
    if (packed.body.length <= limit) return packed;
    // A single item larger than an event: it can never be sent, so it must not block its class.
    const [row] = rows;
    this.#log.error(
      { cls, itemId: row?.itemId, bytes: packed.body.length },
      'outbox item larger than an event: moved to quarantine',
    );
    this.#m.dropped.inc({ class: cls });
    if (row) {
      const store = this.#d.store;
      store.transaction(() => {
        store.outbox.remove(cls, [row.seq]);
        store.addQuarantine({
          at: this.#d.now(),
          source: 'uplink',
          deviceId: undefined,
          topic: `outbox/${cls}/${row.itemId}`,
          code: 'CT_ERR_PAYLOAD_TOO_LARGE',
          message: `outbox item is ${packed.body.length} bytes compressed, above the event limit of ${limit}`,
          payload: Buffer.from(row.body),
        });
      })();
    }
    return undefined;
  }

  async #send(cls: OutboxClass, packed: PackedEvent, backlog: boolean): Promise<void> {
    const producer = this.#producer!;
    const batch = await producer.createBatch({
      partitionKey: this.#o.gatewayId,
      abortSignal: this.#stopSignal.signal,
    });
    // A Basic-tier hub (256 KiB) or a smaller local limit: pack to it from now on.
    const hubLimit = batch.maxSizeInBytes - ENVELOPE_BYTES;
    if (hubLimit < this.#hubLimitBytes) {
      if (hubLimit < this.#ourLimitBytes)
        this.#log.warn(
          { hubMaxBytes: batch.maxSizeInBytes, maxEventBytes: this.#o.maxEventBytes },
          "the hub's event limit is below uplink.maxEventBytes: packing to the hub's",
        );
      this.#hubLimitBytes = hubLimit;
    }
    const added = batch.tryAdd({
      body: packed.body,
      properties: { ...packed.properties },
      contentType: 'application/json',
    });
    if (!added) {
      // Packed before the hub's limit was known: forget this membership; the next one is packed to fit.
      this.#inflight.clear(packed.properties.batchId);
      throw new Error(
        `event of ${packed.body.length} bytes exceeds the hub's limit of ${batch.maxSizeInBytes}; repacking smaller`,
      );
    }
    await producer.sendBatch(batch, { abortSignal: this.#callSignal() });
    const now = this.#d.now();
    const store = this.#d.store;
    store.transaction(() => {
      store.outbox.remove(cls, packed.seqs);
      this.#inflight.clear(packed.properties.batchId);
    })();
    if (backlog) this.#budget.spend(packed.body.length, now);
    this.#meter.add(packed.seqs.length, now);
    this.#m.events.inc({ class: cls });
    this.#m.items.inc({ class: cls }, packed.seqs.length);
    this.#m.bytes.inc({ class: cls }, packed.body.length);
    this.#lastSuccessAt = now;
    this.#lastContactAt = now;
    this.#setState('connected');
  }

  async #probe(): Promise<void> {
    await this.#producer!.getEventHubProperties({ abortSignal: this.#callSignal() });
    this.#lastContactAt = this.#d.now();
    this.#setState('connected');
  }

  /** A call to the hub ends at stop() or after sendTimeoutMs, whichever comes first. */
  #callSignal(): AbortSignal {
    return AbortSignal.any([this.#stopSignal.signal, AbortSignal.timeout(this.#o.sendTimeoutMs)]);
  }

  get #ourLimitBytes(): number {
    return this.#o.maxEventBytes - ENVELOPE_BYTES;
  }

  #onError(err: unknown): void {
    const message = describeError(err);
    const first = this.#state !== 'disconnected';
    this.#lastError = message;
    this.#lastErrorAt = this.#d.now();
    this.#m.errors.inc();
    this.#setState('disconnected');
    if (first)
      this.#log.warn({ err: message, retryAt: this.#nextRetryAt }, 'uplink send failed; backlog grows');
    else this.#log.debug({ err: message, attempt: this.#attempt }, 'uplink still failing');
  }

  #setState(state: UplinkState): void {
    if (state === this.#state) return;
    if (state === 'connected' && this.#state !== 'connecting')
      this.#log.info({ downMs: this.#d.now() - this.#since }, 'uplink connected');
    this.#state = state;
    this.#since = this.#d.now();
    this.#m.connected.set(state === 'connected' ? 1 : 0);
    this.#d.onState?.(state, this.#since);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}

function uplinkMetrics(metrics: GatewayMetrics) {
  const registers = [metrics.registry];
  const labelNames = ['class'] as const;
  return {
    events: new Counter({
      name: 'ct_uplink_events_total',
      help: 'Event Hubs events sent',
      labelNames,
      registers,
    }),
    items: new Counter({ name: 'ct_uplink_items_total', help: 'Outbox items sent', labelNames, registers }),
    bytes: new Counter({
      name: 'ct_uplink_bytes_total',
      help: 'Compressed event bytes sent',
      labelNames,
      registers,
    }),
    dropped: new Counter({
      name: 'ct_uplink_items_dropped_total',
      help: 'Outbox items that could never fit in one event (moved to quarantine)',
      labelNames,
      registers,
    }),
    errors: new Counter({ name: 'ct_uplink_errors_total', help: 'Failed sends and probes', registers }),
    connected: new Gauge({
      name: 'ct_uplink_connected',
      help: '1 when the last send or probe succeeded',
      registers,
    }),
  };
}

/** One line for the status page; connection failures arrive as AggregateErrors with an empty message. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner =
    err instanceof AggregateError && err.errors.length > 0
      ? `: ${[...new Set(err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))))].join('; ')}`
      : '';
  const code = (err as { code?: unknown }).code;
  const text = `${err.name}${typeof code === 'string' && code !== err.name ? ` (${code})` : ''}: ${err.message}${inner}`;
  return redactSecretsInText(text);
}
