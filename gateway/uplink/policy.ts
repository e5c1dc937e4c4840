/**
 * The uplink's decisions, pure: which class to send next, how long to back off, how fast the backlog may
 * drain, and the drain rate and ETA shown on the status page. Time and randomness come in as arguments.
 */
import type { OutboxClass } from '../journal/schema.ts';

/** DESIGN.md: alerts > twin changes > learning/admin events > aggregates > raw readings. */
export const PRIORITY: readonly OutboxClass[] = ['alert', 'twin', 'event', 'aggregate', 'raw'];

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
}

/** Exponential backoff with "full jitter": uniform in [base/2, min(max, base·2^attempt)]. */
export function backoffDelayMs(attempt: number, cfg: BackoffConfig, random: number): number {
  const ceiling = Math.min(cfg.maxMs, cfg.baseMs * 2 ** Math.min(attempt, 30));
  const floor = Math.min(ceiling, cfg.baseMs / 2);
  return Math.round(floor + (ceiling - floor) * random);
}

/** What the outbox holds for one class, split at the live/backlog boundary. */
export interface ClassView {
  cls: OutboxClass;
  /** created_at of the oldest live item (≥ now − liveWindowMs), if any. */
  oldestLiveAt: number | null;
  /** Whether any item older than the live window waits. */
  hasBacklog: boolean;
}

export type NextSend =
  | { kind: 'live'; cls: OutboxClass; since: number }
  | { kind: 'backlog'; cls: OutboxClass }
  | { kind: 'wait'; ms: number };

export interface PickConfig {
  liveWindowMs: number;
  lingerMs: Readonly<Record<OutboxClass, number>>;
  /** Longest idle wait before looking again (new items also wake the loop). */
  idleMs: number;
}

/**
 * Live data first, by priority, once it has lingered long enough to share an event; then backlog by
 * priority while the drain budget allows; otherwise the time until something becomes due.
 */
export function pickNext(
  views: readonly ClassView[],
  now: number,
  cfg: PickConfig,
  backlogWaitMs: number,
): NextSend {
  const since = now - cfg.liveWindowMs;
  let wait = cfg.idleMs;
  for (const cls of PRIORITY) {
    const v = views.find((x) => x.cls === cls);
    if (!v || v.oldestLiveAt === null) continue;
    const due = v.oldestLiveAt + cfg.lingerMs[cls] - now;
    if (due <= 0) return { kind: 'live', cls, since };
    wait = Math.min(wait, due);
  }
  for (const cls of PRIORITY) {
    const v = views.find((x) => x.cls === cls);
    if (!v?.hasBacklog) continue;
    if (backlogWaitMs <= 0) return { kind: 'backlog', cls };
    wait = Math.min(wait, backlogWaitMs);
    break;
  }
  return { kind: 'wait', ms: Math.max(1, wait) };
}

/** A token bucket in bytes that may go into debt by one event (an event is never split for the cap). */
export class DrainBudget {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(bytesPerSec: number, now: number) {
    this.#rate = bytesPerSec;
    this.#burst = Math.max(bytesPerSec, 1);
    this.#tokens = this.#burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (this.#rate <= 0) return;
    // A clock stepped back (NTP) must not put the budget into debt for the size of the step.
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) * this.#rate) / 1000);
    this.#at = now;
  }

  /** 0 when a backlog event may go now, else the ms until the debt is paid. */
  waitMs(now: number): number {
    if (this.#rate <= 0) return 0;
    this.#refill(now);
    return this.#tokens > 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#rate) + 1;
  }

  spend(bytes: number, now: number): void {
    if (this.#rate <= 0) return;
    this.#refill(now);
    this.#tokens -= bytes;
  }
}

/** Items sent per second over a sliding window, for the drain rate and ETA. */
export class RateMeter {
  readonly #windowMs: number;
  readonly #samples: { at: number; n: number }[] = [];

  constructor(windowMs = 60_000) {
    this.#windowMs = windowMs;
  }

  add(n: number, now: number): void {
    this.#samples.push({ at: now, n });
    this.#trim(now);
  }

  #trim(now: number): void {
    while (this.#samples.length > 0 && this.#samples[0]!.at < now - this.#windowMs) this.#samples.shift();
  }

  /**
   * The rate over the last few seconds of sending (at most `recentMs`): a drain that just started is not
   * averaged with a lone send from a minute ago (which once read 3,806 s for a 10 s drain).
   */
  perSec(now: number, recentMs = 5000): number {
    this.#trim(now);
    let total = 0;
    let first: number | undefined;
    for (let i = this.#samples.length - 1; i >= 0; i--) {
      const s = this.#samples[i]!;
      if (s.at < now - recentMs) break;
      total += s.n;
      first = s.at;
    }
    if (first === undefined) return 0;
    return (total * 1000) / Math.max(1000, now - first);
  }
}

/** Seconds to drain the backlog at the rate; null while unknown (nothing sent lately). */
export function etaSeconds(backlogRows: number, ratePerSec: number): number | null {
  if (backlogRows === 0) return 0;
  return ratePerSec > 0 ? Math.ceil(backlogRows / ratePerSec) : null;
}
