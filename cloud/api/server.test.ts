import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import { agg, aggItem, P0, prepared, windowEvent } from '../store/contract.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { parseTime } from './params.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'api-test-token-0123456789';
const NOW = 1_800_000_000_000;
const T0 = NOW - 10 * 60_000;

describe('cloud API (fastify inject)', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const metrics = new CloudMetrics();
  const app = buildCloudApi({
    store,
    metrics,
    now: () => NOW,
    auth: { open: false, tokens: [TOKEN], metricsPublic: true },
  });
  const devApp = buildCloudApi({
    store,
    metrics,
    now: () => NOW,
    auth: { open: true, tokens: [], metricsPublic: false },
  });
  const get = (url: string, token: string | null = TOKEN) =>
    app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    const aggs = prepared(
      'aggregate',
      'gw-a',
      'b1',
      [0, 1, 2].map((i) => aggItem(agg({ windowStart: T0 + i * 60_000 }))),
    );
    const twin = prepared('twin', 'gw-a', 't1', [
      {
        id: 't1',
        body: {
          roomId: 'r1',
          ts: T0,
          kind: 'occupancy',
          from: 'vacant',
          to: 'occupied',
          reasons: ['motion'],
        },
      },
    ]);
    const alert = prepared('alert', 'gw-a', 'a1', [
      {
        id: 'al1',
        body: {
          alertId: 'al1',
          ts: T0 + 5,
          severity: 'critical',
          code: 'co2_alert',
          roomId: 'r1',
          message: 'CO2 1600 ppm',
        },
      },
    ]);
    const bad = prepared('aggregate', 'gw-a', 'q1', [{ id: 'bad', body: { deviceId: 'x' } }]);
    const r = await store.applyBatch(P0, [aggs, twin, alert, bad], bad.position, NOW - 1000);
    metrics.record(r);
  });
  afterAll(async () => {
    await app.close();
    await devApp.close();
    await store.close();
  });

  it('needs a bearer token outside dev mode (but not for /healthz and public /metrics)', async () => {
    const res = await get('/api/gateways', null);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'CT_ERR_AUTH' } });
    expect((await get('/api/gateways', 'wrong-token-0123456789')).statusCode).toBe(401);
    expect((await get('/healthz', null)).json()).toMatchObject({ ok: true });
    const m = await get('/metrics', null);
    expect(m.statusCode).toBe(200);
    expect(m.body).toMatch(/ct_cloud_readings_represented_total 30/);
    expect(m.body).toMatch(/ct_cloud_quarantined_total\{code="CT_ERR_WIRE_SCHEMA"\} 1/);
    expect((await devApp.inject({ method: 'GET', url: '/api/gateways' })).statusCode).toBe(200);
    expect((await devApp.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('GET /api/gateways: counts by class, batches, quarantined, lag from the newest item', async () => {
    const res = await get('/api/gateways');
    expect(res.statusCode).toBe(200);
    const [g] = res.json().gateways;
    expect(g).toMatchObject({
      gatewayId: 'gw-a',
      batchesApplied: 4,
      quarantined: 1,
      duplicateBatches: 0,
      items: { aggregate: 3, twin: 1, alert: 1, event: 0, raw: 0 },
      lastBatchAt: NOW - 1000,
      newestItemTs: T0 + 2 * 60_000 + 50_000,
      lagMs: NOW - (T0 + 2 * 60_000 + 50_000),
    });
  });

  it('GET /api/rooms/{roomId}: latest state per kind and recent alerts; 404 for an unknown room', async () => {
    const res = await get('/api/rooms/r1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      roomId: 'r1',
      campusId: null,
      state: { occupancy: { state: 'occupied', ts: T0, reasons: ['motion'] } },
      recentAlerts: [{ alertId: 'al1', severity: 'critical' }],
    });
    const missing = await get('/api/rooms/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('CT_ERR_NOT_FOUND');
  });

  it('GET /api/sensors/{deviceId}/{channel}/aggregates: windows in [from, to); 404 unknown; 400 bad range', async () => {
    const all = await get('/api/sensors/env-1/temperature/aggregates');
    expect(all.statusCode).toBe(200);
    expect(all.json().windows).toHaveLength(3);
    const some = await get(
      `/api/sensors/env-1/temperature/aggregates?from=${T0 + 60_000}&to=${new Date(T0 + 120_000).toISOString()}`,
    );
    expect(
      some.json().windows.map((w: { windowStart: number; count: number }) => [w.windowStart, w.count]),
    ).toEqual([[T0 + 60_000, 10]]);
    const unknown = await get('/api/sensors/env-404/temperature/aggregates');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('CT_ERR_NOT_FOUND');
    for (const q of ['from=yesterday', 'to=12abc', `from=${NOW}&to=${NOW - 1}`, 'limit=0']) {
      const bad = await get(`/api/sensors/env-1/temperature/aggregates?${q}`);
      expect(bad.statusCode, q).toBe(400);
      expect(bad.json().error.code).toBe('CT_ERR_BAD_QUERY');
    }
  });

  /** A store and an open API on it, closed after `run`. */
  async function withTwoCampuses(
    run: (store: SqliteCloudStore, api: ReturnType<typeof buildCloudApi>) => Promise<void>,
  ): Promise<void> {
    const twoCampuses = new SqliteCloudStore({ file: ':memory:' });
    const api = buildCloudApi({
      store: twoCampuses,
      metrics: new CloudMetrics(),
      now: () => NOW,
      auth: { open: true, tokens: [], metricsPublic: false },
    });
    try {
      await run(twoCampuses, api);
    } finally {
      await api.close();
      await twoCampuses.close();
    }
  }

  it('GET /api/rooms/{roomId}: a room id two campuses have needs ?campus=, which picks it', async () => {
    await withTwoCampuses(async (store, api) => {
      const twin = (gw: string, campusId: string, to: string) =>
        prepared(
          'twin',
          gw,
          `${gw}-1`,
          [
            {
              id: 't1',
              body: { roomId: 'B1-101', ts: T0, kind: 'occupancy', from: 'vacant', to, reasons: [] },
            },
          ],
          { campusId },
        );
      const events = [twin('gw-n', 'north', 'occupied'), twin('gw-s', 'south', 'vacant')];
      await store.applyBatch(P0, events, events[1]!.position, NOW - 1000);
      const url = '/api/rooms/B1-101';
      const ambiguous = await api.inject({ method: 'GET', url });
      expect(ambiguous.statusCode).toBe(409);
      expect(ambiguous.json().error).toMatchObject({
        code: 'CT_ERR_AMBIGUOUS',
        message: expect.stringContaining('room B1-101 is on campuses north, south'),
      });
      for (const [campus, state] of [
        ['north', 'occupied'],
        ['south', 'vacant'],
      ] as const) {
        const res = await api.inject({ method: 'GET', url: `${url}?campus=${campus}` });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({
          roomId: 'B1-101',
          campusId: campus,
          state: { occupancy: { state } },
        });
      }
      const elsewhere = await api.inject({ method: 'GET', url: `${url}?campus=east` });
      expect(elsewhere.statusCode).toBe(404);
      expect(elsewhere.json().error.message).toContain('room B1-101 on campus east');
    });
  });

  it('GET /api/sensors/…/aggregates: a sensor two campuses have needs ?campus=, which picks it', async () => {
    await withTwoCampuses(async (twoCampuses, api) => {
      // The same device and channel on two campuses, with different counts in their windows.
      const north = windowEvent('gw-n', 'n1', { windowStart: T0, count: 4 }, 'north');
      const south = windowEvent('gw-s', 's1', { windowStart: T0, count: 7 }, 'south');
      await twoCampuses.applyBatch(P0, [north, south], south.position, NOW - 1000);
      const url = '/api/sensors/env-1/temperature/aggregates';
      const ambiguous = await api.inject({ method: 'GET', url });
      expect(ambiguous.statusCode).toBe(409);
      expect(ambiguous.json().error).toMatchObject({
        code: 'CT_ERR_AMBIGUOUS',
        message: expect.stringContaining('north, south'),
      });
      for (const [campus, count] of [
        ['north', 4],
        ['south', 7],
      ] as const) {
        const res = await api.inject({ method: 'GET', url: `${url}?campus=${campus}` });
        expect(res.statusCode).toBe(200);
        expect(res.json().windows.map((w: { count: number }) => w.count)).toEqual([count]);
      }
      const elsewhere = await api.inject({ method: 'GET', url: `${url}?campus=east` });
      expect(elsewhere.statusCode).toBe(404);
      expect(elsewhere.json().error.message).toContain('on campus east');
    });
  });

  it('GET /api/quarantine lists entries newest first with their code and reason', async () => {
    const res = await get('/api/quarantine?limit=5');
    expect(res.json()).toMatchObject({
      total: 1,
      entries: [{ code: 'CT_ERR_WIRE_SCHEMA', itemId: 'bad', batchId: 'q1' }],
    });
  });

  it('checks integer query parameters against their range, with code and message', async () => {
    expect((await get('/api/rooms/r1?alerts=0')).statusCode).toBe(200);
    for (const url of ['/api/rooms/r1?alerts=-1', '/api/rooms/r1?alerts=1001', '/api/quarantine?limit=1.5']) {
      const bad = await get(url);
      expect(bad.statusCode, url).toBe(400);
      expect(bad.json().error.code, url).toBe('CT_ERR_BAD_QUERY');
    }
    expect((await get('/api/quarantine?limit=1001')).json()).toEqual({
      error: {
        code: 'CT_ERR_BAD_QUERY',
        message: 'query parameter is invalid: limit must be an integer 1…1000',
      },
    });
  });

  it('parses times as epoch ms or ISO 8601', () => {
    expect(parseTime('1700000000000')).toBe(1_700_000_000_000);
    expect(parseTime('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime(undefined)).toBeUndefined();
    expect(parseTime('soon')).toBeNaN();
  });
});
