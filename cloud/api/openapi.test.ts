/**
 * The OpenAPI document: served at /docs/json without a token, valid OpenAPI 3.1 (swagger-parser), naming every
 * route the app has; and real responses checked against the schemas it declares (ajv), so the document
 * cannot drift from what the API returns. Also the per-caller rate limit.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import type { Directory } from '../reporting/directory.ts';
import { feedSnapshotCampus } from '../store/contract-snapshots.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'openapi-test-token-0123456789';
const C = 1_800_000_000_000;
const NOW = C + 5 * 3_600_000;
const directory: Directory = {
  campusId: null,
  buildings: [{ buildingId: 'b1', name: 'Library', floors: [{ floorId: 'f1', level: 1, roomIds: ['r1'] }] }],
  rooms: new Map([
    ['r1', { roomId: 'r1', name: 'Reading room', buildingId: 'b1', floorId: 'f1', capacity: 40 }],
  ]),
};

interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
}

describe('OpenAPI document', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const metrics = new CloudMetrics();
  const app = buildCloudApi({
    store,
    metrics,
    now: () => NOW,
    directory,
    auth: { open: false, tokens: [TOKEN], metricsPublic: true },
  });
  const routes: { method: string; url: string }[] = [];
  // Added before the app is ready, so it sees every route the API plugin registers.
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  let doc: OpenApiDoc;

  beforeAll(async () => {
    await feedSnapshotCampus(store, NOW);
    await store.createSnapshot({ cutoffTs: C, now: NOW, trigger: 'cli' });
    const r = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    doc = r.json();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('is valid OpenAPI 3.1, served with Swagger UI at /docs without a token', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode, ui.headers.location).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });

  it('names every route the app serves, with its error answers', () => {
    const api = routes.filter((r) => !r.url.startsWith('/docs'));
    expect(api.length).toBeGreaterThanOrEqual(17);
    for (const r of api) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${path} is in the document`).toBeDefined();
      if (r.url !== '/healthz') expect(Object.keys(op!.responses), `${r.method} ${path}`).toContain('401');
    }
    // The original design's paths are there too.
    for (const p of ['/snapshots/{snapshotId}', '/analytics/{snapshotId}'])
      expect(doc.paths[p]?.get).toBeDefined();
  });

  it('declares the shapes the API really returns', async () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const check = async (
      method: 'GET' | 'POST',
      url: string,
      path: string,
      status: number,
      payload?: object,
    ) => {
      const r = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/json' },
        ...(payload ? { payload } : {}),
      });
      expect(r.statusCode, `${method} ${url}: ${r.body.slice(0, 200)}`).toBe(status);
      const declared =
        doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)]?.content?.['application/json']
          ?.schema;
      expect(declared, `${method} ${path} ${status} declares a JSON schema`).toBeDefined();
      const validate = ajv.compile(declared!);
      expect(validate(r.json()), `${method} ${url}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    const id = '2027-01-15T08:00:00Z';
    await check('GET', '/api/gateways', '/api/gateways', 200);
    await check('GET', '/api/rooms/r1', '/api/rooms/{roomId}', 200);
    await check('GET', '/api/rooms/nope', '/api/rooms/{roomId}', 404);
    await check(
      'GET',
      `/api/sensors/co2-1/co2/aggregates?from=0&to=${NOW}`,
      '/api/sensors/{deviceId}/{channel}/aggregates',
      200,
    );
    await check('GET', '/api/quarantine', '/api/quarantine', 200);
    await check('GET', '/api/buildings', '/api/buildings', 200);
    await check('GET', '/api/buildings/b1/summary', '/api/buildings/{buildingId}/summary', 200);
    await check('GET', '/api/rooms', '/api/rooms', 200);
    await check('GET', '/api/rooms?limit=0', '/api/rooms', 400);
    await check(
      'GET',
      `/api/rooms/r1/history?quantity=co2&from=${C - 2 * 86_400_000}&to=${NOW}&interval=1h`,
      '/api/rooms/{roomId}/history',
      200,
    );
    await check('GET', '/api/courses/c1/engagement', '/api/courses/{courseId}/engagement', 200);
    await check('GET', '/api/snapshots', '/api/snapshots', 200);
    await check('POST', '/api/snapshots', '/api/snapshots', 201, { cutoff: C - 1000 });
    await check('GET', `/api/snapshots/${id}`, '/api/snapshots/{snapshotId}', 200);
    await check('GET', `/snapshots/${id}`, '/snapshots/{snapshotId}', 200);
    await check('GET', `/api/analytics/${id}`, '/api/analytics/{snapshotId}', 200);
    await check('GET', `/analytics/${id}`, '/analytics/{snapshotId}', 200);
    await check('GET', '/healthz', '/healthz', 200);
  });
});

describe('rate limit per caller', () => {
  it('answers 429 with Retry-After past the limit, per token, and counts it', async () => {
    const store = new SqliteCloudStore({ file: ':memory:' });
    const metrics = new CloudMetrics();
    const other = 'another-token-0123456789abcdef';
    const app = buildCloudApi({
      store,
      metrics,
      now: Date.now,
      rateLimit: { max: 3, timeWindowMs: 60_000 },
      auth: { open: false, tokens: [TOKEN, other], metricsPublic: true },
    });
    try {
      const call = (token: string) =>
        app.inject({ method: 'GET', url: '/api/gateways', headers: { authorization: `Bearer ${token}` } });
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await call(TOKEN)).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const limited = await call(TOKEN);
      expect(limited.json().error.code).toBe('CT_ERR_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect((await call(other)).statusCode).toBe(200); // its own budget
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await metrics.rateLimited.get()).values[0]?.value).toBe(2);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
