/**
 * Staff login for the status page and API, against scrypt hashes in the gateway config (`http.staff`).
 * Open only in dev mode (the page says so). /healthz is always open (liveness probes); /metrics is open when
 * `http.metricsPublic` (Prometheus on the campus network), else it needs a login too.
 *
 *  - Browsers: the login form (GET /login) posts to POST /login, which sets a session cookie (`ct_session`:
 *    HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS; sessions.ts for lifetimes and the failed-login
 *    limit). POST /logout ends it. A page request without a session gets the form (401), never a Basic
 *    challenge, so no browser prompt.
 *  - Scripts and monitoring: HTTP Basic with the same accounts (`curl -u user:pass …/api/status`).
 *  - CSRF: the cookie is SameSite=Strict and every route behind it but /logout is a GET; a request that
 *    changes state (POST /login, POST /logout, any non-GET with the cookie) must come from the gateway's
 *    own origin when the browser says where it comes from (Origin, else Referer): CT_ERR_CSRF otherwise.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS } from '../../shared/errors.ts';
import { PasswordVerifier } from '../registry/index.ts';
import { cookieValue, type SessionStore } from './sessions.ts';

/** What a gateway without a staff account says at start and on every refused page or API request. */
export const NO_STAFF_HINT =
  'no staff account: the status page and /api refuse everyone. Add one to http.staff in gateway.yaml ' +
  '({username, passwordHash} with the hash from `campus-twin hash-password`), or run with dev: true';

export const SESSION_COOKIE = 'ct_session';

export interface StaffAuthOptions {
  open: boolean;
  metricsPublic: boolean;
  staff: readonly { username: string; passwordHash: string }[];
  onFailure?: () => void;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The browser's own word on where a request comes from matches this gateway (or it says nothing). */
function sameOrigin(req: FastifyRequest): boolean {
  let origin = req.headers.origin;
  if (origin === undefined) {
    const referer = req.headers.referer;
    if (referer === undefined) return true; // not a browser: no ambient cookie to abuse
    try {
      origin = new URL(referer).origin;
    } catch {
      return false;
    }
  }
  return origin === `${req.protocol}://${req.headers.host}`;
}

function errorBody(code: keyof typeof ERRORS, message: string = ERRORS[code].message) {
  return { error: { code, message } };
}

function wantsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/** `sessions` is the caller's: the live stream ends with the session it was opened with. */
export function installStaffAuth(
  app: FastifyInstance,
  opts: StaffAuthOptions,
  sessions: SessionStore,
  now: () => number,
): void {
  if (opts.open) return;
  const verifier = new PasswordVerifier();
  const users = new Map(opts.staff.map((s) => [s.username, s.passwordHash]));
  const check = async (user: string, password: string) => {
    const hash = users.get(user);
    return hash !== undefined && (await verifier.verify(user, password, hash));
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?', 1)[0];
    if (path === '/healthz' || (path === '/metrics' && opts.metricsPublic)) return;
    // Webhooks authenticate their senders themselves (HMAC signature or bearer token per source).
    if (path?.startsWith('/webhooks/')) return;
    if (path === '/login') return; // the form, and the login itself (checked in its handler)
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (sid !== undefined && sessions.touch(sid, now())) {
      if (!SAFE_METHODS.has(req.method) && !sameOrigin(req))
        return reply.code(403).send(errorBody('CT_ERR_CSRF'));
      return;
    }
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && (await check(decoded.slice(0, colon), decoded.slice(colon + 1)))) return;
    }
    opts.onFailure?.();
    const message = users.size === 0 ? `staff login required; ${NO_STAFF_HINT}` : 'staff login required';
    // Not `Basic`: a browser would put up its own prompt instead of our form.
    reply.code(401).header('www-authenticate', 'FormBased realm="campus-twin gateway", login="/login"');
    if (req.method === 'GET' && wantsHtml(req))
      return reply.type('text/html; charset=utf-8').send(loginPage(message, users.size > 0));
    return reply.send(errorBody('CT_ERR_AUTH', message));
  });

  app.register(async (scope) => {
    // Only in this scope: the webhooks read their own bodies raw (their signatures cover the bytes).
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    scope.get('/login', async (req, reply) => {
      const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
      if (sid !== undefined && sessions.touch(sid, now())) return reply.redirect('/', 303);
      const message = users.size === 0 ? NO_STAFF_HINT : '';
      return reply.type('text/html; charset=utf-8').send(loginPage(message, users.size > 0));
    });

    scope.post('/login', async (req, reply) => {
      const form = !(req.headers['content-type'] ?? '').includes('application/json');
      const fail = (status: number, code: keyof typeof ERRORS, message?: string) => {
        reply.code(status);
        if (form)
          return reply
            .type('text/html; charset=utf-8')
            .send(loginPage(message ?? ERRORS[code].message, users.size > 0));
        return reply.send(errorBody(code, message));
      };
      const address = req.ip;
      const wait = sessions.blockedFor(address, now());
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return fail(429, 'CT_ERR_AUTH_RATE');
      }
      if (!sameOrigin(req)) return fail(403, 'CT_ERR_CSRF');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const username = typeof body.username === 'string' ? body.username : '';
      const password = typeof body.password === 'string' ? body.password : '';
      if (!(await check(username, password))) {
        sessions.recordFailure(address, now());
        opts.onFailure?.();
        return fail(401, 'CT_ERR_AUTH', 'wrong username or password');
      }
      sessions.clearFailures(address);
      const session = sessions.create(username, now());
      const secure = req.protocol === 'https' ? '; Secure' : '';
      reply.header(
        'set-cookie',
        `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessions.maxAgeSeconds}${secure}`,
      );
      if (form) return reply.redirect('/', 303);
      return { ok: true, username };
    });

    // Behind the hook: only a live session from our own origin (or Basic) gets here.
    scope.post('/logout', async (req, reply) => {
      const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
      if (sid !== undefined) sessions.delete(sid);
      reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      if (!(req.headers['content-type'] ?? '').includes('application/json'))
        return reply.redirect('/login', 303);
      return { ok: true };
    });
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The login form, with what went wrong; with no account at all, how to add one (and no form). */
function loginPage(message: string, haveAccounts: boolean): string {
  const note = message ? `<p role="alert">${escapeHtml(message)}</p>` : '';
  const form = haveAccounts
    ? `<form method="post" action="/login"><label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required><button type="submit">Log in</button></form>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>campus-twin gateway: log in</title><style>body{font:16px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#111}main{max-width:22rem;margin:12vh auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}label{display:block;margin-top:.8rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.55rem;font:inherit;border:1px solid #666;border-radius:4px}button{margin-top:1.2rem;width:100%;padding:.6rem;font:inherit;font-weight:600;background:#0b5cad;color:#fff;border:0;border-radius:4px}[role=alert]{color:#a40000;font-weight:600}</style></head><body><main><h1>Gateway status</h1>${note}${form}</main></body></html>`;
}
