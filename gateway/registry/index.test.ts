import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch } from '../../shared/wire.ts';
import { campusFrom } from './index.ts';

const rooms = [{ id: 'b', floors: [{ id: 'f', rooms: [{ id: 'r1' }] }] }];

describe('campus registry', () => {
  it('takes only a campus id the uplink can send, so no event of the gateway is refused for it', () => {
    const longest = 'c'.repeat(128);
    const campus = campusFrom({ campus: { id: longest }, buildings: rooms });
    const sent = encodeBatch('alert', 'gw', 'b1', [{ id: 'a', body: { code: 'x' } }], {
      campusId: campus.campusId,
    });
    expect(decodeBatch(sent.properties, sent.body)).toMatchObject({
      ok: true,
      header: { campusId: longest },
    });
    for (const id of ['c'.repeat(129), 'north campus'])
      expect(() => campusFrom({ campus: { id }, buildings: rooms })).toThrow(/campus\.id.*1-128 letters/);
  });
});
