/**
 * Risk routes over fastify inject, on a synthetic campus with a model trained on its older terms: the
 * original `POST /predict/dropout` shape, a feature object with factors, per-student and per-course scores,
 * models, and the risk:read scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import { DAY_MS } from '../risk/features.ts';
import { NOW, storeWith, TERM_STARTS } from '../risk/synthetic.ts';
import { scoreCourses, trainRisk } from '../risk/train.ts';
import type { SqliteCloudStore } from '../store/sqlite.ts';
import { mintDevToken } from './auth.ts';
import { buildCloudApi } from './server.ts';

const SECRET = 'risk-route-test-secret-0123456789abcdef';

describe('risk API', () => {
  let store: SqliteCloudStore;
  let app: ReturnType<typeof buildCloudApi>;
  let riskToken = '';
  let reportsToken = '';
  const call = (method: 'GET' | 'POST', url: string, payload?: object, token = riskToken) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });

  beforeAll(async () => {
    store = await storeWith(5, (r) => r());
    app = buildCloudApi({
      store,
      metrics: new CloudMetrics(),
      now: () => NOW,
      auth: {
        open: false,
        tokens: [],
        metricsPublic: true,
        jwt: { audience: 'campus-twin', hs256Secret: SECRET },
      },
    });
    const mint = (scopes: ('risk:read' | 'reports:read')[]) =>
      mintDevToken({ secret: SECRET, subject: 'tutor', scopes, audience: 'campus-twin', expiresInSec: 600 });
    riskToken = await mint(['risk:read']);
    reportsToken = await mint(['reports:read']);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('answers 503 with a code until a model is trained', async () => {
    const r = await call('POST', '/predict/dropout', { engagement_score: 3 });
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('CT_ERR_MODEL_UNAVAILABLE');
  });

  it('answers the original {"engagement_score"} with only {"dropout_probability"}, lower engagement riskier', async () => {
    const m = await trainRisk(store, { cutoffDay: 28, now: NOW });
    await store.saveRiskModel(m);
    await scoreCourses(store, TERM_STARTS[2]! + 28 * DAY_MS);
    const low = await call('POST', '/predict/dropout', { engagement_score: 3 });
    expect(low.statusCode).toBe(200);
    expect(Object.keys(low.json())).toEqual(['dropout_probability']);
    const high = (await call('POST', '/api/predict/dropout', { engagement_score: 80 })).json();
    expect(low.json().dropout_probability).toBeGreaterThan(high.dropout_probability);
    expect((await call('POST', '/predict/dropout', { engagement_score: 'three' })).statusCode).toBe(400);
  });

  it('scores a full feature object with its factors; unknown features are refused', async () => {
    const r = (
      await call('POST', '/api/predict/dropout', {
        features: { log_clicks: 0, days_since_last: 40, no_activity: 1 },
      })
    ).json();
    expect(r.dropout_probability).toBeGreaterThan(0.5);
    expect(r.factors).toHaveLength(3);
    expect(r.factors[0].text).toMatch(/(raises|lowers) the risk$/);
    const bad = await call('POST', '/api/predict/dropout', { features: { shoe_size: 9 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('shoe_size');
  });

  it("lists a course's highest risks and a student's scores, with reasons", async () => {
    const top = (await call('GET', '/api/risk/students?course=C-2&top=3')).json().scores;
    expect(top).toHaveLength(3);
    expect(top[0].probability).toBeGreaterThanOrEqual(top[2].probability);
    const student = top[0].studentId as string;
    const mine = (await call('GET', `/api/students/${student}/risk`)).json();
    expect(mine.scores[0]).toMatchObject({ studentId: student, courseId: 'C-2', courseDay: 28 });
    expect(mine.scores[0].factors.length).toBe(3);
    expect((await call('GET', '/api/students/p_nobody/risk')).statusCode).toBe(404);
    const models = (await call('GET', '/api/risk/models')).json().models;
    expect(models[0]).toMatchObject({ cutoffDay: 28, holdout: { courses: ['C-2'] } });
    expect(models[0].model).toBeUndefined();
  });

  it('needs the risk:read scope', async () => {
    expect((await call('GET', '/api/risk/students', undefined, reportsToken)).statusCode).toBe(403);
    expect((await call('POST', '/predict/dropout', { engagement_score: 3 }, reportsToken)).statusCode).toBe(
      403,
    );
  });
});
