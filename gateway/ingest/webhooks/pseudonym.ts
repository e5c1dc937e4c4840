/**
 * Pseudonymisation at the edge: a student identifier becomes `p_` + base64url of the first 16 bytes of
 * HMAC-SHA256(campus secret, identifier). Deterministic, so the same student has the same pseudonym on
 * every gateway of the campus (they share the secret) and across restarts; without the secret it cannot be
 * reversed or recomputed from a guessed id. The secret (the "mapping") never leaves the gateway: staff
 * re-identify a student by computing the pseudonym of a known id on the gateway.
 */
import { createHmac } from 'node:crypto';

/** Identifiers that differ only in how they were written are one person: emails are case-insensitive. */
function normalizeIdentifier(id: string): string {
  const s = id.trim();
  if (/^mailto:/i.test(s)) return `mailto:${s.slice(7).toLowerCase()}`;
  if (/^[^\s@/:]+@[^\s@/]+$/.test(s)) return `mailto:${s.toLowerCase()}`;
  return s;
}

export function pseudonymOf(secret: Uint8Array, identifier: string): string {
  const mac = createHmac('sha256', secret).update(normalizeIdentifier(identifier)).digest();
  return `p_${mac.subarray(0, 16).toString('base64url')}`;
}

/** A pseudonymiser with a bounded memo (a busy course repeats the same few hundred students). */
export function createPseudonymiser(secret: Uint8Array, maxEntries = 50_000): (identifier: string) => string {
  if (secret.length < 16) throw new Error('pseudonym secret must be at least 16 bytes');
  const memo = new Map<string, string>();
  return (identifier) => {
    let p = memo.get(identifier);
    if (p === undefined) {
      p = pseudonymOf(secret, identifier);
      if (memo.size >= maxEntries) memo.clear();
      memo.set(identifier, p);
    }
    return p;
  };
}
