import { describe, expect, it } from 'vitest';
import { parseSelector } from './filters.ts';

describe('parseSelector', () => {
  it('reads the forms the SDK sends', () => {
    expect(parseSelector("x-opt-offset > '-1'")).toEqual({ ok: true, position: { kind: 'earliest' } });
    expect(parseSelector("x-opt-offset > '@latest'")).toEqual({ ok: true, position: { kind: 'latest' } });
    expect(parseSelector("x-opt-offset >= '1024'")).toEqual({
      ok: true,
      position: { kind: 'offset', offset: 1024, inclusive: true },
    });
    expect(parseSelector("x-opt-offset > '1024'")).toEqual({
      ok: true,
      position: { kind: 'offset', offset: 1024, inclusive: false },
    });
    expect(parseSelector("x-opt-sequence-number > '7'")).toEqual({
      ok: true,
      position: { kind: 'sequence', sequenceNumber: 7, inclusive: false },
    });
    expect(parseSelector("x-opt-sequence-number >= '0'")).toEqual({
      ok: true,
      position: { kind: 'sequence', sequenceNumber: 0, inclusive: true },
    });
    expect(parseSelector("x-opt-enqueued-time > '1795766400000'")).toEqual({
      ok: true,
      position: { kind: 'enqueuedTime', enqueuedMs: 1_795_766_400_000, inclusive: false },
    });
  });

  it('accepts unquoted numbers, the amqp.annotation. prefix and any case', () => {
    expect(parseSelector('amqp.annotation.x-opt-sequence-number >= 3')).toEqual({
      ok: true,
      position: { kind: 'sequence', sequenceNumber: 3, inclusive: true },
    });
    expect(parseSelector("X-OPT-OFFSET > '-1'")).toEqual({ ok: true, position: { kind: 'earliest' } });
  });

  it('treats no filter as earliest', () => {
    expect(parseSelector(undefined)).toEqual({ ok: true, position: { kind: 'earliest' } });
    expect(parseSelector('  ')).toEqual({ ok: true, position: { kind: 'earliest' } });
  });

  it('refuses what it cannot honour', () => {
    expect(parseSelector("x-opt-offset < '5'").ok).toBe(false);
    expect(parseSelector("x-opt-sequence-number > 'abc'").ok).toBe(false);
    expect(parseSelector("x-opt-sequence-number > '@latest'").ok).toBe(false);
    expect(parseSelector("x-opt-offset > '99999999999999999999'").ok).toBe(false);
    expect(parseSelector("x-opt-partition-key = 'a'").ok).toBe(false);
  });
});
