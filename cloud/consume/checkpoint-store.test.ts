import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { DbCheckpointStore } from './checkpoint-store.ts';

describe('DbCheckpointStore (the SDK CheckpointStore over the cloud store)', () => {
  let store: SqliteCloudStore | undefined;
  afterEach(async () => store?.close());

  it('claims, refuses a stale etag, and lists checkpoints the SDK starts from', async () => {
    store = new SqliteCloudStore({ file: ':memory:' });
    let t = 1000;
    const cps = new DbCheckpointStore(store, () => t);
    const base = { fullyQualifiedNamespace: 'ns', eventHubName: 'h', consumerGroup: '$Default' };
    const [mine] = await cps.claimOwnership([{ ...base, partitionId: '0', ownerId: 'p1' }]);
    expect(mine).toMatchObject({ ownerId: 'p1', lastModifiedTimeInMs: 1000 });
    t = 2000;
    const [theirs] = await cps.claimOwnership([
      { ...base, partitionId: '0', ownerId: 'p2', etag: mine!.etag! },
    ]);
    expect(theirs?.ownerId).toBe('p2');
    expect(
      await cps.claimOwnership([{ ...base, partitionId: '0', ownerId: 'p1', etag: mine!.etag! }]),
    ).toEqual([]);
    expect((await cps.listOwnership('ns', 'h', '$Default')).map((o) => o.ownerId)).toEqual(['p2']);
    await cps.updateCheckpoint({ ...base, partitionId: '0', sequenceNumber: 5, offset: '500' });
    expect(await cps.listCheckpoints('ns', 'h', '$Default')).toEqual([
      { ...base, partitionId: '0', sequenceNumber: 5, offset: '500' },
    ]);
  });
});
