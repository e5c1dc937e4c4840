/**
 * Reporting routes: snapshots (the original design's `GET /snapshots/{id}` CSV shape, JSON on request),
 * their analytics (`GET /analytics/{id}`: `result_id,snapshot_id,metric,value,computed_ts`), on-demand
 * snapshot creation, the snapshot list. Large snapshots are streamed page by page from the store,
 * never held whole. The original paths (`/snapshots/{id}`) are aliases of the `/api/...` routes.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csvLine, isoSeconds } from '../reporting/csv.ts';
import type { AnalyticsRow, CloudStore, SnapshotInfo, SnapshotRow } from '../store/types.ts';
import { intParam, send } from './params.ts';
import {
  analyticsContent,
  errors,
  params,
  query,
  snapshotBody,
  snapshotContent,
  snapshotListResponse,
  snapshotSchema,
} from './schemas.ts';

export const SNAPSHOT_CSV_HEADER = 'snapshot_id,student_id,course_id,facility_id,snapshot_ts,state\n';
export const ANALYTICS_CSV_HEADER = 'result_id,snapshot_id,metric,value,computed_ts\n';
/**
 * Rows fetched from the store per page while streaming (~45 KB of CSV), at most one page waiting in the
 * stream (a slow client holds back the reads), and a turn of the event loop between pages: each page's
 * garbage dies young instead of piling up in the old generation (a 100k-row CSV grew RSS by ~70 MB with
 * 2,000-row pages, ~2 MB like this), and other requests and the consumer are served in between.
 */
const PAGE_ROWS = 100;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const stream = (chunks: AsyncIterable<string>) =>
  Readable.from(chunks, { objectMode: false, highWaterMark: 1 });

export interface ReportsDeps {
  store: CloudStore;
  now: () => number;
  /** Builds a snapshot now (the scheduler's service, so on-demand and scheduled builds never overlap). */
  createSnapshot: (cutoffTs: number) => Promise<SnapshotInfo>;
}

/** JSON when asked for (`?format=json`, or an Accept naming application/json before text/csv). */
export function wantsJson(req: FastifyRequest<{ Querystring: { format?: string } }>): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'csv') return false;
  const accept = req.headers.accept ?? '';
  const json = accept.indexOf('application/json');
  const csv = accept.indexOf('text/csv');
  return json >= 0 && (csv < 0 || json < csv);
}

export function snapshotJson(s: SnapshotInfo) {
  return {
    ...s,
    cutoff: new Date(s.cutoffTs).toISOString(),
    createdAtIso: new Date(s.createdAt).toISOString(),
  };
}

/** Every row of a snapshot, paged from the store. */
async function* snapshotRows(store: CloudStore, snapshotId: string): AsyncGenerator<SnapshotRow[]> {
  let after = -1;
  for (;;) {
    const rows = await store.snapshotRows(snapshotId, after, PAGE_ROWS);
    if (rows.length === 0) return;
    yield rows;
    await nextTurn();
    after = rows[rows.length - 1]!.seq;
    if (rows.length < PAGE_ROWS) return;
  }
}

/** Every analytics row of a snapshot, paged from the store. */
async function* analyticsPages(store: CloudStore, snapshotId: string): AsyncGenerator<AnalyticsRow[]> {
  let after = -1;
  for (;;) {
    const rows = await store.analyticsRows(snapshotId, after, PAGE_ROWS);
    if (rows.length === 0) return;
    yield rows;
    await nextTurn();
    after = rows[rows.length - 1]!.seq;
    if (rows.length < PAGE_ROWS) return;
  }
}

async function* analyticsCsv(store: CloudStore, id: string, metric?: string): AsyncGenerator<string> {
  yield ANALYTICS_CSV_HEADER;
  for await (const rows of analyticsPages(store, id)) {
    let chunk = '';
    for (const r of rows) {
      if (metric !== undefined && r.metric !== metric) continue;
      chunk += csvLine([r.resultId, id, r.metric, r.value, isoSeconds(r.computedTs)]);
    }
    yield chunk;
  }
}

async function* analyticsJson(
  store: CloudStore,
  info: SnapshotInfo,
  metric?: string,
): AsyncGenerator<string> {
  yield `{"snapshot":${JSON.stringify(snapshotJson(info))},"results":[`;
  let first = true;
  for await (const rows of analyticsPages(store, info.snapshotId)) {
    let chunk = '';
    for (const r of rows) {
      if (metric !== undefined && r.metric !== metric) continue;
      chunk += (first ? '' : ',') + JSON.stringify(r);
      first = false;
    }
    yield chunk;
  }
  yield ']}';
}

async function* snapshotCsv(store: CloudStore, id: string): AsyncGenerator<string> {
  yield SNAPSHOT_CSV_HEADER;
  for await (const rows of snapshotRows(store, id)) {
    let chunk = '';
    for (const r of rows)
      chunk += csvLine([id, r.studentId, r.courseId, r.facilityId, isoSeconds(r.snapshotTs), r.state]);
    yield chunk;
  }
}

async function* snapshotJsonStream(store: CloudStore, info: SnapshotInfo): AsyncGenerator<string> {
  yield `{"snapshot":${JSON.stringify(snapshotJson(info))},"rows":[`;
  let first = true;
  for await (const rows of snapshotRows(store, info.snapshotId)) {
    let chunk = '';
    for (const r of rows) {
      // `state` is stored as JSON text: spliced in as is, not parsed and re-serialised.
      chunk += `${first ? '' : ','}{"seq":${r.seq},"studentId":${JSON.stringify(r.studentId)},"courseId":${JSON.stringify(r.courseId)},"facilityId":${JSON.stringify(r.facilityId)},"snapshotTs":${r.snapshotTs},"state":${r.state}}`;
      first = false;
    }
    yield chunk;
  }
  yield ']}';
}

export function registerReports(app: FastifyInstance, deps: ReportsDeps): void {
  const { store } = deps;

  app.post<{ Body: { cutoff?: string | number } | undefined }>(
    '/api/snapshots',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['reports'],
        summary: 'Build a snapshot now, or as of a past cut-off (admin scope)',
        body: snapshotBody,
        response: { 201: snapshotSchema, ...errors(400) },
      },
    },
    async (req, reply) => {
      const raw = req.body?.cutoff;
      const now = deps.now();
      let cutoffTs = now;
      if (raw !== undefined) {
        cutoffTs = typeof raw === 'number' ? raw : Date.parse(raw);
        if (!Number.isFinite(cutoffTs) || !Number.isInteger(cutoffTs) || cutoffTs < 0)
          return send(reply, 'CT_ERR_BAD_QUERY', 'cutoff must be epoch milliseconds or an ISO 8601 time');
        if (cutoffTs > now) return send(reply, 'CT_ERR_BAD_QUERY', 'cutoff is in the future');
      }
      const info = await deps.createSnapshot(cutoffTs);
      return reply
        .code(201)
        .header('location', `/api/snapshots/${encodeURIComponent(info.snapshotId)}`)
        .send(snapshotJson(info));
    },
  );

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/api/snapshots',
    {
      schema: {
        tags: ['reports'],
        summary: 'Snapshots, newest first, page by page',
        querystring: query({
          limit: '1…500 (default 50)',
          before: 'the snapshot id the previous page ended with',
        }),
        response: { 200: snapshotListResponse, ...errors(400) },
      },
    },
    async (req, reply) => {
      const limit = intParam(req.query.limit, 50, 1, 500);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'limit must be an integer 1…500');
      const page = await store.listSnapshots({
        limit,
        ...(req.query.before !== undefined ? { before: req.query.before } : {}),
      });
      const last = page[page.length - 1];
      return {
        snapshots: page.map(snapshotJson),
        next: page.length === limit && last ? last.snapshotId : null,
      };
    },
  );

  const getSnapshot = async (
    req: FastifyRequest<{ Params: { snapshotId: string }; Querystring: { format?: string } }>,
    reply: FastifyReply,
  ) => {
    const info = await store.snapshot(req.params.snapshotId);
    if (!info) return send(reply, 'CT_ERR_NOT_FOUND', `snapshot ${req.params.snapshotId}`);
    if (wantsJson(req)) {
      reply.type('application/json; charset=utf-8');
      return reply.send(stream(snapshotJsonStream(store, info)));
    }
    reply.type('text/csv; charset=utf-8');
    reply.header(
      'content-disposition',
      `attachment; filename="snapshot-${info.snapshotId.replaceAll(':', '')}.csv"`,
    );
    return reply.send(stream(snapshotCsv(store, info.snapshotId)));
  };
  const getAnalytics = async (
    req: FastifyRequest<{
      Params: { snapshotId: string };
      Querystring: { format?: string; metric?: string };
    }>,
    reply: FastifyReply,
  ) => {
    const info = await store.snapshot(req.params.snapshotId);
    if (!info) return send(reply, 'CT_ERR_NOT_FOUND', `snapshot ${req.params.snapshotId}`);
    const metric = req.query.metric || undefined;
    if (wantsJson(req)) {
      reply.type('application/json; charset=utf-8');
      return reply.send(stream(analyticsJson(store, info, metric)));
    }
    reply.type('text/csv; charset=utf-8');
    reply.header(
      'content-disposition',
      `attachment; filename="analytics-${info.snapshotId.replaceAll(':', '')}.csv"`,
    );
    return reply.send(stream(analyticsCsv(store, info.snapshotId, metric)));
  };
  const analyticsRoute = (original: boolean) => ({
    schema: {
      tags: ['reports'],
      summary: original
        ? 'The original design’s path for GET /api/analytics/{snapshotId}'
        : "A snapshot's analytics: engagement per enrolment, facility metrics per room",
      params: params('snapshotId'),
      querystring: query({ format: 'csv | json', metric: 'only this metric (e.g. risk_flag)' }),
      response: { 200: analyticsContent, ...errors(404) },
    },
  });
  const snapshotRoute = (original: boolean) => ({
    schema: {
      tags: ['reports'],
      summary: original
        ? 'The original design’s path for GET /api/snapshots/{snapshotId}'
        : 'One snapshot’s rows',
      params: params('snapshotId'),
      querystring: query({ format: 'csv | json' }),
      response: { 200: snapshotContent, ...errors(404) },
    },
  });
  app.get('/api/analytics/:snapshotId', analyticsRoute(false), getAnalytics);
  app.get('/analytics/:snapshotId', analyticsRoute(true), getAnalytics);
  app.get('/api/snapshots/:snapshotId', snapshotRoute(false), getSnapshot);
  app.get('/snapshots/:snapshotId', snapshotRoute(true), getSnapshot);
}
