import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Aggregate } from './events.ts';
import {
  aggregateItemId,
  decodeBatch,
  encodeBatch,
  encodeBatchAsync,
  parseSchemaName,
  schemaName,
  type WireItem,
} from './wire.ts';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);

function agg(i: number, late = false): Aggregate {
  return {
    deviceId: `env-${i}`,
    channel: 'co2',
    roomId: 'r-101',
    quantity: 'co2',
    unit: 'ppm',
    windowStart: T0,
    windowMs: 60_000,
    count: 6,
    min: 400 + i,
    max: 450 + i,
    sum: 2_550.5 + i,
    mean: (2_550.5 + i) / 6,
    first: 401,
    firstTs: T0 + 1_000,
    last: 449,
    lastTs: T0 + 51_000,
    late,
  };
}

describe('wire format', () => {
  it('round-trips items of a class, with derived aggregate ids left off the wire', () => {
    const items: WireItem[] = [agg(1), agg(2), agg(3, true)].map((a) => ({
      id: aggregateItemId(a),
      body: { ...a },
    }));
    const { body, properties } = encodeBatch('aggregate', 'gw-1', 'b-1', items);
    expect(properties).toEqual({
      schema: 'campus-twin.aggregate.v1',
      gatewayId: 'gw-1',
      batchId: 'b-1',
      itemCount: 3,
      contentEncoding: 'gzip',
    });
    const decoded = decodeBatch(properties, body);
    expect(decoded).toEqual({
      ok: true,
      header: { cls: 'aggregate', version: 1, gatewayId: 'gw-1', batchId: 'b-1', itemCount: 3 },
      items,
    });
    expect(body.toString('latin1')).not.toContain('agg:env-1');
  });

  it('keeps ids that are not derivable, and optional fields absent where an item lacks them', () => {
    const items: WireItem[] = [
      { id: 'twin:r-1:health:env-1:5', body: { roomId: 'r-1', kind: 'health', deviceId: 'env-1', ts: 5 } },
      { id: 'twin:r-1:occupancy::6', body: { roomId: 'r-1', kind: 'occupancy', ts: 6 } },
    ];
    const { body, properties } = encodeBatch('twin', 'gw-1', 'b-2', items);
    const decoded = decodeBatch(properties, body);
    expect(decoded.ok && decoded.items).toEqual(items);
  });

  it('names bad events with a code and reason instead of throwing', () => {
    const good = encodeBatch('alert', 'gw-1', 'b-3', [{ id: 'a-1', body: { code: 'x' } }]);
    expect(decodeBatch({ ...good.properties, schema: 'campus-twin.alert.v9' }, good.body)).toMatchObject({
      ok: false,
      code: 'CT_ERR_WIRE_SCHEMA',
    });
    expect(decodeBatch({ ...good.properties, schema: 'nope' }, good.body)).toMatchObject({
      code: 'CT_ERR_WIRE_SCHEMA',
    });
    expect(decodeBatch({ ...good.properties, batchId: undefined }, good.body)).toMatchObject({
      code: 'CT_ERR_WIRE_PROPERTIES',
    });
    expect(decodeBatch(good.properties, Buffer.from('not gzip'))).toMatchObject({
      code: 'CT_ERR_WIRE_ENCODING',
      header: { gatewayId: 'gw-1', batchId: 'b-3' },
    });
    expect(decodeBatch({ ...good.properties, itemCount: 2 }, good.body)).toMatchObject({
      code: 'CT_ERR_WIRE_SCHEMA',
      reason: 'itemCount 2 but body has 1 rows',
    });
    const badRows = gzipSync(JSON.stringify({ cols: ['a'], rows: [[null, 1]] }));
    expect(decodeBatch(good.properties, badRows)).toMatchObject({
      code: 'CT_ERR_WIRE_SCHEMA',
      reason: 'rows[0] has no item id',
    });
    // A zip bomb is refused, not inflated.
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20));
    expect(decodeBatch(good.properties, bomb)).toMatchObject({ code: 'CT_ERR_WIRE_ENCODING' });
  });

  it('carries the campus of the sending gateway, and refuses a malformed one', () => {
    const items: WireItem[] = [{ id: 'a-1', body: { code: 'x' } }];
    const withCampus = encodeBatch('alert', 'gw-1', 'b-4', items, { campusId: 'north.campus-2' });
    expect(withCampus.properties.campusId).toBe('north.campus-2');
    expect(decodeBatch(withCampus.properties, withCampus.body)).toMatchObject({
      ok: true,
      header: { gatewayId: 'gw-1', campusId: 'north.campus-2' },
    });
    // A gateway from before the property: no campus, not an error.
    const without = encodeBatch('alert', 'gw-1', 'b-5', items);
    expect('campusId' in without.properties).toBe(false);
    const decoded = decodeBatch(without.properties, without.body);
    expect(decoded.ok && 'campusId' in decoded.header).toBe(false);
    for (const campusId of ['', 'has space', 'x'.repeat(129), 42])
      expect(decodeBatch({ ...withCampus.properties, campusId }, withCampus.body)).toMatchObject({
        ok: false,
        code: 'CT_ERR_WIRE_PROPERTIES',
        reason: expect.stringContaining('campusId'),
      });
  });

  it('parses schema names', () => {
    expect(parseSchemaName(schemaName('event'))).toEqual({ cls: 'event', version: 1 });
    expect(parseSchemaName('campus-twin.bogus.v1')).toBeUndefined();
  });

  it('encodes the same JSON in slices as in one go', async () => {
    const items: WireItem[] = Array.from({ length: 2_500 }, (_, i) => {
      const a = agg(i, i % 7 === 0);
      return { id: i % 11 === 0 ? `custom-${i}` : aggregateItemId(a), body: { ...a } };
    });
    const one = encodeBatch('aggregate', 'gw-1', 'b-9', items);
    const sliced = await encodeBatchAsync('aggregate', 'gw-1', 'b-9', items, { sliceItems: 300 });
    expect(gunzipSync(sliced.body).toString()).toBe(gunzipSync(one.body).toString());
    expect(sliced.properties).toEqual(one.properties);
    const empty = await encodeBatchAsync('alert', 'gw-1', 'b-0', []);
    expect(decodeBatch(empty.properties, empty.body)).toMatchObject({ ok: true, items: [] });
  });
});
