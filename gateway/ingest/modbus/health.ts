/**
 * A polled device's health as pure functions of its poll outcomes and `now`: the backoff schedule of a
 * failing device, its state (unknown → online / degraded / offline), its counters by fault, and the
 * deadband that keeps a steady value from being journaled every poll.
 */
import { type Fault, faultCode, faultLabel, faultMessage } from './faults.ts';

export type ModbusState = 'unknown' | 'online' | 'degraded' | 'offline';

export interface ScheduleSettings {
  pollIntervalMs: number;
  /** First retry delay of a failing device; doubles with each failed poll. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Failed polls in a row before the device is reported offline. */
  offlineAfterFailures: number;
}

/**
 * Delay before the next poll: the poll interval while healthy; after `failures` failed polls in a row,
 * backoffBaseMs × 2^(failures-1) capped at backoffMaxMs (never shorter than the interval), spread by ±10 %
 * with `random` ∈ [0, 1) so that devices that failed together do not retry together.
 */
export function nextDelayMs(failures: number, s: ScheduleSettings, random = 0.5): number {
  if (failures <= 0) return s.pollIntervalMs;
  const exp = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
  const base = Math.max(s.pollIntervalMs, exp);
  return Math.round(base * (0.9 + 0.2 * random));
}

export interface PollOutcome {
  at: number;
  durationMs: number;
  /** Blocks read successfully / in total. */
  blocksOk: number;
  blocks: number;
  /** Faults of the failed requests (after retries), one per failed block. */
  faults: { fault: Fault; detail: string }[];
  /** Faults of attempts that were retried and then succeeded or failed. */
  retriedFaults: Fault[];
  registersRead: number;
  readingsJournaled: number;
  valuesRejected: number;
  /** The journal write failed: the poll is not a success, whatever was read. */
  journalError: string | undefined;
  /** The map does not fit what the device sent (CT_ERR_MODBUS_ORDER): read, but nothing journalled. */
  mapProblem?: { code: string; message: string } | undefined;
}

export interface LastError {
  at: number;
  fault: string;
  /** From the error catalogue; null for a journal failure (the pipeline logs and counts those). */
  code: string | null;
  message: string;
}

export interface ModbusHealth {
  state: ModbusState;
  consecutiveFailures: number;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  lastPollMs: number | null;
  lastError: LastError | null;
  counters: {
    polls: number;
    ok: number;
    partial: number;
    failed: number;
    registersRead: number;
    readingsJournaled: number;
    valuesRejected: number;
    retries: number;
    /** Failed requests by fault label (`exception_02`, `timeout`, `crc`, `disconnect`…). */
    faults: Record<string, number>;
  };
}

export function initialHealth(): ModbusHealth {
  return {
    state: 'unknown',
    consecutiveFailures: 0,
    lastPollAt: null,
    lastSuccessAt: null,
    lastPollMs: null,
    lastError: null,
    counters: {
      polls: 0,
      ok: 0,
      partial: 0,
      failed: 0,
      registersRead: 0,
      readingsJournaled: 0,
      valuesRejected: 0,
      retries: 0,
      faults: {},
    },
  };
}

export type PollResult = 'ok' | 'partial' | 'failed';

export function pollResult(o: PollOutcome): PollResult {
  if (o.journalError !== undefined || o.blocksOk === 0) return 'failed';
  return o.blocksOk === o.blocks ? 'ok' : 'partial';
}

/**
 * The health after one poll. A poll with at least one block read and journaled resets the failure count
 * (the device is alive); one with none counts as a failure and, after `offlineAfterFailures` in a row,
 * the device is offline.
 */
export function applyOutcome(h: ModbusHealth, o: PollOutcome, s: ScheduleSettings): ModbusHealth {
  const result = pollResult(o);
  const faults = { ...h.counters.faults };
  for (const f of [...o.faults.map((x) => x.fault), ...o.retriedFaults]) {
    const label = faultLabel(f);
    faults[label] = (faults[label] ?? 0) + 1;
  }
  const consecutiveFailures = result === 'failed' ? h.consecutiveFailures + 1 : 0;
  let lastError = h.lastError;
  const first = o.faults[0];
  if (o.journalError !== undefined) {
    lastError = { at: o.at, fault: 'journal', code: null, message: o.journalError };
  } else if (o.mapProblem) {
    lastError = { at: o.at, fault: 'map', code: o.mapProblem.code, message: o.mapProblem.message };
  } else if (first) {
    lastError = {
      at: o.at,
      fault: faultLabel(first.fault),
      code: faultCode(first.fault),
      message: faultMessage(first.fault, first.detail),
    };
  }
  const state: ModbusState =
    result === 'ok' && !o.mapProblem
      ? 'online'
      : result === 'partial' || consecutiveFailures < s.offlineAfterFailures
        ? 'degraded'
        : 'offline';
  return {
    state,
    consecutiveFailures,
    lastPollAt: o.at,
    lastSuccessAt: result === 'failed' ? h.lastSuccessAt : o.at + o.durationMs,
    lastPollMs: o.durationMs,
    lastError,
    counters: {
      polls: h.counters.polls + 1,
      ok: h.counters.ok + (result === 'ok' ? 1 : 0),
      partial: h.counters.partial + (result === 'partial' ? 1 : 0),
      failed: h.counters.failed + (result === 'failed' ? 1 : 0),
      registersRead: h.counters.registersRead + o.registersRead,
      readingsJournaled: h.counters.readingsJournaled + o.readingsJournaled,
      valuesRejected: h.counters.valuesRejected + o.valuesRejected,
      retries: h.counters.retries + o.retriedFaults.length,
      faults,
    },
  };
}

/**
 * Deadband: a value is forwarded when it moved by at least `deadband` since the last forwarded one, or
 * when `refreshMs` passed since then (so the room twin keeps seeing the device as alive).
 */
export function passesDeadband(
  last: { value: number; at: number } | undefined,
  value: number,
  now: number,
  deadband: number,
  refreshMs: number,
): boolean {
  if (deadband <= 0 || last === undefined) return true;
  return Math.abs(value - last.value) >= deadband || now - last.at >= refreshMs;
}
