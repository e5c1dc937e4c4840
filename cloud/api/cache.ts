/**
 * A response cache for read routes that are a pure function of their URL and the store's data: the body is
 * kept with the store's data version and served again until the version moves (any write by this process,
 * or a commit by another process on the same file). Routes opt in with `config: { cache: … }`; a route whose
 * answer also depends on the clock opts in only when its query pins the time range.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudStore } from '../store/types.ts';

export type CacheRule = true | ((req: FastifyRequest) => boolean);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Serve repeated GETs from the cache while the store's data version is unchanged. */
    cache?: CacheRule;
  }
  interface FastifyRequest {
    cacheSlot?: { key: string; version: string };
  }
}

interface Entry {
  version: string;
  type: string;
  body: string;
}

export function registerResponseCache(
  app: FastifyInstance,
  opts: {
    store: CloudStore;
    maxEntries?: number;
    maxBodyBytes?: number;
    onHit?: () => void;
    onMiss?: () => void;
  },
): void {
  const maxEntries = opts.maxEntries ?? 1000;
  const maxBodyBytes = opts.maxBodyBytes ?? 1_000_000;
  const entries = new Map<string, Entry>();

  app.addHook('onRequest', async (req, reply) => {
    const rule = req.routeOptions.config.cache;
    if (req.method !== 'GET' || rule === undefined || (rule !== true && !rule(req))) return;
    const key = `${req.url}\u0000${req.headers.accept ?? ''}`;
    const version = await opts.store.dataVersion();
    const hit = entries.get(key);
    if (hit && hit.version === version) {
      // Most recently used last: Map order is the eviction order.
      entries.delete(key);
      entries.set(key, hit);
      opts.onHit?.();
      return reply.type(hit.type).header('x-cache', 'hit').send(hit.body);
    }
    opts.onMiss?.();
    req.cacheSlot = { key, version };
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const slot = req.cacheSlot;
    if (!slot || reply.statusCode !== 200 || typeof payload !== 'string' || payload.length > maxBodyBytes)
      return payload;
    entries.delete(slot.key);
    entries.set(slot.key, {
      version: slot.version,
      type: String(reply.getHeader('content-type') ?? 'application/json'),
      body: payload,
    });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    return payload;
  });
}

/** For routes that read a time range: cacheable only when the query gives both ends. */
export const pinnedRange: CacheRule = (req) => {
  const q = req.query as { from?: string; to?: string };
  return Boolean(q.from && q.to);
};
