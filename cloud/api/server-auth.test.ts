/**
 * The API's auth end to end over fastify inject: static tokens, HS256 and JWKS-signed (ES256) JWTs from a real
 * JWKS HTTP server, scopes per route (401 vs 403), refusals counted by reason.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { mintDevToken } from './auth.ts';
import { buildCloudApi } from './server.ts';

const SECRET = 'server-auth-test-secret-0123456789abcdef';
const STATIC = 'static-token-0123456789abcdef';
const AUD = 'campus-twin';

describe('cloud API auth (JWT scopes, JWKS, static token)', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const metrics = new CloudMetrics();
  let jwks: Server;
  let app: ReturnType<typeof buildCloudApi>;
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const { port } = jwks.address() as AddressInfo;
    app = buildCloudApi({
      store,
      metrics,
      now: Date.now,
      auth: {
        open: false,
        tokens: [STATIC],
        metricsPublic: false,
        jwt: { audience: AUD, hs256Secret: SECRET, jwksUrl: `http://127.0.0.1:${port}/jwks.json` },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await new Promise((r) => jwks.close(r));
  });

  const hs = (
    scopes: ('reports:read' | 'risk:read' | 'admin')[],
    over: { expiresInSec?: number; now?: number; audience?: string; secret?: string } = {},
  ) =>
    mintDevToken({
      secret: over.secret ?? SECRET,
      subject: 'u1',
      scopes,
      audience: over.audience ?? AUD,
      expiresInSec: over.expiresInSec ?? 600,
      ...(over.now ? { now: over.now } : {}),
    });
  const es = (key: CryptoKey, scope: string) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('idp-user')
      .setAudience(AUD)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  const call = (token: string | null, url = '/api/snapshots', method: 'GET' | 'POST' = 'GET') =>
    app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const refused = async (reason: string) =>
    (await metrics.authRefused.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it('refuses a missing, expired, wrongly signed or wrong-audience token with 401 and counts why', async () => {
    const cases: [string | null, string][] = [
      [null, 'missing'],
      [await hs(['reports:read'], { now: Date.now() - 3_600_000, expiresInSec: 60 }), 'expired'],
      [await hs(['reports:read'], { secret: 'a-different-secret-0123456789abcdefgh' }), 'bad_signature'],
      [await hs(['reports:read'], { audience: 'someone-else' }), 'bad_claims'],
      [await es(strangerKey, 'reports:read'), 'bad_signature'],
      ['not-a-token', 'malformed'],
    ];
    for (const [token, reason] of cases) {
      const before = await refused(reason);
      const r = await call(token);
      expect(r.statusCode, reason).toBe(401);
      expect(r.json().error.code).toBe('CT_ERR_AUTH');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(await refused(reason), reason).toBe(before + 1);
      if (token) expect(r.body).not.toContain(token);
    }
  });

  it('answers 403 when the token lacks the route scope, 2xx when it has it', async () => {
    const reader = await hs(['reports:read']);
    const risk = await hs(['risk:read']);
    const admin = await hs(['admin']);
    expect((await call(reader)).statusCode).toBe(200);
    const forbidden = await call(reader, '/api/snapshots', 'POST');
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('CT_ERR_FORBIDDEN');
    expect(forbidden.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin"');
    expect((await call(risk)).statusCode).toBe(403); // risk:read alone does not read reports
    expect((await call(reader, '/api/quarantine')).statusCode).toBe(403);
    expect((await call(admin, '/api/snapshots', 'POST')).statusCode).toBe(201);
    expect((await call(admin, '/api/quarantine')).statusCode).toBe(200);
    expect(await refused('forbidden')).toBeGreaterThanOrEqual(3);
  });

  it('accepts an ES256 token signed by the identity provider (JWKS) and the static token', async () => {
    expect((await call(await es(privateKey, 'reports:read'))).statusCode).toBe(200);
    expect((await call(await es(privateKey, 'reports:read'), '/api/snapshots', 'POST')).statusCode).toBe(403);
    expect((await call(STATIC, '/api/snapshots', 'POST')).statusCode).toBe(201);
  });

  it('keeps /healthz open and /metrics behind admin when not public', async () => {
    expect((await call(null, '/healthz')).statusCode).toBe(200);
    expect((await call(null, '/metrics')).statusCode).toBe(401);
    expect((await call(await hs(['reports:read']), '/metrics')).statusCode).toBe(403);
    const m = await call(await hs(['admin']), '/metrics');
    expect(m.statusCode).toBe(200);
    expect(m.body).toContain('ct_cloud_api_auth_refused_total{reason="missing"}');
  });
});
