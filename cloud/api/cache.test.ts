/** The response cache: repeated reads served from it until the data changes, here or in another process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import { agg, aggItem, P0, prepared } from '../store/contract.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'cache-test-token-0123456789';
const T0 = 1_800_000_000_000;
const twin = (id: string, to: string, ts: number) => ({
  id,
  body: { roomId: 'r1', ts, kind: 'occupancy', from: 'x', to, reasons: [] },
});

describe('API response cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a repeated read from the cache until this or another process writes', async () => {
    const file = join(dir, 'cloud.db');
    const store = new SqliteCloudStore({ file });
    const other = new SqliteCloudStore({ file }); // a second cloud process on the same file
    const metrics = new CloudMetrics();
    const app = buildCloudApi({
      store,
      metrics,
      now: () => T0,
      auth: { open: false, tokens: [TOKEN], metricsPublic: true },
    });
    const get = (url: string) =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    try {
      const e1 = [prepared('twin', 'gw', 'b1', [twin('t1', 'occupied', T0)])];
      await store.applyBatch(P0, e1, e1[0]!.position, T0);
      const a = await get('/api/rooms/r1');
      const b = await get('/api/rooms/r1');
      expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual([undefined, 'hit']);
      expect(b.body).toBe(a.body);
      expect(b.headers['content-type']).toBe(a.headers['content-type']);
      // A write by this process: the next read is fresh.
      const e2 = [prepared('twin', 'gw', 'b2', [twin('t2', 'vacant', T0 + 1000)])];
      await store.applyBatch(P0, e2, e2[0]!.position, T0);
      const c = await get('/api/rooms/r1');
      expect(c.headers['x-cache']).toBeUndefined();
      expect(c.json().state.occupancy.state).toBe('vacant');
      // A write by the other process: fresh again.
      const e3 = [prepared('twin', 'gw', 'b3', [twin('t3', 'occupied', T0 + 2000)])];
      await other.applyBatch(P0, e3, e3[0]!.position, T0);
      const d = await get('/api/rooms/r1');
      expect(d.headers['x-cache']).toBeUndefined();
      expect(d.json().state.occupancy.state).toBe('occupied');
      expect((await get('/api/rooms/r1')).headers['x-cache']).toBe('hit');
      // Errors are not cached; a time range without both ends (it depends on the clock) is not cached.
      const e4 = [prepared('aggregate', 'gw', 'b4', [aggItem(agg({ windowStart: T0 - 60_000 }))])];
      await store.applyBatch(P0, e4, e4[0]!.position, T0);
      expect((await get('/api/rooms/nope')).statusCode).toBe(404);
      expect((await get('/api/rooms/nope')).headers['x-cache']).toBeUndefined();
      await get('/api/sensors/env-1/temperature/aggregates');
      expect((await get('/api/sensors/env-1/temperature/aggregates')).headers['x-cache']).toBeUndefined();
      const pinned = `/api/sensors/env-1/temperature/aggregates?from=${T0 - 3_600_000}&to=${T0}`;
      await get(pinned);
      expect((await get(pinned)).headers['x-cache']).toBe('hit');
      // Without a token the cache answers nothing.
      expect((await app.inject({ method: 'GET', url: '/api/rooms/r1' })).statusCode).toBe(401);
      const hits = (await metrics.cache.get()).values.find((v) => v.labels.result === 'hit')?.value;
      expect(hits).toBe(3);
    } finally {
      await app.close();
      await store.close();
      await other.close();
    }
  });
});
