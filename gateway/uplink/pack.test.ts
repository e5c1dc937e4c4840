import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../shared/wire.ts';
import type { OutboxRow } from '../journal/outbox.ts';
import { packRows } from './pack.ts';

/** Webhook request rows (EventJournal): each a JSON array of `per` events. */
function requestRows(n: number, per: number): OutboxRow[] {
  return Array.from({ length: n }, (_, r) => {
    const events = Array.from({ length: per }, (_, k) => ({
      eventId: `urn:uuid:${r}-${k}`,
      type: 'resource.viewed',
      actorId: `p-${(r * per + k) * 7919}-${Math.sin(r * per + k).toFixed(12)}`,
    }));
    return {
      seq: r + 1,
      itemId: `req:${r + 1}`,
      createdAt: 0,
      bytes: 64 * per,
      body: JSON.stringify(events),
      items: per,
    };
  });
}

function rows(n: number): OutboxRow[] {
  return Array.from({ length: n }, (_, i) => {
    // Incompressible enough that size grows with n.
    const body = { alertId: `a-${i}`, message: `m-${(i * 7919) % 104729}-${Math.sin(i).toFixed(12)}` };
    return { seq: i + 1, itemId: `a-${i}`, createdAt: 0, bytes: 64, body: JSON.stringify(body), items: 1 };
  });
}

describe('packRows', () => {
  it('packs everything that fits, in one event that decodes to the same items', async () => {
    const packed = await packRows('alert', rows(50), {
      gatewayId: 'gw-1',
      campusId: 'north',
      batchId: 'b-1',
    });
    expect(packed.seqs).toHaveLength(50);
    const decoded = decodeBatch(packed.properties, packed.body);
    expect(decoded.ok && decoded.header).toMatchObject({
      gatewayId: 'gw-1',
      campusId: 'north',
      batchId: 'b-1',
    });
    expect(decoded.ok && decoded.items.map((i) => i.id).sort()).toEqual(
      rows(50)
        .map((r) => r.itemId)
        .sort(),
    );
  });

  it('takes the oldest prefix that fits under the byte limit', async () => {
    const all = await packRows('alert', rows(2_000), {
      gatewayId: 'gw-1',
      campusId: 'north',
      batchId: 'b-2',
    });
    const limit = Math.floor(all.body.length / 3);
    const part = await packRows(
      'alert',
      rows(2_000),
      { gatewayId: 'gw-1', campusId: 'north', batchId: 'b-2' },
      limit,
    );
    expect(part.body.length).toBeLessThanOrEqual(limit);
    expect(part.seqs.length).toBeGreaterThan(400);
    expect(part.seqs.length).toBeLessThan(2_000);
    expect(part.seqs).toEqual(Array.from({ length: part.seqs.length }, (_, i) => i + 1));
    expect(part.properties.itemCount).toBe(part.seqs.length);
  });

  it('returns a lone oversized item over the limit for the caller to drop', async () => {
    const one = await packRows(
      'alert',
      rows(1),
      { gatewayId: 'gw-1', campusId: 'north', batchId: 'b-3' },
      10,
    );
    expect(one.seqs).toEqual([1]);
    expect(one.body.length).toBeGreaterThan(10);
  });

  it("sends a webhook request row's events as items of their own, and cuts only between rows", async () => {
    const origin = { gatewayId: 'gw-1', campusId: 'north', batchId: 'b-4' };
    const all = await packRows('event', requestRows(40, 25), origin);
    const decoded = decodeBatch(all.properties, all.body);
    expect(decoded.ok && decoded.items.length).toBe(1_000);
    expect(decoded.ok && decoded.items.find((i) => i.id === 'urn:uuid:3-7')?.body).toMatchObject({
      eventId: 'urn:uuid:3-7',
      type: 'resource.viewed',
    });
    const part = await packRows('event', requestRows(40, 25), origin, Math.floor(all.body.length / 4));
    const partItems = decodeBatch(part.properties, part.body);
    expect(part.seqs.length).toBeGreaterThan(1);
    expect(part.seqs.length).toBeLessThan(40);
    // Whole rows: every event of each row sent, none of the next.
    expect(partItems.ok && partItems.items.length).toBe(part.seqs.length * 25);
    expect(part.properties.itemCount).toBe(part.seqs.length * 25);
  });
});
