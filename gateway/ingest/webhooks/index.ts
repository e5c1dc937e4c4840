/**
 * LMS and admin webhooks (issue 5): Caliper, xAPI, Canvas Live Events, Moodle and our admin schema, mapped
 * to canonical LearningEvent / AdminEvent, pseudonymised at the edge, journaled before the 202.
 * `installWebhooks` is what the gateway calls; `signBody` and `pseudonymOf` are for senders and staff tools
 * (the pure mappers are tested beside their modules).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AdminEvent } from '../../../shared/events.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { GatewayConfig } from '../../config/index.ts';
import { WEBHOOK_SOURCES, type WebhookSourceName } from '../../config/webhooks.ts';
import { EventJournal, type GatewayStore } from '../../journal/index.ts';
import { ReplayCache, TokenBucket } from './limits.ts';
import { MapPool } from './map-pool.ts';
import { WebhookMetrics } from './metrics.ts';
import { registerWebhookRoutes, type SourceRuntime } from './plugin.ts';
import { pseudonymSecret, resolveSecret } from './secrets.ts';

export { pseudonymOf } from './pseudonym.ts';
export { signBody } from './signature.ts';

const WEBHOOK_ROUTES: Record<WebhookSourceName, string> = {
  caliper: '/webhooks/lms/caliper',
  xapi: '/webhooks/lms/xapi',
  canvas: '/webhooks/lms/canvas',
  moodle: '/webhooks/lms/moodle',
  admin: '/webhooks/admin',
};

const PRUNE_CHUNK_EVENTS = 10_000;

export interface Webhooks {
  readonly journal: EventJournal;
  readonly metrics: WebhookMetrics;
  readonly routes: string[];
  /** Write what handlers have already submitted, and stop the retention timer and the map threads. */
  stop(): void;
}

/** Register the enabled sources' routes on the gateway's HTTP app; undefined when none is enabled. */
export function installWebhooks(
  app: FastifyInstance,
  config: GatewayConfig,
  deps: {
    store: GatewayStore;
    registry: Registry;
    logger: Logger;
    now: () => number;
    env: NodeJS.ProcessEnv;
    /** Told of every request's admin events once durable (see WebhookRoutesDeps.onStored). */
    onStored?: (events: readonly AdminEvent[]) => void;
  },
): Webhooks | undefined {
  const wc = config.webhooks;
  const enabled = WEBHOOK_SOURCES.filter((n) => wc.sources[n].enabled);
  if (enabled.length === 0) return undefined;
  const start = deps.now();
  const sources: SourceRuntime[] = enabled.map((name) => {
    const s = wc.sources[name];
    const secret =
      s.auth === 'none' ? '' : (resolveSecret(s, `webhooks.sources.${name}.secret`, deps.env) ?? '');
    return {
      name,
      route: WEBHOOK_ROUTES[name],
      auth: s.auth,
      secret: Buffer.from(secret, 'utf8'),
      signatureHeader: s.signatureHeader,
      timestampHeader: s.timestampHeader,
      toleranceMs: s.toleranceMs,
      maxBodyBytes: s.maxBodyBytes,
      bucket: new TokenBucket(s.rateLimit.requestsPerSec, s.rateLimit.burst, start),
      // Twice the tolerance: a timestamp may be that far behind or ahead of the gateway clock.
      replay: new ReplayCache(2 * s.toleranceMs, wc.replayCacheMaxEntries),
    };
  });
  const journal = new EventJournal(deps.store, {
    maxRowsPerCommit: config.journal.groupCommitMaxRows,
    now: deps.now,
  });
  const metrics = new WebhookMetrics(deps.registry);
  const log = deps.logger.child({ component: 'webhooks' });
  const hmacSecrets: Partial<Record<WebhookSourceName, Uint8Array>> = {};
  for (const s of sources) if (s.auth === 'hmac') hmacSecrets[s.name] = s.secret;
  const mapPool = new MapPool({
    threads: wc.mapThreads,
    hmacSecrets,
    secret: pseudonymSecret(wc.pseudonym, deps.env, config.dev, config.dataDir),
    keepNames: wc.pseudonym.keepNames,
    keepEmails: wc.pseudonym.keepEmails,
    logger: log,
  });
  registerWebhookRoutes(
    app,
    {
      sources,
      retryAfterSec: wc.retryAfterSec,
      quarantineMaxPayloadBytes: config.journal.quarantineMaxPayloadBytes,
    },
    {
      journal,
      metrics,
      logger: deps.logger,
      now: deps.now,
      map: (source, body, receivedAt, hmac) => mapPool.map(source, body, receivedAt, hmac),
      ...(deps.onStored ? { onStored: deps.onStored } : {}),
    },
  );
  // A chunk per turn of the event loop, until what is past retention is gone (a busy LMS sends more than a
  // chunk a minute).
  const pruneFrom = (cutoff: number) => {
    try {
      if (journal.prune(cutoff, PRUNE_CHUNK_EVENTS) >= PRUNE_CHUNK_EVENTS) setImmediate(pruneFrom, cutoff);
    } catch (err) {
      log.warn({ err }, 'event retention failed');
    }
  };
  const retention = setInterval(() => pruneFrom(deps.now() - wc.eventRetentionMs), 60_000);
  retention.unref();
  return {
    journal,
    metrics,
    routes: sources.map((s) => s.route),
    stop() {
      clearInterval(retention);
      journal.flush();
      void mapPool.close();
    },
  };
}
