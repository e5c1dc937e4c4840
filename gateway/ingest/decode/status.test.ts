import { describe, expect, it } from 'vitest';
import { decodeStatus } from './index.ts';

const NOW = Date.UTC(2026, 10, 27, 12);
const dec = (text: string) => decodeStatus(Buffer.from(text), 'env-101', NOW);

describe('decodeStatus', () => {
  it('decodes a full status', () => {
    expect(
      dec('{"ts":1795780740000,"battery":87,"rssi":-67,"faults":["sensor_drift","low_battery"]}'),
    ).toEqual({
      status: {
        deviceId: 'env-101',
        ts: NOW - 60_000,
        batteryPct: 87,
        rssiDbm: -67,
        faults: ['sensor_drift', 'low_battery'],
      },
    });
  });

  it('treats every field as optional, defaulting ts to the receive time', () => {
    expect(dec('{}')).toEqual({ status: { deviceId: 'env-101', ts: NOW, faults: [] } });
  });

  it('accepts an ISO ts and rounds numeric ones', () => {
    expect(dec('{"ts":"2026-11-27T11:00:00Z"}')).toMatchObject({ status: { ts: NOW - 3_600_000 } });
    expect(dec('{"ts":1795780800000.7}')).toMatchObject({ status: { ts: NOW + 1 } });
  });

  it('accepts the range bounds', () => {
    expect(dec('{"battery":0,"rssi":-150}')).toMatchObject({ status: { batteryPct: 0, rssiDbm: -150 } });
    expect(dec('{"battery":100,"rssi":0}')).toMatchObject({ status: { batteryPct: 100, rssiDbm: 0 } });
  });

  it('ignores unknown keys', () => {
    expect(dec('{"fw":"1.2","battery":50}')).toMatchObject({ status: { batteryPct: 50 } });
  });

  it.each([
    ['not JSON', '{"battery":', 'CT_ERR_NOT_JSON', 'not valid JSON'],
    ['an array', '[]', 'CT_ERR_SCHEMA', 'expected a JSON object, got array'],
    ['a string', '"ok"', 'CT_ERR_SCHEMA', 'got string'],
    ['a bad ts', '{"ts":"yesterday"}', 'CT_ERR_SCHEMA', 'ts: expected'],
    ['battery a string', '{"battery":"87"}', 'CT_ERR_SCHEMA', 'battery: expected number, got string'],
    ['battery over 100', '{"battery":101}', 'CT_ERR_OUT_OF_RANGE', 'battery: 101 % outside 0..100'],
    ['battery negative', '{"battery":-1}', 'CT_ERR_OUT_OF_RANGE', 'battery'],
    ['battery overflowing', '{"battery":1e400}', 'CT_ERR_BAD_VALUE', 'battery'],
    ['rssi positive', '{"rssi":3}', 'CT_ERR_OUT_OF_RANGE', 'rssi: 3 dBm outside -150..0'],
    ['rssi too low', '{"rssi":-151}', 'CT_ERR_OUT_OF_RANGE', 'rssi'],
    ['rssi null', '{"rssi":null}', 'CT_ERR_SCHEMA', 'rssi: expected number, got null'],
    ['faults not an array', '{"faults":"drift"}', 'CT_ERR_SCHEMA', 'faults: expected array of strings'],
    ['a non-string fault', '{"faults":["a",2]}', 'CT_ERR_SCHEMA', 'faults[1]: expected string, got number'],
  ])('rejects %s', (_name, text, code, detail) => {
    const res = dec(text);
    if (!('rejection' in res)) throw new Error('expected a rejection');
    expect(res.rejection.code).toBe(code);
    expect(res.rejection.message).toContain(detail);
  });

  it('rejects malformed UTF-8 as CT_ERR_NOT_JSON', () => {
    const res = decodeStatus(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'env-101', NOW);
    expect(res).toEqual({
      rejection: { code: 'CT_ERR_NOT_JSON', message: expect.stringContaining('UTF-8') },
    });
  });

  it('refuses a payload over the size limit before parsing it', () => {
    const res = decodeStatus(Buffer.from('{"battery": 50}'), 'env-101', NOW, 10);
    expect(res).toEqual({
      rejection: { code: 'CT_ERR_PAYLOAD_TOO_LARGE', message: expect.stringContaining('15 bytes > 10') },
    });
  });
});

describe('decodeStatus time window (like telemetry)', () => {
  const window = { maxFutureMs: 300_000, oldestAcceptedTs: NOW - 6 * 3600_000 };
  const check = (text: string) => decodeStatus(Buffer.from(text), 'env-101', NOW, 65_536, window);

  it.each([
    ['{"ts":1e20}', 'CT_ERR_TS_FUTURE'],
    ['{"ts":"2099-01-01T00:00:00Z"}', 'CT_ERR_TS_FUTURE'],
    ['{"ts":-5}', 'CT_ERR_SCHEMA'],
    [`{"ts":${NOW - 7 * 3600_000}}`, 'CT_ERR_TS_TOO_OLD'],
  ])('refuses %s with %s', (text, code) => {
    expect(check(text)).toMatchObject({ rejection: { code } });
  });

  it('takes a time inside the window', () => {
    expect(check(`{"ts":${NOW - 1000},"battery":50}`)).toMatchObject({ status: { ts: NOW - 1000 } });
  });
});
