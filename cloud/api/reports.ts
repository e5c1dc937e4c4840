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
import { intParam, send, wantsJson } from './params.ts';
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

export function snapshotJson(s: SnapshotInfo) {
  return {
    ...s,
    cutoff: new Date(s.cutoffTs).toISOString(),
    createdAtIso: new Date(s.createdAt).toISOString(),
  };
}

/** Every row of a paged store read, page by page, with a turn of the event loop between pages. */
async function* pages<T extends { seq: number }>(
  read: (afterSeq: number, limit: number) => Promise<T[]>,
): AsyncGenerator<T[]> {
  let after = -1;
  for (;;) {
    const rows = await read(after, PAGE_ROWS);
    if (rows.length === 0) return;
    yield rows;
    await nextTurn();
    after = rows[rows.length - 1]!.seq;
    if (rows.length < PAGE_ROWS) return;
  }
}

async function* csv<T>(
  header: string,
  source: AsyncIterable<T[]>,
  line: (r: T) => string,
): AsyncGenerator<string> {
  yield header;
  for await (const rows of source) yield rows.map(line).join('');
}

/** `{"snapshot": {…}, "<key>": [items…]}`, each item already JSON text. */
async function* json<T>(
  info: SnapshotInfo,
  key: string,
  source: AsyncIterable<T[]>,
  item: (r: T) => string,
): AsyncGenerator<string> {
  yield `{"snapshot":${JSON.stringify(snapshotJson(info))},"${key}":[`;
  let first = true;
  for await (const rows of source) {
    if (rows.length === 0) continue;
    yield `${first ? '' : ','}${rows.map(item).join(',')}`;
    first = false;
  }
  yield ']}';
}

const snapshotLine = (id: string) => (r: SnapshotRow) =>
  csvLine([id, r.studentId, r.courseId, r.facilityId, isoSeconds(r.snapshotTs), r.state]);
// `state` is stored as JSON text: spliced in as is, not parsed and re-serialised.
const snapshotItem = (r: SnapshotRow) =>
  `{"seq":${r.seq},"studentId":${JSON.stringify(r.studentId)},"courseId":${JSON.stringify(r.courseId)},"facilityId":${JSON.stringify(r.facilityId)},"snapshotTs":${r.snapshotTs},"state":${r.state}}`;
const analyticsLine = (id: string) => (r: AnalyticsRow) =>
  csvLine([r.resultId, id, r.metric, r.value, isoSeconds(r.computedTs)]);

/** A streamed report: JSON when asked for, else CSV as an attachment named `<name>-<id>.csv`. */
function sendReport(
  reply: FastifyReply,
  asJson: boolean,
  name: string,
  info: SnapshotInfo,
  bodies: { csv: () => AsyncIterable<string>; json: () => AsyncIterable<string> },
) {
  if (asJson) return reply.type('application/json; charset=utf-8').send(stream(bodies.json()));
  reply.type('text/csv; charset=utf-8');
  reply.header(
    'content-disposition',
    `attachment; filename="${name}-${info.snapshotId.replaceAll(':', '')}.csv"`,
  );
  return reply.send(stream(bodies.csv()));
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
    const id = info.snapshotId;
    const rows = () => pages((after, limit) => store.snapshotRows(id, after, limit));
    return sendReport(reply, wantsJson(req), 'snapshot', info, {
      csv: () => csv(SNAPSHOT_CSV_HEADER, rows(), snapshotLine(id)),
      json: () => json(info, 'rows', rows(), snapshotItem),
    });
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
    const id = info.snapshotId;
    const metric = req.query.metric || undefined;
    const rows = () => pages((after, limit) => store.analyticsRows(id, after, limit, metric));
    return sendReport(reply, wantsJson(req), 'analytics', info, {
      csv: () => csv(ANALYTICS_CSV_HEADER, rows(), analyticsLine(id)),
      json: () => json(info, 'results', rows(), (r) => JSON.stringify(r)),
    });
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
