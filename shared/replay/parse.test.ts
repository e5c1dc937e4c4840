import { describe, expect, it } from 'vitest';
import { parseCsv, parseJsonl } from './parse.ts';

const UCI = `"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"
"1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479298817650529,1
"2","2015-02-04 17:51:59",23.15,27.2675,429.5,714,0.00478344094931065,1
`;

describe('replay: parsing CSV', () => {
  it('reads the UCI files as they are: row ids skipped, times as UTC, the chosen columns as channels', () => {
    const rows = parseCsv(UCI, { device: 'env-1', columns: ['temperature', 'co2'] });
    expect(rows).toEqual([
      {
        deviceId: 'env-1',
        ts: Date.UTC(2015, 1, 4, 17, 51, 0),
        readings: { temperature: 23.18, co2: 721.25 },
      },
      { deviceId: 'env-1', ts: Date.UTC(2015, 1, 4, 17, 51, 59), readings: { temperature: 23.15, co2: 714 } },
    ]);
    // Without --columns every numeric column is a channel.
    expect(Object.keys(parseCsv(UCI, { device: 'env-1' })[0]!.readings)).toEqual([
      'temperature',
      'humidity',
      'light',
      'co2',
      'humidityratio',
      'occupancy',
    ]);
  });

  it('names the line and the problem instead of skipping rows', () => {
    expect(() => parseCsv(UCI, {})).toThrow(/a CSV file needs --device/);
    expect(() => parseCsv(UCI, { device: 'd', columns: ['co3'] })).toThrow(/line 1: no column co3/);
    expect(() => parseCsv('value\n1\n', { device: 'd' })).toThrow(/line 1: no time column/);
    expect(() => parseCsv('ts,co2\n2015-02-30x,1\n', { device: 'd' })).toThrow(
      /line 2: time "2015-02-30x" is not a date/,
    );
    expect(() => parseCsv('ts,co2\n1700000000000,1,2,3\n', { device: 'd' })).toThrow(
      /line 2: 4 fields, the header has 2/,
    );
    expect(() => parseCsv('ts,co2\n1700000000000,high\n', { device: 'd', columns: ['co2'] })).toThrow(
      /line 2: co2 "high" is not a number/,
    );
  });
});

describe('replay: parsing JSONL', () => {
  it('reads devices, epoch or ISO times and readings', () => {
    const text =
      '{"deviceId":"a","ts":1700000000000,"readings":{"co2":600}}\n\n{"ts":"2023-11-14T22:13:21Z","readings":{"temperature":21.5}}\n';
    expect(parseJsonl(text, { device: 'b' })).toEqual([
      { deviceId: 'a', ts: 1_700_000_000_000, readings: { co2: 600 } },
      { deviceId: 'b', ts: Date.parse('2023-11-14T22:13:21Z'), readings: { temperature: 21.5 } },
    ]);
  });

  it('refuses a bad line with its number and code', () => {
    expect(() => parseJsonl('{"deviceId":"a","ts":1,"readings":{}}\nnot json\n')).toThrow(
      /line 2 is not JSON/,
    );
    expect(() => parseJsonl('{"ts":1,"readings":{"co2":1}}')).toThrow(
      /line 1: no deviceId \(or give --device\)/,
    );
    expect(() => parseJsonl('{"deviceId":"a","ts":1,"readings":{"co2":"x"}}')).toThrow(
      /line 1: readings.co2 is not a number/,
    );
    expect(() => parseJsonl('[1]')).toThrow(/line 1: expected an object/);
    try {
      parseJsonl('{"deviceId":"a","ts":1,"readings":[1]}');
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('CT_ERR_SCHEMA');
    }
  });
});
