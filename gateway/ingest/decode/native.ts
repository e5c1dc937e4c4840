/**
 * The native JSON telemetry form:
 *   {"ts": 1732694400000, "readings": {"temperature": 21.4, "co2": 640}}
 *   {"readings": {"co2": {"value": 640, "ts": "2026-11-27T12:00:00Z"}}}
 * `ts` (top level or per reading) is epoch ms or an ISO-8601 string with offset; absent means receive time.
 * Values are already in the channel's canonical unit. Unknown top-level keys are ignored so devices can add
 * fields without breaking ingest.
 */
import { isRecord, parseTimestamp, type Sink, TS_EXPECTED, typeName } from './validate.ts';

export function decodeNative(doc: Record<string, unknown>, sink: Sink): void {
  const ctx = sink.ctx;
  let baseTs = ctx.now;
  const rawTs = doc['ts'];
  if (rawTs !== undefined) {
    baseTs = parseTimestamp(rawTs);
    // Every reading would inherit a bad ts, so the whole payload goes.
    if (Number.isNaN(baseTs)) {
      sink.reject('CT_ERR_SCHEMA', `ts: ${TS_EXPECTED}`);
      return;
    }
  }
  const readings = doc['readings'];
  if (!isRecord(readings)) {
    sink.reject(
      'CT_ERR_SCHEMA',
      readings === undefined ? 'readings: missing' : `readings: expected object, got ${typeName(readings)}`,
    );
    return;
  }
  const channels = ctx.device.channels;
  // Object.keys rather than for-in: own keys only, even if something polluted Object.prototype. JSON.parse
  // defines "__proto__" as an own data property, so it is just an unknown channel here.
  for (const key of Object.keys(readings)) {
    const ch = channels.get(key);
    if (ch === undefined) {
      sink.reject(
        'CT_ERR_UNKNOWN_CHANNEL',
        `readings.${key}: not registered for device ${ctx.device.deviceId}`,
        key,
      );
      continue;
    }
    let raw = readings[key];
    let ts = baseTs;
    let objectForm = false;
    if (isRecord(raw)) {
      const itemTs = raw['ts'];
      if (itemTs !== undefined) {
        ts = parseTimestamp(itemTs);
        if (Number.isNaN(ts)) {
          sink.reject('CT_ERR_SCHEMA', `readings.${key}.ts: ${TS_EXPECTED}`, key);
          continue;
        }
      }
      raw = raw['value'];
      objectForm = true;
    }
    let value: number;
    if (typeof raw === 'number') {
      value = raw;
    } else if (typeof raw === 'boolean') {
      if (ch.quantity !== 'motion') {
        sink.reject(
          'CT_ERR_BAD_VALUE',
          `${valuePath(key, objectForm)}: boolean is accepted only for motion`,
          key,
        );
        continue;
      }
      value = raw ? 1 : 0;
    } else {
      const detail =
        raw === undefined
          ? 'missing'
          : `expected number${ch.quantity === 'motion' ? ' or boolean' : ''}, got ${typeName(raw)}`;
      sink.reject('CT_ERR_SCHEMA', `${valuePath(key, objectForm)}: ${detail}`, key);
      continue;
    }
    sink.accept(ch, value, ts, key);
  }
}

/** Built only when rejecting, so the happy path allocates no path strings. */
function valuePath(key: string, objectForm: boolean): string {
  return objectForm ? `readings.${key}.value` : `readings.${key}`;
}
