import { describe, expect, it } from 'vitest';
import { settledWithin } from './within.ts';

describe('settledWithin', () => {
  it('is true for a promise that resolves or rejects in time, false for one that never settles', async () => {
    expect(await settledWithin(Promise.resolve(1), 1_000)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('x')), 1_000)).toBe(true);
    const t0 = Date.now();
    expect(await settledWithin(new Promise(() => {}), 50)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
  });
});
