/**
 * Webhook request authentication (pure; time is an argument).
 *  - HMAC: signature = hex(HMAC-SHA256(secret, `${timestamp}.${rawBody}`)), timestamp in Unix seconds, in
 *    two headers whose names are configured per source. The signature may be written `sha256=<hex>`;
 *    several comma-separated signatures are accepted (secret rotation on the sender's side).
 *    A timestamp outside ±tolerance is refused, so a captured request is only replayable within the
 *    window, and the replay cache (replay.ts) covers the window.
 *  - Bearer: `Authorization: Bearer <token>`, for senders that cannot sign.
 * Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../../../shared/errors.ts';

export type AuthResult = { ok: true; replayKey?: string } | { ok: false; code: ErrorCode; detail: string };

export interface HmacInput {
  secret: Uint8Array;
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  body: Uint8Array;
  nowMs: number;
  toleranceMs: number;
}

export function signBody(
  secret: Uint8Array,
  timestampSec: number | string,
  body: Uint8Array | string,
): string {
  return createHmac('sha256', secret).update(`${timestampSec}.`).update(body).digest('hex');
}

export function verifyHmac(input: HmacInput): AuthResult {
  const ts = input.timestampHeader?.trim();
  if (!ts || !/^\d{1,12}$/.test(ts)) {
    return {
      ok: false,
      code: 'CT_ERR_SIGNATURE_EXPIRED',
      detail: 'timestamp header missing or not Unix seconds',
    };
  }
  const skewMs = Math.abs(input.nowMs - Number(ts) * 1000);
  if (skewMs > input.toleranceMs) {
    return {
      ok: false,
      code: 'CT_ERR_SIGNATURE_EXPIRED',
      detail: `timestamp is ${Math.round(skewMs / 1000)} s from the gateway clock`,
    };
  }
  const given = (input.signatureHeader ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(sha256|v1)=/i, ''))
    .filter((s) => /^[0-9a-f]{64}$/i.test(s));
  if (given.length === 0) return { ok: false, code: 'CT_ERR_SIGNATURE', detail: 'signature header missing' };
  const expected = Buffer.from(signBody(input.secret, ts, input.body), 'hex');
  for (const g of given) {
    const buf = Buffer.from(g, 'hex');
    if (timingSafeEqual(buf, expected)) return { ok: true, replayKey: expected.toString('base64url') };
  }
  return { ok: false, code: 'CT_ERR_SIGNATURE', detail: 'signature does not match' };
}

export function verifyBearer(authorization: string | undefined, token: string): AuthResult {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return { ok: false, code: 'CT_ERR_AUTH', detail: 'bearer token missing' };
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b)
    ? { ok: true }
    : { ok: false, code: 'CT_ERR_AUTH', detail: 'bearer token wrong' };
}
