/**
 * The cloud's API: `buildCloudApi` returns the fastify app (listening happens in cloud/app.ts). Owns the
 * cross-cutting parts — OpenAPI (`/docs`), auth with per-route scopes, rate limits per caller — and the
 * operational routes (/healthz, /metrics, /api/gateways, /api/rooms/{id}, sensor windows, quarantine);
 * reporting routes live in rooms.ts and reports.ts.
 */
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CloudMetrics } from '../metrics.ts';
import { type Directory, EMPTY_DIRECTORY } from '../reporting/directory.ts';
import type { CloudStore, SnapshotInfo } from '../store/types.ts';
import { type AuthConfig, bearerToken, createAuthenticator, hasScope, type Scope } from './auth.ts';
import { pinnedRange, registerResponseCache } from './cache.ts';
import { registerOpenApi } from './openapi.ts';
import { intParam, onCampus, send, sendAmbiguous, timeRange } from './params.ts';
import { registerReports } from './reports.ts';
import { registerFacilityRisk, registerRisk } from './risk.ts';
import { registerRooms } from './rooms.ts';
import {
  aggregatesResponse,
  errors,
  gatewaysResponse,
  params,
  quarantineResponse,
  query,
  roomResponse,
} from './schemas.ts';

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
  /** Requests per caller (bearer token, else address) per window; 0 = no limit. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Extra health details (consumer state). */
  health?: () => Record<string, unknown>;
}

const MAX_WINDOWS = 10_000;

export function buildCloudApi(deps: CloudApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  // Route pattern (not the URL: ids would make a label per student) and status class; 404s have none.
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.apiSeconds.observe(
      { route: req.routeOptions.url ?? 'unmatched', status: `${Math.floor(reply.statusCode / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });
  registerOpenApi(app);
  // Everything below shares the auth hook and the rate limit; /docs (registered above) is public.
  app.register(async (api) => {
    await registerRateLimit(api, deps);
    registerAuth(api, deps);
    // After auth: a cached answer is only ever served to a caller allowed to see it.
    registerResponseCache(api, {
      store: deps.store,
      onHit: () => deps.metrics.cache.inc({ result: 'hit' }),
      onMiss: () => deps.metrics.cache.inc({ result: 'miss' }),
    });
    registerOperational(api, deps);
    registerRooms(api, { store: deps.store, now: deps.now, directory: deps.directory ?? EMPTY_DIRECTORY });
    registerReports(api, {
      store: deps.store,
      now: deps.now,
      createSnapshot:
        deps.createSnapshot ??
        ((cutoffTs) => deps.store.createSnapshot({ cutoffTs, now: deps.now(), trigger: 'api' })),
    });
    registerRisk(api, { store: deps.store });
    registerFacilityRisk(api, { store: deps.store, now: deps.now });
    api.setNotFoundHandler((req, reply) => send(reply, 'CT_ERR_NOT_FOUND', `${req.method} ${req.url}`));
  });
  return app;
}

/** The caller a rate limit counts: a hash of its bearer token, else its address. */
function callerKey(authorization: string | undefined, ip: string): string {
  const token = bearerToken(authorization);
  return token ? `t:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}` : `ip:${ip}`;
}

async function registerRateLimit(api: FastifyInstance, deps: CloudApiDeps): Promise<void> {
  const limit = deps.rateLimit;
  if (!limit || limit.max === 0) return;
  await api.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: (req) => callerKey(req.headers.authorization, req.ip),
    errorResponseBuilder: (_req, ctx) => {
      deps.metrics.rateLimited.inc();
      return {
        statusCode: 429,
        error: {
          code: 'CT_ERR_RATE_LIMITED',
          message: `too many requests; retry later: at most ${ctx.max} per ${ctx.after} per caller`,
        },
      };
    },
  });
}

function registerAuth(api: FastifyInstance, deps: CloudApiDeps): void {
  const authenticator = createAuthenticator(deps.auth);
  // Every route names the scope it needs in its config (default reports:read); `public` routes need none.
  api.addHook('onRequest', async (req, reply) => {
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
}

function registerOperational(api: FastifyInstance, deps: CloudApiDeps): void {
  const { store, auth } = deps;
  api.get(
    '/healthz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Liveness, consumer state and the next scheduled snapshot',
        security: [],
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } },
      },
    },
    async () => ({ ok: true, ...(deps.health?.() ?? {}) }),
  );

  api.get(
    '/metrics',
    {
      config: { public: auth.metricsPublic, scope: 'admin', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (admin scope unless api.metricsPublic)',
        response: { 200: { type: 'string', description: 'Prometheus text format' }, ...errors() },
      },
    },
    async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  api.get(
    '/api/gateways',
    {
      schema: {
        tags: ['operations'],
        summary: 'Every gateway that fed this cloud, with counters and lag',
        response: { 200: gatewaysResponse, ...errors() },
      },
    },
    async () => {
      const now = deps.now();
      const gateways = (await store.gateways()).map((g) => ({
        ...g,
        lagMs: g.newestItemTs === null ? null : Math.max(0, now - g.newestItemTs),
      }));
      return { now, gateways };
    },
  );

  api.get<{ Params: { roomId: string }; Querystring: { alerts?: string; campus?: string } }>(
    '/api/rooms/:roomId',
    {
      config: { cache: true },
      schema: {
        tags: ['rooms'],
        summary: "A room's latest twin state, device health and recent alerts",
        params: params('roomId'),
        querystring: query({
          alerts: 'recent alerts to include, 0…1000 (default 20)',
          campus: 'the campus whose room it is (needed only when several campuses have the room id)',
        }),
        response: { 200: roomResponse, ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const limit = intParam(req.query.alerts, 20, 0, 1000);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'alerts must be an integer 0…1000');
      const { roomId } = req.params;
      const campus = req.query.campus;
      const room = await store.room(roomId, limit, campus);
      const name = onCampus(`room ${roomId}`, campus);
      if (!room) return send(reply, 'CT_ERR_NOT_FOUND', name);
      if ('campuses' in room) return sendAmbiguous(reply, name, room);
      return room;
    },
  );

  api.get<{
    Params: { deviceId: string; channel: string };
    Querystring: { from?: string; to?: string; limit?: string; campus?: string };
  }>(
    '/api/sensors/:deviceId/:channel/aggregates',
    {
      config: { cache: pinnedRange },
      schema: {
        tags: ['rooms'],
        summary: "One sensor's stored windows in [from, to)",
        params: params('deviceId', 'channel'),
        querystring: query({
          from: 'epoch ms or ISO 8601 (default to − 24 h)',
          to: 'epoch ms or ISO 8601 (default now)',
          limit: `at most this many windows, 1…${MAX_WINDOWS}`,
          campus:
            'the campus whose sensor it is (needed only when several campuses have the device and channel)',
        }),
        response: { 200: aggregatesResponse, ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const { deviceId, channel } = req.params;
      const range = timeRange(req.query, deps.now());
      if ('error' in range) return send(reply, 'CT_ERR_BAD_QUERY', range.error);
      const { from, to } = range;
      const limit = intParam(req.query.limit, MAX_WINDOWS, 1, MAX_WINDOWS);
      if (limit === undefined)
        return send(reply, 'CT_ERR_BAD_QUERY', `limit must be an integer 1…${MAX_WINDOWS}`);
      const campus = req.query.campus;
      const windows = await store.sensorWindows(deviceId, channel, { from, to, limit }, campus);
      const name = onCampus(`sensor ${deviceId}/${channel}`, campus);
      if (!windows) return send(reply, 'CT_ERR_NOT_FOUND', name);
      if ('campuses' in windows) return sendAmbiguous(reply, name, windows);
      return { deviceId, channel, from, to, windows };
    },
  );

  // Quarantined bodies are raw gateway payloads: operators only.
  api.get<{ Querystring: { limit?: string } }>(
    '/api/quarantine',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['operations'],
        summary: 'Quarantined events and items, newest first (admin scope)',
        querystring: query({ limit: '1…1000 (default 100)' }),
        response: { 200: quarantineResponse, ...errors(400) },
      },
    },
    async (req, reply) => {
      const limit = intParam(req.query.limit, 100, 1, 1000);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'limit must be an integer 1…1000');
      return store.quarantine(limit);
    },
  );
}
