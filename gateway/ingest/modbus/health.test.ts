import { describe, expect, it } from 'vitest';
import { classify, faultCode, faultLabel, isRetriable } from './faults.ts';
import { applyOutcome, initialHealth, nextDelayMs, type PollOutcome, passesDeadband } from './health.ts';

const S = { pollIntervalMs: 1000, backoffBaseMs: 2000, backoffMaxMs: 60_000, offlineAfterFailures: 3 };
const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);

function outcome(over: Partial<PollOutcome>): PollOutcome {
  return {
    at: T0,
    durationMs: 10,
    blocksOk: 1,
    blocks: 1,
    faults: [],
    retriedFaults: [],
    registersRead: 2,
    readingsJournaled: 1,
    valuesRejected: 0,
    journalError: undefined,
    ...over,
  };
}

describe('backoff schedule', () => {
  it('polls at the interval while healthy, doubles per failure up to the cap, with ±10 % jitter', () => {
    expect(nextDelayMs(0, S)).toBe(1000);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => nextDelayMs(n, S))).toEqual([
      2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
    expect(nextDelayMs(1, S, 0)).toBe(1800);
    expect(nextDelayMs(1, S, 0.999)).toBe(2200);
    // Never faster than the interval, even when the base is shorter.
    expect(nextDelayMs(1, { ...S, pollIntervalMs: 5000 })).toBe(5000);
  });
});

describe('health', () => {
  it('goes degraded then offline after failed polls, and online again on success', () => {
    const timeout = { fault: { kind: 'timeout' as const }, detail: 'FC4 0+2: Timed out' };
    let h = initialHealth();
    expect(h.state).toBe('unknown');
    h = applyOutcome(h, outcome({}), S);
    expect(h).toMatchObject({ state: 'online', consecutiveFailures: 0, lastSuccessAt: T0 + 10 });
    for (let i = 1; i <= 3; i++) {
      h = applyOutcome(
        h,
        outcome({ at: T0 + i * 1000, blocksOk: 0, faults: [timeout], retriedFaults: [{ kind: 'timeout' }] }),
        S,
      );
      expect(h.state).toBe(i < 3 ? 'degraded' : 'offline');
    }
    expect(h.consecutiveFailures).toBe(3);
    expect(h.counters).toMatchObject({ polls: 4, ok: 1, failed: 3, retries: 3, faults: { timeout: 6 } });
    expect(h.lastError).toMatchObject({ fault: 'timeout', code: 'CT_ERR_MODBUS_TIMEOUT', at: T0 + 3000 });
    expect(h.lastSuccessAt).toBe(T0 + 10);
    h = applyOutcome(h, outcome({ at: T0 + 9000 }), S);
    expect(h).toMatchObject({ state: 'online', consecutiveFailures: 0 });
  });

  it('a partial poll (one block refused) keeps the device alive but degraded', () => {
    const ex = { fault: { kind: 'exception' as const, code: 2 }, detail: 'x' };
    const h = applyOutcome(initialHealth(), outcome({ blocks: 2, blocksOk: 1, faults: [ex] }), S);
    expect(h).toMatchObject({
      state: 'degraded',
      consecutiveFailures: 0,
      counters: { partial: 1, faults: { exception_02: 1 } },
    });
    expect(h.lastError?.message).toMatch(/exception 02 \(illegal data address\)/);
  });

  it('a poll whose journal write failed is a failure', () => {
    const h = applyOutcome(initialHealth(), outcome({ journalError: 'disk I/O error' }), S);
    expect(h).toMatchObject({ state: 'degraded', consecutiveFailures: 1, counters: { failed: 1 } });
  });
});

describe('faults', () => {
  it('classifies modbus-serial errors', () => {
    const ex = Object.assign(new Error('Modbus exception 11'), { modbusCode: 11 });
    expect(faultLabel(classify(ex))).toBe('exception_0B');
    expect(faultCode(classify(ex))).toBe('CT_ERR_MODBUS_EXCEPTION');
    expect(classify({ name: 'TransactionTimedOutError', message: 'Timed out', errno: 'ETIMEDOUT' })).toEqual({
      kind: 'timeout',
    });
    expect(classify(new Error('CRC error'))).toEqual({ kind: 'crc' });
    expect(classify(new Error('Data length error, expected 9 got 7'))).toEqual({ kind: 'bad_response' });
    expect(classify({ message: 'Port Not Open', errno: 'ECONNREFUSED' })).toEqual({ kind: 'disconnect' });
    expect(isRetriable({ kind: 'timeout' })).toBe(true);
    expect(isRetriable({ kind: 'exception', code: 2 })).toBe(false);
    expect(isRetriable({ kind: 'exception', code: 6 })).toBe(true);
    expect(isRetriable({ kind: 'connect_failed' })).toBe(false);
  });
});

describe('deadband', () => {
  it('forwards a value that moved enough, or after the refresh time', () => {
    const last = { value: 21.0, at: T0 };
    expect(passesDeadband(undefined, 21, T0, 0.5, 60_000)).toBe(true);
    expect(passesDeadband(last, 21.2, T0 + 1000, 0.5, 60_000)).toBe(false);
    expect(passesDeadband(last, 21.5, T0 + 1000, 0.5, 60_000)).toBe(true);
    expect(passesDeadband(last, 21.2, T0 + 60_000, 0.5, 60_000)).toBe(true);
    expect(passesDeadband(last, 21.0, T0 + 1, 0, 60_000)).toBe(true);
  });
});
