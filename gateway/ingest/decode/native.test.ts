import { describe, expect, it } from 'vitest';
import { type DecodeContext, decodeTelemetry } from './index.ts';
import { NOW, testContext, testDevice } from './test-support.ts';

const MIN = 60_000;

const DEVICE = testDevice({
  temperature: 'temperature',
  co2: 'co2',
  humidity: 'humidity',
  motion: 'motion',
  power: 'power',
});

function ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return testContext(DEVICE, { maxFutureMs: 5 * MIN, oldestAcceptedTs: NOW - 7 * 24 * 60 * MIN, ...over });
}

function decode(doc: unknown, over: Partial<DecodeContext> = {}) {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  return decodeTelemetry(Buffer.from(text), ctx(over));
}

describe('native form', () => {
  it('decodes the documented example into canonical readings', () => {
    const ts = NOW - MIN;
    const res = decode({ ts, readings: { temperature: 21.4, co2: 640 } });
    expect(res.rejections).toEqual([]);
    expect(res.readings).toEqual([
      {
        deviceId: 'env-101',
        channel: 'temperature',
        roomId: 'B1-101',
        quantity: 'temperature',
        value: 21.4,
        unit: '°C',
        ts,
        receivedAt: NOW,
        source: 'mqtt',
      },
      {
        deviceId: 'env-101',
        channel: 'co2',
        roomId: 'B1-101',
        quantity: 'co2',
        value: 640,
        unit: 'ppm',
        ts,
        receivedAt: NOW,
        source: 'mqtt',
      },
    ]);
  });

  it('uses the receive time when ts is absent, and carries the context source', () => {
    const res = decode({ readings: { co2: 640 } }, { source: 'replay' });
    expect(res.readings).toMatchObject([{ ts: NOW, receivedAt: NOW, source: 'replay' }]);
  });

  it('accepts an ISO-8601 ts with Z or an offset', () => {
    expect(decode({ ts: '2026-11-27T11:59:00Z', readings: { co2: 1 } }).readings[0]?.ts).toBe(NOW - MIN);
    expect(decode({ ts: '2026-11-27T12:59:00.250+01:00', readings: { co2: 1 } }).readings[0]?.ts).toBe(
      NOW - MIN + 250,
    );
  });

  it('accepts the per-reading object form, whose ts overrides the top-level one', () => {
    const res = decode({
      ts: NOW - 2 * MIN,
      readings: { co2: { value: 640, ts: NOW - MIN }, temperature: { value: 20 } },
    });
    expect(res.rejections).toEqual([]);
    expect(res.readings.map((r) => [r.channel, r.value, r.ts])).toEqual([
      ['co2', 640, NOW - MIN],
      ['temperature', 20, NOW - 2 * MIN],
    ]);
  });

  it('accepts booleans for motion only, as 1/0', () => {
    const res = decode({ readings: { motion: true } });
    expect(res.readings).toMatchObject([{ channel: 'motion', value: 1, unit: 'bool' }]);
    expect(decode({ readings: { motion: { value: false } } }).readings[0]?.value).toBe(0);
    const bad = decode({ readings: { co2: true } });
    expect(bad.readings).toEqual([]);
    expect(bad.rejections).toMatchObject([{ code: 'CT_ERR_BAD_VALUE', channel: 'co2' }]);
  });

  it('rounds ts to integer ms', () => {
    expect(decode({ ts: NOW - 1000.6, readings: { co2: 1 } }).readings[0]?.ts).toBe(NOW - 1001);
  });

  it('ignores unknown top-level keys', () => {
    expect(decode({ fw: '1.2.0', readings: { co2: 1 } }).rejections).toEqual([]);
  });

  it('answers an empty readings object with a code, not silence', () => {
    expect(decode({ readings: {} })).toEqual({
      readings: [],
      rejections: [{ code: 'CT_ERR_SCHEMA', message: expect.stringMatching(/holds no readings/) }],
    });
  });
});

describe('native form: structure errors (CT_ERR_SCHEMA, naming the path)', () => {
  it.each([
    ['a JSON string', '"hello"', 'got string'],
    ['a number', '42', 'got number'],
    ['null', 'null', 'got null'],
    ['readings missing', { ts: NOW }, 'readings: missing'],
    ['readings an array', { readings: [] }, 'readings: expected object, got array'],
    ['readings a string', { readings: 'co2' }, 'readings: expected object, got string'],
    ['ts a boolean', { ts: true, readings: { co2: 1 } }, 'ts: expected epoch ms'],
    ['ts null', { ts: null, readings: { co2: 1 } }, 'ts: expected epoch ms'],
    ['ts a numeric string', { ts: String(NOW), readings: { co2: 1 } }, 'ts: expected epoch ms'],
    ['ts ISO without offset', { ts: '2026-11-27T12:00:00', readings: { co2: 1 } }, 'ts: expected epoch ms'],
    ['ts an impossible date', { ts: '2026-02-30T12:00:00Z', readings: { co2: 1 } }, 'ts: expected epoch ms'],
  ])('rejects %s as a whole', (_name, doc, detail) => {
    const res = decode(doc);
    expect(res.readings).toEqual([]);
    expect(res.rejections).toHaveLength(1);
    expect(res.rejections[0]?.code).toBe('CT_ERR_SCHEMA');
    expect(res.rejections[0]?.message).toContain(detail);
  });

  it.each([
    ['a string value', { co2: '640' }, 'readings.co2: expected number, got string'],
    ['a null value', { co2: null }, 'readings.co2: expected number, got null'],
    ['an array value', { co2: [640] }, 'readings.co2: expected number, got array'],
    ['an object without value', { co2: { ts: NOW } }, 'readings.co2.value: missing'],
    [
      'an object with a string value',
      { co2: { value: 'x' } },
      'readings.co2.value: expected number, got string',
    ],
    ['an object with a bad ts', { co2: { value: 1, ts: 'soon' } }, 'readings.co2.ts: expected epoch ms'],
    [
      'a nested object value',
      { co2: { value: { value: 1 } } },
      'readings.co2.value: expected number, got object',
    ],
  ])('rejects only the item with %s', (_name, readings, message) => {
    const res = decode({ readings: { ...readings, temperature: 20 } });
    expect(res.readings.map((r) => r.channel)).toEqual(['temperature']);
    expect(res.rejections).toEqual([
      { code: 'CT_ERR_SCHEMA', message: expect.stringContaining(message), channel: 'co2' },
    ]);
  });
});

describe('native form: per-item value and time rules, partial acceptance', () => {
  it('rejects unregistered channels individually', () => {
    const res = decode({ readings: { co2: 640, pm25: 12 } });
    expect(res.readings.map((r) => r.channel)).toEqual(['co2']);
    expect(res.rejections).toMatchObject([{ code: 'CT_ERR_UNKNOWN_CHANNEL', channel: 'pm25' }]);
    expect(res.rejections[0]?.message).toContain('readings.pm25');
  });

  it('does not let "__proto__" or inherited names act as channels', () => {
    const res = decode('{"readings":{"__proto__":1,"constructor":2,"toString":3}}');
    expect(res.readings).toEqual([]);
    expect(res.rejections.map((r) => r.code)).toEqual([
      'CT_ERR_UNKNOWN_CHANNEL',
      'CT_ERR_UNKNOWN_CHANNEL',
      'CT_ERR_UNKNOWN_CHANNEL',
    ]);
  });

  it('rejects non-finite numbers (JSON overflow) with CT_ERR_BAD_VALUE', () => {
    const res = decode('{"readings":{"co2":1e400,"temperature":-1e999}}');
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([
      ['CT_ERR_BAD_VALUE', 'co2'],
      ['CT_ERR_BAD_VALUE', 'temperature'],
    ]);
  });

  it('checks the physical range of each quantity, inclusive at the bounds', () => {
    const res = decode({ readings: { co2: 40_000, temperature: -50, humidity: 100.1, power: -100_001 } });
    expect(res.readings.map((r) => r.channel)).toEqual(['co2', 'temperature']);
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([
      ['CT_ERR_OUT_OF_RANGE', 'humidity'],
      ['CT_ERR_OUT_OF_RANGE', 'power'],
    ]);
    expect(res.rejections[0]?.message).toContain('100.1 %RH outside humidity range 0..100');
  });

  it('rejects timestamps beyond now + maxFutureMs, and accepts the bound itself', () => {
    expect(decode({ ts: NOW + 5 * MIN, readings: { co2: 1 } }).readings).toHaveLength(1);
    const res = decode({ ts: NOW + 5 * MIN + 1, readings: { co2: 1 } });
    expect(res.rejections).toMatchObject([{ code: 'CT_ERR_TS_FUTURE', channel: 'co2' }]);
  });

  it('rejects timestamps older than oldestAcceptedTs, hinting at epoch seconds', () => {
    const oldest = NOW - 60 * MIN;
    expect(decode({ ts: oldest, readings: { co2: 1 } }, { oldestAcceptedTs: oldest }).readings).toHaveLength(
      1,
    );
    const res = decode({ ts: oldest - 1, readings: { co2: 1 } }, { oldestAcceptedTs: oldest });
    expect(res.rejections).toMatchObject([{ code: 'CT_ERR_TS_TOO_OLD', channel: 'co2' }]);
    const secs = decode({ ts: Math.floor(NOW / 1000), readings: { co2: 1 } });
    expect(secs.rejections[0]?.message).toContain('epoch seconds?');
  });

  it('keeps valid items next to invalid ones in the same payload', () => {
    const res = decode({
      ts: NOW,
      readings: {
        temperature: 21,
        co2: { value: 700, ts: NOW + 60 * MIN },
        humidity: 45,
        motion: 'yes',
        pm25: 3,
        power: 2e6,
      },
    });
    expect(res.readings.map((r) => r.channel)).toEqual(['temperature', 'humidity']);
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([
      ['CT_ERR_TS_FUTURE', 'co2'],
      ['CT_ERR_SCHEMA', 'motion'],
      ['CT_ERR_UNKNOWN_CHANNEL', 'pm25'],
      ['CT_ERR_OUT_OF_RANGE', 'power'],
    ]);
  });
});
