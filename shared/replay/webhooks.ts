/**
 * Replays learning or admin events (a JSONL file, one xAPI statement, Caliper or admin event a line) through a gateway's
 * real webhook: batches of `batch` events, each request signed as the gateway checks it (HMAC-SHA256 of
 * "<unix seconds>.<body>" in x-ct-signature, the seconds in x-ct-timestamp) or with a bearer token, a few
 * requests in flight. The answers say what became of each batch: accepted/duplicates/ignored on 202, the
 * error code otherwise (the whole batch is then not stored). 429 and 503 are retried after Retry-After.
 */
import { signBody } from '../../gateway/ingest/webhooks/signature.ts';
import { jsonLines } from './parse.ts';

export interface WebhookReplayOptions {
  url: string;
  source: 'caliper' | 'xapi' | 'admin';
  secret?: string;
  bearer?: string;
  batch: number;
  concurrency: number;
  /** Retries of a batch answered 429/503, waiting its Retry-After (capped at 30 s). */
  maxRetries?: number;
  onProgress?: (eventsDone: number) => void;
}

export interface WebhookReplayResult {
  events: number;
  requests: number;
  accepted: number;
  duplicates: number;
  ignored: number;
  /** Events in refused requests, by error code (HTTP status when the answer had none). */
  refusedByCode: Record<string, number>;
  /** The first refusals in words. */
  refusals: string[];
  seconds: number;
}

/** One xAPI statement or Caliper event a line. */
export function parseEventLines(text: string): Record<string, unknown>[] {
  return jsonLines(text).map((l) => l.value);
}

function bodyOf(source: WebhookReplayOptions['source'], events: readonly Record<string, unknown>[]): string {
  if (source === 'xapi') return JSON.stringify(events);
  if (source === 'admin') return JSON.stringify({ events });
  return JSON.stringify({
    sensor: 'urn:campus-twin:replay',
    sendTime: new Date().toISOString(),
    dataVersion: 'http://purl.imsglobal.org/ctx/caliper/v1p2',
    data: events,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function replayOverWebhook(
  events: readonly Record<string, unknown>[],
  opts: WebhookReplayOptions,
): Promise<WebhookReplayResult> {
  const started = performance.now();
  const r: WebhookReplayResult = {
    events: events.length,
    requests: 0,
    accepted: 0,
    duplicates: 0,
    ignored: 0,
    refusedByCode: {},
    refusals: [],
    seconds: 0,
  };
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < events.length; i += opts.batch) batches.push(events.slice(i, i + opts.batch));
  let done = 0;
  const send = async (batch: Record<string, unknown>[]) => {
    for (let attempt = 0; ; attempt++) {
      const body = bodyOf(opts.source, batch);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
      if (opts.secret) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-ct-timestamp'] = ts;
        headers['x-ct-signature'] = `sha256=${signBody(Buffer.from(opts.secret), ts, body)}`;
      }
      r.requests++;
      const res = await fetch(opts.url, { method: 'POST', headers, body });
      const answer = (await res.json().catch(() => ({}))) as {
        accepted?: number;
        duplicates?: number;
        ignored?: number;
        error?: { code?: string; message?: string };
      };
      if ((res.status === 429 || res.status === 503) && attempt < (opts.maxRetries ?? 5)) {
        await sleep(Math.min(30, Number(res.headers.get('retry-after')) || 1) * 1000);
        continue;
      }
      if (res.status === 202) {
        r.accepted += answer.accepted ?? 0;
        r.duplicates += answer.duplicates ?? 0;
        r.ignored += answer.ignored ?? 0;
      } else {
        const code = answer.error?.code ?? `HTTP ${res.status}`;
        r.refusedByCode[code] = (r.refusedByCode[code] ?? 0) + batch.length;
        if (r.refusals.length < 5) r.refusals.push(`${code}: ${answer.error?.message ?? res.statusText}`);
      }
      done += batch.length;
      opts.onProgress?.(done);
      return;
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await send(batches[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  r.seconds = (performance.now() - started) / 1000;
  return r;
}
