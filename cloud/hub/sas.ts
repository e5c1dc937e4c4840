/**
 * Shared Access Signature tokens, as the SDK's SasTokenProvider makes them and `$cbs put-token` carries:
 *   SharedAccessSignature sr=<urlencoded audience>&sig=<urlencoded base64>&se=<expiry, s>&skn=<key name>
 * sig = base64(HMAC-SHA256(key as UTF-8, <sr exactly as in the token> + "\n" + se)).
 * Pure (time passed in). Audiences are compared as entity paths: scheme and host dropped, lower case
 * (Event Hubs entity names are case-insensitive).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SasKey {
  readonly name: string;
  readonly key: string;
}

export type SasCheck =
  | { ok: true; entityPath: string; expiresAtMs: number; keyName: string }
  | { ok: false; reason: string };

function parseFields(token: string): Map<string, string> | undefined {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}

/** `sb://host:port/hub/Partitions/0` or `hub/Partitions/0` → `hub/partitions/0`. */
export function entityPath(audienceOrAddress: string): string {
  return audienceOrAddress
    .replace(/^[a-z]+:\/\/[^/]*\/?/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/** A grant for `hub` covers `hub/Partitions/0`, `hub/$management`, `hub/ConsumerGroups/…`. */
export function covers(grantPath: string, path: string): boolean {
  return path === grantPath || path.startsWith(`${grantPath}/`);
}

export function signSas(keyName: string, key: string, audience: string, expirySeconds: number): string {
  const sr = encodeURIComponent(audience);
  const sig = createHmac('sha256', Buffer.from(key, 'utf8'))
    .update(`${sr}\n${expirySeconds}`)
    .digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expirySeconds}&skn=${encodeURIComponent(keyName)}`;
}

export function verifySas(token: string, keys: readonly SasKey[], nowMs: number): SasCheck {
  const fields = parseFields(token);
  if (!fields) return { ok: false, reason: 'not a SharedAccessSignature token' };
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (!sr || !sig || !se || !skn) return { ok: false, reason: 'token lacks sr, sig, se or skn' };
  if (!/^\d+$/.test(se)) return { ok: false, reason: 'se is not a number of seconds' };
  let keyName: string;
  let given: Buffer;
  try {
    keyName = decodeURIComponent(skn);
    given = Buffer.from(decodeURIComponent(sig), 'base64');
  } catch {
    return { ok: false, reason: 'token is not URL-encoded correctly' };
  }
  const key = keys.find((k) => k.name === keyName);
  if (!key) return { ok: false, reason: `unknown key name ${keyName}` };
  const expected = createHmac('sha256', Buffer.from(key.key, 'utf8')).update(`${sr}\n${se}`).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match' };
  }
  const expiresAtMs = Number(se) * 1000;
  if (expiresAtMs <= nowMs) return { ok: false, reason: 'token has expired' };
  let audience: string;
  try {
    audience = decodeURIComponent(sr);
  } catch {
    return { ok: false, reason: 'sr is not URL-encoded correctly' };
  }
  return { ok: true, entityPath: entityPath(audience), expiresAtMs, keyName };
}
