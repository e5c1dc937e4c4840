import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../shared/wire.ts';
import type { OutboxRow } from '../journal/outbox.ts';
import { packRows } from './pack.ts';

function rows(n: number): OutboxRow[] {
  return Array.from({ length: n }, (_, i) => {
    // Incompressible enough that size grows with n.
    const body = { alertId: `a-${i}`, message: `m-${(i * 7919) % 104729}-${Math.sin(i).toFixed(12)}` };
    return { seq: i + 1, itemId: `a-${i}`, createdAt: 0, bytes: 64, body: JSON.stringify(body) };
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
});
