/**
 * Who is calling the cloud API, and with which scopes. Owns bearer-token verification only: static tokens
 * (constant-time compare, all scopes) and JWTs (HS256 shared secret or RS256/ES256 via a JWKS URL, verified by
 * `jose`, never hand-rolled). It never throws and never echoes the token, so the HTTP layer can map any
 * result straight to a 401 without leaking credentials into logs or responses.
 */
import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';

export type Scope = 'reports:read' | 'risk:read' | 'admin';
export const SCOPES: readonly Scope[] = Object.freeze(['reports:read', 'risk:read', 'admin'] as const);

export interface AuthConfig {
  /** Dev mode: every request allowed, with all scopes. */
  open: boolean;
  /** Static bearer tokens (the simple option): each grants ALL scopes. */
  tokens: readonly string[];
  jwt?: {
    /** Checked when set. */
    issuer?: string;
    /** Always checked (e.g. 'campus-twin'). */
    audience: string;
    /** HS256 shared secret (>= 32 chars). */
    hs256Secret?: string;
    /** RS256/ES256 via a JWKS URL; fetched and cached by jose's createRemoteJWKSet. */
    jwksUrl?: string;
    /** Default 30. */
    clockToleranceSec?: number;
  };
}

export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'bad_signature'
  | 'bad_claims'
  | 'unknown_token';

export type AuthResult =
  | { ok: true; subject: string; scopes: Set<Scope>; kind: 'open' | 'static' | 'jwt' }
  | { ok: false; status: 401; reason: AuthFailureReason; message: string };

export type AuthSuccess = AuthResult & { ok: true };

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): Promise<AuthResult>;
}

const MIN_HS256_SECRET = 32;
const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
const JWKS_ALGS = ['RS256', 'ES256'];
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
}
const SCOPE_SET: ReadonlySet<string> = new Set(SCOPES);

function fail(reason: AuthFailureReason, message: string): AuthResult {
  return { ok: false, status: 401, reason, message };
}

function allScopes(): Set<Scope> {
  return new Set(SCOPES);
}

/** 'admin' implies every scope. */
export function hasScope(r: AuthSuccess, needed: Scope): boolean {
  return r.scopes.has('admin') || r.scopes.has(needed);
}

/** Known scope names from `scope` (space-separated, OAuth 2.0) and `scp` / `scopes` (array or string). */
function scopesFrom(payload: JWTPayload): Set<Scope> {
  const out = new Set<Scope>();
  const add = (v: unknown) => {
    const names = typeof v === 'string' ? v.split(/\s+/) : Array.isArray(v) ? v : [];
    for (const n of names) if (typeof n === 'string' && SCOPE_SET.has(n)) out.add(n as Scope);
  };
  add(payload['scope']);
  add(payload['scp']);
  add(payload['scopes']);
  return out;
}

/** jose's error -> our reason. Messages are ours: no token material, no key material. */
function mapJoseError(err: unknown): AuthResult {
  if (err instanceof errors.JWTExpired) return fail('expired', 'token has expired');
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return fail('bad_signature', 'token signature verification failed');
  }
  if (err instanceof errors.JWKSNoMatchingKey)
    return fail('bad_signature', 'no key in the key set matches the token');
  if (err instanceof errors.JWTClaimValidationFailed) {
    return fail('bad_claims', `token claim "${err.claim}" failed validation (${err.reason})`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('malformed', 'token algorithm is not accepted');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return fail('malformed', 'token could not be verified: key set unavailable');
  }
  return fail('malformed', 'token is not a well-formed JWT');
}

function constantTimeMatcher(tokens: readonly string[]): (given: string) => boolean {
  const wanted = tokens.filter((t) => t.length > 0).map((t) => Buffer.from(t, 'utf8'));
  return (given) => {
    const g = Buffer.from(given, 'utf8');
    let ok = false;
    // Check every configured token (no early exit) so timing does not reveal which one matched.
    for (const w of wanted) {
      if (w.length === g.length && timingSafeEqual(w, g)) ok = true;
    }
    return ok;
  };
}

type JwtVerifier = (token: string) => Promise<AuthResult>;

function createJwtVerifier(jwt: NonNullable<AuthConfig['jwt']>): JwtVerifier {
  if (!jwt.audience) throw new Error('auth.jwt.audience is required');
  if (jwt.hs256Secret === undefined && jwt.jwksUrl === undefined) {
    throw new Error('auth.jwt needs hs256Secret or jwksUrl');
  }
  if (jwt.hs256Secret !== undefined && jwt.hs256Secret.length < MIN_HS256_SECRET) {
    throw new Error(`auth.jwt.hs256Secret must be at least ${MIN_HS256_SECRET} characters`);
  }
  const secret = jwt.hs256Secret !== undefined ? new TextEncoder().encode(jwt.hs256Secret) : undefined;
  const jwks = jwt.jwksUrl !== undefined ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  const base = {
    audience: jwt.audience,
    clockTolerance: jwt.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC,
    requiredClaims: ['sub'],
    ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
  };

  return async (token) => {
    try {
      let payload: JWTPayload;
      // With both configured, the header's alg picks the key source; jwtVerify still enforces the allow-list.
      const useSecret =
        secret !== undefined && (jwks === undefined || decodeProtectedHeader(token).alg === 'HS256');
      if (useSecret) {
        ({ payload } = await jwtVerify(token, secret, { ...base, algorithms: ['HS256'] }));
      } else if (jwks !== undefined) {
        ({ payload } = await jwtVerify(token, jwks, { ...base, algorithms: JWKS_ALGS }));
      } else {
        return fail('malformed', 'token algorithm is not accepted');
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        return fail('bad_claims', 'token claim "sub" failed validation (missing)');
      }
      return { ok: true, subject: payload.sub, scopes: scopesFrom(payload), kind: 'jwt' };
    } catch (err) {
      return mapJoseError(err);
    }
  };
}

/**
 * Builds the verifier once per config (JWKS cache and key material live here). Throws only on a bad config;
 * `authenticate` itself never throws.
 */
export function createAuthenticator(cfg: AuthConfig): Authenticator {
  const matchesStatic = constantTimeMatcher(cfg.tokens);
  const verifyJwt = cfg.jwt ? createJwtVerifier(cfg.jwt) : undefined;

  return {
    async authenticate(authorizationHeader) {
      try {
        if (cfg.open) return { ok: true, subject: 'anonymous', scopes: allScopes(), kind: 'open' };
        if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
          return fail('missing', 'missing Authorization header');
        }
        const token = bearerToken(authorizationHeader);
        if (token === undefined) return fail('malformed', 'expected "Authorization: Bearer <token>"');
        if (matchesStatic(token)) {
          return { ok: true, subject: 'static-token', scopes: allScopes(), kind: 'static' };
        }
        if (verifyJwt) return await verifyJwt(token);
        return fail('unknown_token', 'token not recognised');
      } catch {
        return fail('malformed', 'token could not be verified');
      }
    },
  };
}

/** An HS256 token for dev and tests. `now` is epoch ms (default Date.now()). */
export async function mintDevToken(opts: {
  secret: string;
  subject: string;
  scopes: readonly Scope[];
  audience: string;
  issuer?: string;
  expiresInSec: number;
  now?: number;
}): Promise<string> {
  if (opts.secret.length < MIN_HS256_SECRET) {
    throw new Error(`HS256 secret must be at least ${MIN_HS256_SECRET} characters`);
  }
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const jwt = new SignJWT({ scope: opts.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.subject)
    .setAudience(opts.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.expiresInSec);
  if (opts.issuer !== undefined) jwt.setIssuer(opts.issuer);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}
