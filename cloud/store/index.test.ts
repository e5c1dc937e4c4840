import { describe, expect, it } from 'vitest';
import { deferredStore } from './index.ts';
import { SqliteCloudStore } from './sqlite.ts';
import type { CloudStore } from './types.ts';

describe('deferredStore', () => {
  it('forwards every call to the store once it is open', async () => {
    let open!: (s: CloudStore) => void;
    const store = deferredStore(new Promise<CloudStore>((resolve) => (open = resolve)));
    const pending = store.counts();
    open(new SqliteCloudStore({ file: ':memory:' }));
    expect(await pending).toMatchObject({ readingsRepresented: 0, quarantined: 0 });
    expect(await store.gateways()).toEqual([]);
    // Not a thenable: awaiting the store itself gives the store.
    expect(await Promise.resolve(store)).toBe(store);
    await store.close();
  });

  it('fails every call with the reason the store could not be opened', async () => {
    const store = deferredStore(Promise.reject(new Error('password authentication failed')));
    await expect(store.dataVersion()).rejects.toThrow('password authentication failed');
    await expect(store.close()).rejects.toThrow('password authentication failed');
  });
});
