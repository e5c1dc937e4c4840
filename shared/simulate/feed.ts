/**
 * A simulated system posting to one of the gateway's webhooks as time passes: each tick sends the events
 * `eventsBetween(from, to)` gives for the time since the last one (signed, in batches, one request at a
 * time, in order) and counts what the gateway answered. The LMS cohort and the admin systems are both fed
 * this way.
 */
import { replayOverWebhook, type WebhookReplayOptions } from '../replay/webhooks.ts';

export interface WebhookFeedOptions {
  url: string;
  source: WebhookReplayOptions['source'];
  /** The webhook's HMAC secret, or its bearer token (whichever the gateway is configured with). */
  secret?: string;
  bearer?: string;
  intervalMs: number;
  now?: () => number;
  onError?: (err: Error) => void;
}

export interface WebhookFeed {
  readonly posted: number;
  /** Accepted or recognised as duplicates. */
  readonly accepted: number;
  readonly refused: number;
  stop(): Promise<void>;
}

/** Starts at `from` (a first tick at once sends what is already due), then every intervalMs. */
export function startWebhookFeed(
  opts: WebhookFeedOptions,
  from: number,
  eventsBetween: (from: number, to: number) => Record<string, unknown>[],
): WebhookFeed {
  const now = opts.now ?? Date.now;
  let posted = 0;
  let accepted = 0;
  let refused = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    const to = now();
    const batch = eventsBetween(from, to);
    from = to;
    if (batch.length === 0) return;
    running = running
      .then(() =>
        replayOverWebhook(batch, {
          url: opts.url,
          source: opts.source,
          ...(opts.secret ? { secret: opts.secret } : {}),
          ...(opts.bearer ? { bearer: opts.bearer } : {}),
          batch: 100,
          concurrency: 1,
        }),
      )
      .then((r) => {
        posted += r.events;
        accepted += r.accepted + r.duplicates;
        refused += Object.values(r.refusedByCode).reduce((a, b) => a + b, 0);
      })
      .catch((err: unknown) => opts.onError?.(err instanceof Error ? err : new Error(String(err))));
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs);
  return {
    get posted() {
      return posted;
    },
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
