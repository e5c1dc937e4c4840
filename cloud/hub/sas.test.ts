import { describe, expect, it } from 'vitest';
import { isAuthorized, putToken, SAS_TOKEN_TYPE } from './cbs.ts';
import { covers, entityPath, signSas, verifySas } from './sas.ts';

const KEYS = [{ name: 'app', key: 'secret-1' }];
const NOW = Date.UTC(2026, 10, 27, 9, 0, 0);
const IN_AN_HOUR = Math.floor(NOW / 1000) + 3600;

describe('SAS tokens', () => {
  it('verifies a token signed with a configured key', () => {
    const token = signSas('app', 'secret-1', 'sb://localhost:5672/campus-twin', IN_AN_HOUR);
    expect(verifySas(token, KEYS, NOW)).toEqual({
      ok: true,
      entityPath: 'campus-twin',
      expiresAtMs: IN_AN_HOUR * 1000,
      keyName: 'app',
    });
  });

  it('refuses a wrong key, an unknown key name, an expired token and a tampered audience', () => {
    const aud = 'sb://localhost:5672/campus-twin';
    expect(verifySas(signSas('app', 'wrong', aud, IN_AN_HOUR), KEYS, NOW)).toMatchObject({ ok: false });
    expect(verifySas(signSas('other', 'secret-1', aud, IN_AN_HOUR), KEYS, NOW)).toMatchObject({ ok: false });
    const expired = signSas('app', 'secret-1', aud, Math.floor(NOW / 1000) - 1);
    expect(verifySas(expired, KEYS, NOW)).toEqual({ ok: false, reason: 'token has expired' });
    const tampered = signSas('app', 'secret-1', aud, IN_AN_HOUR).replace('campus-twin', 'other-hub');
    expect(verifySas(tampered, KEYS, NOW)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifySas('Bearer abc', KEYS, NOW).ok).toBe(false);
  });

  it('compares audiences as entity paths', () => {
    expect(entityPath('sb://localhost:5672/Campus-Twin/Partitions/0')).toBe('campus-twin/partitions/0');
    expect(entityPath('campus-twin/ConsumerGroups/$Default/Partitions/1')).toBe(
      'campus-twin/consumergroups/$default/partitions/1',
    );
    expect(covers('campus-twin', 'campus-twin/partitions/0')).toBe(true);
    expect(covers('campus-twin', 'campus-twin-2')).toBe(false);
  });
});

describe('CBS put-token', () => {
  const req = (name: string, token: string) => ({
    operation: 'put-token',
    name,
    type: SAS_TOKEN_TYPE,
    token,
  });

  it('grants the claimed audience until the token expires', () => {
    const aud = 'sb://localhost:5672/campus-twin/Partitions/2';
    const reply = putToken(req(aud, signSas('app', 'secret-1', aud, IN_AN_HOUR)), KEYS, NOW);
    expect(reply.status).toBe(202);
    const grants = [reply.grant!];
    expect(isAuthorized(grants, 'campus-twin/Partitions/2', NOW)).toBe(true);
    expect(isAuthorized(grants, 'campus-twin/Partitions/3', NOW)).toBe(false);
    expect(isAuthorized(grants, 'campus-twin/Partitions/2', IN_AN_HOUR * 1000 + 1)).toBe(false);
  });

  it('answers 401 for a bad signature or an audience the token does not cover', () => {
    const aud = 'sb://localhost:5672/campus-twin';
    expect(putToken(req(aud, signSas('app', 'nope', aud, IN_AN_HOUR)), KEYS, NOW)).toMatchObject({
      status: 401,
      condition: 'amqp:unauthorized-access',
    });
    const narrow = signSas('app', 'secret-1', `${aud}/Partitions/0`, IN_AN_HOUR);
    expect(putToken(req(aud, narrow), KEYS, NOW).status).toBe(401);
    expect(putToken({ ...req(aud, narrow), type: 'jwt' }, KEYS, NOW).status).toBe(401);
  });
});
