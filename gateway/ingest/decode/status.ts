/**
 * Device housekeeping from `devices/{id}/status`:
 *   {"ts"?: epoch ms | ISO-8601, "battery"?: 0..100 (%), "rssi"?: -150..0 (dBm), "faults"?: ["sensor_drift"]}
 * Every field is optional, but the payload must be a JSON object. A status is small and all-or-nothing: the
 * first bad field rejects it. Unknown keys are ignored.
 */
import type { Rejection } from '../../../shared/errors.ts';
import type { DeviceStatus } from '../../../shared/events.ts';
import {
  isRecord,
  JsonFailure,
  parseJson,
  parseTimestamp,
  rejection,
  TS_EXPECTED,
  typeName,
} from './validate.ts';

const BATTERY_MIN_PCT = 0;
const BATTERY_MAX_PCT = 100;
const RSSI_MIN_DBM = -150;
const RSSI_MAX_DBM = 0;
/** Bounds on what a device can make the gateway hold in memory per status. */
const MAX_FAULTS = 32;
const MAX_FAULT_CHARS = 64;

export function decodeStatus(
  payload: Uint8Array,
  deviceId: string,
  now: number,
  maxPayloadBytes = Number.POSITIVE_INFINITY,
  /** The same time window as telemetry: not too far ahead of the receive time, not older than retention. */
  window?: { maxFutureMs: number; oldestAcceptedTs: number },
): { status: DeviceStatus } | { rejection: Rejection } {
  // Size first, before spending anything on the bytes (as for telemetry).
  if (payload.byteLength > maxPayloadBytes) {
    return {
      rejection: rejection('CT_ERR_PAYLOAD_TOO_LARGE', `${payload.byteLength} bytes > ${maxPayloadBytes}`),
    };
  }
  const doc = parseJson(payload);
  if (doc instanceof JsonFailure) return { rejection: rejection('CT_ERR_NOT_JSON', doc.detail) };
  if (!isRecord(doc)) return fail('CT_ERR_SCHEMA', `expected a JSON object, got ${typeName(doc)}`);

  let ts = now;
  if (doc['ts'] !== undefined) {
    ts = parseTimestamp(doc['ts']);
    if (Number.isNaN(ts) || !Number.isFinite(ts) || ts < 0)
      return fail('CT_ERR_SCHEMA', `ts: ${TS_EXPECTED}`);
    ts = Math.round(ts);
    if (window && ts > now + window.maxFutureMs)
      return fail(
        'CT_ERR_TS_FUTURE',
        `ts ${ts} is more than ${window.maxFutureMs} ms after receive time ${now}`,
      );
    if (window && ts < window.oldestAcceptedTs)
      return fail('CT_ERR_TS_TOO_OLD', `ts ${ts} is before ${window.oldestAcceptedTs}`);
  }
  const status: DeviceStatus = { deviceId, ts, faults: [] };

  const battery = doc['battery'];
  if (battery !== undefined) {
    const bad = checkNumber('battery', battery, BATTERY_MIN_PCT, BATTERY_MAX_PCT, '%');
    if (bad) return { rejection: bad };
    status.batteryPct = battery as number;
  }
  const rssi = doc['rssi'];
  if (rssi !== undefined) {
    const bad = checkNumber('rssi', rssi, RSSI_MIN_DBM, RSSI_MAX_DBM, 'dBm');
    if (bad) return { rejection: bad };
    status.rssiDbm = rssi as number;
  }
  const faults = doc['faults'];
  if (faults !== undefined) {
    if (!Array.isArray(faults))
      return fail('CT_ERR_SCHEMA', `faults: expected array of strings, got ${typeName(faults)}`);
    if (faults.length > MAX_FAULTS) return fail('CT_ERR_SCHEMA', `faults: more than ${MAX_FAULTS} entries`);
    for (let i = 0; i < faults.length; i++) {
      const f: unknown = faults[i];
      if (typeof f !== 'string')
        return fail('CT_ERR_SCHEMA', `faults[${i}]: expected string, got ${typeName(f)}`);
      if (f.length > MAX_FAULT_CHARS)
        return fail('CT_ERR_SCHEMA', `faults[${i}]: longer than ${MAX_FAULT_CHARS} characters`);
      status.faults.push(f);
    }
  }
  return { status };
}

function checkNumber(
  path: string,
  v: unknown,
  min: number,
  max: number,
  unit: string,
): Rejection | undefined {
  if (typeof v !== 'number')
    return rejection('CT_ERR_SCHEMA', `${path}: expected number, got ${typeName(v)}`);
  if (!Number.isFinite(v)) return rejection('CT_ERR_BAD_VALUE', `${path}: ${v} is not a finite number`);
  if (v < min || v > max)
    return rejection('CT_ERR_OUT_OF_RANGE', `${path}: ${v} ${unit} outside ${min}..${max}`);
  return undefined;
}

function fail(
  code: 'CT_ERR_SCHEMA' | 'CT_ERR_TS_FUTURE' | 'CT_ERR_TS_TOO_OLD',
  detail: string,
): { rejection: Rejection } {
  return { rejection: rejection(code, detail) };
}
