import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { HubStore, type NewEvent } from './store.ts';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const dirs: string[] = [];
const stores: HubStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dir?: string): { store: HubStore; dir: string } {
  const d = dir ?? tempDir('ct-hubstore-');
  if (!dir) dirs.push(d);
  const store = new HubStore(join(d, 'hub.db'), {
    hubs: ['Hub'],
    partitions: 2,
    synchronous: 'NORMAL',
    now: () => T0,
  });
  stores.push(store);
  return { store, dir: d };
}

const ev = (partition: number, size: number): NewEvent => ({
  hub: 'hub',
  partition,
  body: Buffer.alloc(size, 1),
  partitionKey: null,
});

describe('HubStore', () => {
  it('numbers events per partition from 0 with byte offsets, and keeps enqueued time monotonic', () => {
    const { store } = open();
    const placed = store.append([ev(0, 10), ev(0, 20), ev(1, 5), ev(0, 7)], T0);
    expect(placed.map((p) => [p.sequenceNumber, p.offset])).toEqual([
      [0, 0],
      [1, 10],
      [0, 0],
      [2, 30],
    ]);
    const later = store.append([ev(0, 1)], T0 - 5000);
    expect(later[0]!.enqueuedMs).toBe(T0);
    expect(store.info('HUB', 0)).toEqual({
      beginSequenceNumber: 0,
      lastSequenceNumber: 3,
      lastOffset: 37,
      lastEnqueuedMs: T0,
      isEmpty: false,
      retainedBytes: 38,
    });
  });

  it('finds start positions by sequence number, offset and enqueued time', () => {
    const { store } = open();
    for (let i = 0; i < 10; i++) store.append([ev(0, 100)], T0 + i * 1000);
    expect(store.firstSequenceNumber('hub', 0, { kind: 'earliest' })).toBe(0);
    expect(store.firstSequenceNumber('hub', 0, { kind: 'latest' })).toBe(10);
    expect(
      store.firstSequenceNumber('hub', 0, { kind: 'sequence', sequenceNumber: 4, inclusive: false }),
    ).toBe(5);
    expect(store.firstSequenceNumber('hub', 0, { kind: 'offset', offset: 400, inclusive: true })).toBe(4);
    expect(store.firstSequenceNumber('hub', 0, { kind: 'offset', offset: 400, inclusive: false })).toBe(5);
    expect(store.firstSequenceNumber('hub', 0, { kind: 'offset', offset: 450, inclusive: true })).toBe(5);
    expect(
      store.firstSequenceNumber('hub', 0, { kind: 'enqueuedTime', enqueuedMs: T0 + 3000, inclusive: false }),
    ).toBe(4);
    expect(
      store.firstSequenceNumber('hub', 0, { kind: 'enqueuedTime', enqueuedMs: T0 + 3000, inclusive: true }),
    ).toBe(3);
    expect(
      store.firstSequenceNumber('hub', 0, { kind: 'enqueuedTime', enqueuedMs: T0 + 99_000, inclusive: true }),
    ).toBe(10);
    expect(store.read('hub', 0, 8, 5).map((e) => e.sequenceNumber)).toEqual([8, 9]);
  });

  it('survives reopening with its counters', () => {
    const a = open();
    a.store.append([ev(1, 50), ev(1, 50)], T0);
    a.store.close();
    const b = open(a.dir);
    expect(b.store.info('hub', 1)).toMatchObject({
      lastSequenceNumber: 1,
      lastOffset: 50,
      retainedBytes: 100,
    });
    expect(b.store.append([ev(1, 1)], T0)[0]).toMatchObject({ sequenceNumber: 2, offset: 100 });
  });

  it('retains by age and by size, from the head of each partition only', () => {
    const { store } = open();
    for (let i = 0; i < 10; i++) store.append([ev(0, 100), ev(1, 100)], T0 + i * 1000);
    // Age: events enqueued before T0+3000 go (seq 0,1,2 in both partitions).
    expect(store.retain(T0 + 13_000, 10_000, 10_000)).toBe(6);
    expect(store.info('hub', 0)).toMatchObject({ beginSequenceNumber: 3, retainedBytes: 700 });
    // Size: at most 450 bytes per partition → 4 events of 100 bytes remain.
    expect(store.retain(T0 + 13_000, 10_000, 450)).toBe(6);
    expect(store.info('hub', 1)).toMatchObject({
      beginSequenceNumber: 6,
      lastSequenceNumber: 9,
      retainedBytes: 400,
    });
    expect(store.read('hub', 1, 0, 100).map((e) => e.sequenceNumber)).toEqual([6, 7, 8, 9]);
    // Everything expires: the partition is empty but keeps its last-enqueued facts.
    expect(store.retain(T0 + 60_000, 10_000, 450)).toBe(8);
    expect(store.info('hub', 0)).toMatchObject({
      beginSequenceNumber: 10,
      lastSequenceNumber: 9,
      isEmpty: true,
    });
    expect(store.firstSequenceNumber('hub', 0, { kind: 'earliest' })).toBe(10);
  });
});
