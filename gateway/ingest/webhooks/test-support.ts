/** Shared by the mapper unit tests: a fixed context and the repo's LMS fixtures. */
import { readdirSync, readFileSync } from 'node:fs';
import type { MapContext, MapResult } from './common.ts';
import { createPseudonymiser } from './pseudonym.ts';

export const TEST_SECRET = Buffer.from('unit-test-campus-secret-0123456789');
export const pseudonym = createPseudonymiser(TEST_SECRET);
export const RECEIVED_AT = Date.UTC(2026, 10, 27, 9, 0, 0);
export const ctx: MapContext = { pseudonym, receivedAt: RECEIVED_AT, keepNames: false, keepEmails: false };

const FIXTURES = new URL('../../../tests/fixtures/lms/', import.meta.url);

export function fixtures(sub: string, filter: (name: string) => boolean = () => true): string[] {
  return readdirSync(new URL(sub, FIXTURES))
    .filter((n) => n.endsWith('.json') && filter(n))
    .sort();
}

export function fixture(sub: string, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`${sub}${name}`, FIXTURES), 'utf8'));
}

export function ok(r: MapResult) {
  if (!r.ok) throw new Error(`expected events, got ${r.rejection.message}`);
  return r;
}
