import { describe, expect, it } from 'vitest';
import { gatewayConfigFrom } from '../gateway/config/index.ts';
import { campusFrom } from '../gateway/registry/index.ts';
import { ConfigError } from './config.ts';

describe('config', () => {
  it('fills defaults and freezes the result', () => {
    const c = gatewayConfigFrom({});
    expect(c.mqtt.port).toBe(1883);
    expect(c.journal.synchronous).toBe('FULL');
    expect(c.dev).toBe(false);
    expect(Object.isFrozen(c.mqtt)).toBe(true);
  });

  it('names the bad field', () => {
    expect(() => gatewayConfigFrom({ mqtt: { port: 'x' } }, {}, 'gateway.yaml')).toThrow(
      /gateway\.yaml: mqtt\.port: /,
    );
    expect(() => gatewayConfigFrom({ aggregate: { windowMs: -1 } })).toThrow(ConfigError);
  });

  it('lets every setting be overridden from the environment', () => {
    const c = gatewayConfigFrom(
      { mqtt: { port: 1 } },
      {
        CT_MQTT__PORT: '0',
        CT_JOURNAL__RETENTION_MS: '3600000',
        CT_GATEWAY_ID: '123',
        CT_MQTT__TLS__ENABLED: 'false',
        CT_UNKNOWN: 'ignored',
      },
    );
    expect(c.mqtt.port).toBe(0);
    expect(c.journal.retentionMs).toBe(3_600_000);
    expect(c.gatewayId).toBe('123');
    expect(() => gatewayConfigFrom({}, { CT_HTTP__PORT: '70000' })).toThrow(/environment: http\.port/);
  });

  it('allows anonymous devices only in dev mode', () => {
    expect(() => gatewayConfigFrom({ mqtt: { allowAnonymous: true } })).toThrow(/mqtt\.allowAnonymous/);
    expect(gatewayConfigFrom({ dev: true, mqtt: { allowAnonymous: true } }).mqtt.allowAnonymous).toBe(true);
  });

  it('checks the campus registry cross-references', () => {
    const base = {
      campus: { id: 'c' },
      deviceKinds: { env: { channels: ['temperature'] } },
      buildings: [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r1' }] }] }],
    };
    const campus = campusFrom({ ...base, devices: [{ id: 'd1', roomId: 'r1', kind: 'env' }] });
    expect(campus.devices.get('d1')?.channels.get('temperature')?.quantity).toBe('temperature');
    expect(campus.rooms.get('r1')?.deviceIds).toEqual(['d1']);
    expect(() => campusFrom({ ...base, devices: [{ id: 'd1', roomId: 'nope', kind: 'env' }] })).toThrow(
      /devices\.0\.roomId: .*unknown room/,
    );
    expect(() =>
      campusFrom({ ...base, devices: [{ id: 'd1', roomId: 'r1', kind: 'env', passwordHash: 'plain' }] }),
    ).toThrow(/devices\.0\.passwordHash/);
  });
});
