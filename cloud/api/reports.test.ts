import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../tests/helpers/csv.ts';
import { CloudMetrics } from '../metrics.ts';
import { feedSnapshotCampus, P_A_C1, ROOM_RESULTS } from '../store/contract-snapshots.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { ANALYTICS_CSV_HEADER, SNAPSHOT_CSV_HEADER } from './reports.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'reports-test-token-0123456789';
const C = 1_800_000_000_000;
const NOW = C + 5 * 3_600_000;

describe('reporting API: snapshots', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const app = buildCloudApi({
    store,
    metrics: new CloudMetrics(),
    now: () => NOW,
    auth: { open: false, tokens: [TOKEN], metricsPublic: true },
  });
  const auth = { authorization: `Bearer ${TOKEN}` };
  let snapshotId = '';

  beforeAll(async () => {
    await feedSnapshotCampus(store, NOW);
    const r = await app.inject({
      method: 'POST',
      url: '/api/snapshots',
      headers: auth,
      payload: { cutoff: new Date(C).toISOString() },
    });
    expect(r.statusCode, r.body).toBe(201);
    snapshotId = r.json().snapshotId;
    expect(r.headers.location).toBe(`/api/snapshots/${encodeURIComponent(snapshotId)}`);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('creates a snapshot on demand with its cut-off and counts', () => {
    expect(snapshotId).toBe('2027-01-15T08:00:00Z');
  });

  it('serves the original design CSV at /api/snapshots/{id} and /snapshots/{id}', async () => {
    for (const url of [`/api/snapshots/${snapshotId}`, `/snapshots/${encodeURIComponent(snapshotId)}`]) {
      const r = await app.inject({ method: 'GET', url, headers: auth });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(r.body.startsWith('snapshot_id,student_id,course_id,facility_id,snapshot_ts,state\n')).toBe(
        true,
      );
      const rows = parseCsv(r.body);
      expect(rows[0]).toEqual(SNAPSHOT_CSV_HEADER.trim().split(','));
      expect(rows.slice(1).map((x) => x.slice(0, 5))).toEqual([
        [snapshotId, '', '', 'r1', '2027-01-15T07:50:00Z'],
        [snapshotId, 'p_a', 'c1', '', '2027-01-14T09:00:00Z'],
        [snapshotId, 'p_b', 'c1', '', '2027-01-10T08:00:00Z'],
        [snapshotId, 'p_c', 'c2', '', '2026-12-31T08:00:00Z'],
      ]);
      expect(JSON.parse(rows[2]![5]!)).toEqual(P_A_C1);
    }
  });

  it('serves JSON with Accept: application/json or ?format=json', async () => {
    const viaAccept = await app.inject({
      method: 'GET',
      url: `/api/snapshots/${snapshotId}`,
      headers: { ...auth, accept: 'application/json' },
    });
    const viaQuery = await app.inject({
      method: 'GET',
      url: `/api/snapshots/${snapshotId}?format=json`,
      headers: auth,
    });
    for (const r of [viaAccept, viaQuery]) {
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = r.json();
      expect(body.snapshot).toMatchObject({
        snapshotId,
        cutoffTs: C,
        rooms: 1,
        enrolments: 3,
        cutoff: '2027-01-15T08:00:00.000Z',
      });
      expect(body.rows).toHaveLength(4);
      expect(body.rows[1]).toEqual({
        seq: 1,
        studentId: 'p_a',
        courseId: 'c1',
        facilityId: null,
        snapshotTs: C - 86_400_000 + 3_600_000,
        state: P_A_C1,
      });
    }
  });

  it('serves analytics in the original CSV shape at /api/analytics/{id} and /analytics/{id}', async () => {
    for (const url of [`/api/analytics/${snapshotId}`, `/analytics/${encodeURIComponent(snapshotId)}`]) {
      const r = await app.inject({ method: 'GET', url, headers: auth });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(r.body.startsWith('result_id,snapshot_id,metric,value,computed_ts\n')).toBe(true);
      const rows = parseCsv(r.body);
      expect(rows[0]).toEqual(ANALYTICS_CSV_HEADER.trim().split(','));
      expect(rows).toHaveLength(1 + 14);
      expect(rows.slice(1, 9)).toEqual(
        ROOM_RESULTS.map(([id, metric, value]) => [
          id,
          snapshotId,
          metric,
          String(value),
          '2027-01-15T13:00:00Z',
        ]),
      );
      expect(rows[9]).toEqual([
        'enrolment/p_a/c1/engagement_score',
        snapshotId,
        'engagement_score',
        '49',
        '2027-01-15T13:00:00Z',
      ]);
    }
    const risk = await app.inject({
      method: 'GET',
      url: `/api/analytics/${snapshotId}?metric=risk_flag`,
      headers: { ...auth, accept: 'application/json' },
    });
    const body = risk.json();
    expect(body.snapshot.snapshotId).toBe(snapshotId);
    expect(body.results.map((x: { studentId: string; value: number }) => [x.studentId, x.value])).toEqual([
      ['p_a', 0],
      ['p_b', 0],
      ['p_c', 1],
    ]);
    expect((await app.inject({ method: 'GET', url: '/analytics/nope', headers: auth })).statusCode).toBe(404);
  });

  it('lists snapshots newest first, page by page', async () => {
    for (const k of [1, 2]) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/snapshots',
        headers: auth,
        payload: { cutoff: C + k * 3_600_000 },
      });
      expect(r.statusCode).toBe(201);
    }
    const p1 = (await app.inject({ method: 'GET', url: '/api/snapshots?limit=2', headers: auth })).json();
    expect(p1.snapshots.map((s: { snapshotId: string }) => s.snapshotId)).toEqual([
      '2027-01-15T10:00:00Z',
      '2027-01-15T09:00:00Z',
    ]);
    expect(p1.next).toBe('2027-01-15T09:00:00Z');
    const p2 = (
      await app.inject({ method: 'GET', url: `/api/snapshots?limit=2&before=${p1.next}`, headers: auth })
    ).json();
    expect(p2).toMatchObject({ snapshots: [{ snapshotId }], next: null });
  });

  it('refuses bad input with a code, and unknown snapshots with 404', async () => {
    const bad = async (payload: unknown) =>
      (
        await app.inject({ method: 'POST', url: '/api/snapshots', headers: auth, payload: payload as object })
      ).json();
    expect((await bad({ cutoff: 'yesterday' })).error.code).toBe('CT_ERR_BAD_QUERY');
    expect((await bad({ cutoff: NOW + 1 })).error.message).toContain('future');
    const list = await app.inject({ method: 'GET', url: '/api/snapshots?limit=0', headers: auth });
    expect(list.statusCode).toBe(400);
    const missing = await app.inject({
      method: 'GET',
      url: '/snapshots/2020-01-01T00:00:00Z',
      headers: auth,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('CT_ERR_NOT_FOUND');
    const anon = await app.inject({ method: 'GET', url: `/snapshots/${snapshotId}` });
    expect(anon.statusCode).toBe(401);
  });
});
