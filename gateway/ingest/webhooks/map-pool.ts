/**
 * Map threads for webhook bodies: the signature, UTF-8, JSON, the source's rules, pseudonyms and
 * serialisation (requestChecker) run beside the event loop instead of on it, which keeps sockets, limits and
 * the journal (one SQLite connection) on the main thread. Started on the first request, so a gateway without webhook
 * traffic pays nothing for them. A request is handed to the thread with the fewest in hand; with no
 * threads (`webhooks.mapThreads: 0`), while they start, or once one failed, it is mapped in the handler,
 * so a thread's failure costs throughput, never an answer: a failed thread's requests are mapped again
 * inline.
 *
 * The thread runs a bundle of map-worker.ts (shared/cli/bundle.mjs, as the launcher bundles the CLI), or,
 * where none can be built, the sources through the project's loader hook.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../../shared/logger.ts';
import type { WebhookSourceName } from '../../config/webhooks.ts';
import {
  type CheckedRequest,
  type HmacHeaders,
  type MapJob,
  type MapReply,
  type MapRequest,
  type MapThreadData,
  requestChecker,
} from './map-request.ts';

export interface MapPoolOptions extends MapThreadData {
  threads: number;
  logger: Logger;
  /** Where the thread's code is; by default a bundle of map-worker.ts, else the loader hook. */
  threadCode?: () => Promise<ThreadCode> | ThreadCode;
}

interface Waiting {
  /** With the handler's own copy of the body: the thread's was handed over. */
  request: MapRequest;
  resolve: (o: CheckedRequest) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  waiting: Map<number, Waiting>;
  online: boolean;
}

const ENTRY = new URL('./map-worker.ts', import.meta.url);

export type ThreadCode = { url: URL; workerData?: Record<string, unknown> };

/** The map thread's code from the TypeScript sources, through the project's loader hook. */
export function hookedThread(): ThreadCode {
  return {
    url: new URL('./map-thread-boot.mjs', import.meta.url),
    workerData: {
      loader: new URL('../../../shared/cli/register.mjs', import.meta.url).href,
      entry: ENTRY.href,
    },
  };
}

/** A bundle of map-worker.ts (built once, then cached), or the sources through the loader hook. */
export async function bundledThread(): Promise<ThreadCode> {
  try {
    // A computed specifier: the launcher's bundle of the gateway must not take in esbuild.
    const bundler = new URL('../../../shared/cli/bundle.mjs', import.meta.url).href;
    const { bundle } = (await import(bundler)) as { bundle: (entry: URL, cache: URL) => Promise<string> };
    const url = await bundle(ENTRY, new URL('../../../node_modules/.cache/campus-twin/', import.meta.url));
    return { url: new URL(url) };
  } catch {
    return hookedThread();
  }
}

export class MapPool {
  readonly #o: MapPoolOptions;
  /** The same check as the threads', for requests mapped in the handler. */
  readonly #check: (r: MapRequest) => CheckedRequest;
  readonly #threads: Thread[] = [];
  #starting: Promise<void> | undefined;
  #closed = false;
  #nextId = 1;
  /** Requests mapped in the handler because no thread was ready (metrics, tests). */
  inline = 0;

  constructor(opts: MapPoolOptions) {
    this.#o = opts;
    this.#check = requestChecker(opts);
  }

  /** Threads up and taking requests. */
  get running(): number {
    return this.#threads.filter((t) => t.online).length;
  }

  /** Check `hmac` (for a signing source) and map the body (requestChecker). */
  map(
    source: WebhookSourceName,
    body: Uint8Array,
    receivedAt: number,
    hmac?: HmacHeaders,
  ): Promise<CheckedRequest> | CheckedRequest {
    if (this.#o.threads > 0 && !this.#starting && !this.#closed) this.#starting = this.#start();
    let best: Thread | undefined;
    for (const t of this.#threads) if (t.online && (!best || t.waiting.size < best.waiting.size)) best = t;
    const request: MapRequest = { source, body, receivedAt };
    if (hmac) request.hmac = hmac;
    if (!best) return this.#inline(request);
    const thread = best;
    // A copy of just the body's bytes, handed over (not cloned again): a Buffer may be a view of a larger pool.
    const copy = new Uint8Array(body);
    const job: MapJob = { ...request, id: this.#nextId++, body: copy };
    return new Promise((resolve, reject) => {
      thread.waiting.set(job.id, { request, resolve, reject });
      thread.worker.postMessage(job, [copy.buffer]);
    });
  }

  #inline(request: MapRequest): CheckedRequest {
    this.inline++;
    return this.#check(request);
  }

  async #start(): Promise<void> {
    let where: ThreadCode;
    try {
      where = await (this.#o.threadCode ?? bundledThread)();
    } catch (err) {
      this.#o.logger.error({ err }, 'webhook map threads could not start; mapping on the main thread');
      return;
    }
    const { secret, hmacSecrets, keepNames, keepEmails } = this.#o;
    const data: MapThreadData = { secret, hmacSecrets, keepNames, keepEmails };
    for (let i = 0; i < this.#o.threads && !this.#closed; i++) {
      let worker: Worker;
      try {
        worker = new Worker(where.url, { workerData: { ...where.workerData, ...data } });
      } catch (err) {
        this.#o.logger.error({ err }, 'a webhook map thread could not start; mapping on the main thread');
        return;
      }
      // Sockets keep the gateway alive, not its helpers.
      worker.unref();
      const thread: Thread = { worker, waiting: new Map(), online: false };
      this.#threads.push(thread);
      worker.on('online', () => {
        thread.online = !this.#closed;
      });
      worker.on('message', (reply: MapReply) => {
        const w = thread.waiting.get(reply.id);
        if (!w) return;
        thread.waiting.delete(reply.id);
        // A mapper that threw (a bug, not the sender's fault): the handler fails as it would inline.
        if ('error' in reply) w.reject(new Error(reply.error));
        else w.resolve(reply.outcome);
      });
      const lost = (err?: Error) => {
        if (!this.#threads.includes(thread)) return;
        this.#threads.splice(this.#threads.indexOf(thread), 1);
        thread.online = false;
        if (!this.#closed)
          this.#o.logger.error({ err }, 'a webhook map thread stopped; its requests are mapped inline');
        const orphans = [...thread.waiting.values()];
        thread.waiting.clear();
        for (const w of orphans) {
          try {
            w.resolve(this.#inline(w.request));
          } catch (e) {
            w.reject(e instanceof Error ? e : new Error(String(e)));
          }
        }
      };
      worker.on('error', lost);
      worker.on('exit', () => lost());
    }
  }

  /** Stop the threads; what they hold is mapped inline first, so no request is left without an answer. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting;
    const threads = [...this.#threads];
    for (const t of threads) t.online = false;
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
