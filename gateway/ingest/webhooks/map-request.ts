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
import { type JournalBatch, journalBatch } from '../../journal/events.ts';
import { mapAdmin } from './admin.ts';
import { mapCaliper } from './caliper.ts';
import { mapCanvas } from './canvas.ts';
import type { MapContext, Mapper } from './common.ts';
import { firstDuplicateKey } from './duplicate-keys.ts';
import { mapMoodle } from './moodle.ts';
import { createPseudonymiser } from './pseudonym.ts';
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
  const admin = result.events.filter((e): e is AdminEvent => e.source === 'admin');
  return { ok: true, mapped: { ...journalBatch(result.events), ignored: result.ignored, admin } };
}

/** A signed request's headers, as the handler read them (signature.ts). */
export interface HmacHeaders {
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  toleranceMs: number;
}

/** The signature refused (nothing mapped), or its verdict (or none needed) and the mapping. */
export type CheckedRequest =
  | { auth: Extract<AuthResult, { ok: false }>; map?: undefined }
  | { auth: Extract<AuthResult, { ok: true }>; map: MapOutcome };

/** A webhook request as the handler hands it over: `hmac` when its source signs. */
export interface MapRequest {
  source: WebhookSourceName;
  body: Uint8Array;
  receivedAt: number;
  hmac?: HmacHeaders;
}

/** A request for a map thread (map-pool.ts). */
export interface MapJob extends MapRequest {
  id: number;
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

/**
 * Checks a request's signature (when it carries `hmac`), then maps it, with one pseudonymiser over the
 * campus secret; the request's `receivedAt` is the time it is checked at. What a map thread runs, and the
 * handler without one.
 */
export function requestChecker(data: MapThreadData): (r: MapRequest) => CheckedRequest {
  const pseudonym = createPseudonymiser(data.secret);
  return ({ source, body, receivedAt, hmac }) => {
    const ctx: MapContext = { pseudonym, receivedAt, keepNames: data.keepNames, keepEmails: data.keepEmails };
    let auth: Extract<AuthResult, { ok: true }> = { ok: true };
    if (hmac) {
      const secret = data.hmacSecrets[source] ?? new Uint8Array(0);
      const verdict = verifyHmac({ ...hmac, secret, body, nowMs: receivedAt });
      if (!verdict.ok) return { auth: verdict };
      auth = verdict;
    }
    return { auth, map: mapRequest(source, body, ctx) };
  };
}
