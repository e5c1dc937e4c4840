import { describe, expect, it } from 'vitest';
import type { Quantity } from '../../../shared/quantities.ts';
import { type DecodeContext, decodeTelemetry } from './index.ts';
import { NOW, testContext, testDevice } from './test-support.ts';

const NOW_S = NOW / 1000;

const CHANNELS: Record<string, Quantity> = {
  temperature: 'temperature',
  temp: 'temperature',
  humidity: 'humidity',
  co2: 'co2',
  light: 'light',
  motion: 'motion',
  occupancy: 'occupancy_count',
  power: 'power',
  energy: 'energy',
  voltage: 'voltage',
  current: 'current',
};

const DEVICE = testDevice(CHANNELS, '10e2073a01080063', 'LAB-2');

function ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return testContext(DEVICE, over);
}

function decode(pack: unknown, over: Partial<DecodeContext> = {}) {
  return decodeTelemetry(Buffer.from(typeof pack === 'string' ? pack : JSON.stringify(pack)), ctx(over));
}

const brief = (res: ReturnType<typeof decode>) => res.readings.map((r) => [r.channel, r.value, r.ts]);

describe('RFC 8428 §5 examples (names adapted to registered channels)', () => {
  it('§5.1.1 single datapoint: name without a prefix, Cel, no time means now', () => {
    const res = decode([{ n: 'temperature', u: 'Cel', v: 23.1 }]);
    expect(res.rejections).toEqual([]);
    expect(res.readings).toEqual([
      {
        deviceId: '10e2073a01080063',
        channel: 'temperature',
        roomId: 'LAB-2',
        quantity: 'temperature',
        value: 23.1,
        unit: '°C',
        ts: NOW,
        receivedAt: NOW,
        source: 'mqtt',
      },
    ]);
  });

  it('§5.1.2 multiple datapoints: bn "urn:dev:ow:<id>:" is stripped', () => {
    const res = decode([
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', u: 'A', v: 1.2 },
    ]);
    expect(res.rejections).toEqual([]);
    expect(brief(res)).toEqual([
      ['voltage', 120.1, NOW],
      ['current', 1.2, NOW],
    ]);
  });

  it('§5.1.3 multiple measurements: bt + relative t, bu, bver 5', () => {
    // The RFC's absolute times are from 2010; keep them, with a journal that reaches back that far.
    const res = decode(
      [
        {
          bn: 'urn:dev:ow:10e2073a0108006:',
          bt: 1.276020076001e9,
          bu: 'A',
          bver: 5,
          n: 'voltage',
          u: 'V',
          v: 120.1,
        },
        { n: 'current', t: -5, v: 1.2 },
        { n: 'current', t: -4, v: 1.3 },
        { n: 'current', t: -3, v: 1.4 },
        { n: 'current', t: -2, v: 1.5 },
        { n: 'current', t: -1, v: 1.6 },
        { n: 'current', v: 1.7 },
      ],
      { oldestAcceptedTs: 0 },
    );
    expect(res.rejections).toEqual([]);
    expect(brief(res)).toEqual([
      ['voltage', 120.1, 1276020076001],
      ['current', 1.2, 1276020071001],
      ['current', 1.3, 1276020072001],
      ['current', 1.4, 1276020073001],
      ['current', 1.5, 1276020074001],
      ['current', 1.6, 1276020075001],
      ['current', 1.7, 1276020076001],
    ]);
  });

  it('§5.1.4 resolved data: full names with absolute float seconds', () => {
    const res = decode(
      [
        { n: 'urn:dev:ow:10e2073a0108006:voltage', u: 'V', v: 120.1, t: 1.276020076001e9 },
        { n: 'urn:dev:ow:10e2073a0108006:current', u: 'A', v: 1.2, t: 1.276020071001e9 },
      ],
      { oldestAcceptedTs: 0 },
    );
    expect(brief(res)).toEqual([
      ['voltage', 120.1, 1276020076001],
      ['current', 1.2, 1276020071001],
    ]);
  });

  it('§5.1.5 multiple data types: vs and vd rejected, vb for motion, number kept', () => {
    const res = decode([
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'temp', u: 'Cel', v: 23.1 },
      { n: 'label', vs: 'Machine Room' },
      { n: 'motion', vb: false },
      { n: 'nfc-reader', vd: 'aGkgCg' },
    ]);
    expect(brief(res)).toEqual([
      ['temp', 23.1, NOW],
      ['motion', 0, NOW],
    ]);
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([
      ['CT_ERR_SCHEMA', 'label'],
      ['CT_ERR_SCHEMA', 'nfc-reader'],
    ]);
    expect(res.rejections[0]?.message).toContain('[1].vs: unsupported value type');
    expect(res.rejections[1]?.message).toContain('[3].vd: unsupported value type');
  });

  it('§5.1.6 collection of resources: an IPv6 bn ending in "/"', () => {
    const res = decode(
      [
        { bn: '2001:db8::2/', bt: 1.320078429e9, n: 'temperature', u: 'Cel', v: 27.2 },
        { n: 'humidity', u: '%RH', v: 80 },
      ],
      { oldestAcceptedTs: 0 },
    );
    expect(brief(res)).toEqual([
      ['temperature', 27.2, 1320078429000],
      ['humidity', 80, 1320078429000],
    ]);
  });
});

describe('names and device prefixes (§4.5.1)', () => {
  it.each([
    'urn:dev:id:10e2073a01080063:',
    '10e2073a01080063/',
    '10e2073a01080063:',
    'urn:dev:mac:0024befffe804ff1:',
    'campus/b1/10e2073a01080063/',
  ])('strips bn %j', (bn) => {
    expect(brief(decode([{ bn, n: 'co2', v: 500 }]))).toEqual([['co2', 500, NOW]]);
  });

  it('accepts a prefix carried in n alone, and bn alone as the full name', () => {
    expect(brief(decode([{ n: 'dev/co2', v: 1 }]))).toEqual([['co2', 1, NOW]]);
    expect(brief(decode([{ bn: 'dev/co2', v: 1 }]))).toEqual([['co2', 1, NOW]]);
  });

  it('still finds a channel whose registered name contains a separator, by its full name', () => {
    const device = testDevice({ 'zone:a': 'temperature' }, DEVICE.deviceId, DEVICE.roomId);
    expect(brief(decode([{ n: 'zone:a', v: 20 }], { device }))).toEqual([['zone:a', 20, NOW]]);
  });

  it('rejects unknown channels and records without a name', () => {
    const res = decode([
      { bn: 'dev/', n: 'pm25', v: 3 },
      { bn: '', v: 3 },
      { bn: 'dev/', v: 4 },
    ]);
    expect(res.readings).toEqual([]);
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([
      ['CT_ERR_UNKNOWN_CHANNEL', 'pm25'],
      ['CT_ERR_SCHEMA', undefined],
      ['CT_ERR_UNKNOWN_CHANNEL', 'dev/'],
    ]);
  });
});

describe('units (§4.5.2) → canonical', () => {
  it.each([
    ['temperature', 'Cel', 21.5, 21.5],
    ['temperature', 'K', 294.65, 21.5],
    ['temperature', '°C', 21.5, 21.5],
    ['humidity', '%RH', 45, 45],
    ['humidity', '/', 0.45, 45],
    ['humidity', '%', 45, 45],
    ['co2', 'ppm', 640, 640],
    ['co2', '/', 0.00064, 640],
    ['light', 'lx', 300, 300],
    ['motion', 'count', 1, 1],
    ['motion', '1', 0, 0],
    ['occupancy', 'count', 17, 17],
    ['occupancy', '1', 17, 17],
    ['power', 'W', 1500, 1.5],
    ['power', 'kW', 1.5, 1.5],
    ['energy', 'Wh', 2500, 2.5],
    ['energy', 'kWh', 2.5, 2.5],
    ['energy', 'J', 3.6e6, 1],
    ['voltage', 'V', 230, 230],
    ['voltage', 'mV', 3300, 3.3],
    ['current', 'A', 2, 2],
    ['current', 'mA', 250, 0.25],
  ])('%s in %j', (n, u, v, expected) => {
    const res = decode([{ n, u, v }]);
    expect(res.rejections).toEqual([]);
    expect(res.readings[0]?.value).toBeCloseTo(expected, 9);
  });

  it('takes bu when a record has no u, and u over bu', () => {
    const res = decode([
      { bu: 'W', n: 'power', v: 2000 },
      { n: 'power', u: 'kW', v: 3, t: -1 },
    ]);
    expect(brief(res)).toEqual([
      ['power', 2, NOW],
      ['power', 3, NOW - 1000],
    ]);
  });

  it('rejects a unit that does not fit the quantity, naming the unit', () => {
    const res = decode([
      { n: 'temperature', u: 'degF', v: 70 },
      { n: 'co2', u: 'Cel', v: 1 },
    ]);
    expect(res.readings).toEqual([]);
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_SCHEMA', 'CT_ERR_SCHEMA']);
    expect(res.rejections[0]?.message).toContain('unit "degF" is not supported for temperature');
  });

  it('range-checks after conversion', () => {
    const res = decode([{ n: 'temperature', u: 'K', v: 10 }]);
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_OUT_OF_RANGE']);
  });
});

describe('values (§4.5.4) and base value/sum', () => {
  it('adds bv to v, uses s (plus bs) when there is no value field', () => {
    const res = decode([
      { bv: 400, n: 'co2', v: 20, t: -3 },
      { n: 'co2', v: 30, t: -2 },
      { bs: 100, n: 'energy', s: 5, t: -1 },
    ]);
    expect(brief(res)).toEqual([
      ['co2', 420, NOW - 3000],
      ['co2', 430, NOW - 2000],
      ['energy', 105, NOW - 1000],
    ]);
  });

  it('prefers v over s when both are present', () => {
    expect(brief(decode([{ n: 'energy', v: 7, s: 9 }]))).toEqual([['energy', 7, NOW]]);
  });

  it('accepts vb only for motion', () => {
    const res = decode([
      { n: 'motion', vb: true },
      { n: 'co2', vb: true },
    ]);
    expect(brief(res)).toEqual([['motion', 1, NOW]]);
    expect(res.rejections.map((r) => [r.code, r.channel])).toEqual([['CT_ERR_BAD_VALUE', 'co2']]);
  });

  it.each([
    ['no value and no sum', { n: 'co2' }, 'no value'],
    ['two value fields', { n: 'co2', v: 1, vb: true }, 'more than one value field'],
    ['v a string', { n: 'co2', v: '1' }, '[0].v: expected number'],
    ['vb a number', { n: 'motion', vb: 1 }, '[0].vb: expected boolean'],
    ['s a string', { n: 'energy', s: '1' }, '[0].s: expected number'],
    ['n a number', { n: 5, v: 1 }, '[0].n: expected string'],
    ['u a number', { n: 'co2', u: 1, v: 1 }, '[0].u: expected string'],
    ['t a string', { n: 'co2', v: 1, t: 'now' }, '[0].t: expected number'],
    ['bn a number', { bn: 1, n: 'co2', v: 1 }, '[0].bn: expected string'],
    ['bt a string', { bt: 'now', n: 'co2', v: 1 }, '[0].bt: expected finite number'],
    ['bver a float', { bver: 10.5, n: 'co2', v: 1 }, '[0].bver: expected positive integer'],
  ])('rejects a record with %s as CT_ERR_SCHEMA', (_name, rec, detail) => {
    const res = decode([rec, { n: 'temperature', v: 20 }]);
    expect(brief(res)).toEqual([['temperature', 20, NOW]]);
    expect(res.rejections).toHaveLength(1);
    expect(res.rejections[0]?.code).toBe('CT_ERR_SCHEMA');
    expect(res.rejections[0]?.message).toContain(detail);
  });

  it('rejects every record from one with a version using unknown features (§4.4, RFC 9100)', () => {
    const res = decode([
      { n: 'co2', v: 1 },
      { bver: 42, n: 'co2', v: 2, t: -1 },
      { n: 'temperature', v: 20 },
    ]);
    expect(brief(res)).toEqual([['co2', 1, NOW]]);
    expect(res.rejections.map((r) => r.message)).toEqual([
      expect.stringContaining('[1]: SenML version 42'),
      expect.stringContaining('[2]: SenML version 42'),
    ]);
  });

  it('accepts bver 10 and 26 (RFC 9100 secondary units)', () => {
    expect(decode([{ bver: 10, n: 'co2', v: 1 }]).readings).toHaveLength(1);
    expect(decode([{ bver: 26, n: 'power', u: 'kW', v: 1 }]).readings).toHaveLength(1);
  });

  it('rejects non-finite values from JSON overflow as CT_ERR_BAD_VALUE', () => {
    const res = decode('[{"n":"co2","v":1e400}]');
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_BAD_VALUE']);
  });
});

describe('base fields (§4.1)', () => {
  it('skips a record that carries only base fields', () => {
    const res = decode([
      { bn: 'dev/', bt: NOW_S - 10 },
      { n: 'co2', v: 1 },
      { n: 'co2', v: 2, t: 5 },
    ]);
    expect(res.rejections).toEqual([]);
    expect(brief(res)).toEqual([
      ['co2', 1, NOW - 10_000],
      ['co2', 2, NOW - 5000],
    ]);
  });

  it('lets a later record replace a base field', () => {
    const res = decode([
      { bn: 'a/', n: 'co2', v: 1 },
      { bn: 'b:', n: 'temperature', v: 2 },
    ]);
    expect(brief(res).map((r) => r[0])).toEqual(['co2', 'temperature']);
  });

  it('applies the base fields of a record even when the record itself is rejected', () => {
    const res = decode([
      { bn: 'dev/', bt: NOW_S - 30, n: 'label', vs: 'x' },
      { n: 'co2', v: 1 },
    ]);
    expect(brief(res)).toEqual([['co2', 1, NOW - 30_000]]);
  });

  it('does not apply any base field of a record with a malformed one', () => {
    const res = decode([
      { bt: NOW_S - 30, bn: 7, n: 'co2', v: 1 },
      { n: 'co2', v: 2 },
    ]);
    expect(brief(res)).toEqual([['co2', 2, NOW]]);
  });

  it('rejects non-object records one by one', () => {
    const res = decode([1, 'x', null, [], { n: 'co2', v: 1 }]);
    expect(res.readings).toHaveLength(1);
    expect(res.rejections.map((r) => r.message)).toEqual([
      expect.stringContaining('[0]: expected a SenML record object, got number'),
      expect.stringContaining('[1]: expected a SenML record object, got string'),
      expect.stringContaining('[2]: expected a SenML record object, got null'),
      expect.stringContaining('[3]: expected a SenML record object, got array'),
    ]);
  });

  it('rejects the whole pack when any record has a must-understand label (§4.4)', () => {
    const res = decode([
      { n: 'co2', v: 1 },
      { n: 'co2', v: 2, t: -1, foo_: 1 },
    ]);
    expect(res.readings).toEqual([]);
    expect(res.rejections).toHaveLength(1);
    expect(res.rejections[0]?.message).toContain('[1].foo_: unsupported must-understand field');
  });

  it('ignores unknown labels that are not must-understand, and ut', () => {
    expect(decode([{ n: 'co2', v: 1, ut: 60, foo: 'bar' }]).readings).toHaveLength(1);
  });

  it('answers an empty pack with a code, not silence', () => {
    expect(decode([])).toEqual({
      readings: [],
      rejections: [{ code: 'CT_ERR_SCHEMA', message: expect.stringMatching(/holds no readings/) }],
    });
  });
});

describe('time (§4.5.3)', () => {
  it('reads t = 0 and absent t as now, small values as relative seconds', () => {
    const res = decode([
      { n: 'co2', v: 1, t: 0 },
      { n: 'co2', v: 2, t: -60 },
      { n: 'co2', v: 3, t: -0.5 },
      { n: 'co2', v: 4, t: 120 },
    ]);
    expect(brief(res)).toEqual([
      ['co2', 1, NOW],
      ['co2', 2, NOW - 60_000],
      ['co2', 3, NOW - 500],
      ['co2', 4, NOW + 120_000],
    ]);
  });

  it('reads values at or above 2^28 as seconds since the epoch, rounding to ms', () => {
    const res = decode([{ n: 'co2', v: 1, t: NOW_S - 1.2346 }], { oldestAcceptedTs: 0 });
    expect(res.readings[0]?.ts).toBe(NOW - 1235);
    const edge = decode([{ n: 'co2', v: 1, t: 2 ** 28 }], { oldestAcceptedTs: 0 });
    expect(edge.readings[0]?.ts).toBe(2 ** 28 * 1000);
  });

  it('resolves bt + t before deciding relative or absolute', () => {
    const res = decode([{ bt: NOW_S, n: 'co2', v: 1, t: -90 }]);
    expect(res.readings[0]?.ts).toBe(NOW - 90_000);
  });

  it('applies the future and too-old limits', () => {
    const res = decode([
      { n: 'co2', v: 1, t: 301 },
      { n: 'co2', v: 2, t: NOW_S - 2 * 86_400 },
      { n: 'co2', v: 3, t: 300 },
    ]);
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_TS_FUTURE', 'CT_ERR_TS_TOO_OLD']);
    expect(brief(res)).toEqual([['co2', 3, NOW + 300_000]]);
  });

  it('rejects a time that overflows to infinity', () => {
    const res = decode('[{"n":"co2","v":1,"t":1e400}]');
    expect(res.rejections.map((r) => r.code)).toEqual(['CT_ERR_SCHEMA']);
  });
});

describe('names bound to the publishing device', () => {
  it('refuses a record whose name speaks for another device, keeps its own', () => {
    const isDevice = (id: string) => ['10e2073a01080063', 'env-2'].includes(id);
    const res = decode(
      [
        { bn: 'urn:dev:id:10e2073a01080063:', n: 'co2', v: 600 },
        { bn: 'urn:dev:id:someone-else:', n: 'co2', v: 700 },
        { bn: 'env-2/', n: 'co2', v: 800 },
        { bn: 'building-7/floor-2/', n: 'humidity', v: 40 },
      ],
      { isDevice },
    );
    expect(brief(res).map(([c, v]) => [c, v])).toEqual([
      ['co2', 600],
      ['humidity', 40],
    ]);
    expect(res.rejections.map((r) => [r.code, r.message])).toEqual([
      ['CT_ERR_TOPIC_DENIED', expect.stringMatching(/names device someone-else, not 10e2073a01080063/)],
      ['CT_ERR_TOPIC_DENIED', expect.stringMatching(/"env-2\/co2" names device env-2/)],
    ]);
  });
});
