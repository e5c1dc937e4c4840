/**
 * What every decoded item goes through, whichever payload form it came in: the decode context and result
 * types, UTF-8 + JSON parsing, timestamp parsing, and the one gate (`Sink.accept`) that turns a candidate
 * value into a Reading or an item rejection (finite value, physical range, time window, per-payload
 * de-duplication). Pure: time comes from the context, nothing is read from the clock.
 */
import type { ChannelInfo, DeviceInfo } from '../../../shared/campus.ts';
import { type ErrorCode, type Rejection, reject } from '../../../shared/errors.ts';
import type { Reading, ReadingSource } from '../../../shared/events.ts';
import { inPhysicalRange, QUANTITIES, unitOf } from '../../../shared/quantities.ts';

export interface DecodeContext {
  device: DeviceInfo;
  /** Receive time, epoch ms. Also the event time of readings that carry none. */
  now: number;
  /** Reject readings with ts > now + maxFutureMs (device clocks drift; 5 min is the usual setting). */
  maxFutureMs: number;
  /** Reject readings with ts < this (the journal would drop them anyway). */
  oldestAcceptedTs: number;
  maxPayloadBytes: number;
  source: ReadingSource;
  /** Whether an id is a device of this campus (a SenML name may not speak for another device). */
  isDevice?: (deviceId: string) => boolean;
}

/** A rejection of one item of a payload; `channel` names it when the item got that far. */
export interface ItemRejection extends Rejection {
  channel?: string;
}

export interface DecodeResult {
  readings: Reading[];
  rejections: ItemRejection[];
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function rejection(code: ErrorCode, detail: string, channel?: string): ItemRejection {
  const r: ItemRejection = reject(code, detail);
  if (channel !== undefined) r.channel = channel;
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8 + JSON

/** Returned by parseJson instead of a value; only allocated on failure, so success costs nothing extra. */
export class JsonFailure {
  constructor(readonly detail: string) {}
}

// fatal: malformed UTF-8 throws instead of turning into U+FFFD, which JSON.parse would happily accept
// inside a string. A leading BOM is stripped (ignoreBOM defaults to false).
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 and parses JSON once. Never throws. */
export function parseJson(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = UTF8.decode(payload);
  } catch {
    return new JsonFailure('not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // SyntaxError for bad JSON; RangeError would be pathological nesting. Both mean "not JSON we can use".
    return new JsonFailure(err instanceof Error ? err.message.slice(0, 200) : 'unparseable');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Timestamps

/**
 * A device timestamp: epoch ms as a JSON number, or an ISO-8601 / RFC 3339 date-time string with an explicit
 * offset. Returns NaN when it is neither; the caller turns that into CT_ERR_SCHEMA.
 */
export function parseTimestamp(raw: unknown): number {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : Number.NaN;
  if (typeof raw === 'string') return parseIsoDateTime(raw);
  return Number.NaN;
}

export const TS_EXPECTED = 'expected epoch ms (number) or ISO-8601 date-time with offset (string)';

/**
 * `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH:MM|±HHMM)`, separator `T`, `t` or space (RFC 3339 §5.6).
 * Hand-rolled rather than Date.parse: Date.parse accepts many non-ISO forms and reads a string without an
 * offset as gateway-local time, which would make decoding depend on the host's time zone. An offset is
 * therefore required.
 */
export function parseIsoDateTime(s: string): number {
  const n = s.length;
  if (n < 17 || n > 40) return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const sep = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== 45 || // '-'
    s.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) || // 'T' 't' ' '
    s.charCodeAt(13) !== 58 // ':'
  ) {
    return Number.NaN;
  }
  let i = 16;
  let second = 0;
  let fracMs = 0;
  if (s.charCodeAt(i) === 58) {
    second = digits(s, 17, 2);
    i = 19;
    if (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44) {
      // '.' or ',' then 1..9 digits; precision beyond ms is rounded away later.
      i++;
      const start = i;
      let scale = 100;
      while (i < n) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        fracMs += c * scale;
        scale /= 10;
        i++;
      }
      if (i === start || i - start > 9) return Number.NaN;
    }
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    let om: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = digits(s, i + 4, 2);
      i += 6;
    } else {
      om = digits(s, i + 3, 2);
      i += 5;
    }
    if (!(oh <= 23 && om <= 59)) return Number.NaN;
    offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else {
    return Number.NaN;
  }
  if (i !== n) return Number.NaN;
  // Phrased so that a NaN from `digits` fails every test. Second 60 allows a leap second (RFC 3339 §5.7);
  // it rolls into the next minute, as Date.UTC does.
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)))
    return Number.NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 60)) return Number.NaN;
  return (
    daysFromCivil(year, month, day) * 86_400_000 +
    ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 +
    fracMs
  );
}

/** Parses `len` ASCII digits at `at`; NaN if any is not a digit. */
function digits(s: string, at: number, len: number): number {
  let v = 0;
  for (let k = at; k < at + len; k++) {
    const c = s.charCodeAt(k) - 48;
    if (!(c >= 0 && c <= 9)) return Number.NaN;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); Date.UTC maps years 0–99 to 19xx. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function describeTs(ts: number): string {
  return Math.abs(ts) <= 8.64e15 ? `${ts} (${new Date(ts).toISOString()})` : String(ts);
}

// ---------------------------------------------------------------------------------------------------------
// The gate

const DEDUPE_LINEAR_MAX = 32;

/**
 * Collects the outcome of one payload. Both decoders feed candidates to `accept` and structural problems to
 * `reject`; nothing else decides whether a reading goes through.
 */
export class Sink {
  readonly readings: Reading[] = [];
  readonly rejections: ItemRejection[] = [];
  /** Built only once a payload has more readings than a linear scan handles cheaply. */
  private seen: Set<string> | undefined = undefined;

  constructor(readonly ctx: DecodeContext) {}

  reject(code: ErrorCode, detail: string, channel?: string): void {
    this.rejections.push(rejection(code, detail, channel));
  }

  /**
   * Validates one candidate (value already in the canonical unit, ts in epoch ms, maybe fractional) and
   * either appends a Reading or a rejection. `where` locates the item for messages without building a
   * string on the happy path: a native key (`readings.<key>`) or a SenML record index (`[<i>]`).
   */
  accept(ch: ChannelInfo, value: number, rawTs: number, where: string | number): void {
    const ctx = this.ctx;
    const q = ch.quantity;
    if (!Number.isFinite(value)) {
      this.reject('CT_ERR_BAD_VALUE', `${at(where)}: ${value} is not a finite number`, ch.name);
      return;
    }
    if (!inPhysicalRange(q, value)) {
      const r = QUANTITIES[q];
      this.reject(
        'CT_ERR_OUT_OF_RANGE',
        `${at(where)}: ${value} ${r.unit} outside ${q} range ${r.min}..${r.max}`,
        ch.name,
      );
      return;
    }
    const ts = Math.round(rawTs);
    if (!Number.isFinite(ts)) {
      this.reject('CT_ERR_SCHEMA', `${at(where)}: time is not a finite number`, ch.name);
      return;
    }
    if (ts > ctx.now + ctx.maxFutureMs) {
      this.reject(
        'CT_ERR_TS_FUTURE',
        `${at(where)}: ts ${describeTs(ts)} is more than ${ctx.maxFutureMs} ms after receive time ${ctx.now}`,
        ch.name,
      );
      return;
    }
    if (ts < ctx.oldestAcceptedTs) {
      // A ts in epoch seconds instead of ms is the usual cause; say so.
      const hint =
        ts > 0 && ts < 1e11
          ? ' (epoch seconds? ts must be epoch ms)'
          : ctx.source === 'mqtt'
            ? ` (older data: publish it to devices/${ctx.device.deviceId}/backfill)`
            : '';
      this.reject(
        'CT_ERR_TS_TOO_OLD',
        `${at(where)}: ts ${describeTs(ts)} is before ${ctx.oldestAcceptedTs}${hint}`,
        ch.name,
      );
      return;
    }
    if (this.isDuplicate(ch.name, ts)) return; // same channel+ts twice in one payload: the first one wins
    const device = ctx.device;
    this.readings.push({
      deviceId: device.deviceId,
      channel: ch.name,
      roomId: device.roomId,
      quantity: q,
      value,
      unit: unitOf(q),
      ts,
      receivedAt: ctx.now,
      source: ctx.source,
    });
    if (this.seen !== undefined) this.seen.add(dedupeKey(ch.name, ts));
  }

  result(): DecodeResult {
    return { readings: this.readings, rejections: this.rejections };
  }

  private isDuplicate(channel: string, ts: number): boolean {
    const rs = this.readings;
    if (this.seen === undefined) {
      if (rs.length < DEDUPE_LINEAR_MAX) {
        for (let k = 0; k < rs.length; k++) {
          const r = rs[k]!;
          if (r.ts === ts && r.channel === channel) return true;
        }
        return false;
      }
      const seen = new Set<string>();
      for (const r of rs) seen.add(dedupeKey(r.channel, r.ts));
      this.seen = seen;
    }
    return this.seen.has(dedupeKey(channel, ts));
  }
}

function dedupeKey(channel: string, ts: number): string {
  return `${ts}\u0000${channel}`;
}

function at(where: string | number): string {
  return typeof where === 'number' ? `[${where}]` : `readings.${where}`;
}
