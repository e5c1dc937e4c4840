/**
 * The `webhooks:` section of the gateway config (LMS and admin webhooks on the HTTP port). Every source
 * is off until enabled. An enabled source authenticates with an HMAC signature (default) or a bearer
 * token, and needs its secret (inline, `secretFile`, or `secretEnv` naming an environment variable);
 * `auth: none` is accepted only in dev mode. Student identifiers are pseudonymised with the campus secret
 * (`pseudonym`), which an enabled source needs outside dev mode (in dev a random one is kept in dataDir).
 */
import { z } from 'zod';

const ms = z.number().int().positive();

const secretFields = {
  /** Inline secret; prefer secretFile or secretEnv (or the CT_… override of this key). */
  secret: z.string().default(''),
  secretFile: z.string().default(''),
  /** Name of an environment variable holding the secret. */
  secretEnv: z.string().default(''),
};

const header = z
  .string()
  .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name')
  .transform((s) => s.toLowerCase());

const webhookSourceSchema = z
  .object({
    enabled: z.boolean().default(false),
    auth: z.enum(['hmac', 'bearer', 'none']).default('hmac'),
    ...secretFields,
    /** hex HMAC-SHA256 of `${timestamp}.${body}`, optionally written `sha256=<hex>`. */
    signatureHeader: header.default('x-ct-signature'),
    /** Unix seconds. */
    timestampHeader: header.default('x-ct-timestamp'),
    toleranceMs: ms.default(300_000),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    rateLimit: z
      .object({
        requestsPerSec: z.number().positive().default(50),
        burst: z.number().int().positive().default(200),
      })
      .prefault({}),
  })
  .prefault({});

export const WEBHOOK_SOURCES = ['caliper', 'xapi', 'canvas', 'moodle', 'admin'] as const;
export type WebhookSourceName = (typeof WEBHOOK_SOURCES)[number];

export const webhooksSchema = z
  .object({
    sources: z
      .object({
        caliper: webhookSourceSchema,
        xapi: webhookSourceSchema,
        canvas: webhookSourceSchema,
        moodle: webhookSourceSchema,
        admin: webhookSourceSchema,
      })
      .prefault({}),
    pseudonym: z
      .object({
        ...secretFields,
        /** Keep student names / emails in the journaled events (off: they are dropped at the edge). */
        keepNames: z.boolean().default(false),
        keepEmails: z.boolean().default(false),
      })
      .prefault({}),
    /** Signatures remembered for replay protection, per source; when full, new requests get 429. */
    replayCacheMaxEntries: z.number().int().positive().default(200_000),
    /** Journaled events are kept (and a resent id recognised) this long, then pruned. */
    eventRetentionMs: ms.default(7 * 24 * 3600_000),
    /**
     * Threads that parse, check, map and pseudonymise request bodies beside the event loop (started on
     * the first request); 0 maps them on the main thread.
     */
    mapThreads: z.number().int().min(0).max(8).default(1),
    /** Retry-After (seconds) on 503 when the outbox is full or the journal failed. */
    retryAfterSec: z.number().int().positive().default(30),
  })
  .prefault({});

type WebhooksData = z.output<typeof webhooksSchema>;

const hasSecret = (s: { secret: string; secretFile: string; secretEnv: string }): boolean =>
  Boolean(s.secret || s.secretFile || s.secretEnv);

/** Cross-field rules; added to the gateway schema's refinements (paths relative to the root). */
export function checkWebhooks(c: { dev: boolean; webhooks: WebhooksData }, ctx: z.RefinementCtx): void {
  let anyEnabled = false;
  for (const name of WEBHOOK_SOURCES) {
    const s = c.webhooks.sources[name];
    if (!s.enabled) continue;
    anyEnabled = true;
    if (s.auth === 'none' && !c.dev) {
      ctx.addIssue({
        code: 'custom',
        message: 'unauthenticated webhooks are allowed only in dev mode',
        path: ['webhooks', 'sources', name, 'auth'],
      });
    }
    if (s.auth !== 'none' && !hasSecret(s)) {
      ctx.addIssue({
        code: 'custom',
        message: `auth ${s.auth} needs secret, secretFile or secretEnv`,
        path: ['webhooks', 'sources', name, 'secret'],
      });
    }
  }
  const p = c.webhooks.pseudonym;
  if (anyEnabled && !c.dev && !hasSecret(p)) {
    ctx.addIssue({
      code: 'custom',
      message: 'the campus pseudonym secret is needed (secret, secretFile or secretEnv)',
      path: ['webhooks', 'pseudonym', 'secret'],
    });
  }
}
