import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthResult, createAuthenticator, hasScope, mintDevToken, SCOPES, type Scope } from './auth.ts';

const SECRET = 'hs256-test-secret-0123456789abcdefghij';
const AUDIENCE = 'campus-twin';
const ISSUER = 'https://issuer.test';
const STATIC = 'static-api-token-0123456789';

function expectOk(r: AuthResult): asserts r is AuthResult & { ok: true } {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
}

function expectFail(r: AuthResult, reason: string, token?: string) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.status).toBe(401);
  expect(r.reason).toBe(reason);
  if (token) expect(r.message).not.toContain(token);
}

const bearer = (t: string) => `Bearer ${t}`;

describe('createAuthenticator: header and static tokens', () => {
  const auth = createAuthenticator({ open: false, tokens: ['another-token-xyz', STATIC] });

  it('refuses a missing or blank header', async () => {
    expectFail(await auth.authenticate(undefined), 'missing');
    expectFail(await auth.authenticate('   '), 'missing');
  });

  it('refuses a non-bearer scheme as malformed', async () => {
    expectFail(await auth.authenticate(`Basic ${STATIC}`), 'malformed', STATIC);
    expectFail(await auth.authenticate('Bearer'), 'malformed');
  });

  it('accepts a configured static token (scheme case-insensitive) with all scopes', async () => {
    for (const h of [bearer(STATIC), `bearer ${STATIC}`, `BEARER  ${STATIC}`]) {
      const r = await auth.authenticate(h);
      expectOk(r);
      expect(r.kind).toBe('static');
      expect(r.subject).toBe('static-token');
      expect([...r.scopes].sort()).toEqual([...SCOPES].sort());
    }
  });

  it('refuses a near-miss static token without echoing it', async () => {
    const near = `${STATIC.slice(0, -1)}8`;
    expectFail(await auth.authenticate(bearer(near)), 'unknown_token', near);
    expectFail(await auth.authenticate(bearer(`${STATIC}0`)), 'unknown_token');
    expectFail(await auth.authenticate(bearer(STATIC.slice(0, -1))), 'unknown_token');
  });

  it('open mode allows every request with all scopes', async () => {
    const open = createAuthenticator({ open: true, tokens: [] });
    const r = await open.authenticate(undefined);
    expectOk(r);
    expect(r.kind).toBe('open');
    for (const s of SCOPES) expect(hasScope(r, s)).toBe(true);
  });
});

describe('createAuthenticator: HS256 JWTs', () => {
  const auth = createAuthenticator({
    open: false,
    tokens: [STATIC],
    jwt: { audience: AUDIENCE, issuer: ISSUER, hs256Secret: SECRET },
  });
  const mint = (over: Partial<Parameters<typeof mintDevToken>[0]> = {}) =>
    mintDevToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['reports:read', 'risk:read'],
      audience: AUDIENCE,
      issuer: ISSUER,
      expiresInSec: 300,
      ...over,
    });

  it('accepts a valid token and parses its scopes', async () => {
    const r = await auth.authenticate(bearer(await mint()));
    expectOk(r);
    expect(r.kind).toBe('jwt');
    expect(r.subject).toBe('alice');
    expect([...r.scopes].sort()).toEqual(['reports:read', 'risk:read']);
  });

  it('still accepts static tokens when jwt is configured', async () => {
    const r = await auth.authenticate(bearer(STATIC));
    expectOk(r);
    expect(r.kind).toBe('static');
  });

  it('reads scp/scopes arrays and ignores unknown scope names', async () => {
    const key = new TextEncoder().encode(SECRET);
    const token = await new SignJWT({ scope: 'openid reports:read', scp: ['risk:read', 'write:all', 42] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bob')
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setExpirationTime('5m')
      .sign(key);
    const r = await auth.authenticate(bearer(token));
    expectOk(r);
    expect([...r.scopes].sort()).toEqual(['reports:read', 'risk:read']);

    const t2 = await new SignJWT({ scopes: ['admin', 'bogus'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('carol')
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setExpirationTime('5m')
      .sign(key);
    const r2 = await auth.authenticate(bearer(t2));
    expectOk(r2);
    expect([...r2.scopes]).toEqual(['admin']);
  });

  it('maps an expired token to expired', async () => {
    const token = await mint({ now: Date.now() - 3_600_000, expiresInSec: 60 });
    expectFail(await auth.authenticate(bearer(token)), 'expired', token);
  });

  it('honours the clock tolerance for a just-expired token', async () => {
    const token = await mint({ now: Date.now() - 70_000, expiresInSec: 60 }); // expired ~10 s ago
    expectOk(await auth.authenticate(bearer(token)));
    const strict = createAuthenticator({
      open: false,
      tokens: [],
      jwt: { audience: AUDIENCE, hs256Secret: SECRET, clockToleranceSec: 0 },
    });
    expectFail(await strict.authenticate(bearer(token)), 'expired');
  });

  it('maps a token signed with another secret to bad_signature', async () => {
    const token = await mint({ secret: 'some-other-secret-0123456789abcdefghij' });
    expectFail(await auth.authenticate(bearer(token)), 'bad_signature', token);
  });

  it('maps a wrong audience or issuer to bad_claims', async () => {
    const wrongAud = await mint({ audience: 'someone-else' });
    expectFail(await auth.authenticate(bearer(wrongAud)), 'bad_claims', wrongAud);
    const wrongIss = await mint({ issuer: 'https://evil.test' });
    expectFail(await auth.authenticate(bearer(wrongIss)), 'bad_claims');
  });

  it('requires a sub claim', async () => {
    const token = await new SignJWT({ scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    expectFail(await auth.authenticate(bearer(token)), 'bad_claims');
  });

  it('maps garbage to malformed without throwing', async () => {
    expectFail(await auth.authenticate(bearer('not-a-jwt')), 'malformed', 'not-a-jwt');
    expectFail(await auth.authenticate(bearer('a.b.c')), 'malformed');
  });

  it('hasScope: reports:read only is not admin; admin implies every scope', async () => {
    const reader = await auth.authenticate(bearer(await mint({ scopes: ['reports:read'] })));
    expectOk(reader);
    expect(hasScope(reader, 'reports:read')).toBe(true);
    expect(hasScope(reader, 'risk:read')).toBe(false);
    expect(hasScope(reader, 'admin')).toBe(false);

    const admin = await auth.authenticate(bearer(await mint({ scopes: ['admin'] })));
    expectOk(admin);
    for (const s of SCOPES) expect(hasScope(admin, s)).toBe(true);
  });

  it('mintDevToken output verifies and carries the requested claims', async () => {
    const scopes: Scope[] = ['risk:read'];
    const token = await mintDevToken({
      secret: SECRET,
      subject: 'dev-user',
      scopes,
      audience: AUDIENCE,
      issuer: ISSUER,
      expiresInSec: 120,
    });
    expect(token.split('.')).toHaveLength(3);
    const r = await auth.authenticate(bearer(token));
    expectOk(r);
    expect(r.subject).toBe('dev-user');
    expect([...r.scopes]).toEqual(scopes);
    await expect(
      mintDevToken({ secret: 'short', subject: 'x', scopes, audience: AUDIENCE, expiresInSec: 1 }),
    ).rejects.toThrow(/at least 32/);
  });

  it('rejects bad jwt config at construction', () => {
    expect(() => createAuthenticator({ open: false, tokens: [], jwt: { audience: AUDIENCE } })).toThrow();
    expect(() =>
      createAuthenticator({ open: false, tokens: [], jwt: { audience: AUDIENCE, hs256Secret: 'short' } }),
    ).toThrow(/at least 32/);
  });

  it('with jwt unconfigured, a JWT-looking token is unknown_token', async () => {
    const plain = createAuthenticator({ open: false, tokens: [STATIC] });
    expectFail(await plain.authenticate(bearer(await mint())), 'unknown_token');
  });
});

describe('createAuthenticator: JWKS over a real HTTP server', () => {
  let server: Server;
  let jwksUrl = '';
  let requests = 0;
  let es: { privateKey: CryptoKey; publicKey: CryptoKey };
  let rs: { privateKey: CryptoKey; publicKey: CryptoKey };
  let rogue: { privateKey: CryptoKey; publicKey: CryptoKey };

  beforeAll(async () => {
    es = await generateKeyPair('ES256');
    rs = await generateKeyPair('RS256');
    rogue = await generateKeyPair('ES256');
    const keys = [
      { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
    ];
    const body = JSON.stringify({ keys });
    server = createServer((req, res) => {
      requests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  const sign = (key: CryptoKey, alg: 'ES256' | 'RS256', kid: string, scope = 'reports:read') =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg, kid })
      .setSubject(`svc-${alg.toLowerCase()}`)
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  const make = () =>
    createAuthenticator({
      open: false,
      tokens: [],
      jwt: { audience: AUDIENCE, issuer: ISSUER, jwksUrl, hs256Secret: SECRET },
    });

  it('accepts ES256 and RS256 tokens whose keys the JWKS serves, fetching the set once', async () => {
    const auth = make();
    const before = requests;
    const esResult = await auth.authenticate(bearer(await sign(es.privateKey, 'ES256', 'es-1', 'risk:read')));
    expectOk(esResult);
    expect(esResult.kind).toBe('jwt');
    expect(esResult.subject).toBe('svc-es256');
    expect([...esResult.scopes]).toEqual(['risk:read']);

    const rsResult = await auth.authenticate(bearer(await sign(rs.privateKey, 'RS256', 'rs-1')));
    expectOk(rsResult);
    expect(rsResult.subject).toBe('svc-rs256');
    expect([...rsResult.scopes]).toEqual(['reports:read']);
    expect(requests - before).toBe(1); // jose caches the key set
  });

  it('still picks HS256 by header alg when both secret and JWKS are configured', async () => {
    const token = await mintDevToken({
      secret: SECRET,
      subject: 'hs-user',
      scopes: ['admin'],
      audience: AUDIENCE,
      issuer: ISSUER,
      expiresInSec: 60,
    });
    const r = await make().authenticate(bearer(token));
    expectOk(r);
    expect(r.subject).toBe('hs-user');
  });

  it('maps a token signed by a different key to bad_signature', async () => {
    const auth = make();
    // Same kid as a served key, wrong private key: signature check fails.
    const forged = await sign(rogue.privateKey, 'ES256', 'es-1');
    expectFail(await auth.authenticate(bearer(forged)), 'bad_signature', forged);
    // Unknown kid: no key in the set matches.
    const unknownKid = await sign(rogue.privateKey, 'ES256', 'rogue-1');
    expectFail(await auth.authenticate(bearer(unknownKid)), 'bad_signature', unknownKid);
  });

  it('maps a JWKS token with the wrong audience to bad_claims', async () => {
    const token = await new SignJWT({ scope: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: 'es-1' })
      .setSubject('svc')
      .setAudience('not-us')
      .setIssuer(ISSUER)
      .setExpirationTime('5m')
      .sign(es.privateKey);
    expectFail(await make().authenticate(bearer(token)), 'bad_claims');
  });

  it('does not throw when the JWKS URL is unreachable', async () => {
    const dead = createAuthenticator({
      open: false,
      tokens: [],
      jwt: { audience: AUDIENCE, jwksUrl: 'http://127.0.0.1:1/jwks.json' },
    });
    const r = await dead.authenticate(bearer(await sign(es.privateKey, 'ES256', 'es-1')));
    expectFail(r, 'malformed');
  });
});
