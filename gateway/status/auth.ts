/**
 * Staff login for the status page and API: HTTP Basic against scrypt hashes in the gateway config
 * (`http.staff`). Open only in dev mode (the page says so). /healthz is always open (liveness probes);
 * /metrics is open when `http.metricsPublic` (Prometheus on the campus network), else it needs a login too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PasswordVerifier } from '../registry/index.ts';

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
    reply
      .code(401)
      .header('www-authenticate', 'Basic realm="campus-twin gateway", charset="UTF-8"')
      .send({ error: { code: 'CT_ERR_AUTH', message: 'staff login required' } });
  });
}
