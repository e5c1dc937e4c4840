import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LearningEvent } from '../../shared/events.ts';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { sameEvent } from './events.ts';
import { EventJournal, GatewayStore, type StoreOptions } from './index.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const OPTS: StoreOptions = {
  synchronous: 'FULL',
  quotaBytes: 10_000_000,
  windowMs: 60_000,
  forwardRaw: false,
  quarantineMaxRows: 100,
  quarantineMaxPayloadBytes: 64,
};

const ev = (n: number): LearningEvent => ({
  eventId: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  source: 'caliper',
  type: 'resource.viewed',
  originalType: 'ViewEvent.Viewed',
  actorId: 'p_AAAAAAAAAAAAAAAAAAAAAA',
  courseId: 'course-1',
  objectId: 'doc-1',
  ts: T0 + n,
  receivedAt: T0,
});

describe('EventJournal', () => {
  let dir = '';
  let store: GatewayStore | undefined;
  afterEach(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (quotaBytes = OPTS.quotaBytes) => {
    dir = tempDir();
    store = new GatewayStore(join(dir, 'gateway.db'), { ...OPTS, quotaBytes });
    return { store, journal: new EventJournal(store, { maxRowsPerCommit: 10_000, now: () => T0 }) };
  };

  it('stores each event once, with its outbox item, in one commit for concurrent submissions', async () => {
    const { store, journal } = open();
    let commits = 0;
    journal.onCommit = () => commits++;
    const results = await Promise.all([
      journal.submit([ev(1), ev(2)]),
      journal.submit([ev(2), ev(3)]),
      journal.submit([ev(3)]),
    ]);
    expect(commits).toBe(1);
    expect(results).toEqual([
      { status: 'stored', accepted: 2, duplicates: 0, conflicts: [] },
      { status: 'stored', accepted: 1, duplicates: 1, conflicts: [] },
      { status: 'stored', accepted: 0, duplicates: 1, conflicts: [] },
    ]);
    expect(journal.rows()).toBe(3);
    const items = store.outbox.peek('event', 10);
    expect(items.map((i) => i.itemId)).toEqual([ev(1).eventId, ev(2).eventId, ev(3).eventId]);
    expect(JSON.parse(items[0]!.body)).toEqual(ev(1));
    expect(await journal.submit([ev(1)])).toEqual({
      status: 'stored',
      accepted: 0,
      duplicates: 1,
      conflicts: [],
    });
    expect(store.outbox.stats(T0).event.rows).toBe(3);
  });

  it('refuses a submission that does not fit the outbox as a whole, storing nothing of it', async () => {
    const { store, journal } = open(1500);
    const [small, big] = await Promise.all([
      journal.submit([ev(1)]),
      journal.submit(Array.from({ length: 20 }, (_, i) => ev(100 + i))),
    ]);
    expect(small).toMatchObject({ status: 'stored', accepted: 1 });
    expect(big).toMatchObject({ status: 'refused' });
    expect(journal.rows()).toBe(1);
    expect(store.outbox.stats(T0).event.rows).toBe(1);
    // A resend of what is stored is still an idempotent success when full.
    expect(await journal.submit([ev(1)])).toEqual({
      status: 'stored',
      accepted: 0,
      duplicates: 1,
      conflicts: [],
    });
  });

  it('near the quota, stores a submission whose new events fit once its resent ones are discounted', async () => {
    const itemBytes = Buffer.byteLength(JSON.stringify(ev(1))) + ev(1).eventId.length + 32;
    // Room for two items: one stored + two counted as new would not fit, one stored + one new does.
    const { store, journal } = open(Math.floor(2.5 * itemBytes));
    expect(await journal.submit([ev(1)])).toEqual({
      status: 'stored',
      accepted: 1,
      duplicates: 0,
      conflicts: [],
    });
    expect(await journal.submit([ev(1), ev(2)])).toEqual({
      status: 'stored',
      accepted: 1,
      duplicates: 1,
      conflicts: [],
    });
    expect(journal.rows()).toBe(2);
    expect(store.outbox.peek('event', 10).map((i) => i.itemId)).toEqual([ev(1).eventId, ev(2).eventId]);
  });

  it('prunes events received before the retention cutoff once sent, oldest first', async () => {
    const { store, journal } = open();
    await journal.submit([
      { ...ev(1), receivedAt: T0 - 10_000 },
      { ...ev(2), receivedAt: T0 - 5_000 },
      ev(3),
    ]);
    // Not while they wait in the outbox: their bodies are kept in the journal only.
    expect(journal.prune(T0 - 1_000)).toBe(0);
    const waiting = store.outbox.peek('event', 10);
    expect(waiting.map((i) => JSON.parse(i.body).eventId)).toEqual([1, 2, 3].map((n) => ev(n).eventId));
    // Once sent, they go, oldest first.
    store.transaction(() => store.outbox.remove('event', [waiting[0]!.seq, waiting[1]!.seq]))();
    expect(journal.prune(T0 - 1_000, 1)).toBe(1);
    expect(journal.prune(T0 - 1_000)).toBe(1);
    expect(journal.rows()).toBe(1);
    expect(store.outbox.peek('event', 10).map((i) => JSON.parse(i.body).eventId)).toEqual([ev(3).eventId]);
  });

  it('quarantines rejections in the same commit', async () => {
    const { store, journal } = open();
    await journal.submit(
      [],
      [
        {
          at: T0,
          source: 'webhook:xapi',
          deviceId: undefined,
          topic: '/webhooks/lms/xapi',
          code: 'CT_ERR_SCHEMA',
          message: 'x',
          payload: Buffer.from('y'.repeat(100)),
        },
      ],
    );
    const q = store.recentQuarantine(5);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ source: 'webhook:xapi', code: 'CT_ERR_SCHEMA', payload: 'y'.repeat(64) });
  });
});

describe('sameEvent (idempotency)', () => {
  const e = {
    eventId: 'x',
    source: 'caliper',
    type: 'resource.viewed',
    ts: 100,
    receivedAt: 500,
    actorId: 'p_1',
  };
  const text = (over: Record<string, unknown>) => JSON.stringify({ ...e, ...over });
  it('ignores when the gateway received it, and a time the sender never gave', () => {
    expect(sameEvent(text({}), text({ receivedAt: 900 }))).toBe(true);
    expect(sameEvent(text({ ts: 500, receivedAt: 500 }), text({ ts: 900, receivedAt: 900 }))).toBe(true);
  });
  it('tells a changed event apart', () => {
    expect(sameEvent(text({}), text({ ts: 101 }))).toBe(false);
    expect(sameEvent(text({}), text({ actorId: 'p_2' }))).toBe(false);
    // A time given on one copy only is a change.
    expect(sameEvent(text({ ts: 500, receivedAt: 500 }), text({ ts: 100, receivedAt: 900 }))).toBe(false);
  });
});
