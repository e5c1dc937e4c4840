/** Signed webhook posts against a test gateway, and a look into its journal. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signBody } from '../../gateway/ingest/webhooks/index.ts';
import { eventKey, indexedKeys, KEYS_THROUGH } from '../../gateway/journal/event-keys.ts';
import { REQUEST_ITEM_PREFIX, readMeta } from '../../gateway/journal/schema.ts';

export const HOOK_SECRET = 'test-hook-secret-0123456789';
export const CAMPUS_SECRET = 'test-campus-secret-0123456789';
export const BEARER_TOKEN = 'test-bearer-token-abcdef';

export const FIXTURES = new URL('../fixtures/lms/', import.meta.url);

export function fixtureDir(sub: string): string {
  return new URL(sub, FIXTURES).pathname;
}

export function fixtureFiles(sub: string, filter: (name: string) => boolean = () => true): string[] {
  return readdirSync(fixtureDir(sub))
    .filter((n) => n.endsWith('.json') && filter(n))
    .sort();
}

export function readFixture(sub: string, name: string): string {
  return readFileSync(join(fixtureDir(sub), name), 'utf8');
}

/** Webhook config: every source enabled, HMAC with one secret (admin: bearer), a generous rate limit. */
export function webhookConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  const hmac = {
    enabled: true,
    auth: 'hmac',
    secret: HOOK_SECRET,
    rateLimit: { requestsPerSec: 100_000, burst: 100_000 },
  };
  return {
    webhooks: {
      sources: {
        caliper: hmac,
        xapi: hmac,
        canvas: hmac,
        moodle: hmac,
        admin: { ...hmac, auth: 'bearer', secret: BEARER_TOKEN },
      },
      pseudonym: { secret: CAMPUS_SECRET },
      ...over,
    },
  };
}

export interface PostOptions {
  secret?: string;
  timestampSec?: number;
  signature?: string;
  headers?: Record<string, string>;
  contentType?: string | null;
}

export async function post(
  baseUrl: string,
  route: string,
  body: string | Buffer,
  opts: PostOptions = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const ts = opts.timestampSec ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'x-ct-timestamp': String(ts),
    'x-ct-signature':
      opts.signature ?? `sha256=${signBody(Buffer.from(opts.secret ?? HOOK_SECRET), ts, body)}`,
    ...opts.headers,
  };
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${baseUrl}${route}`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, json, headers: res.headers };
}

export function bearerHeaders(token = BEARER_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export interface EventRow {
  event_id: string;
  source: string;
  type: string;
  body: string;
}

/**
 * Read the gateway's journal file (a second, read-only connection: WAL lets it see committed rows): the
 * stored events, each request row's array read out, and the outbox as the uplink sends it (a request row's
 * events as items of their own, under their ids). Checks on the way that every stored event of an indexed
 * row (through `event_keys_through`) has its key in the key runs, or its id in event_key_clashes, naming
 * the row that holds it.
 */
export function journalEvents(dataDir: string): {
  events: EventRow[];
  outbox: { item_id: string; body: string }[];
} {
  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true, fileMustExist: true });
  try {
    const requests = db.prepare('SELECT seq, body FROM event_requests').all() as {
      seq: number;
      body: string;
    }[];
    const keys = indexedKeys(db);
    const clashes = new Map(
      (
        db.prepare('SELECT event_id, request FROM event_key_clashes').all() as {
          event_id: string;
          request: number;
        }[]
      ).map((r) => [r.event_id, r.request]),
    );
    const through = Number(readMeta(db, KEYS_THROUGH) ?? 0);
    const events: EventRow[] = [];
    const bodies = new Map<number, string>();
    for (const r of requests) {
      bodies.set(r.seq, r.body);
      for (const e of JSON.parse(r.body) as { eventId: string; source: string; type: string }[]) {
        const indexed = keys.get(eventKey(e.eventId)) === r.seq || clashes.get(e.eventId) === r.seq;
        if (r.seq <= through && !indexed)
          throw new Error(`event ${e.eventId} of request ${r.seq} not in the key runs`);
        events.push({ event_id: e.eventId, source: e.source, type: e.type, body: JSON.stringify(e) });
      }
    }
    events.sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
    const outbox: { item_id: string; body: string }[] = [];
    for (const o of db.prepare('SELECT item_id, body FROM outbox_event ORDER BY seq').all() as {
      item_id: string;
      body: string;
    }[]) {
      if (o.body !== '') outbox.push(o);
      else
        for (const e of JSON.parse(
          bodies.get(Number(o.item_id.slice(REQUEST_ITEM_PREFIX.length))) ?? '[]',
        ) as { eventId: string }[])
          outbox.push({ item_id: e.eventId, body: JSON.stringify(e) });
    }
    return { events, outbox };
  } finally {
    db.close();
  }
}

export function quarantineRows(
  dataDir: string,
): { source: string; code: string; message: string; payload: Buffer | null }[] {
  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT source, code, message, payload FROM quarantine ORDER BY id').all() as {
      source: string;
      code: string;
      message: string;
      payload: Buffer | null;
    }[];
  } finally {
    db.close();
  }
}
