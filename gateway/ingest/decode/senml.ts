/**
 * SenML JSON packs (RFC 8428, application/senml+json): a top-level array of records. Resolves base fields,
 * names, units and times as the RFC says, maps each resolved name to one of the device's channels, converts
 * the value to the channel's canonical unit and hands it to the shared gate. Invalid records are rejected one
 * by one; the rest of the pack is kept.
 */
import type { Quantity } from '../../../shared/quantities.ts';
import { isRecord, type Sink, typeName } from './validate.ts';

/**
 * RFC 8428 §4.4 + RFC 9100 §2: the version is a bit set of features. 10 (0b1010) is RFC 8428 itself; bit 4
 * (+16) is Secondary Units (RFC 9100 §4, units from RFC 8798, which we accept). A pack using a feature
 * beyond those MUST NOT be used, so versions ≥ 32 are rejected.
 */
const MAX_UNDERSTOOD_VERSION = 31;

/** RFC 8428 §4.5.3: resolved times below 2^28 s are relative to "now"; at or above, seconds since epoch. */
const RELATIVE_TIME_LIMIT_S = 2 ** 28;

interface Conversion {
  readonly mul: number;
  readonly div: number;
  readonly add: number;
}
const SAME: Conversion = { mul: 1, div: 1, add: 0 };
const per = (div: number): Conversion => ({ mul: 1, div, add: 0 });
const times = (mul: number): Conversion => ({ mul, div: 1, add: 0 });

/**
 * Units a record may carry, per quantity, and how to reach the canonical unit (shared/quantities.ts).
 * Symbols from the SenML Units registry (RFC 8428 §12.1) and the secondary units of RFC 8798; our own
 * canonical symbols are accepted as-is too. Units are case-sensitive (RFC 8428 §4.5.2).
 */
const UNITS: Record<Quantity, ReadonlyMap<string, Conversion>> = {
  temperature: new Map([
    ['Cel', SAME],
    ['°C', SAME],
    ['K', { mul: 1, div: 1, add: -273.15 }],
  ]),
  humidity: new Map([
    ['%RH', SAME],
    ['%', SAME], // RFC 8798
    ['/', times(100)], // a ratio 0..1
  ]),
  co2: new Map([
    ['ppm', SAME], // RFC 8798
    ['/', times(1e6)],
  ]),
  light: new Map([['lx', SAME]]),
  motion: new Map([
    ['bool', SAME],
    ['count', SAME],
    ['1', SAME],
  ]),
  occupancy_count: new Map([
    ['count', SAME],
    ['1', SAME],
  ]),
  power: new Map([
    ['kW', SAME], // RFC 8798
    ['W', per(1000)],
  ]),
  energy: new Map([
    ['kWh', SAME], // RFC 8798
    ['Wh', per(1000)], // RFC 8798
    ['J', per(3.6e6)],
  ]),
  voltage: new Map([
    ['V', SAME],
    ['mV', per(1000)], // RFC 8798
  ]),
  current: new Map([
    ['A', SAME],
    ['mA', per(1000)], // RFC 8798
  ]),
};

export function decodeSenml(pack: readonly unknown[], sink: Sink): void {
  const ctx = sink.ctx;
  const channels = ctx.device.channels;

  // RFC 8428 §4.4: a label ending in "_" is a must-understand extension; we understand none, and it may change
  // the meaning of every record after it, so the whole pack is unusable.
  for (let i = 0; i < pack.length; i++) {
    const rec = pack[i];
    if (!isRecord(rec)) continue;
    for (const label of Object.keys(rec)) {
      if (label.charCodeAt(label.length - 1) === 95) {
        sink.reject('CT_ERR_SCHEMA', `[${i}].${label}: unsupported must-understand field (RFC 8428 §4.4)`);
        return;
      }
    }
  }

  // Base fields (RFC 8428 §4.1) apply to their record and every later one until replaced.
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  let bver = 10;

  for (let i = 0; i < pack.length; i++) {
    const rec = pack[i];
    if (!isRecord(rec)) {
      sink.reject('CT_ERR_SCHEMA', `[${i}]: expected a SenML record object, got ${typeName(rec)}`);
      continue;
    }

    // --- base fields: check them all before applying any, so a bad record cannot half-update the base.
    const rBn = rec['bn'];
    const rBt = rec['bt'];
    const rBu = rec['bu'];
    const rBv = rec['bv'];
    const rBs = rec['bs'];
    const rBver = rec['bver'];
    let hasBase = false;
    if (
      rBn !== undefined ||
      rBt !== undefined ||
      rBu !== undefined ||
      rBv !== undefined ||
      rBs !== undefined ||
      rBver !== undefined
    ) {
      const bad =
        (rBn !== undefined && typeof rBn !== 'string' && 'bn') ||
        (rBu !== undefined && typeof rBu !== 'string' && 'bu') ||
        (rBt !== undefined && !isFiniteNumber(rBt) && 'bt') ||
        (rBv !== undefined && !isFiniteNumber(rBv) && 'bv') ||
        (rBs !== undefined && !isFiniteNumber(rBs) && 'bs') ||
        (rBver !== undefined && !(Number.isInteger(rBver) && (rBver as number) > 0) && 'bver');
      if (bad) {
        sink.reject(
          'CT_ERR_SCHEMA',
          `[${i}].${bad}: expected ${bad === 'bn' || bad === 'bu' ? 'string' : bad === 'bver' ? 'positive integer' : 'finite number'}`,
        );
        continue;
      }
      if (rBn !== undefined) bn = rBn as string;
      if (rBu !== undefined) bu = rBu as string;
      if (rBt !== undefined) bt = rBt as number;
      if (rBv !== undefined) bv = rBv as number;
      if (rBs !== undefined) bs = rBs as number;
      if (rBver !== undefined) bver = rBver as number;
      hasBase = true;
    }
    if (bver > MAX_UNDERSTOOD_VERSION) {
      sink.reject(
        'CT_ERR_SCHEMA',
        `[${i}]: SenML version ${bver} uses features this gateway does not know (RFC 8428 §4.4)`,
      );
      continue;
    }

    // --- regular fields (RFC 8428 §4.2)
    const n = rec['n'];
    const u = rec['u'];
    const t = rec['t'];
    const v = rec['v'];
    const vb = rec['vb'];
    const vs = rec['vs'];
    const vd = rec['vd'];
    const s = rec['s'];
    if (n !== undefined && typeof n !== 'string') {
      sink.reject('CT_ERR_SCHEMA', `[${i}].n: expected string, got ${typeName(n)}`);
      continue;
    }

    // --- name → channel (RFC 8428 §4.5.1: name = bn + n). The device's own prefix ("urn:dev:id:<id>:",
    // "<id>/", "<id>:", or any other) is everything up to the last ':' or '/'.
    const name = n === undefined ? bn : bn + n;
    let cut = name.length - 1;
    while (cut >= 0) {
      const c = name.charCodeAt(cut);
      if (c === 58 || c === 47) break;
      cut--;
    }
    const short = cut < 0 ? name : name.slice(cut + 1);
    // Names the record in rejections from here on; undefined when there is no name at all.
    const label = short.length > 0 ? short : name.length > 0 ? name : undefined;

    const valueFields =
      (v !== undefined ? 1 : 0) +
      (vb !== undefined ? 1 : 0) +
      (vs !== undefined ? 1 : 0) +
      (vd !== undefined ? 1 : 0);
    if (valueFields === 0 && s === undefined) {
      // A record carrying only base fields is how some encoders open a pack; nothing to record, nothing wrong.
      if (hasBase && n === undefined && u === undefined && t === undefined) continue;
      sink.reject(
        'CT_ERR_SCHEMA',
        `[${i}]: record has no value (v, vb, vs, vd) and no sum (s) (RFC 8428 §4.2)`,
        label,
      );
      continue;
    }
    if (valueFields > 1) {
      sink.reject('CT_ERR_SCHEMA', `[${i}]: more than one value field (RFC 8428 §4.2)`, label);
      continue;
    }
    if (vs !== undefined || vd !== undefined) {
      sink.reject('CT_ERR_SCHEMA', `[${i}].${vs !== undefined ? 'vs' : 'vd'}: unsupported value type`, label);
      continue;
    }
    if (u !== undefined && typeof u !== 'string') {
      sink.reject('CT_ERR_SCHEMA', `[${i}].u: expected string, got ${typeName(u)}`, label);
      continue;
    }
    if (t !== undefined && typeof t !== 'number') {
      sink.reject('CT_ERR_SCHEMA', `[${i}].t: expected number, got ${typeName(t)}`, label);
      continue;
    }
    if (label === undefined) {
      sink.reject('CT_ERR_SCHEMA', `[${i}]: record has no name (bn + n is empty)`);
      continue;
    }
    // The name's prefix may not name another device: its reading would be stored as this device's.
    const other = cut < 0 ? undefined : otherDevice(name.slice(0, cut), ctx.device.deviceId, ctx.isDevice);
    if (other !== undefined) {
      sink.reject(
        'CT_ERR_TOPIC_DENIED',
        `[${i}]: "${name}" names device ${other}, not ${ctx.device.deviceId}`,
        label,
      );
      continue;
    }
    // A channel registered with a separator in its own name can still be addressed by its full name.
    const ch = channels.get(short) ?? (cut < 0 ? undefined : channels.get(name));
    if (ch === undefined) {
      sink.reject(
        'CT_ERR_UNKNOWN_CHANNEL',
        `[${i}]: "${name}" → channel "${short}" is not registered for device ${ctx.device.deviceId}`,
        label,
      );
      continue;
    }

    // --- unit (RFC 8428 §4.5.2: u, else bu; neither means the channel's canonical unit)
    const unit = u === undefined ? bu : u;
    let conv = SAME;
    if (unit !== undefined) {
      const found = UNITS[ch.quantity].get(unit);
      if (found === undefined) {
        sink.reject(
          'CT_ERR_SCHEMA',
          `[${i}]: unit "${unit}" is not supported for ${ch.quantity} (${ch.name})`,
          ch.name,
        );
        continue;
      }
      conv = found;
    }

    // --- value (RFC 8428 §4.5.4): v is offset by bv; with no value field the sum (bs + s) stands in.
    let raw: number;
    if (v !== undefined) {
      if (typeof v !== 'number') {
        sink.reject('CT_ERR_SCHEMA', `[${i}].v: expected number, got ${typeName(v)}`, ch.name);
        continue;
      }
      raw = bv + v;
    } else if (vb !== undefined) {
      if (typeof vb !== 'boolean') {
        sink.reject('CT_ERR_SCHEMA', `[${i}].vb: expected boolean, got ${typeName(vb)}`, ch.name);
        continue;
      }
      if (ch.quantity !== 'motion') {
        sink.reject('CT_ERR_BAD_VALUE', `[${i}].vb: boolean is accepted only for motion`, ch.name);
        continue;
      }
      raw = vb ? 1 : 0;
    } else {
      if (typeof s !== 'number') {
        sink.reject('CT_ERR_SCHEMA', `[${i}].s: expected number, got ${typeName(s)}`, ch.name);
        continue;
      }
      raw = bs + s;
    }
    const value = conv === SAME ? raw : (raw * conv.mul) / conv.div + conv.add;

    // --- time (RFC 8428 §4.5.3): seconds, bt + t; 0 is "now", below 2^28 relative to now, else absolute.
    const time = t === undefined ? bt : bt + t;
    const ts = time === 0 ? ctx.now : time < RELATIVE_TIME_LIMIT_S ? ctx.now + time * 1000 : time * 1000;

    sink.accept(ch, value, ts, i);
  }
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * The device a SenML name prefix names when it is not the publisher: `urn:dev:id:<id>` (RFC 8428's device
 * URN) naming another id, or a last segment that is another device of this campus (`env-2/`, `env-2:`).
 */
function otherDevice(
  prefix: string,
  own: string,
  isDevice: ((id: string) => boolean) | undefined,
): string | undefined {
  const urn = /^urn:dev:id:(.+)$/i.exec(prefix);
  if (urn) return urn[1] === own ? undefined : urn[1];
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) !== 58 && prefix.charCodeAt(i) !== 47) i--;
  const last = prefix.slice(i + 1);
  return last !== own && last !== '' && isDevice?.(last) ? last : undefined;
}
