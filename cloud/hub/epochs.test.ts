import { describe, expect, it } from 'vitest';
import { decideEpoch } from './epochs.ts';

describe('decideEpoch', () => {
  it('lets receivers without epochs share a partition', () => {
    expect(decideEpoch([undefined, undefined], undefined)).toEqual({ accept: true, evict: [] });
  });

  it('evicts receivers without an epoch or with an equal or lower one', () => {
    expect(decideEpoch([undefined, 1], 1)).toEqual({ accept: true, evict: [0, 1] });
    expect(decideEpoch([3], 5)).toEqual({ accept: true, evict: [0] });
  });

  it('refuses a lower epoch, and no epoch while an epoch receiver owns the partition', () => {
    expect(decideEpoch([5], 3).accept).toBe(false);
    expect(decideEpoch([0], undefined).accept).toBe(false);
  });
});
