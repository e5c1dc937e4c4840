import { describe, expect, it } from 'vitest';
import { type DecodeContext, decodeTelemetry } from './index.ts';
import { NOW, testContext, testDevice } from './test-support.ts';
import { parseIsoDateTime, parseTimestamp } from './validate.ts';

const DEVICE = testDevice({ co2: 'co2', temperature: 'temperature' });

function ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return testContext(DEVICE, { maxPayloadBytes: 1024, ...over });
}

describe('payload gate', () => {
  it('checks size first and reports nothing else', () => {
    const big = Buffer.from(`{"readings":{"nope":${'1'.repeat(1100)}}}`);
    const res = decodeTelemetry(big, ctx());
    expect(res.readings).toEqual([]);
    expect(res.rejections).toEqual([
      { code: 'CT_ERR_PAYLOAD_TOO_LARGE', message: expect.stringContaining('> 1024') },
    ]);
    // Exactly at the limit is fine.
    const body = '{"readings":{"co2":1}}';
    expect(decodeTelemetry(Buffer.from(body), ctx({ maxPayloadBytes: body.length })).readings).toHaveLength(
      1,
    );
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['whitespace', Buffer.from('  \n')],
    ['a NaN literal', Buffer.from('{"readings":{"co2":NaN}}')],
    ['Infinity', Buffer.from('{"readings":{"co2":Infinity}}')],
    ['truncated', Buffer.from('{"readings":{"co2":6')],
    ['trailing comma', Buffer.from('{"readings":{"co2":6,}}')],
    ['invalid UTF-8 inside a string', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
    ['a UTF-16 surrogate encoded as UTF-8', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['random bytes', Buffer.from([0x80, 0x00, 0xff, 0x13])],
  ])('rejects %s as CT_ERR_NOT_JSON', (_name, payload) => {
    const res = decodeTelemetry(payload, ctx());
    expect(res.readings).toEqual([]);
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_NOT_JSON']);
  });

  it('accepts a plain Uint8Array view into a larger buffer', () => {
    const whole = Buffer.from('xx{"readings":{"co2":5}}yy');
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 2, whole.length - 4);
    expect(decodeTelemetry(view, ctx()).readings).toMatchObject([{ value: 5 }]);
  });

  it('tolerates a UTF-8 byte order mark', () => {
    const res = decodeTelemetry(Buffer.from('\ufeff{"readings":{"co2":5}}'), ctx());
    expect(res.readings).toHaveLength(1);
  });

  it('rejects JSON scalars at the top level as CT_ERR_SCHEMA', () => {
    for (const text of ['true', '7', '"x"', 'null']) {
      expect(decodeTelemetry(Buffer.from(text), ctx()).rejections.map((r) => r.code)).toEqual([
        'CT_ERR_SCHEMA',
      ]);
    }
  });
});

describe('duplicates within one payload', () => {
  it('keeps the first reading of a channel+ts pair', () => {
    const t = NOW / 1000;
    const pack = [
      { n: 'co2', v: 600, t },
      { n: 'co2', v: 601, t },
      { n: 'co2', v: 602, t: t + 1 },
      { n: 'temperature', v: 20, t },
    ];
    const res = decodeTelemetry(Buffer.from(JSON.stringify(pack)), ctx());
    expect(res.rejections).toEqual([]);
    expect(res.readings.map((r) => [r.channel, r.value])).toEqual([
      ['co2', 600],
      ['co2', 602],
      ['temperature', 20],
    ]);
  });

  it('still de-duplicates past the linear-scan threshold', () => {
    const t0 = NOW / 1000 - 1000;
    const pack: unknown[] = [];
    for (let i = 0; i < 100; i++) pack.push({ n: 'co2', v: i, t: t0 + i });
    for (let i = 0; i < 100; i++) pack.push({ n: 'co2', v: 1000 + i, t: t0 + i });
    const res = decodeTelemetry(Buffer.from(JSON.stringify(pack)), ctx({ maxPayloadBytes: 1 << 20 }));
    expect(res.readings).toHaveLength(100);
    expect(res.readings.every((r, i) => r.value === i)).toBe(true);
  });

  it('lets a rejected item not shadow a later valid one with the same channel+ts', () => {
    const t = NOW / 1000;
    const pack = [
      { n: 'co2', v: -5, t },
      { n: 'co2', v: 600, t },
    ];
    const res = decodeTelemetry(Buffer.from(JSON.stringify(pack)), ctx());
    expect(res.readings.map((r) => r.value)).toEqual([600]);
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_OUT_OF_RANGE']);
  });
});

describe('parseTimestamp / parseIsoDateTime', () => {
  it.each([
    ['2026-11-27T12:00:00Z', NOW],
    ['2026-11-27T12:00:00.000Z', NOW],
    ['2026-11-27t12:00:00z', NOW],
    ['2026-11-27 12:00:00Z', NOW],
    ['2026-11-27T12:00Z', NOW],
    ['2026-11-27T13:30:00+01:30', NOW],
    ['2026-11-27T13:30:00+0130', NOW],
    ['2026-11-27T07:00:00-05:00', NOW],
    ['2026-11-27T12:00:00.5Z', NOW + 500],
    ['2026-11-27T12:00:00,25Z', NOW + 250],
    ['2026-11-27T12:00:00.123456789Z', NOW + 123.456789],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['0050-01-01T00:00:00Z', Date.parse('0050-01-01T00:00:00Z')],
    ['1969-12-31T23:59:59Z', -1000],
  ])('parses %s', (s, expected) => {
    expect(parseIsoDateTime(s)).toBeCloseTo(expected, 3);
  });

  it.each([
    '2026-11-27T12:00:00',
    '2026-11-27',
    '2026-11-27T12:00:00+25:00',
    '2026-11-27T12:00:00+01',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-11-27T24:00:00Z',
    '2026-11-27T12:60:00Z',
    '2026-11-27T12:00:61Z',
    '2026-11-27T12:00:00.Z',
    '2026-11-27T12:00:00.1234567890Z',
    '2026-11-27T12:00:00Zjunk',
    '2026/11/27T12:00:00Z',
    '20261127T120000Z',
    'Fri, 27 Nov 2026 12:00:00 GMT',
    '2026-1a-27T12:00:00Z',
    '',
  ])('rejects %j', (s) => {
    expect(parseIsoDateTime(s)).toBeNaN();
  });

  it('accepts finite numbers only, and no other types', () => {
    expect(parseTimestamp(NOW)).toBe(NOW);
    expect(parseTimestamp(Number.POSITIVE_INFINITY)).toBeNaN();
    for (const v of [null, true, {}, [], undefined]) expect(parseTimestamp(v)).toBeNaN();
  });
});
