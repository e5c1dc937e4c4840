import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.ts';
import { DEV_KEY, hubConfigFrom, loadHubConfig } from './config.ts';

describe('hub config', () => {
  it('defaults to one hub, four partitions, $Default only, the dev key and 1 MiB messages', () => {
    const c = hubConfigFrom({});
    expect(c).toMatchObject({
      port: 5672,
      dataDir: './data/hub',
      hubs: ['campus-twin'],
      partitions: 4,
      consumerGroups: [],
      keys: [DEV_KEY],
      maxMessageBytes: 1024 * 1024,
    });
    expect(Object.isFrozen(c.retention)).toBe(true);
  });

  it('config/hub.yaml is valid and matches the defaults', () => {
    expect(loadHubConfig('config/hub.yaml', {})).toEqual(hubConfigFrom({}));
  });

  it('takes CT_HUB_ environment overrides, and ignores the gateway CT_ ones', () => {
    const c = hubConfigFrom(
      {},
      {
        CT_HUB_PORT: '0',
        CT_HUB_PARTITIONS: '8',
        CT_HUB_RETENTION__MAX_AGE_MS: '3600000',
        CT_HUB_KEYS: '[{"name":"app","key":"k1"}]',
        CT_HUB_CONSUMER_GROUPS: '["reporting"]',
        CT_DATA_DIR: '/gateway/data',
      },
    );
    expect(c).toMatchObject({
      port: 0,
      partitions: 8,
      keys: [{ name: 'app', key: 'k1' }],
      dataDir: './data/hub',
    });
    expect(c.retention.maxAgeMs).toBe(3_600_000);
    expect(c.consumerGroups).toEqual(['reporting']);
  });

  it('names the bad field', () => {
    expect(() => hubConfigFrom({ partitions: 64 })).toThrow(ConfigError);
    expect(() => hubConfigFrom({ partitions: 64 })).toThrow(/partitions/);
    expect(() => hubConfigFrom({ hubs: ['a', 'A'] })).toThrow(/hubs/);
    expect(() => hubConfigFrom({ hubs: ['bad/name'] })).toThrow(/hubs\.0/);
    expect(() => hubConfigFrom({}, { CT_HUB_PORT: 'abc' })).toThrow(/environment: port/);
  });
});
