/**
 * Staff login for the status page and API: HTTP Basic against scrypt hashes in the gateway config
 * (`http.staff`). Open only in dev mode (the page says so). /healthz is always open (liveness probes);
 * /metrics is open when `http.metricsPublic` (Prometheus on the campus network), else it needs a login too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PasswordVerifier } from '../registry/index.ts';

/** What a gateway without a staff account says at start and on every refused page or API request. */
export const NO_STAFF_HINT =
  'no staff account: the status page and /api refuse everyone. Add one to http.staff in gateway.yaml ' +
  '({username, passwordHash} with the hash from `campus-twin hash-password`), or run with dev: true';

export interface StaffAuthOptions {
  open: boolean;
  metricsPublic: boolean;
  staff: readonly { username: string; passwordHash: string }[];
  onFailure?: () => void;
}

export function installStaffAuth(app: FastifyInstance, opts: StaffAuthOptions): void {
  if (opts.open) return;
  const verifier = new PasswordVerifier();
  const users = new Map(opts.staff.map((s) => [s.username, s.passwordHash]));
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?', 1)[0];
    if (path === '/healthz' || (path === '/metrics' && opts.metricsPublic)) return;
    // Webhooks authenticate their senders themselves (HMAC signature or bearer token per source).
    if (path?.startsWith('/webhooks/')) return;
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon > 0 ? decoded.slice(0, colon) : '';
      const hash = users.get(user);
      if (hash && (await verifier.verify(user, decoded.slice(colon + 1), hash))) return;
    }
    opts.onFailure?.();
    const message = users.size === 0 ? `staff login required; ${NO_STAFF_HINT}` : 'staff login required';
    reply.code(401).header('www-authenticate', 'Basic realm="campus-twin gateway", charset="UTF-8"');
    if (path === '/' && (req.headers.accept ?? '').includes('text/html'))
      return reply.type('text/html; charset=utf-8').send(loginPage(message));
    return reply.send({ error: { code: 'CT_ERR_AUTH', message } });
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page a browser gets without a login: what is wrong and, with no account at all, how to add one. */
function loginPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>campus-twin gateway: login required</title></head><body><main><h1>Login required</h1><p>${escapeHtml(message)}</p></main></body></html>`;
}
