/**
 * Staff sessions over real HTTP: the login form sets an HttpOnly, SameSite=Strict session cookie that opens
 * the page, the API and the live stream; logout ends it; a cross-site login or logout is refused; failed
 * logins from one address are slowed down; every answer carries the security headers.
 */
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAFF, STAFF_AUTH, staffEntry, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { selfSignedCert } from './helpers/tls.ts';

const FORM = 'application/x-www-form-urlencoded';

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

async function login(
  base: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': FORM, origin: base, ...headers },
    body: form(fields),
    redirect: 'manual',
  });
}

function sessionCookie(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  const m = /^(ct_session=[^;]+)/.exec(set);
  if (!m) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return m[1]!;
}

describe('status page staff sessions', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('logs in through the form: an HttpOnly, SameSite=Strict cookie opens the page, API and stream', async () => {
    const form = await fetch(`${t.httpUrl}/login`);
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).toMatch(/<label for="password">Password<\/label><input id="password" name="password"/);

    const res = await login(t.httpUrl, { username: STAFF.username, password: STAFF.password });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^ct_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = sessionCookie(res);

    const page = await fetch(`${t.httpUrl}/`, { headers: { cookie, accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="rooms"');
    const status = await fetch(`${t.httpUrl}/api/status`, { headers: { cookie } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { mode: string }).mode).toBe('secure');
    const stream = await fetch(`${t.httpUrl}/api/events`, { headers: { cookie } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    await stream.body?.cancel();
    // Logged in already: the form sends you on to the page.
    const again = await fetch(`${t.httpUrl}/login`, { headers: { cookie }, redirect: 'manual' });
    expect(again.status).toBe(303);
  });

  it('refuses a wrong password with the form again, sets no cookie and counts it', async () => {
    const before = await failures(t);
    const res = await login(t.httpUrl, { username: STAFF.username, password: 'not-it' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<p role="alert">wrong username or password</p>');
    expect(html).toContain('<form');
    const json = await fetch(`${t.httpUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'x' }),
    });
    expect(json.status).toBe(401);
    expect(await json.json()).toEqual({
      error: { code: 'CT_ERR_AUTH', message: 'wrong username or password' },
    });
    expect(await failures(t)).toBe(before + 2);
  });

  it('refuses a login or logout posted from another site (CSRF) and a forged or unknown cookie', async () => {
    const foreign = await login(
      t.httpUrl,
      { username: STAFF.username, password: STAFF.password },
      { origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    expect(await foreign.text()).toContain('cross-site request refused: its Origin is not this gateway');
    const byReferer = await fetch(`${t.httpUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', referer: 'https://evil.example/page' },
      body: JSON.stringify({ username: STAFF.username, password: STAFF.password }),
    });
    expect(byReferer.status).toBe(403);
    expect(await byReferer.json()).toMatchObject({ error: { code: 'CT_ERR_CSRF' } });

    const cookie = sessionCookie(
      await login(t.httpUrl, { username: STAFF.username, password: STAFF.password }),
    );
    const crossLogout = await fetch(`${t.httpUrl}/logout`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(crossLogout.status).toBe(403);
    // …and the session still works.
    expect((await fetch(`${t.httpUrl}/api/rooms`, { headers: { cookie } })).status).toBe(200);

    const forged = await fetch(`${t.httpUrl}/api/rooms`, {
      headers: { cookie: `ct_session=${'A'.repeat(43)}` },
    });
    expect(forged.status).toBe(401);
    await forged.body?.cancel();
  });

  it('ends a live stream when its session ends', async () => {
    const cookie = sessionCookie(
      await login(t.httpUrl, { username: STAFF.username, password: STAFF.password }),
    );
    const stream = await fetch(`${t.httpUrl}/api/events`, { headers: { cookie } });
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^retry: 3000\nevent: hello/);
    const out = await fetch(`${t.httpUrl}/logout`, {
      method: 'POST',
      headers: { cookie, origin: t.httpUrl, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await out.json()).toEqual({ ok: true });
    const loggedOutAt = Date.now();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    expect(Date.now() - loggedOutAt).toBeLessThan(3000);
  });

  it('logs out: the cookie is cleared and no longer opens anything', async () => {
    const cookie = sessionCookie(
      await login(t.httpUrl, { username: STAFF.username, password: STAFF.password }),
    );
    const out = await fetch(`${t.httpUrl}/logout`, {
      method: 'POST',
      headers: { cookie, origin: t.httpUrl, 'content-type': FORM },
      body: '',
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.get('set-cookie')).toMatch(/^ct_session=; .*Max-Age=0/);
    const after = await fetch(`${t.httpUrl}/api/status`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: { code: 'CT_ERR_AUTH' } });
    // Scripts keep HTTP Basic.
    expect((await fetch(`${t.httpUrl}/api/status`, { headers: { authorization: STAFF_AUTH } })).status).toBe(
      200,
    );
  });

  it('is small for a slow link: the page and its assets come gzipped from the gateway, under 40 KB', async () => {
    const cookie = sessionCookie(
      await login(t.httpUrl, { username: STAFF.username, password: STAFF.password }),
    );
    let total = 0;
    for (const path of ['/', '/assets/uplot.js', '/assets/uplot.css']) {
      // fetch() would unzip: node:http shows the bytes on the wire.
      const { status, encoding, bytes } = await new Promise<{
        status: number;
        encoding: string;
        bytes: number;
      }>((resolve, reject) => {
        const req = httpRequest(
          `${t.httpUrl}${path}`,
          { headers: { cookie, 'accept-encoding': 'gzip' } },
          (r) => {
            let bytes = 0;
            r.on('data', (c: Buffer) => {
              bytes += c.length;
            });
            r.on('end', () =>
              resolve({ status: r.statusCode ?? 0, encoding: String(r.headers['content-encoding']), bytes }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status, path).toBe(200);
      expect(encoding, path).toBe('gzip');
      total += bytes;
    }
    expect(total).toBeLessThan(40 * 1024);
    const missing = await fetch(`${t.httpUrl}/assets/nope.js`, { headers: { cookie } });
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
    // The assets are behind the login like the page.
    expect((await fetch(`${t.httpUrl}/assets/uplot.js`)).status).toBe(401);
  });

  it('sends the security headers on the page, the API and refusals', async () => {
    const cookie = sessionCookie(
      await login(t.httpUrl, { username: STAFF.username, password: STAFF.password }),
    );
    for (const [path, headers] of [
      ['/', { cookie }],
      ['/api/status', { cookie }],
      ['/api/status', {}],
      ['/login', {}],
    ] as const) {
      const res = await fetch(`${t.httpUrl}${path}`, { headers, redirect: 'manual' });
      await res.body?.cancel();
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]{43}='/);
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
    }
  });
});

describe('status page failed-login limit', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses an address after 5 failed logins, even with the right password, and says when to retry', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await login(t.httpUrl, { username: STAFF.username, password: `guess-${i}` });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    const blocked = await fetch(`${t.httpUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: STAFF.username, password: STAFF.password }),
    });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    const retry = Number(blocked.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(250);
    expect(retry).toBeLessThanOrEqual(300);
    expect(await blocked.json()).toMatchObject({ error: { code: 'CT_ERR_AUTH_RATE' } });
    // HTTP Basic (scripts) is checked per request, outside the form's limit.
    expect((await fetch(`${t.httpUrl}/api/status`, { headers: { authorization: STAFF_AUTH } })).status).toBe(
      200,
    );
  });
});

async function failures(t: TestGateway): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  return Number(/ct_auth_failures_total\{reason="staff_login"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe('status page over HTTPS (http.tls)', () => {
  let t: TestGateway;
  let ca: Buffer;
  beforeAll(async () => {
    const { certFile, keyFile, cert } = selfSignedCert('ct-https-');
    ca = cert;
    t = await startTestGateway({
      http: {
        host: '127.0.0.1',
        port: 0,
        staff: [await staffEntry()],
        tls: { enabled: true, certFile, keyFile },
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('serves the login over TLS and marks the session cookie Secure', async () => {
    const base = t.httpUrl.replace('http://', 'https://');
    const body = new URLSearchParams({ username: STAFF.username, password: STAFF.password }).toString();
    const res = await new Promise<{ status: number; cookie: string; cert: string }>((resolve, reject) => {
      const req = request(
        `${base}/login`,
        { method: 'POST', ca, headers: { 'content-type': FORM, origin: base } },
        (r) => {
          r.resume();
          const peer = (r.socket as TLSSocket).getPeerCertificate();
          resolve({
            status: r.statusCode ?? 0,
            cookie: String(r.headers['set-cookie'] ?? ''),
            cert: String(peer.subject.CN),
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(res.cert).toBe('localhost');
    expect(res.status).toBe(303);
    expect(res.cookie).toMatch(
      /^ct_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/,
    );
    // Plain HTTP on the same port is not served.
    await expect(fetch(`${t.httpUrl}/healthz`)).rejects.toThrow();
  });
});
