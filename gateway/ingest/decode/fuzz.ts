/**
 * A deterministic generator of telemetry payloads, good and bad, each labelled with what decodeTelemetry must
 * make of it. Used by this folder's agreement test and by integration tests that push the same stream through
 * a real broker and count what reaches the journal. Seeded PRNG (mulberry32), no Math.random, no clock.
 *
 * Labels are exact when the payloads are decoded with a context such that:
 *  - every name in `channels` is registered on the device (any quantity: valid values are drawn from 0..1,
 *    which is inside every quantity's physical range), and no registered channel starts with
 *    FUZZ_UNKNOWN_CHANNEL_PREFIX;
 *  - oldestAcceptedTs <= baseTs, and baseTs + FUZZ_MAX_VALID_PER_PAYLOAD * count <= now + maxFutureMs
 *    (valid readings use ts = baseTs + 0, 1, 2, … — one new ms per reading, so every accepted reading in the
 *    whole run is unique by (channel, ts));
 *  - now + maxFutureMs < baseTs + FUZZ_FUTURE_OFFSET_MS (the "future" cases are that far ahead);
 *  - maxPayloadBytes >= FUZZ_MAX_PAYLOAD_BYTES.
 * No valid reading relies on the receive time (no relative SenML times, no missing ts), so labels do not
 * depend on `now` beyond the bounds above.
 */

export const FUZZ_MAX_VALID_PER_PAYLOAD = 8;
export const FUZZ_FUTURE_OFFSET_MS = 10 * 365 * 86_400_000;
export const FUZZ_MAX_PAYLOAD_BYTES = 16 * 1024;
export const FUZZ_UNKNOWN_CHANNEL_PREFIX = 'zz-fuzz-unknown-';

export type FuzzKind =
  | 'native'
  | 'senml'
  | 'mixed-native'
  | 'mixed-senml'
  | 'bad-json'
  | 'truncated'
  | 'random-bytes'
  | 'wrong-types'
  | 'non-finite'
  | 'out-of-range'
  | 'unknown-channel'
  | 'future-ts'
  | 'deep-nesting'
  | 'empty'
  | 'garbage-array';

export interface FuzzPayload {
  payload: Buffer;
  /** true when decoding yields no rejection at all. */
  valid: boolean;
  /** How many readings decoding must accept from this payload. */
  validReadings: number;
  kind: FuzzKind;
}

/** Relative weights of the kinds; valid and partly valid payloads are about half of the stream. */
const KINDS: readonly (readonly [FuzzKind, number])[] = [
  ['native', 16],
  ['senml', 14],
  ['mixed-native', 10],
  ['mixed-senml', 10],
  ['bad-json', 5],
  ['truncated', 5],
  ['random-bytes', 5],
  ['wrong-types', 8],
  ['non-finite', 4],
  ['out-of-range', 5],
  ['unknown-channel', 4],
  ['future-ts', 5],
  ['deep-nesting', 3],
  ['empty', 2],
  ['garbage-array', 4],
];
const KIND_TOTAL = KINDS.reduce((s, [, w]) => s + w, 0);

/** Out of range for every quantity in shared/quantities.ts (widest: energy ≤ 1e12, power/current ≥ -1e5). */
const OUT_OF_RANGE = ['1e13', '-1e6', '5e15', '-123456', '1e300', '-1e300', '1000000000000.5'];
/** Parse to ±Infinity: valid JSON, but not a finite number (CT_ERR_BAD_VALUE). */
const OVERFLOW = ['1e400', '-1e999'];
/** SenML name prefixes a device may use for its own readings (RFC 8428 device URN, `<id>/`, `<id>:`…). */
const senmlPrefixes = (deviceId: string) => [
  '',
  `urn:dev:id:${deviceId}:`,
  `${deviceId}/`,
  `${deviceId}:`,
  'urn:dev:mac:0024befffe804ff1:',
];
/** SenML absolute times need resolved seconds >= 2^28 (RFC 8428 §4.5.3). */
const MIN_BASE_TS = 2 ** 28 * 1000;

export function* fuzzPayloads(
  seed: number,
  count: number,
  channels: string[],
  baseTs: number,
  /** The publishing device: SenML prefixes name it (never another device). */
  deviceId = 'fuzz-dev',
): Generator<FuzzPayload> {
  const chans = [...new Set(channels)];
  if (chans.length === 0) throw new RangeError('fuzzPayloads: at least one channel is needed');
  for (const c of chans) {
    if (c.length === 0 || c.includes(':') || c.includes('/') || c.startsWith(FUZZ_UNKNOWN_CHANNEL_PREFIX)) {
      // ':' and '/' would be read as a SenML device prefix (see senml.ts), so labels would be wrong.
      throw new RangeError(`fuzzPayloads: unusable channel name ${JSON.stringify(c)}`);
    }
  }
  if (!Number.isSafeInteger(baseTs) || baseTs < MIN_BASE_TS) {
    throw new RangeError(`fuzzPayloads: baseTs must be an integer epoch ms >= ${MIN_BASE_TS}`);
  }
  const g = new Gen(seed, chans, baseTs, senmlPrefixes(deviceId));
  for (let i = 0; i < count; i++) yield g.next();
}

class Prng {
  private s: number;
  constructor(seed: number) {
    // Spread nearby seeds apart so seeds 1, 2, 3 do not start on correlated streams.
    this.s = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = tmp;
    }
    return xs;
  }
}

const q = (s: string): string => JSON.stringify(s);

/** A SenML record under construction: its regular fields as JSON text, plus whether it must be accepted. */
interface SenmlItem {
  /** `"n":…,"v":…` without braces, or a whole non-object JSON value when `object` is false. */
  body: string;
  object: boolean;
  /** Counts as an accepted reading (false for invalid records and for exact duplicates). */
  accepted: boolean;
}

class Gen {
  private readonly rnd: Prng;
  private seq = 0;
  private unknownSeq = 0;

  constructor(
    seed: number,
    private readonly chans: readonly string[],
    private readonly baseTs: number,
    private readonly prefixes: readonly string[],
  ) {
    this.rnd = new Prng(seed);
  }

  next(): FuzzPayload {
    let r = this.rnd.next() * KIND_TOTAL;
    let kind: FuzzKind = 'native';
    for (const [k, w] of KINDS) {
      if (r < w) {
        kind = k;
        break;
      }
      r -= w;
    }
    const out = this.make(kind);
    const payload = typeof out.text === 'string' ? Buffer.from(out.text, 'utf8') : out.text;
    return { payload, valid: out.valid, validReadings: out.readings, kind };
  }

  private make(kind: FuzzKind): { text: string | Buffer; valid: boolean; readings: number } {
    switch (kind) {
      case 'native':
        return this.validNative();
      case 'senml':
        return this.senml(0, this.rnd.chance(0.2));
      case 'mixed-native':
        return this.mixedNative();
      case 'mixed-senml':
        return this.senml(this.rnd.int(1, 4), this.rnd.chance(0.3));
      case 'bad-json':
        return invalid(this.badJson());
      case 'truncated': {
        const whole = this.rnd.chance(0.5) ? this.validNative().text : this.senml(0, true).text;
        // Compact JSON ending in '}' or ']': every proper prefix is unbalanced, so never valid JSON.
        return invalid(whole.slice(0, this.rnd.int(0, whole.length - 1)));
      }
      case 'random-bytes':
        return invalid(this.randomBytes());
      case 'wrong-types':
        return invalid(this.wrongTypes());
      case 'non-finite':
        return invalid(this.nonFinite());
      case 'out-of-range':
        return invalid(this.outOfRange());
      case 'unknown-channel':
        return invalid(this.unknownChannels());
      case 'future-ts':
        return invalid(this.futurePayload());
      case 'deep-nesting':
        return invalid(this.deepNesting());
      case 'empty':
        return invalid(this.rnd.pick(['', ' ', '\n\t  \r\n', '\ufeff']));
      case 'garbage-array':
        return invalid(this.garbageArray());
    }
  }

  // --- helpers ------------------------------------------------------------------------------------------

  private nextTs(): number {
    return this.baseTs + this.seq++;
  }
  private futureMs(): number {
    return this.baseTs + FUZZ_FUTURE_OFFSET_MS + this.rnd.int(0, 86_400_000);
  }
  private tsJson(ts: number): string {
    return this.rnd.chance(0.3) ? q(new Date(ts).toISOString()) : String(ts);
  }
  /** 0..1 in steps of 0.001: inside every quantity's range. */
  private value(): string {
    return String(this.rnd.int(0, 1000) / 1000);
  }
  private channel(): string {
    return this.rnd.pick(this.chans);
  }
  private distinctChannels(max: number): string[] {
    return this.rnd.shuffle([...this.chans]).slice(0, Math.min(max, this.chans.length));
  }
  private unknownName(): string {
    return `${FUZZ_UNKNOWN_CHANNEL_PREFIX}${this.unknownSeq++ % 1000}`;
  }
  private native(ts: string | undefined, items: string[], extra = ''): string {
    return `{${ts === undefined ? '' : `"ts":${ts},`}${extra}"readings":{${items.join(',')}}}`;
  }

  // --- valid and partly valid -----------------------------------------------------------------------------

  private validNative(): { text: string; valid: boolean; readings: number } {
    const chs = this.distinctChannels(this.rnd.int(1, FUZZ_MAX_VALID_PER_PAYLOAD));
    const shared = this.rnd.chance(0.6);
    const ts = shared ? this.tsJson(this.nextTs()) : undefined;
    const items = chs.map((c) =>
      shared
        ? `${q(c)}:${this.value()}`
        : `${q(c)}:{"value":${this.value()},"ts":${this.tsJson(this.nextTs())}}`,
    );
    const extra = this.rnd.chance(0.2) ? '"fw":"1.4.2","seq":7,' : '';
    return { text: this.native(ts, items, extra), valid: true, readings: chs.length };
  }

  private mixedNative(): { text: string; valid: boolean; readings: number } {
    const order = this.rnd.shuffle([...this.chans]);
    const nValid = this.rnd.int(0, Math.min(order.length, FUZZ_MAX_VALID_PER_PAYLOAD));
    const nBadKnown = this.rnd.int(0, Math.min(order.length - nValid, 3));
    let nUnknown = this.rnd.int(0, 2);
    if (nBadKnown + nUnknown === 0) nUnknown = 1;
    const ts = this.nextTs();
    const items: string[] = [];
    for (let i = 0; i < nValid; i++) items.push(`${q(order[i]!)}:${this.value()}`);
    for (let i = nValid; i < nValid + nBadKnown; i++) items.push(`${q(order[i]!)}:${this.badNativeValue()}`);
    for (let i = 0; i < nUnknown; i++) items.push(`${q(this.unknownName())}:${this.value()}`);
    return { text: this.native(String(ts), this.rnd.shuffle(items)), valid: false, readings: nValid };
  }

  /** A value for a registered channel that must be rejected, whatever the channel's quantity. */
  private badNativeValue(): string {
    switch (this.rnd.int(0, 8)) {
      case 0:
        return this.rnd.pick(OUT_OF_RANGE);
      case 1:
        return this.rnd.pick(OVERFLOW);
      case 2:
        return `{"value":${this.value()},"ts":${this.tsJson(this.futureMs())}}`;
      case 3:
        return q(this.value());
      case 4:
        return 'null';
      case 5:
        return `[${this.value()}]`;
      case 6:
        return `{"ts":${this.baseTs}}`;
      case 7:
        return `{"value":${this.value()},"ts":"soon"}`;
      default:
        return `{"value":${this.rnd.pick(OUT_OF_RANGE)}}`;
    }
  }

  /**
   * A SenML pack with up to FUZZ_MAX_VALID_PER_PAYLOAD valid records (fewer when `nInvalid` > 0 takes the
   * room), `nInvalid` records that must each be rejected, and maybe an exact duplicate of a valid record
   * (dropped silently: the first of a channel+ts pair wins).
   */
  private senml(nInvalid: number, dup: boolean): { text: string; valid: boolean; readings: number } {
    const rnd = this.rnd;
    const bn = rnd.pick(this.prefixes);
    const bt = rnd.chance(0.5) ? Math.floor(this.baseTs / 1000) : 0;
    const bv = rnd.chance(0.3) ? rnd.int(0, 4) / 8 : 0;
    const t = (ms: number): string => String(ms / 1000 - bt);
    const nValid =
      nInvalid === 0 ? rnd.int(1, FUZZ_MAX_VALID_PER_PAYLOAD) : rnd.int(0, FUZZ_MAX_VALID_PER_PAYLOAD);

    const items: SenmlItem[] = [];
    for (let i = 0; i < nValid; i++) {
      const name = q(this.channel());
      const j = rnd.int(0, 1024);
      // bv is a multiple of 1/8 and j/1024 is exact, so bv + v is exactly j/1024, inside 0..1.
      const valueField = bv === 0 && rnd.chance(0.15) ? `"s":${j / 1024}` : `"v":${j / 1024 - bv}`;
      items.push({ body: `"n":${name},${valueField},"t":${t(this.nextTs())}`, object: true, accepted: true });
    }
    for (let i = 0; i < nInvalid; i++) items.push(this.badSenmlRecord(bt));
    rnd.shuffle(items);
    if (dup) {
      const firstValid = items.find((it) => it.accepted);
      if (firstValid)
        items.splice(rnd.int(items.indexOf(firstValid) + 1, items.length), 0, {
          ...firstValid,
          accepted: false,
        });
    }

    const base = [
      bn === '' ? '' : `"bn":${q(bn)}`,
      bt === 0 ? '' : `"bt":${bt}`,
      bv === 0 ? '' : `"bv":${bv}`,
      rnd.chance(0.2) ? '"bver":10' : '',
    ]
      .filter((s) => s !== '')
      .join(',');
    const records = items.map((it) => (it.object ? `{${it.body}}` : it.body));
    if (base !== '') {
      // Base fields ride on the first record when it is one; otherwise on a base-only record of their own.
      const first = items[0];
      if (first?.object) records[0] = `{${base},${first.body}}`;
      else records.unshift(`{${base}}`);
    }
    const accepted = items.reduce((s, it) => s + (it.accepted ? 1 : 0), 0);
    return { text: `[${records.join(',')}]`, valid: nInvalid === 0, readings: accepted };
  }

  /** A record that must be rejected whatever the pack's bn/bt/bv (none of these set a base field). */
  private badSenmlRecord(bt: number): SenmlItem {
    const rnd = this.rnd;
    const n = q(this.channel());
    const tNow = `"t":${this.baseTs / 1000 - bt}`;
    const bodies = [
      `"n":${q(this.unknownName())},"v":0.5,${tNow}`,
      `"n":${n},"vs":"on",${tNow}`,
      `"n":${n},"vd":"aGkgCg",${tNow}`,
      `"n":${n},"v":${rnd.pick(OUT_OF_RANGE)},${tNow}`,
      `"n":${n},"v":${rnd.pick(OVERFLOW)},${tNow}`,
      `"n":${n},"v":0.5,"t":${this.futureMs() / 1000 - bt}`,
      `"n":${n},"v":"0.5",${tNow}`,
      `"n":${n},"v":0.5,"vs":"x",${tNow}`,
      `"n":${n},${tNow}`,
      `"n":${n},"v":0.5,"u":"furlong",${tNow}`,
      `"n":${n},"v":0.5,"t":"now"`,
      `"n":7,"v":0.5,${tNow}`,
    ];
    if (rnd.chance(0.1))
      return { body: rnd.pick(['42', '"x"', 'null', '[]', 'true']), object: false, accepted: false };
    return { body: rnd.pick(bodies), object: true, accepted: false };
  }

  // --- invalid -------------------------------------------------------------------------------------------

  private badJson(): string | Buffer {
    const c = q(this.channel());
    const v = this.value();
    const templates = [
      `{"readings":{${c}:${v},}}`,
      `{readings:{${c}:${v}}}`,
      `{'readings':{${c}:${v}}}`,
      `{"readings":{${c}:${v}}}}`,
      `{"readings":{${c} ${v}}}`,
      `{"ts":0x10,"readings":{${c}:${v}}}`,
      `{"ts":017,"readings":{${c}:${v}}}`,
      `{"readings":{${c}:.5}}`,
      `{"readings":{${c}:+1}}`,
      `{"readings":{${c}:1.}}`,
      `{"readings":{"a\u0001b":${v}}}`,
      `{"readings":{"\\x41":${v}}}`,
      `[{"n":${c},"v":${v}},,]`,
      `{"readings":{${c}:${v}}} // trailing comment`,
      'undefined',
      `{"readings":{${c}:tru}}`,
      `{"a":1}{"b":2}`,
      `"unterminated`,
      `{"readings":{${c}:${v}}`,
    ];
    if (this.rnd.chance(0.15)) {
      // Well-formed JSON text around malformed UTF-8: a bare continuation byte, an overlong '/', a surrogate.
      const bad = this.rnd.pick([[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xc3, 0x28], [0xff]]);
      return Buffer.concat([Buffer.from('{"readings":{"'), Buffer.from(bad), Buffer.from(`":${v}}}`)]);
    }
    return this.rnd.pick(templates);
  }

  private randomBytes(): Buffer {
    const len = this.rnd.int(1, 256);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = this.rnd.int(0, 255);
    // The first byte alone makes it unparseable: a stray UTF-8 continuation byte, or a character no JSON
    // text can start with (not whitespace, a digit, '-', '"', '[', '{', or t/f/n of true/false/null).
    b[0] = this.rnd.chance(0.5)
      ? this.rnd.int(0x80, 0xbf)
      : this.rnd.pick([0x78, 0x5a, 0x23, 0x40, 0x7e, 0x3c, 0x2f]);
    return b;
  }

  private wrongTypes(): string {
    const c = q(this.channel());
    const v = this.value();
    const ts = this.nextTs();
    const r = `{${c}:${v}}`;
    return this.rnd.pick([
      '"hello"',
      '42',
      'null',
      'true',
      '3.14',
      '{}',
      `{"ts":${ts}}`,
      '{"readings":[]}',
      `{"readings":[${r}]}`,
      '{"readings":"co2"}',
      '{"readings":null}',
      '{"readings":42}',
      `{"ts":"yesterday","readings":${r}}`,
      `{"ts":true,"readings":${r}}`,
      `{"ts":null,"readings":${r}}`,
      `{"ts":[${ts}],"readings":${r}}`,
      `{"ts":{},"readings":${r}}`,
      `{"ts":"${ts}","readings":${r}}`,
      `{"ts":"2026-13-45T99:00:00Z","readings":${r}}`,
      `{"ts":"2026-11-27T12:00:00","readings":${r}}`,
      `{"ts":"2026-02-30T12:00:00Z","readings":${r}}`,
      `{"ts":${ts},"readings":{${c}:"${v}"}}`,
      `{"ts":${ts},"readings":{${c}:null}}`,
      `{"ts":${ts},"readings":{${c}:[${v}]}}`,
      `{"ts":${ts},"readings":{${c}:{}}}`,
      `{"ts":${ts},"readings":{${c}:{"value":"${v}"}}}`,
      `{"ts":${ts},"readings":{${c}:{"value":null}}}`,
      `{"ts":${ts},"readings":{${c}:{"value":${v},"ts":"soon"}}}`,
      `{"ts":${ts},"readings":{${c}:{"value":${v},"ts":false}}}`,
      `[{"n":${c},"v":"${v}","t":${ts / 1000}}]`,
      `[{"n":5,"v":${v},"t":${ts / 1000}}]`,
      `[{"bn":5,"n":${c},"v":${v},"t":${ts / 1000}}]`,
      `[{"bt":"now","n":${c},"v":${v}}]`,
      `[{"n":${c},"v":${v},"t":"now"}]`,
      `[{"n":${c},"vs":"on","t":${ts / 1000}}]`,
      `[{"n":${c},"vd":"aGkgCg","t":${ts / 1000}}]`,
      `[{"n":${c},"v":${v},"u":"furlong","t":${ts / 1000}}]`,
      `[{"n":${c},"v":${v},"vb":true,"t":${ts / 1000}}]`,
      `[{"n":${c},"t":${ts / 1000}}]`,
      `[{"bver":99,"n":${c},"v":${v},"t":${ts / 1000}}]`,
      `[{"n":${c},"v":${v},"t":${ts / 1000},"x_":1}]`,
      // One good record, but a must-understand label later voids the whole pack (RFC 8428 §4.4).
      `[{"n":${c},"v":${v},"t":${ts / 1000}},{"n":${c},"v":${v},"t":${ts / 1000 + 1},"unit_":"x"}]`,
    ]);
  }

  private nonFinite(): string {
    const c = q(this.channel());
    const lit = this.rnd.pick(['NaN', 'Infinity', '-Infinity', '+Infinity', 'nan', 'inf']);
    return this.rnd.pick([
      `{"ts":${this.baseTs},"readings":{${c}:${lit}}}`,
      `{"ts":${lit},"readings":{${c}:0.5}}`,
      `{"readings":{${c}:{"value":${lit},"ts":${this.baseTs}}}}`,
      `[{"n":${c},"v":${lit},"t":${this.baseTs / 1000}}]`,
    ]);
  }

  private outOfRange(): string {
    const chs = this.distinctChannels(3);
    if (this.rnd.chance(0.5)) {
      const items = chs.map(
        (c) => `${q(c)}:${this.rnd.pick(this.rnd.chance(0.8) ? OUT_OF_RANGE : OVERFLOW)}`,
      );
      return this.native(String(this.baseTs), items);
    }
    const t = this.baseTs / 1000;
    return `[${chs.map((c) => `{"n":${q(c)},"v":${this.rnd.pick(OUT_OF_RANGE)},"t":${t}}`).join(',')}]`;
  }

  private unknownChannels(): string {
    const names = Array.from({ length: this.rnd.int(1, 3) }, () => this.unknownName());
    if (this.rnd.chance(0.5)) {
      return this.native(
        String(this.baseTs),
        names.map((n) => `${q(n)}:${this.value()}`),
      );
    }
    const bn = this.rnd.pick(this.prefixes);
    const recs = names.map((n, i) => `{${i === 0 && bn !== '' ? `"bn":${q(bn)},` : ''}"n":${q(n)},"v":0.5}`);
    return `[${recs.join(',')}]`;
  }

  private futurePayload(): string {
    const chs = this.distinctChannels(4);
    switch (this.rnd.int(0, 2)) {
      case 0:
        return this.native(
          this.tsJson(this.futureMs()),
          chs.map((c) => `${q(c)}:${this.value()}`),
        );
      case 1:
        return this.native(
          String(this.baseTs),
          chs.map((c) => `${q(c)}:{"value":${this.value()},"ts":${this.tsJson(this.futureMs())}}`),
        );
      default:
        return `[${chs.map((c) => `{"n":${q(c)},"v":${this.value()},"t":${this.futureMs() / 1000}}`).join(',')}]`;
    }
  }

  private deepNesting(): string {
    const d = this.rnd.int(16, 500);
    switch (this.rnd.int(0, 3)) {
      case 0:
        return `{"readings":{${q(this.channel())}:${'{"value":'.repeat(d)}0.5${'}'.repeat(d)}}}`;
      case 1:
        return `${'['.repeat(d)}${']'.repeat(d)}`;
      case 2:
        return `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
      default:
        return `{"readings":${`{${q(this.unknownName())}:`.repeat(d)}0.5${'}'.repeat(d)}}`;
    }
  }

  private garbageArray(): string {
    const c = q(this.channel());
    const pool = [
      '1',
      '-3.5',
      '"x"',
      'null',
      'true',
      'false',
      '[]',
      '[1,"a",null]',
      '{}',
      '{"x":1}',
      '{"v":"1"}',
      '{"v":0.5}',
      `{"n":${c}}`,
      `{"n":${c},"vs":"x"}`,
      `{"n":${q(this.unknownName())},"v":0.5}`,
      '{"n":5,"v":1}',
      `{"n":${c},"v":{}}`,
      `{"n":${c},"v":[]}`,
    ];
    const n = this.rnd.int(1, 10);
    return `[${Array.from({ length: n }, () => this.rnd.pick(pool)).join(',')}]`;
  }
}

function invalid(text: string | Buffer): { text: string | Buffer; valid: boolean; readings: number } {
  return { text, valid: false, readings: 0 };
}
