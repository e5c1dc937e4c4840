/**
 * The gateway's HTTP surface for people and monitoring: /healthz, /api/status, /api/rooms, /api/devices,
 * /api/quarantine, /metrics. `buildStatusApp` returns the fastify app; listening happens in the gateway.
 * Webhook routes (a later capability) register on the same app.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Campus, DeviceInfo } from '../../shared/campus.ts';
import { ERRORS } from '../../shared/errors.ts';
import type { DeviceStatus } from '../../shared/events.ts';
import { HISTORY_BUCKET_MS, HISTORY_KEEP_MS, OUTBOX_CLASSES, outboxTotals } from '../journal/index.ts';
import { GatewayMetrics } from '../metrics.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { summarizeRoom, type TwinConfig } from '../twin/reducer.ts';
import type { UplinkStatus } from '../uplink/index.ts';
import { installStaffAuth, SESSION_COOKIE, type StaffAuthOptions } from './auth.ts';
import { cookieValue, SessionStore } from './sessions.ts';

const PAGE = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

/** A file the gateway serves from memory, plain and gzipped (the page must work with the internet down). */
interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  cacheControl: string;
}

function asset(body: Buffer, type: string, cacheControl: string): Asset {
  return { type, body, gzip: gzipSync(body, { level: 9 }), cacheControl };
}

/** The page, and its only library: uPlot (MIT) for the room charts. */
const PAGE_ASSET = asset(Buffer.from(PAGE), 'text/html; charset=utf-8', 'no-cache');
const ASSETS = (() => {
  const require = createRequire(import.meta.url);
  const file = (name: string, type: string) =>
    asset(readFileSync(require.resolve(name)), type, 'max-age=86400');
  return new Map([
    ['uplot.js', file('uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8')],
    ['uplot.css', file('uplot/dist/uPlot.min.css', 'text/css; charset=utf-8')],
  ]);
})();

function sendAsset(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  reply.type(a.type).header('cache-control', a.cacheControl).header('vary', 'accept-encoding');
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')))
    return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

/**
 * Content-Security-Policy: only the gateway's own resources; the page's inline script is allowed by its
 * hash (no 'unsafe-inline' for scripts), nothing may frame the page, forms post only to the gateway.
 */
function contentSecurityPolicy(page: string): string {
  const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
  return [
    "default-src 'self'",
    `script-src 'self' ${scripts.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': contentSecurityPolicy(PAGE),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium posts the login form with `Origin: null`.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface StatusDeps {
  /** The uplink's state and backlog, when one is configured. */
  uplink?: () => Promise<UplinkStatus> | undefined;
  gatewayId: string;
  dev: boolean;
  /** Anonymous MQTT devices allowed (dev mode with mqtt.allowAnonymous). */
  allowAnonymous?: boolean;
  campus: Campus;
  pipeline: Pipeline;
  metrics: GatewayMetrics;
  twinConfig: TwinConfig;
  deviceStatus: ReadonlyMap<string, DeviceStatus>;
  startedAt: number;
  now: () => number;
  mqttClients: () => number;
  /** Webhook requests by source and outcome, events by source and result (undefined without webhooks). */
  webhooks?: () => Promise<object | undefined>;
  /** A Modbus device's poll health and counters; undefined for devices that are not polled. */
  modbus?: (deviceId: string) => object | undefined;
  auth: StaffAuthOptions;
  /** Serve over HTTPS with this certificate and key (http.tls). */
  https?: { cert: Buffer; key: Buffer };
}

function notFound(what: string) {
  return { error: { code: 'CT_ERR_NOT_FOUND', message: `${ERRORS.CT_ERR_NOT_FOUND.message}: ${what}` } };
}

export function buildStatusApp(deps: StatusDeps): FastifyInstance {
  // forceCloseConnections: open SSE streams must not hold up a stop.
  const options = { logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true } as const;
  // The same routes over HTTPS: fastify types an HTTPS instance apart, the routes do not care.
  const app = (deps.https ? Fastify({ ...options, https: deps.https }) : Fastify(options)) as FastifyInstance;
  const { pipeline, metrics, campus } = deps;
  // On every answer, refusals included (the hook runs before authentication can end the request).
  app.addHook('onRequest', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  // Created here so that a live stream can end with the session it was opened with (logout, expiry).
  const sessions = new SessionStore();
  installStaffAuth(app, deps.auth, sessions, deps.now);

  app.get('/', async (req, reply) => sendAsset(req, reply, PAGE_ASSET));

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = ASSETS.get(req.params.name);
    if (!a) return reply.code(404).send(notFound(`asset ${req.params.name}`));
    return sendAsset(req, reply, a);
  });

  // Live, and nothing critical: a journal that cannot write, a disk below its guard… (pipeline.conditions).
  app.get('/healthz', async (_req, reply) => {
    const critical = [...pipeline.conditions].filter(([, c]) => c.severity === 'critical');
    if (critical.length === 0) return { ok: true, gatewayId: deps.gatewayId };
    return reply.code(503).send({
      ok: false,
      gatewayId: deps.gatewayId,
      conditions: critical.map(([code, c]) => ({ code, message: c.message, since: c.since })),
    });
  });

  app.get('/api/status', async () => {
    const now = deps.now();
    const outbox = pipeline.store.outbox.stats(now);
    const journal = pipeline.store.journalStats(now);
    const rejected: Record<string, Record<string, number>> = {};
    for (const t of metrics.rejections()) {
      const bySource = rejected[t.source] ?? {};
      bySource[t.code] = (bySource[t.code] ?? 0) + t.count;
      rejected[t.source] = bySource;
    }
    const totals = outboxTotals(outbox);
    return {
      gatewayId: deps.gatewayId,
      mode: deps.dev
        ? deps.allowAnonymous
          ? 'dev (anonymous devices allowed)'
          : 'dev (open status page; devices log in)'
        : 'secure',
      uptimeMs: now - deps.startedAt,
      // What staff should know about the gateway's own state, in words (empty when all is well).
      conditions: [...pipeline.conditions].map(([code, c]) => ({ code, ...c })),
      readings: {
        accepted: await GatewayMetrics.bySource(metrics.accepted),
        duplicates: await GatewayMetrics.bySource(metrics.duplicates),
        late: (await metrics.late.get()).values[0]?.value ?? 0,
        rejected,
      },
      mqtt: { clients: deps.mqttClients() },
      webhooks: (await deps.webhooks?.()) ?? null,
      journal: {
        ...journal,
        closedUntil: pipeline.store.closedUntil,
        openWindows: pipeline.windows.size,
        identity: pipeline.journalIdentity,
      },
      outbox: {
        ...totals,
        quotaBytes: pipeline.store.outbox.quotaBytes,
        byClass: outbox,
      },
      uplink: (await deps.uplink?.()) ?? {
        state: 'not-configured',
        connected: false,
        lastError: null,
        lastSuccessAt: null,
      },
    };
  });

  app.get('/api/rooms', async () => {
    const now = deps.now();
    const rooms = [];
    for (const [roomId, state] of pipeline.twins.entries()) {
      const info = campus.rooms.get(roomId);
      rooms.push({
        ...summarizeRoom(state, now, deps.twinConfig),
        roomId,
        name: info?.name,
        buildingId: info?.buildingId,
        floorId: info?.floorId,
      });
    }
    return { rooms };
  });

  app.get<{ Params: { roomId: string } }>('/api/rooms/:roomId', async (req, reply) => {
    const state = pipeline.twins.get(req.params.roomId);
    if (!state) return reply.code(404).send(notFound(`room ${req.params.roomId}`));
    const info = campus.rooms.get(req.params.roomId);
    return { ...info, ...summarizeRoom(state, deps.now(), deps.twinConfig) };
  });

  // A room's chart data from the gateway's own aggregates: 5-minute buckets, the last `hours` (≤ 26).
  app.get<{ Params: { roomId: string }; Querystring: { hours?: string } }>(
    '/api/rooms/:roomId/history',
    async (req, reply) => {
      if (!pipeline.twins.get(req.params.roomId))
        return reply.code(404).send(notFound(`room ${req.params.roomId}`));
      const hours = Number(req.query.hours ?? 24);
      if (!Number.isFinite(hours) || hours <= 0 || hours * 3600_000 > HISTORY_KEEP_MS)
        return reply.code(400).send({
          error: {
            code: 'CT_ERR_SCHEMA',
            message: `hours must be a number in (0, ${HISTORY_KEEP_MS / 3600_000}]`,
          },
        });
      const since = deps.now() - hours * 3600_000;
      return {
        roomId: req.params.roomId,
        bucketMs: HISTORY_BUCKET_MS,
        since,
        columns: ['bucketStart', 'mean', 'min', 'max'],
        series: pipeline.store.roomHistory(req.params.roomId, since - (since % HISTORY_BUCKET_MS)),
      };
    },
  );

  // One summary per room per request (a room has several devices).
  const roomSummaries = (now: number) => {
    const cache = new Map<string, ReturnType<typeof summarizeRoom> | undefined>();
    return (roomId: string) => {
      if (!cache.has(roomId)) {
        const room = pipeline.twins.get(roomId);
        cache.set(roomId, room ? summarizeRoom(room, now, deps.twinConfig) : undefined);
      }
      return cache.get(roomId);
    };
  };
  const deviceView = (device: DeviceInfo, summaryOf: ReturnType<typeof roomSummaries>) => {
    const twin = summaryOf(device.roomId)?.devices[device.deviceId];
    return {
      deviceId: device.deviceId,
      roomId: device.roomId,
      kind: device.kind,
      expectedIntervalMs: device.expectedIntervalMs,
      health: twin?.health ?? 'offline',
      lastSeen: twin?.lastSeen ?? null,
      status: deps.deviceStatus.get(device.deviceId) ?? null,
      rejected: metrics.rejectedByDevice(device.deviceId),
      ...(device.modbus ? { modbus: deps.modbus?.(device.deviceId) ?? null } : {}),
    };
  };

  app.get('/api/devices', async () => {
    const summaryOf = roomSummaries(deps.now());
    return { devices: [...campus.devices.values()].map((d) => deviceView(d, summaryOf)) };
  });

  // One device for the page's device view: its state, the room's current values it supplied, and its
  // most recent refusals (quarantine) with their codes.
  app.get<{ Params: { deviceId: string } }>('/api/devices/:deviceId', async (req, reply) => {
    const device = campus.devices.get(req.params.deviceId);
    if (!device) return reply.code(404).send(notFound(`device ${req.params.deviceId}`));
    const room = pipeline.twins.get(device.roomId);
    const latest = Object.entries(room?.latest ?? {})
      .filter(([, l]) => l?.deviceId === device.deviceId)
      .map(([quantity, l]) => ({ quantity, channel: l!.channel, value: l!.value, unit: l!.unit, ts: l!.ts }));
    return {
      ...deviceView(device, roomSummaries(deps.now())),
      latest,
      recentErrors: pipeline.store.deviceQuarantine(device.deviceId, 20),
    };
  });

  app.get<{ Querystring: { limit?: string } }>('/api/quarantine', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    return { items: pipeline.store.recentQuarantine(limit) };
  });

  // Server-sent events: room twin changes and alerts as they are committed, for the status page and any
  // dashboard. A comment line every 15 s keeps proxies from closing an idle stream.
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ gatewayId: deps.gatewayId })}\n\n`);
    const send = (event: string) => (data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const onTwin = send('twin');
    const onAlert = send('alert');
    const onUplink = send('uplink');
    pipeline.events.on('twin:changed', onTwin);
    pipeline.events.on('alert:raised', onAlert);
    pipeline.events.on('uplink:state', onUplink);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    // A stream opened with a session cookie ends within a second of that session ending.
    // (Not one that is dead already: the request then got in with HTTP Basic.)
    const cookie = deps.auth.open ? undefined : cookieValue(req.headers.cookie, SESSION_COOKIE);
    const sid = cookie !== undefined && sessions.alive(cookie, deps.now()) ? cookie : undefined;
    const sessionCheck =
      sid === undefined
        ? undefined
        : setInterval(() => {
            if (!sessions.alive(sid, deps.now())) res.end();
          }, 1000);
    sessionCheck?.unref();
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      clearInterval(sessionCheck);
      pipeline.events.off('twin:changed', onTwin);
      pipeline.events.off('alert:raised', onAlert);
      pipeline.events.off('uplink:state', onUplink);
    });
  });

  app.get('/metrics', async (_req, reply) => {
    const now = deps.now();
    const outbox = pipeline.store.outbox.stats(now);
    for (const cls of OUTBOX_CLASSES) {
      metrics.outboxRows.set({ class: cls }, outbox[cls].rows);
      metrics.outboxBytes.set({ class: cls }, outbox[cls].bytes);
      metrics.outboxOldestAge.set({ class: cls }, (outbox[cls].oldestAgeMs ?? 0) / 1000);
    }
    metrics.journalRows.set(pipeline.store.journalStats(now).rows);
    metrics.mqttClients.set(deps.mqttClients());
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return app;
}
