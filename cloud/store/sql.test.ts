import { describe, expect, it } from 'vitest';
import { agg } from './contract.ts';
import { aggregateParams, insertNewBasesSql, putAggregateParams } from './sql.ts';

describe('window statement parameters', () => {
  it('putAggregateParams writes what aggregateParams gives, at an offset', () => {
    const a = agg({
      windowStart: 60_000,
      count: 3,
      sum: 63.5,
      min: 20.25,
      max: 22.75,
      first: 21,
      last: 21.5,
    });
    const p = [-1, -1, -1];
    putAggregateParams(p, 3, 7, a);
    expect(p).toEqual([-1, -1, -1, ...aggregateParams(7, a)]);
  });

  it('insertNewBasesSql has a row of placeholders per window', () => {
    const sql = insertNewBasesSql(3);
    expect(sql.match(/\?/g)).toHaveLength(3 * aggregateParams(1, agg({ windowStart: 0 })).length);
  });
});
