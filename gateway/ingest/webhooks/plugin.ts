/**
 * The webhook routes on the gateway's HTTP app (thin adapter: sockets and state here, decisions in the
 * pure modules). Per request, in order: body size (413, before the body is buffered past the limit),
 * content type (415), authentication (401: HMAC signature + timestamp tolerance, or bearer token), the
 * source's rate limit (429), replay (401), JSON (400), the source's schema (422 with the JSON path), then
 * the journal: 202 once the events are durable, 503 + Retry-After when the outbox is full or the write
 * failed. Every answer is counted by source and code; every rejected body is quarantined, truncated.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, reject } from '../../../shared/errors.ts';
import type { AdminEvent } from '../../../shared/events.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { WebhookSourceName } from '../../config/webhooks.ts';
import type { EventJournal, QuarantineEntry } from '../../journal/index.ts';
import type { ReplayCache, TokenBucket } from './limits.ts';
import type { CheckedRequest, HmacHeaders } from './map-request.ts';
import type { WebhookMetrics } from './metrics.ts';
import { verifyBearer } from './signature.ts';

export interface SourceRuntime {
  name: WebhookSourceName;
  route: string;
  auth: 'hmac' | 'bearer' | 'none';
  secret: Buffer;
  signatureHeader: string;
  timestampHeader: string;
  toleranceMs: number;
  maxBodyBytes: number;
  bucket: TokenBucket;
  replay: ReplayCache;
}

export interface WebhookRoutesOptions {
  sources: readonly SourceRuntime[];
  retryAfterSec: number;
  quarantineMaxPayloadBytes: number;
}

export interface WebhookRoutesDeps {
  journal: EventJournal;
  metrics: WebhookMetrics;
  logger: Logger;
  now: () => number;
  /**
   * A request's signature checked (when `hmac`) and its body mapped to the journal's columns, or the
   * failure to answer with (requestChecker, on the map threads or inline: map-pool.ts).
   */
  map: (
    source: WebhookSourceName,
    body: Buffer,
    receivedAt: number,
    hmac?: HmacHeaders,
  ) => Promise<CheckedRequest> | CheckedRequest;
  /** Told of the admin events of every request once they are durable (room bookings reach the twin). */
  onStored?: (events: readonly AdminEvent[]) => void;
}

interface Failure {
  code: ErrorCode;
  detail?: string;
  path?: string;
  /** The standard's rule broken (Caliper), when the mapper names one. */
  rule?: string;
  retryAfterSec?: number;
  /** More fields for the answer, beside `error` (what a partly stored request did store). */
  extra?: Record<string, unknown>;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const EMAIL = /[^\s@"'<>,;:]+@[^\s@"'<>,;:]+\.[A-Za-z]{2,}/g;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function registerWebhookRoutes(
  app: FastifyInstance,
  opts: WebhookRoutesOptions,
  deps: WebhookRoutesDeps,
): void {
  const log = deps.logger.child({ component: 'webhooks' });
  const bySource = new Map(opts.sources.map((s) => [s.route, s]));

  const quarantine = (
    src: string,
    route: string,
    f: Failure,
    message: string,
    body?: Buffer,
  ): QuarantineEntry => {
    let payload: Uint8Array | undefined;
    if (body && body.length > 0) {
      // Truncated, and emails masked: the quarantine is for fixing senders, not a copy of student data.
      const text = body
        .subarray(0, opts.quarantineMaxPayloadBytes)
        .toString('utf8')
        .replace(EMAIL, '[email]');
      payload = Buffer.from(text, 'utf8');
    }
    return {
      at: deps.now(),
      source: `webhook:${src}`,
      deviceId: undefined,
      topic: route,
      code: f.code,
      message: `${
        f.path !== undefined && !message.includes(f.path) ? `${message} (at ${f.path || '(body)'})` : message
      }${f.rule ? ` [${f.rule}]` : ''}`,
      payload,
    };
  };

  const fail = async (
    src: SourceRuntime | undefined,
    route: string,
    reply: FastifyReply,
    f: Failure,
    body?: Buffer,
  ) => {
    const name = src?.name ?? 'unknown';
    // A mapper's rejection message already starts with the catalogue's.
    const message = f.detail?.startsWith(ERRORS[f.code].message)
      ? f.detail
      : reject(f.code, f.detail).message;
    deps.metrics.requests.inc({ source: name, code: f.code });
    try {
      await deps.journal.submit([], [quarantine(name, route, f, message, body)]);
    } catch (err) {
      log.warn({ err, source: name }, 'could not quarantine a rejected webhook body');
    }
    if (f.retryAfterSec !== undefined) reply.header('retry-after', String(f.retryAfterSec));
    const error: Record<string, string> = { code: f.code, message };
    if (f.path !== undefined) error.path = f.path;
    if (f.rule !== undefined) error.rule = f.rule;
    return reply.code(ERRORS[f.code].status).send({ error, ...f.extra });
  };

  app.register(async (scope) => {
    // Webhooks need the raw bytes (the signature covers them); JSON is parsed in the handler.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.setErrorHandler(async (err: FastifyError, req, reply) => {
      const route = req.url.split('?', 1)[0] ?? '';
      const src = bySource.get(route);
      const status = err.statusCode ?? 500;
      const code: ErrorCode =
        status === 413
          ? 'CT_ERR_PAYLOAD_TOO_LARGE'
          : status === 415
            ? 'CT_ERR_MEDIA_TYPE'
            : status < 500
              ? 'CT_ERR_NOT_JSON'
              : 'CT_ERR_JOURNAL_UNAVAILABLE';
      if (status >= 500) log.error({ err, route }, 'webhook request failed');
      const detail = status === 413 ? `limit is ${src?.maxBodyBytes ?? '?'} bytes` : err.message;
      return fail(src, route, reply, {
        code,
        detail,
        ...(status >= 500 ? { retryAfterSec: opts.retryAfterSec } : {}),
      });
    });

    for (const src of opts.sources) {
      scope.post(src.route, { bodyLimit: src.maxBodyBytes }, async (req, reply) => {
        const now = deps.now();
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const ct = header(req, 'content-type');
        if (ct !== undefined && !JSON_TYPE.test(ct)) {
          return fail(
            src,
            src.route,
            reply,
            { code: 'CT_ERR_MEDIA_TYPE', detail: `got ${ct.slice(0, 100)}` },
            body,
          );
        }
        if (src.auth === 'bearer') {
          const r = verifyBearer(header(req, 'authorization'), src.secret.toString('utf8'));
          if (!r.ok) return fail(src, src.route, reply, { code: r.code, detail: r.detail }, body);
        }
        // The signature is checked beside the event loop with the mapping (an unsigned body is not parsed);
        // its verdict comes first, as if checked here.
        const checked = await deps.map(
          src.name,
          body,
          now,
          src.auth === 'hmac'
            ? {
                timestampHeader: header(req, src.timestampHeader),
                signatureHeader: header(req, src.signatureHeader),
                toleranceMs: src.toleranceMs,
              }
            : undefined,
        );
        if (checked.map === undefined) {
          const { code, detail } = checked.auth;
          return fail(src, src.route, reply, { code, detail }, body);
        }
        const replayKey = checked.auth.replayKey;
        const waitMs = src.bucket.take(now);
        if (waitMs > 0) {
          const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
          return fail(src, src.route, reply, { code: 'CT_ERR_RATE_LIMITED', retryAfterSec }, body);
        }
        if (replayKey !== undefined) {
          const verdict = src.replay.check(replayKey, now);
          // The same signed bytes again: an honest retry (its 202 may have been lost) or a captured copy.
          // Either way its events go through the journal, which stores each id once: the answer says
          // duplicate, never 401, so a client can always retry. Only counted here.
          if (verdict === 'replay') deps.metrics.requests.inc({ source: src.name, code: 'repeated' });
          if (verdict === 'full') {
            return fail(
              src,
              src.route,
              reply,
              { code: 'CT_ERR_RATE_LIMITED', detail: 'replay cache full', retryAfterSec: 1 },
              body,
            );
          }
        }
        // Nothing was stored: the same signed request may be retried as it is.
        const release = () => {
          if (replayKey !== undefined) src.replay.release(replayKey);
        };
        const outcome = checked.map;
        if (!outcome.ok) {
          const { code, detail, path, rule } = outcome.failure;
          return fail(src, src.route, reply, { code, detail, path, rule }, body);
        }
        const mapped = outcome.mapped;
        let result: Awaited<ReturnType<EventJournal['submit']>>;
        try {
          result = await deps.journal.submitBatch(mapped);
        } catch (err) {
          release();
          log.error({ err, source: src.name }, 'journal write failed; webhook not acknowledged');
          return fail(src, src.route, reply, {
            code: 'CT_ERR_JOURNAL_UNAVAILABLE',
            retryAfterSec: opts.retryAfterSec,
          });
        }
        if (result.status === 'refused') {
          release();
          return fail(
            src,
            src.route,
            reply,
            {
              code: 'CT_ERR_OUTBOX_FULL',
              detail: `${result.needBytes} bytes do not fit`,
              retryAfterSec: opts.retryAfterSec,
            },
            body,
          );
        }
        try {
          if (mapped.admin.length > 0) deps.onStored?.(mapped.admin);
        } catch (err) {
          // The events are durable and will be answered for; whatever reacts to them must not change that.
          log.error({ err, source: src.name }, 'reacting to stored webhook events failed');
        }
        // Every event is counted once by what became of it, whatever the answer.
        const counts = {
          accepted: result.accepted,
          duplicate: result.duplicates,
          conflict: result.conflicts.length,
          ignored: mapped.ignored,
        };
        for (const [what, n] of Object.entries(counts))
          if (n) deps.metrics.events.inc({ source: src.name, result: what }, n);
        if (result.conflicts.length > 0) {
          const ids = result.conflicts.slice(0, 10).join(', ');
          return fail(
            src,
            src.route,
            reply,
            {
              code: 'CT_ERR_CONFLICT',
              detail: `${result.conflicts.length} event id(s): ${ids}${result.conflicts.length > 10 ? ', …' : ''}`,
              extra: {
                accepted: result.accepted,
                duplicates: result.duplicates,
                conflicts: result.conflicts,
                ignored: mapped.ignored,
              },
            },
            body,
          );
        }
        deps.metrics.requests.inc({ source: src.name, code: 'accepted' });
        return reply
          .code(202)
          .send({ accepted: result.accepted, duplicates: result.duplicates, ignored: mapped.ignored });
      });
    }
  });
}
