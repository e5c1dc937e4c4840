/**
 * The gateway's data path after decoding: group-committed journal writes, then window aggregation and the
 * room twin; plus the clock-driven work (closing windows, twin ticks, journal pruning, checkpoints).
 * Adapters (MQTT, Modbus, webhooks) only call `submit`.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Campus } from '../../shared/campus.ts';
import type {
  AdminEvent,
  Alert,
  DeviceStatus,
  LearningEvent,
  Reading,
  TwinChange,
} from '../../shared/events.ts';
import type { Logger } from '../../shared/logger.ts';
import { unitOf } from '../../shared/quantities.ts';
import { closeWatermark, type WindowConfig, WindowSet } from '../aggregate/index.ts';
import {
  checkJournalMatches,
  checkJournalPresent,
  ensureIdentity,
  type JournalIdentity,
  unreadableJournal,
} from '../journal/identity.ts';
import {
  type CommitResult,
  GatewayStore,
  HISTORY_KEEP_MS,
  outboxTotals,
  type QuarantineEntry,
} from '../journal/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { statusAlerts } from '../twin/device-status.ts';
import type { TwinConfig } from '../twin/reducer.ts';
import { type CommitCallback, GroupCommitter, type Submission } from './committer.ts';
import { guardBytes, lowDisk, lowDiskQuota, type Space, volumeSpace } from './disk.ts';
import { alertFor, loadCheckpoint, recordedJournal, type TwinStage, Twins, twinChangeId } from './twins.ts';

export interface PipelineOptions {
  dataDir: string;
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  retentionMs: number;
  groupCommitMaxRows: number;
  quarantineMaxRows: number;
  quarantineMaxPayloadBytes: number;
  outboxQuotaBytes: number;
  forwardRaw: boolean;
  window: WindowConfig;
  twin: TwinConfig;
  twinTickIntervalMs: number;
  checkpointIntervalMs: number;
  lowBatteryPct: number;
  /** The journal is created for and checked against this id (journal/identity.ts). */
  gatewayId?: string;
  /** Start even though the journal is not the one the twin state records (`--new-journal`). */
  acceptNewJournal?: boolean;
  /** The free-space guard of the data volume (disk.ts); default 64 MiB, at most a fifth of the volume. */
  minFreeBytes?: number;
  /** The oldest unsent outbox item may be this old before it is a critical condition (default 24 h). */
  backlogAgeBudgetMs?: number;
}

const DISK_CHECK_MS = 5000;

export interface PipelineEvents {
  'twin:changed': [TwinChange];
  'alert:raised': [Alert];
  /** The uplink connected, lost its hub or stopped (the status page refreshes at once). */
  'uplink:state': [{ state: string; at: number }];
}

/** Something staff should know about the gateway's state, shown on /api/status (and /healthz when critical). */
export interface Condition {
  severity: 'warning' | 'critical';
  message: string;
  since: number;
}

export class Pipeline {
  /** Conditions by code (CT_ERR_*), current ones only. */
  readonly conditions = new Map<string, Condition>();
  readonly #space: () => Space;
  #lastDiskCheck = Number.NEGATIVE_INFINITY;
  #tickFailures = 0;
  #lastTickFailureLog = Number.NEGATIVE_INFINITY;
  /** The journal's identity (journal/identity.ts). */
  readonly journalIdentity: JournalIdentity;
  readonly #lastChangeTs = new Map<string, number>();
  /** Durable facts as they happen, for live views (SSE); emitted only after their transaction commits. */
  readonly events = new EventEmitter<PipelineEvents>();
  readonly store: GatewayStore;
  readonly windows: WindowSet;
  readonly twins: Twins;
  readonly #committer: GroupCommitter;
  readonly #queueTwinChangesTx: (stage: TwinStage, now: number) => void;
  readonly #queueAlertsTx: (alerts: readonly Alert[], now: number) => void;
  readonly #opts: PipelineOptions;
  readonly #campus: Campus;
  readonly #metrics: GatewayMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastTwinTick = 0;
  #lastPrune = 0;
  #lastCheckpoint = 0;
  #checkpointing = false;
  #lastFailureLog = 0;
  #failedSinceLog = 0;
  /** Journal rows of open windows, found at start, whose device or channel is no longer registered. */
  orphanRows = 0;

  constructor(
    campus: Campus,
    opts: PipelineOptions,
    deps: { metrics: GatewayMetrics; logger: Logger; now: () => number; space?: () => Space },
  ) {
    this.#campus = campus;
    this.#opts = opts;
    this.#metrics = deps.metrics;
    this.#log = deps.logger.child({ component: 'pipeline' });
    this.#now = deps.now;
    this.#space = deps.space ?? (() => volumeSpace(opts.dataDir));
    const dbFile = join(opts.dataDir, 'gateway.db');
    const twinFile = join(opts.dataDir, 'twin.json');
    mkdirSync(opts.dataDir, { recursive: true });
    // Is this the journal the small state belongs to? Checked before anything is written (identity.ts).
    const acceptNew = opts.acceptNewJournal ?? false;
    let checkpoint = loadCheckpoint(twinFile);
    const recorded = recordedJournal(checkpoint);
    checkJournalPresent(dbFile, twinFile, recorded, acceptNew);
    try {
      this.store = new GatewayStore(dbFile, {
        synchronous: opts.synchronous,
        quotaBytes: opts.outboxQuotaBytes,
        windowMs: opts.window.windowMs,
        allowedLatenessMs: opts.window.allowedLatenessMs,
        forwardRaw: opts.forwardRaw,
        quarantineMaxRows: opts.quarantineMaxRows,
        quarantineMaxPayloadBytes: opts.quarantineMaxPayloadBytes,
      });
    } catch (err) {
      throw unreadableJournal(dbFile, err);
    }
    const gatewayId = opts.gatewayId ?? 'gateway';
    const identity = ensureIdentity(this.store.db, gatewayId, deps.now());
    try {
      checkJournalMatches(dbFile, twinFile, identity, gatewayId, recorded, acceptNew);
    } catch (err) {
      this.store.close();
      throw err;
    }
    this.journalIdentity = identity;
    if (acceptNew && recorded && recorded.journalId !== identity.journalId && existsSync(twinFile)) {
      // The twin state belongs to the old journal: kept beside, rebuilt from the new one.
      const aside = `${twinFile}.previous-journal-${recorded.journalId}`;
      renameSync(twinFile, aside);
      checkpoint = { data: null };
      this.#log.warn(
        { journalId: identity.journalId, previous: recorded.journalId, aside },
        'started a new journal',
      );
    }
    this.#queueTwinChangesTx = this.store.transaction((stage: TwinStage, now: number) =>
      this.#queueTwinChangesInTx(stage, now),
    );
    this.#queueAlertsTx = this.store.transaction((alerts: readonly Alert[], now: number) => {
      for (const a of alerts) this.store.outbox.add('alert', a.alertId, a, now);
    });
    this.windows = new WindowSet(opts.window);
    this.twins = new Twins(
      campus,
      opts.twin,
      twinFile,
      {
        journalId: identity.journalId,
        gatewayId: identity.gatewayId,
        createdAt: identity.createdAt,
      },
      checkpoint,
    );
    this.#committer = new GroupCommitter(
      opts.groupCommitMaxRows,
      (batch) => this.#write(batch),
      (err, batch) => this.#commitFailed(err, batch),
    );
  }

  /** Rebuild open windows and twin state from disk, then start the clock-driven work. */
  async start(): Promise<void> {
    let rebuilt = 0;
    for (const row of this.store.openRows()) {
      const r = this.#toReading(row);
      if (r) {
        this.windows.add(r);
        rebuilt++;
      } else this.orphanRows++;
    }
    // Twin: the checkpoint, then what was journaled after it (or the last hour, with no checkpoint).
    const restored = await this.twins.restore(this.#now());
    const savedAt = restored.savedAt;
    const now = this.#now();
    if (restored.damaged) {
      const d = restored.damaged;
      const message = `${d.file} was ${d.reason}; moved to ${d.movedTo} and the room twin rebuilt from the journal`;
      this.#raise('CT_ERR_STATE_DAMAGED', 'warning', message, now);
      this.#log.warn({ code: 'CT_ERR_STATE_DAMAGED', ...d }, message);
    }
    // Bookings journaled after the checkpoint, before the readings (they set the priors the readings meet).
    const bookings = [...this.store.bookingEventsSince(savedAt > 0 ? savedAt - 5 * 60_000 : 0)];
    if (bookings.length) this.#queueTwinChanges(this.twins.stageBookings(bookings, now), now);
    const replay: Reading[] = [];
    for (const row of this.store.rowsSince(savedAt > 0 ? savedAt - 5 * 60_000 : now - 3600_000)) {
      if (savedAt > 0 && row.receivedAt <= savedAt) continue;
      const r = this.#toReading(row);
      if (r) replay.push(r);
    }
    this.#queueTwinChanges(this.twins.stage(replay, now), now);
    this.#log.info(
      { rebuilt, replayed: replay.length, orphanRows: this.orphanRows, closedUntil: this.store.closedUntil },
      'pipeline restored',
    );
    this.#lastTwinTick = this.#lastPrune = this.#lastCheckpoint = now;
    this.#timer = setInterval(() => this.tick(), Math.min(1000, this.#opts.window.windowMs / 4));
    this.#timer.unref();
  }

  /**
   * Admin events just journaled (webhooks): room bookings move the rooms' occupancy priors. Idempotent (a
   * booking is keyed by its id), so a resent event changes nothing.
   */
  applyAdminEvents(events: readonly (LearningEvent | AdminEvent)[]): void {
    // stageBookings reads what each says about bookings (bookingChange) and skips the rest.
    const admin = events.filter((e): e is AdminEvent => e.source === 'admin');
    if (admin.length === 0) return;
    const now = this.#now();
    this.#queueTwinChanges(this.twins.stageBookings(admin, now), now);
  }

  submit(readings: readonly Reading[], rejected: readonly QuarantineEntry[], done: CommitCallback): void {
    this.#committer.submit({ readings, rejected, done });
  }

  /** Promise form, for adapters that await (webhooks, Modbus). */
  submitAsync(readings: readonly Reading[], rejected: readonly QuarantineEntry[] = []): Promise<void> {
    return new Promise((resolve, reject) =>
      this.submit(readings, rejected, (err) => (err ? reject(err) : resolve())),
    );
  }

  #write(batch: Submission[]): void {
    const readings: Reading[] = [];
    const rejected: QuarantineEntry[] = [];
    for (const s of batch) {
      for (const r of s.readings) readings.push(r);
      for (const q of s.rejected) rejected.push(q);
    }
    const now = this.#now();
    let stage: TwinStage | undefined;
    const result = this.store.commit(readings, rejected, now, (res: CommitResult) => {
      // Fresh and late together: the reducer orders them by their own timestamps.
      stage = this.twins.stage(res.late.length ? [...res.fresh, ...res.late] : res.fresh, now);
      this.#queueTwinChangesInTx(stage, now);
    });
    if (stage) {
      this.#adopt(stage);
      if (stage.failures.length) {
        for (const f of stage.failures) this.#metrics.twinErrors.inc(f.readings);
        this.#log.error(
          { failures: stage.failures.slice(0, 3), count: stage.failures.length },
          'twin reducer failed on readings',
        );
      }
    }
    for (const r of result.fresh) this.windows.add(r);
    this.conditions.delete('CT_ERR_JOURNAL_UNAVAILABLE');
    this.#metrics.commits.inc();
    this.#count(result, readings);
  }

  /** A failed group commit: counted always, logged at most every 5 s (a full disk fails every commit). */
  #commitFailed(err: Error, batch: Submission[]): void {
    this.#metrics.commitErrors.inc();
    this.#failedSinceLog += batch.length;
    const now = this.#now();
    this.#raise(
      'CT_ERR_JOURNAL_UNAVAILABLE',
      'critical',
      `the journal cannot write (${err.message}): readings and events are refused until it can`,
      now,
    );
    if (now - this.#lastFailureLog >= 5000) {
      this.#log.error(
        { err, submissions: this.#failedSinceLog },
        'journal write failed; nothing in it was acknowledged',
      );
      this.#lastFailureLog = now;
      this.#failedSinceLog = 0;
    }
  }

  #count(result: CommitResult, readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    const bySource = new Map<string, number>();
    for (const r of result.fresh) bySource.set(r.source, (bySource.get(r.source) ?? 0) + 1);
    for (const r of result.late) bySource.set(r.source, (bySource.get(r.source) ?? 0) + 1);
    for (const [source, n] of bySource) this.#metrics.accepted.inc({ source }, n);
    if (result.late.length) this.#metrics.late.inc(result.late.length);
    for (const r of result.duplicates) this.#metrics.duplicates.inc({ source: r.source });
  }

  /**
   * A twin change's id ends in its time, so two changes of one room and kind in the same millisecond (a
   * commit and a tick) would share an id and the second would be dropped as a duplicate: such a change is
   * moved on by a millisecond. Times that go back are event time (a backfill of older data) and stand: the
   * same change replayed again keeps its id and is ignored as the duplicate it is.
   */
  #sequence(stage: TwinStage): void {
    for (const c of stage.changes) {
      const key = `${c.roomId}\u0000${c.kind}\u0000${c.deviceId ?? ''}`;
      const last = this.#lastChangeTs.get(key);
      if (last !== undefined && c.ts === last) c.ts = last + 1;
      this.#lastChangeTs.set(key, c.ts);
    }
  }

  #queueTwinChangesInTx(stage: TwinStage, now: number): void {
    this.#sequence(stage);
    for (const c of stage.changes) {
      this.store.outbox.add('twin', twinChangeId(c), c, now);
      const alert = alertFor(c);
      if (alert) this.store.outbox.add('alert', alert.alertId, alert, now);
    }
  }

  #queueTwinChanges(stage: TwinStage, now: number): void {
    if (stage.changes.length) this.#queueTwinChangesTx(stage, now);
    this.#adopt(stage);
  }

  /** After the transaction: adopt the new states, count and announce the changes (`twin:changed`). */
  #adopt(stage: TwinStage): void {
    this.twins.adopt(stage);
    for (const c of stage.changes) {
      this.#metrics.twinChanges.inc({ kind: c.kind });
      this.events.emit('twin:changed', c);
      const alert = alertFor(c);
      if (alert) this.events.emit('alert:raised', alert);
    }
  }

  #toReading(row: {
    deviceId: string;
    channel: string;
    ts: number;
    value: number;
    receivedAt: number;
    source: Reading['source'];
  }): Reading | undefined {
    const device = this.#campus.devices.get(row.deviceId);
    const ch = device?.channels.get(row.channel);
    if (!device || !ch) return undefined;
    return {
      deviceId: row.deviceId,
      channel: row.channel,
      roomId: device.roomId,
      quantity: ch.quantity,
      unit: unitOf(ch.quantity),
      value: row.value,
      ts: row.ts,
      receivedAt: row.receivedAt,
      source: row.source,
    };
  }

  /**
   * A device's housekeeping status: kept (and checkpointed) for the status API; a battery going low or a
   * new fault becomes an alert, queued durably before the publish is acknowledged.
   */
  recordStatus(status: DeviceStatus, done: (err: Error | null) => void): void {
    const prev = this.twins.deviceStatus.get(status.deviceId);
    const roomId = this.#campus.devices.get(status.deviceId)?.roomId;
    const alerts = statusAlerts(prev, status, roomId, this.#opts.lowBatteryPct);
    try {
      if (alerts.length) this.#queueAlertsTx(alerts, this.#now());
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.twins.deviceStatus.set(status.deviceId, status);
    for (const a of alerts) this.events.emit('alert:raised', a);
    done(null);
  }

  /** Clock-driven work; called by the timer, and by tests with a fake clock. */
  tick(): void {
    const now = this.#now();
    try {
      if (now - this.#lastDiskCheck >= DISK_CHECK_MS) {
        this.#lastDiskCheck = now;
        // One look at the outbox for both checks.
        const outbox = outboxTotals(this.store.outbox.stats(now));
        this.#checkDisk(now, outbox.bytes);
        this.#checkBacklogAge(now, outbox.oldestAgeMs);
      }
      this.closeWindows(now);
      this.store.flushLate(now);
      if (now - this.#lastTwinTick >= this.#opts.twinTickIntervalMs) {
        this.#lastTwinTick = now;
        this.#queueTwinChanges(this.twins.stageTick(now), now);
      }
      if (now - this.#lastPrune >= 10_000) {
        this.#lastPrune = now;
        this.#prune(now - this.#opts.retentionMs - 60_000);
      }
      if (now - this.#lastCheckpoint >= this.#opts.checkpointIntervalMs && !this.#checkpointing) {
        this.#lastCheckpoint = now;
        void this.#checkpoint(now);
      }
    } catch (err) {
      // A full disk fails every tick: say so at most every 5 s, with how many were not said.
      this.#tickFailures++;
      if (now - this.#lastTickFailureLog >= 5000) {
        this.#log.error({ err, failures: this.#tickFailures }, 'pipeline tick failed');
        this.#lastTickFailureLog = now;
        this.#tickFailures = 0;
      }
    }
  }

  /** A condition on (its `since` kept while it lasts). */
  #raise(code: string, severity: Condition['severity'], message: string, now: number): void {
    this.conditions.set(code, { severity, message, since: this.conditions.get(code)?.since ?? now });
  }

  /** The uplink's backlog against its age budget: an old backlog means nothing is being forwarded. */
  #checkBacklogAge(now: number, age: number | null): void {
    const budget = this.#opts.backlogAgeBudgetMs ?? 24 * 3600_000;
    if (age === null || age <= budget) {
      this.conditions.delete('CT_ERR_BACKLOG_OLD');
      return;
    }
    const h = (ms: number) => `${(ms / 3600_000).toFixed(1)} h`;
    this.#raise(
      'CT_ERR_BACKLOG_OLD',
      'critical',
      `the oldest unsent item is ${h(age)} old (budget ${h(budget)}): check the uplink (its last error is on /api/status)`,
      now,
    );
  }

  /** The free-space guard (disk.ts): low-disk mode on or off, and what it does while on. */
  #checkDisk(now: number, outboxBytes: number): void {
    let space: Space;
    try {
      space = this.#space();
    } catch (err) {
      this.#log.debug({ err }, 'cannot read the data volume’s free space');
      return;
    }
    const min = this.#opts.minFreeBytes ?? 64 * 1024 * 1024;
    const was = this.conditions.has('CT_ERR_DISK_LOW');
    const on = lowDisk(space, min, was);
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    if (!on) {
      if (was) {
        this.conditions.delete('CT_ERR_DISK_LOW');
        this.store.outbox.limitQuota(undefined);
        this.#log.info({ free: space.free }, `free space back (${mib(space.free)}): low-disk mode ended`);
      }
      return;
    }
    // Keep only what open windows need in the journal, and let the outbox grow only into what is left.
    this.#prune(now);
    const quota = lowDiskQuota(outboxBytes, space, min);
    this.store.outbox.limitQuota(quota);
    const message =
      `only ${mib(space.free)} free on the data volume (guard ${mib(guardBytes(min, space.total))}): ` +
      `the journal keeps only open windows, the outbox is held to ${mib(quota)} by its backlog policy`;
    if (!was) this.#log.warn({ code: 'CT_ERR_DISK_LOW', free: space.free, quota }, message);
    this.#raise('CT_ERR_DISK_LOW', 'critical', message, now);
  }

  /**
   * Delete journal rows older than `beforeTs` (never an open window's) in chunks, for at most ~100 ms a
   * turn so ingest never stalls: retention, and low-disk mode's shorter horizon.
   */
  #prune(beforeTs: number): void {
    const started = performance.now();
    const chunk = 20_000;
    while (this.store.prune(beforeTs, chunk).rows === chunk) {
      if (performance.now() - started > 100) break;
    }
    this.store.pruneHistory(this.#now() - HISTORY_KEEP_MS);
    this.store.reclaimSpace();
  }

  closeWindows(now: number): number {
    const watermark = closeWatermark(now, this.#opts.window);
    if (watermark <= this.store.closedUntil) return 0;
    const closed = this.windows.closedBy(watermark);
    this.store.closeWindows(closed, watermark, now);
    this.windows.evict(watermark);
    this.#metrics.windowsClosed.inc(closed.length);
    return closed.length;
  }

  async #checkpoint(now: number): Promise<void> {
    this.#checkpointing = true;
    try {
      await this.twins.checkpoint(now);
    } catch (err) {
      this.#log.warn({ err }, 'twin checkpoint failed');
    } finally {
      this.#checkpointing = false;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#committer.flush();
    // Checkpoint only what has been journaled: every reading before `now` is in the store.
    await this.#checkpoint(this.#now());
    this.store.close();
  }
}
