/** Live facility risk over fastify inject, on the snapshot contract's campus at its cut-off (hand-worked there). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import { feedSnapshotCampus } from '../store/contract-snapshots.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'facility-risk-token-0123456789';
const C = 1_800_000_000_000;

describe('facility risk API', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const app = buildCloudApi({
    store,
    metrics: new CloudMetrics(),
    now: () => C,
    auth: { open: false, tokens: [TOKEN], metricsPublic: true },
  });
  const get = (url: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    await feedSnapshotCampus(store, C);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it("gives a room's score over the last 24 h with its parts and reasons", async () => {
    const r = await get('/api/rooms/r1/risk');
    expect(r.statusCode).toBe(200);
    // As in the snapshot contract: 3.75 + 0.2 + 25 + 20 = 48.95.
    expect(r.json()).toEqual({
      roomId: 'r1',
      campusId: null,
      from: C - 86_400_000,
      to: C,
      score: 49,
      parts: { comfort: 3.8, sensors: 0.2, energy: 25, workOrders: 20 },
      reasons: [
        'comfort outside its band for 30 minutes',
        'sensors offline 0.8 % of the time',
        'energy 1 kWh, 100 % over its usual 0.5 kWh for these hours',
        '1 open work order (wo-2 high)',
      ],
    });
    expect((await get('/api/rooms/nope/risk')).statusCode).toBe(404);
  });

  it('ranks rooms by facility risk', async () => {
    const rooms = (await get('/api/risk/rooms?top=5')).json().rooms;
    expect(rooms.map((x: { roomId: string; score: number }) => [x.roomId, x.score])).toEqual([
      ['r1', 49],
      ['r2', 0],
    ]);
    expect((await get('/api/risk/rooms?top=0')).statusCode).toBe(400);
  });
});
