/**
 * A webhook request's body → the journal's columns (pure): the HMAC signature when the source signs
 * (checked first: an unsigned body is not parsed), UTF-8 (fatal: a body that is not valid UTF-8 is refused,
 * not patched with U+FFFD), JSON, xAPI's duplicate-property rule, the source's mapper, and each canonical
 * event serialised once. Runs on the map threads (map-pool.ts) or, without them, in the handler. Only plain
 * data goes in and out, so a result crosses threads as strings and numbers.
 */
import type { ErrorCode } from '../../../shared/errors.ts';
import type { AdminEvent } from '../../../shared/events.ts';
import type { WebhookSourceName } from '../../config/webhooks.ts';
import type { JournalBatch } from '../../journal/events.ts';
import { mapAdmin } from './admin.ts';
import { mapCaliper } from './caliper.ts';
import { mapCanvas } from './canvas.ts';
import type { MapContext, Mapper } from './common.ts';
import { firstDuplicateKey } from './duplicate-keys.ts';
import { mapMoodle } from './moodle.ts';
import { type AuthResult, verifyHmac } from './signature.ts';
import { mapXapi } from './xapi.ts';

export const WEBHOOK_MAPPERS: Record<WebhookSourceName, Mapper> = {
  caliper: mapCaliper,
  xapi: mapXapi,
  canvas: mapCanvas,
  moodle: mapMoodle,
  admin: mapAdmin,
};

/** What a request's events come to: the journal's columns, and what the twin is told of. */
export interface MappedRequest extends JournalBatch {
  /** Entities in a Caliper envelope and the like: counted, not stored. */
  ignored: number;
  /** The admin events among them (room bookings reach the twins once they are durable). */
  admin: AdminEvent[];
}

export interface MapFailure {
  code: ErrorCode;
  detail: string;
  /** JSON path of the bad field ('' for the whole body). */
  path?: string;
  /** The standard's rule broken, when the mapper names one. */
  rule?: string;
}

export type MapOutcome = { ok: true; mapped: MappedRequest } | { ok: false; failure: MapFailure };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function mapRequest(source: WebhookSourceName, body: Uint8Array, ctx: MapContext): MapOutcome {
  let parsed: unknown;
  let text: string;
  try {
    text = UTF8.decode(body);
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, failure: { code: 'CT_ERR_NOT_JSON', detail: (err as Error).message } };
  }
  // xAPI 1.0.3 (Data §2.2): an LRS rejects a statement with duplicate properties; JSON.parse would keep the
  // last one silently.
  const duplicate = source === 'xapi' ? firstDuplicateKey(text) : undefined;
  if (duplicate !== undefined) {
    return {
      ok: false,
      failure: { code: 'CT_ERR_SCHEMA', detail: `duplicate property ${duplicate}`, path: duplicate },
    };
  }
  const result = WEBHOOK_MAPPERS[source](parsed, ctx);
  if (!result.ok) {
    const { code, message, path, rule } = result.rejection;
    const failure: MapFailure = { code, detail: message, path };
    if (rule !== undefined) failure.rule = rule;
    return { ok: false, failure };
  }
  const n = result.events.length;
  const ids = new Array<string>(n);
  const types = new Array<string>(n);
  const receivedAt = new Array<number>(n);
  const texts = new Array<string>(n);
  const admin: AdminEvent[] = [];
  for (let i = 0; i < n; i++) {
    const e = result.events[i]!;
    ids[i] = e.eventId;
    types[i] = e.type;
    receivedAt[i] = e.receivedAt;
    texts[i] = JSON.stringify(e);
    if (e.source === 'admin') admin.push(e);
  }
  const mapped: MappedRequest = { ids, types, receivedAt, texts, ignored: result.ignored, admin };
  return { ok: true, mapped };
}

/** A signed request's headers, as the handler read them (signature.ts). */
export interface HmacHeaders {
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  toleranceMs: number;
}

/** The signature's verdict, and the mapping when the signature held (or the source does not sign). */
export interface CheckedRequest {
  auth: AuthResult;
  map?: MapOutcome;
}

/** Check a request's signature (when `hmac`), then map it; `ctx.receivedAt` is the time it is checked at. */
export function checkRequest(
  source: WebhookSourceName,
  body: Uint8Array,
  ctx: MapContext,
  hmac?: HmacHeaders & { secret: Uint8Array },
): CheckedRequest {
  if (hmac) {
    const auth = verifyHmac({ ...hmac, body, nowMs: ctx.receivedAt });
    if (!auth.ok) return { auth };
    return { auth, map: mapRequest(source, body, ctx) };
  }
  return { auth: { ok: true }, map: mapRequest(source, body, ctx) };
}

/** A request for a map thread (map-pool.ts). */
export interface MapJob {
  id: number;
  source: WebhookSourceName;
  body: Uint8Array;
  receivedAt: number;
  hmac?: HmacHeaders;
}

/** A thread's answer: the outcome, or the message of what a mapper threw. */
export type MapReply = { id: number; outcome: CheckedRequest } | { id: number; error: string };

/** What a map thread is started with: the secrets (pseudonyms, each signing source's) and what to keep. */
export interface MapThreadData {
  secret: Uint8Array;
  hmacSecrets: Partial<Record<WebhookSourceName, Uint8Array>>;
  keepNames: boolean;
  keepEmails: boolean;
}
