import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../../shared/wire.ts';
import { agg, aggItem, rng, shuffle } from '../store/contract.ts';
import { mergeAll, mergeWindows, newerState, toWindow } from './merge.ts';
import { prepareEvent } from './prepare.ts';

describe('aggregate merge', () => {
  it('adds count and sum, keeps min/max, first by smallest firstTs and last by largest lastTs', () => {
    const a = agg({
      windowStart: 0,
      count: 2,
      sum: 40,
      min: 19,
      max: 21,
      first: 19,
      firstTs: 5,
      last: 21,
      lastTs: 50,
    });
    const b = agg({
      windowStart: 0,
      late: true,
      count: 1,
      sum: 25,
      min: 25,
      max: 25,
      first: 25,
      firstTs: 2,
      last: 25,
      lastTs: 2,
    });
    expect(mergeWindows(toWindow(a), b)).toMatchObject({
      count: 3,
      sum: 65,
      mean: 65 / 3,
      min: 19,
      max: 25,
      first: 25,
      firstTs: 2,
      last: 21,
      lastTs: 50,
    });
  });

  it('breaks ts ties by value, so the result does not depend on order', () => {
    const a = agg({ windowStart: 0, first: 1, firstTs: 10, last: 1, lastTs: 20 });
    const b = agg({ windowStart: 0, late: true, first: 2, firstTs: 10, last: 2, lastTs: 20 });
    expect(mergeWindows(toWindow(a), b)).toEqual(mergeWindows(toWindow(b), a));
    expect(mergeWindows(toWindow(a), b)).toMatchObject({ first: 1, last: 2 });
  });

  it('gives the same windows for any order of the same items (property, 50 shuffles)', () => {
    const rand = rng(42);
    const items = [];
    for (let i = 0; i < 40; i++) {
      const windowStart = (i % 5) * 60_000;
      const firstTs = windowStart + Math.floor(rand() * 60_000);
      items.push(
        agg({
          windowStart,
          late: i >= 5,
          count: 1 + Math.floor(rand() * 9),
          sum: Math.floor(rand() * 100) / 4,
          min: Math.floor(rand() * 10),
          max: 10 + Math.floor(rand() * 10),
          first: Math.floor(rand() * 20),
          firstTs,
          last: Math.floor(rand() * 20),
          lastTs: firstTs + Math.floor(rand() * 3) * 1000,
        }),
      );
    }
    const expected = mergeAll(items);
    for (let k = 0; k < 50; k++) expect(mergeAll(shuffle(items, rand))).toEqual(expected);
  });
});

describe('room state', () => {
  it('is last-writer-wins by event time, then item id', () => {
    expect(newerState(undefined, { state: 'a', ts: 1, itemId: 'x' })).toBe(true);
    expect(newerState({ state: 'a', ts: 2, itemId: 'x' }, { state: 'b', ts: 1, itemId: 'z' })).toBe(false);
    expect(newerState({ state: 'a', ts: 2, itemId: 'x' }, { state: 'b', ts: 2, itemId: 'y' })).toBe(true);
  });
});

describe('prepareEvent', () => {
  const opts = { maxEventBytes: 4096, maxBodyBytes: 64 };
  const pos = { sequenceNumber: 7, offset: '70', enqueuedTimeMs: 1 };

  it('decodes and validates each item; invalid items are set aside with a reason', () => {
    const good = aggItem(agg({ windowStart: 0 }));
    const bad = { id: 'x', body: { ...agg({ windowStart: 60_000 }), min: 30, max: 10 } };
    const { body, properties } = encodeBatch('aggregate', 'gw', 'b', [good, bad]);
    const p = prepareEvent({ ...pos, properties, body }, opts);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.items.map((i) => i.id)).toEqual([good.id]);
    expect(p.invalid).toHaveLength(1);
    expect(p.invalid[0]!.reason).toContain('min ≤ max');
    expect(p.invalid[0]!.body.length).toBeLessThanOrEqual(64);
  });

  it('refuses an oversized event before decoding it', () => {
    const p = prepareEvent(
      { ...pos, properties: { gatewayId: 'gw', batchId: 'b' }, body: Buffer.alloc(5000) },
      opts,
    );
    expect(p).toMatchObject({
      ok: false,
      code: 'CT_ERR_PAYLOAD_TOO_LARGE',
      header: { gatewayId: 'gw', batchId: 'b' },
    });
  });

  it('passes decode failures through with their wire code', () => {
    const { body, properties } = encodeBatch('twin', 'gw', 'b', [{ id: 'a', body: { x: 1 } }]);
    const p = prepareEvent({ ...pos, properties: { ...properties, itemCount: 3 }, body }, opts);
    expect(p).toMatchObject({ ok: false, code: 'CT_ERR_WIRE_SCHEMA' });
    if (!p.ok) expect(p.reason).toContain('itemCount 3');
    const q = prepareEvent({ ...pos, properties: { ...properties, schema: 'nope' }, body }, opts);
    expect(q).toMatchObject({ ok: false, code: 'CT_ERR_WIRE_SCHEMA' });
  });

  it('checks learning/admin events against the canonical type sets', () => {
    const ok = { eventId: 'e1', source: 'admin', type: 'room.booked', ts: 5, roomId: 'r1' };
    const bad = { eventId: 'e2', source: 'caliper', type: 'made.up', ts: 5 };
    const { body, properties } = encodeBatch('event', 'gw', 'b', [
      { id: 'e1', body: ok },
      { id: 'e2', body: bad },
    ]);
    const p = prepareEvent({ ...pos, properties, body }, opts);
    expect(p.ok && p.items.map((i) => i.id)).toEqual(['e1']);
    expect(p.ok && p.invalid[0]?.reason).toContain('type');
  });

  it('rejects an item of the wrong shape for its class', () => {
    const { body, properties } = encodeBatch('twin', 'gw', 'b', [{ id: 'a', body: { x: 1 } }]);
    const p = prepareEvent({ ...pos, properties, body }, opts);
    expect(p.ok && p.items.length === 0 && p.invalid.length === 1).toBe(true);
  });
});
