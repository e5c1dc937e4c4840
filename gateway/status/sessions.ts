/**
 * Staff sessions for the status page: an unguessable id (32 random bytes) per login, held in memory only
 * (a gateway restart logs everyone out, which is fine for a status page), expiring after `idleMs` without
 * a request or `maxAgeMs` after the login, whichever comes first. Failed logins are counted per client
 * address so that password guessing is slowed down: after `maxFailures` in `failureWindowMs` the address
 * is refused until the window has passed. Pure apart from the random id; the clock is passed in.
 */
import { randomBytes } from 'node:crypto';

export interface SessionOptions {
  idleMs: number;
  maxAgeMs: number;
  maxFailures: number;
  failureWindowMs: number;
  /** At most this many live sessions (the oldest is dropped), so logins cannot fill memory. */
  maxSessions: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  idleMs: 2 * 3600_000,
  maxAgeMs: 12 * 3600_000,
  maxFailures: 5,
  failureWindowMs: 5 * 60_000,
  maxSessions: 1000,
};

export interface Session {
  id: string;
  username: string;
  createdAt: number;
  lastSeenAt: number;
}

export class SessionStore {
  readonly #opts: SessionOptions;
  /** Insertion order is login order (Map), so the first entry is the oldest. */
  readonly #sessions = new Map<string, Session>();
  readonly #failures = new Map<string, number[]>();

  constructor(opts: Partial<SessionOptions> = {}) {
    this.#opts = { ...DEFAULT_SESSION_OPTIONS, ...opts };
  }

  create(username: string, now: number): Session {
    this.#sweep(now);
    while (this.#sessions.size >= this.#opts.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session = { id: randomBytes(32).toString('base64url'), username, createdAt: now, lastSeenAt: now };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its idle timer restarted), or undefined. */
  touch(id: string, now: number): Session | undefined {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (now - s.lastSeenAt > this.#opts.idleMs || now - s.createdAt > this.#opts.maxAgeMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.lastSeenAt = now;
    return s;
  }

  /** The session exists and has not expired (without restarting its idle timer). */
  alive(id: string, now: number): boolean {
    const s = this.#sessions.get(id);
    return !!s && now - s.lastSeenAt <= this.#opts.idleMs && now - s.createdAt <= this.#opts.maxAgeMs;
  }

  delete(id: string): boolean {
    return this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Seconds a cookie for a new session should live (the absolute limit; the idle one is ours). */
  get maxAgeSeconds(): number {
    return Math.floor(this.#opts.maxAgeMs / 1000);
  }

  /** Milliseconds until this address may try again, or 0 when it may now. */
  blockedFor(address: string, now: number): number {
    const recent = this.#recentFailures(address, now);
    if (recent.length < this.#opts.maxFailures) return 0;
    return recent[recent.length - this.#opts.maxFailures]! + this.#opts.failureWindowMs - now;
  }

  recordFailure(address: string, now: number): void {
    const recent = this.#recentFailures(address, now);
    recent.push(now);
    // Only the last maxFailures matter for blockedFor.
    this.#failures.set(address, recent.slice(-this.#opts.maxFailures));
    if (this.#failures.size > 10_000) this.#failures.delete(this.#failures.keys().next().value!);
  }

  clearFailures(address: string): void {
    this.#failures.delete(address);
  }

  #recentFailures(address: string, now: number): number[] {
    return (this.#failures.get(address) ?? []).filter((t) => now - t < this.#opts.failureWindowMs);
  }

  #sweep(now: number): void {
    for (const [id, s] of this.#sessions) {
      if (now - s.lastSeenAt > this.#opts.idleMs || now - s.createdAt > this.#opts.maxAgeMs)
        this.#sessions.delete(id);
    }
  }
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
