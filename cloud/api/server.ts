/**
 * The cloud's first read API: /healthz, /api/gateways, /api/rooms/{roomId},
 * /api/sensors/{deviceId}/{channel}/aggregates, /api/quarantine, /metrics. `buildCloudApi` returns the
 * fastify app; listening happens in cloud/app.ts. Auth: a bearer token from `api.tokens`, or none in dev.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { CloudMetrics } from '../metrics.ts';
import { type Directory, EMPTY_DIRECTORY } from '../reporting/directory.ts';
import type { CloudStore, SnapshotInfo } from '../store/types.ts';
import { type AuthConfig, createAuthenticator, hasScope, type Scope } from './auth.ts';
import { intParam, parseTime, send } from './params.ts';
import { registerReports } from './reports.ts';
import { registerRooms } from './rooms.ts';

export { parseTime };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs (default reports:read). */
    scope?: Scope;
    /** No credentials needed. */
    public?: boolean;
  }
}

export interface CloudApiDeps {
  store: CloudStore;
  metrics: CloudMetrics;
  now: () => number;
  /** Static tokens and/or JWT settings (auth.ts); `open` in dev mode; /metrics without a token if public. */
  auth: AuthConfig & { metricsPublic: boolean };
  /** Builds a snapshot now (defaults to the store directly; the cloud passes its scheduler's service). */
  createSnapshot?: (cutoffTs: number) => Promise<SnapshotInfo>;
  /** Buildings, floors and room names from the campus registry (empty without one). */
  directory?: Directory;
  /** Extra health details (consumer state). */
  health?: () => Record<string, unknown>;
}

const DAY_MS = 86_400_000;
const MAX_WINDOWS = 10_000;

export function buildCloudApi(deps: CloudApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const { store, auth } = deps;

  const authenticator = createAuthenticator(auth);

  // Every route names the scope it needs in its config (default reports:read); `public` routes need none.
  app.addHook('onRequest', async (req, reply) => {
    const config = req.routeOptions.config;
    if (config.public) return;
    const result = await authenticator.authenticate(req.headers.authorization);
    if (!result.ok) {
      deps.metrics.authRefused.inc({ reason: result.reason });
      reply.header(
        'www-authenticate',
        result.reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"',
      );
      return send(reply, 'CT_ERR_AUTH', result.message);
    }
    const scope = config.scope ?? 'reports:read';
    if (!hasScope(result, scope)) {
      deps.metrics.authRefused.inc({ reason: 'forbidden' });
      reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
      return send(reply, 'CT_ERR_FORBIDDEN', `this request needs the ${scope} scope`);
    }
  });

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true, ...(deps.health?.() ?? {}) }));

  app.get('/metrics', { config: { public: auth.metricsPublic, scope: 'admin' } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/gateways', async () => {
    const now = deps.now();
    const gateways = (await store.gateways()).map((g) => ({
      ...g,
      lagMs: g.newestItemTs === null ? null : Math.max(0, now - g.newestItemTs),
    }));
    return { now, gateways };
  });

  app.get<{ Params: { roomId: string }; Querystring: { alerts?: string } }>(
    '/api/rooms/:roomId',
    async (req, reply) => {
      const limit = intParam(req.query.alerts, 20, 0, 1000);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'alerts must be an integer 0…1000');
      const room = await store.room(req.params.roomId, limit);
      if (!room) return send(reply, 'CT_ERR_NOT_FOUND', `room ${req.params.roomId}`);
      return room;
    },
  );

  app.get<{
    Params: { deviceId: string; channel: string };
    Querystring: { from?: string; to?: string; limit?: string };
  }>('/api/sensors/:deviceId/:channel/aggregates', async (req, reply) => {
    const { deviceId, channel } = req.params;
    const to = parseTime(req.query.to) ?? deps.now();
    const from = parseTime(req.query.from) ?? to - DAY_MS;
    const limit = intParam(req.query.limit, MAX_WINDOWS, 1, MAX_WINDOWS);
    if (!Number.isFinite(from) || !Number.isFinite(to))
      return send(reply, 'CT_ERR_BAD_QUERY', 'from and to must be epoch milliseconds or ISO 8601 times');
    if (from > to) return send(reply, 'CT_ERR_BAD_QUERY', 'from is after to');
    if (limit === undefined)
      return send(reply, 'CT_ERR_BAD_QUERY', `limit must be an integer 1…${MAX_WINDOWS}`);
    const windows = await store.sensorWindows(deviceId, channel, { from, to, limit });
    if (!windows) return send(reply, 'CT_ERR_NOT_FOUND', `sensor ${deviceId}/${channel}`);
    return { deviceId, channel, from, to, windows };
  });

  // Quarantined bodies are raw gateway payloads: operators only.
  app.get<{ Querystring: { limit?: string } }>(
    '/api/quarantine',
    { config: { scope: 'admin' } },
    async (req, reply) => {
      const limit = intParam(req.query.limit, 100, 1, 1000);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'limit must be an integer 1…1000');
      return store.quarantine(limit);
    },
  );

  registerRooms(app, { store, now: deps.now, directory: deps.directory ?? EMPTY_DIRECTORY });
  registerReports(app, {
    store,
    now: deps.now,
    createSnapshot:
      deps.createSnapshot ??
      ((cutoffTs) => store.createSnapshot({ cutoffTs, now: deps.now(), trigger: 'api' })),
  });

  app.setNotFoundHandler((req, reply) => send(reply, 'CT_ERR_NOT_FOUND', `${req.method} ${req.url}`));
  return app;
}
