import { describe, expect, it } from 'vitest';
import { isoTime, localName, MapError } from './common.ts';

/** What isoTime gave before its fast path: the regex, then Date.parse. */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
function general(s: string): number | 'refused' {
  const t = ISO.test(s) ? Date.parse(s) : Number.NaN;
  return Number.isFinite(t) && t >= 0 ? t : 'refused';
}
function read(s: string): number | 'refused' {
  try {
    return isoTime(s, 'eventTime');
  } catch (err) {
    if (err instanceof MapError) return 'refused';
    throw err;
  }
}

describe('isoTime', () => {
  it('reads every UTC time as Date.parse does, and refuses what it refuses', () => {
    const cases: string[] = [];
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    let seed = 11;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 5_000; i++) {
      // Fields a little past their ranges too (month 13, day 32, hour 24, minute 60…), some years < 1000.
      const y = rnd(3) === 0 ? rnd(1100) : 1970 + rnd(80);
      const base = `${pad(y, 4)}-${pad(rnd(14), 2)}-${pad(rnd(33), 2)}T${pad(rnd(26), 2)}:${pad(rnd(62), 2)}:${pad(rnd(62), 2)}`;
      cases.push(
        `${base}Z`,
        `${base}.${pad(rnd(1000), 3)}Z`,
        `${base}.${pad(rnd(100), 2)}Z`,
        `${base}+02:00`,
      );
    }
    cases.push(
      '2016-02-30T10:00:00.000Z',
      '2016-01-01T24:00:00Z',
      '2016-01-01T10:00Z',
      '2016-01-01T1a:00:00Z',
    );
    cases.push('2016-01-01 10:00:00Z', '2016-01-01T10:00:00.12aZ', '1969-12-31T23:59:59.999Z', '');
    for (const s of cases) expect([s, read(s)]).toEqual([s, general(s)]);
  });
});

describe('localName', () => {
  it('is the part after the last # or /, or the whole name', () => {
    expect(localName('http://purl.imsglobal.org/vocab/caliper/action#Viewed')).toBe('Viewed');
    expect(localName('http://purl.imsglobal.org/caliper/ViewEvent')).toBe('ViewEvent');
    expect(localName('a/b#c/d')).toBe('d');
    expect(localName('ViewEvent')).toBe('ViewEvent');
    expect(localName('trailing/')).toBe('');
  });
});
