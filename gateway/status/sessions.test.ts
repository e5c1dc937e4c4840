import { describe, expect, it } from 'vitest';
import { cookieValue, SessionStore } from './sessions.ts';

const H = 3600_000;

describe('SessionStore', () => {
  it('keeps a session alive while it is used, up to its maximum age', () => {
    const s = new SessionStore({ idleMs: 2 * H, maxAgeMs: 12 * H });
    const a = s.create('facilities', 0);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.create('facilities', 0).id).not.toBe(a.id);
    for (let t = H; t <= 12 * H; t += H) expect(s.touch(a.id, t)?.username).toBe('facilities');
    expect(s.touch(a.id, 12 * H + 1)).toBeUndefined();
    expect(s.touch(a.id, 12 * H + 2)).toBeUndefined(); // gone, not just refused once
  });

  it('ends a session idle for longer than idleMs', () => {
    const s = new SessionStore({ idleMs: 2 * H, maxAgeMs: 12 * H });
    const a = s.create('x', 0);
    expect(s.alive(a.id, 2 * H)).toBe(true);
    expect(s.alive(a.id, 2 * H + 1)).toBe(false); // alive() does not restart the idle timer
    expect(s.touch(a.id, 2 * H)).toBeDefined();
    expect(s.touch(a.id, 4 * H + 1)).toBeUndefined();
  });

  it('deletes on logout and drops the oldest beyond maxSessions', () => {
    const s = new SessionStore({ maxSessions: 2 });
    const a = s.create('a', 0);
    const b = s.create('b', 1);
    const c = s.create('c', 2);
    expect(s.size).toBe(2);
    expect(s.touch(a.id, 3)).toBeUndefined();
    expect(s.delete(b.id)).toBe(true);
    expect(s.touch(b.id, 3)).toBeUndefined();
    expect(s.touch(c.id, 3)?.username).toBe('c');
    expect(s.touch('unknown', 3)).toBeUndefined();
  });

  it('blocks an address after maxFailures within the window, until the oldest of them leaves it', () => {
    const s = new SessionStore({ maxFailures: 3, failureWindowMs: 60_000 });
    s.recordFailure('10.0.0.1', 0);
    s.recordFailure('10.0.0.1', 10_000);
    expect(s.blockedFor('10.0.0.1', 10_000)).toBe(0);
    s.recordFailure('10.0.0.1', 20_000);
    expect(s.blockedFor('10.0.0.1', 20_000)).toBe(40_000);
    expect(s.blockedFor('10.0.0.2', 20_000)).toBe(0);
    expect(s.blockedFor('10.0.0.1', 59_999)).toBe(1);
    expect(s.blockedFor('10.0.0.1', 60_000)).toBe(0);
    s.recordFailure('10.0.0.1', 61_000);
    s.clearFailures('10.0.0.1');
    expect(s.blockedFor('10.0.0.1', 61_000)).toBe(0);
  });
});

describe('cookieValue', () => {
  it('finds one cookie among several, by exact name', () => {
    expect(cookieValue('a=1; ct_session=abc; b=2', 'ct_session')).toBe('abc');
    expect(cookieValue('xct_session=no; ct_session=yes', 'ct_session')).toBe('yes');
    expect(cookieValue('ct_session=', 'ct_session')).toBe('');
    expect(cookieValue('other=1', 'ct_session')).toBeUndefined();
    expect(cookieValue(undefined, 'ct_session')).toBeUndefined();
  });
});
