import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../shared/config.ts';
import { cloudConfigFrom, hubNameOf } from './index.ts';

describe('cloud config', () => {
  it('has secure defaults, and config/cloud.yaml states exactly the defaults', () => {
    const c = cloudConfigFrom({});
    expect(c).toMatchObject({
      dev: false,
      api: { port: 8000, tokens: [] },
      store: { file: './data/cloud/cloud.db' },
      eventHub: { consumerGroup: '$Default' },
    });
    expect(Object.isFrozen(c.api)).toBe(true);
    const shipped = parse(readFileSync(new URL('../../config/cloud.yaml', import.meta.url), 'utf8'));
    expect(cloudConfigFrom(shipped)).toEqual(c);
  });

  it('takes environment overrides and names the bad field', () => {
    const c = cloudConfigFrom(
      {},
      { CT_API__PORT: '0', CT_EVENT_HUB__CONNECTION_STRING: 'Endpoint=sb://x;EntityPath=h1' },
    );
    expect(c.api.port).toBe(0);
    expect(hubNameOf(c)).toBe('h1');
    expect(
      hubNameOf(cloudConfigFrom({ eventHub: { hubName: 'h2', connectionString: 'x;EntityPath=h1' } })),
    ).toBe('h2');
    expect(() => cloudConfigFrom({ api: { tokens: ['short'] } })).toThrow(/api\.tokens\.0/);
    expect(() => cloudConfigFrom({ loadBalancing: { strategy: 'random' } })).toThrow(ConfigError);
    expect(() => cloudConfigFrom({ unknownKey: 1 })).toThrow(/unknownKey|unrecognized/i);
  });

  it('selects PostgreSQL by a postgres:// URL, and refuses anything else there', () => {
    const c = cloudConfigFrom({}, { CT_STORE__URL: 'postgres://ct:pw@db.example:5432/campus' });
    expect(c.store).toMatchObject({
      url: 'postgres://ct:pw@db.example:5432/campus',
      schema: '',
      poolSize: 8,
    });
    expect(
      cloudConfigFrom({ store: { url: 'postgresql://db/campus', schema: 'campus_a' } }).store.schema,
    ).toBe('campus_a');
    expect(() => cloudConfigFrom({ store: { url: 'mysql://db/campus' } })).toThrow(/store\.url/);
    expect(() => cloudConfigFrom({ store: { url: 'postgres://db/x', schema: 'Campus-A' } })).toThrow(
      /store\.schema/,
    );
    expect(() => cloudConfigFrom({ store: { poolSize: 0 } })).toThrow(/store\.poolSize/);
  });
});
