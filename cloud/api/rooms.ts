/**
 * Live reporting reads: buildings and their summary, rooms with their state (filters, pages, CSV), a room's
 * history for one quantity re-aggregated from stored windows, and one course's engagement as of now.
 * Registry data (building, floor, name, capacity) comes from the campus file the cloud was given.
 */
import type { FastifyInstance } from 'fastify';
import { isQuantity } from '../../shared/quantities.ts';
import { csvLine, isoSeconds } from '../reporting/csv.ts';
import { buildingSummary, type Directory, type RoomSummary, roomSummaries } from '../reporting/directory.ts';
import { parseInterval, rebucket } from '../reporting/history.ts';
import type { CloudStore } from '../store/types.ts';
import { pinnedRange } from './cache.ts';
import { intParam, onCampus, send, sendAmbiguous, timeRange, wantsCsv } from './params.ts';
import {
  buildingSummaryResponse,
  buildingsResponse,
  courseEngagementResponse,
  errors,
  historyResponse,
  params,
  query,
  roomsResponse,
} from './schemas.ts';

const DAY_MS = 86_400_000;
const MAX_BUCKETS = 10_000;

export interface RoomsDeps {
  store: CloudStore;
  now: () => number;
  directory: Directory;
}

const ROOMS_CSV_HEADER =
  'room_id,name,building_id,floor_id,capacity,occupancy,occupancy_since,comfort,devices_online,devices_stale,devices_offline,needs_attention,campus_id\n';

function roomCsv(r: RoomSummary): string {
  return csvLine([
    r.roomId,
    r.name,
    r.buildingId,
    r.floorId,
    r.capacity,
    r.occupancy,
    r.occupancySince === null ? null : isoSeconds(r.occupancySince),
    r.comfort,
    r.devices.online,
    r.devices.stale,
    r.devices.offline,
    r.needsAttention ? 1 : 0,
    r.campusId,
  ]);
}

export function registerRooms(app: FastifyInstance, deps: RoomsDeps): void {
  const { store, directory } = deps;

  app.get(
    '/api/buildings',
    {
      config: { cache: true },
      schema: {
        tags: ['rooms'],
        summary: "The campus registry's buildings, floors and room counts",
        response: { 200: buildingsResponse, ...errors() },
      },
    },
    async () => {
      const rooms = roomSummaries(directory, await store.roomStates());
      return {
        buildings: directory.buildings.map((b) => ({
          buildingId: b.buildingId,
          name: b.name,
          floors: b.floors.map((f) => ({ floorId: f.floorId, level: f.level, rooms: f.roomIds.length })),
          rooms: rooms.filter((r) => r.buildingId === b.buildingId).length,
        })),
        unassignedRooms: rooms.filter((r) => r.buildingId === null).length,
      };
    },
  );

  app.get<{ Params: { buildingId: string } }>(
    '/api/buildings/:buildingId/summary',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Occupancy, comfort, device health and alerts across one building',
        params: params('buildingId'),
        response: { 200: buildingSummaryResponse, ...errors(404) },
      },
    },
    async (req, reply) => {
      const b = directory.buildings.find((x) => x.buildingId === req.params.buildingId);
      if (!b) return send(reply, 'CT_ERR_NOT_FOUND', `building ${req.params.buildingId}`);
      const now = deps.now();
      const [states, alerts] = await Promise.all([store.roomStates(), store.alertCounts(now - DAY_MS)]);
      return { now, ...buildingSummary(b, roomSummaries(directory, states), alerts) };
    },
  );

  app.get<{
    Querystring: {
      building?: string;
      floor?: string;
      occupancy?: string;
      comfort?: string;
      attention?: string;
      campus?: string;
      limit?: string;
      offset?: string;
      format?: string;
    };
  }>(
    '/api/rooms',
    {
      config: { cache: true },
      schema: {
        tags: ['rooms'],
        summary: 'Rooms with their latest state; filters and pages; CSV on request',
        querystring: query({
          building: 'building id',
          floor: 'floor id',
          occupancy: 'occupied | vacant',
          comfort: 'ok | warn | alert',
          attention: 'true: only rooms with comfort warn/alert or a stale/offline device',
          campus: "only this campus's rooms (campus.id; empty: rooms of gateways that name none)",
          limit: '1…5000 (default 100)',
          offset: '≥ 0 (default 0)',
          format: 'json | csv',
        }),
        response: { 200: roomsResponse, ...errors(400) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const limit = intParam(q.limit, 100, 1, 5000);
      const offset = intParam(q.offset, 0, 0, Number.MAX_SAFE_INTEGER);
      if (limit === undefined || offset === undefined)
        return send(reply, 'CT_ERR_BAD_QUERY', 'limit must be an integer 1…5000 and offset ≥ 0');
      if (q.attention !== undefined && q.attention !== 'true' && q.attention !== 'false')
        return send(reply, 'CT_ERR_BAD_QUERY', 'attention must be true or false');
      const all = roomSummaries(directory, await store.roomStates()).filter(
        (r) =>
          (!q.building || r.buildingId === q.building) &&
          (!q.floor || r.floorId === q.floor) &&
          (!q.occupancy || r.occupancy === q.occupancy) &&
          (!q.comfort || r.comfort === q.comfort) &&
          (q.attention === undefined || r.needsAttention === (q.attention === 'true')) &&
          (q.campus === undefined || (r.campusId ?? '') === q.campus),
      );
      const page = all.slice(offset, offset + limit);
      if (wantsCsv(req)) {
        reply.type('text/csv; charset=utf-8');
        return ROOMS_CSV_HEADER + page.map(roomCsv).join('');
      }
      return { total: all.length, offset, limit, rooms: page };
    },
  );

  app.get<{
    Params: { roomId: string };
    Querystring: {
      quantity?: string;
      from?: string;
      to?: string;
      interval?: string;
      format?: string;
      campus?: string;
    };
  }>(
    '/api/rooms/:roomId/history',
    {
      config: { cache: pinnedRange },
      schema: {
        tags: ['rooms'],
        summary: "A room's history for one quantity, re-aggregated from stored windows",
        params: params('roomId'),
        querystring: query({
          quantity: 'co2, temperature, humidity, power, energy, …',
          from: 'epoch ms or ISO 8601 (default to − 24 h)',
          to: 'epoch ms or ISO 8601 (default now)',
          interval: '90s, 5m, 1h, 1d or ms (default: the stored window)',
          format: 'json | csv',
          campus: 'the campus whose room it is (needed only when several campuses have the room id)',
        }),
        response: { 200: historyResponse, ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (!q.quantity || !isQuantity(q.quantity))
        return send(reply, 'CT_ERR_BAD_QUERY', 'quantity must name a quantity (co2, temperature, power, …)');
      const range = timeRange(q, deps.now());
      if ('error' in range) return send(reply, 'CT_ERR_BAD_QUERY', range.error);
      const { from, to } = range;
      const windows = await store.roomWindows(req.params.roomId, q.quantity, from, to, q.campus);
      const name = onCampus(`room ${req.params.roomId}`, q.campus);
      if (!windows) return send(reply, 'CT_ERR_NOT_FOUND', `${name} has no ${q.quantity} sensor`);
      if ('campuses' in windows) return sendAmbiguous(reply, `${q.quantity} of ${name}`, windows);
      // Default: the stored window size (the smallest present), i.e. no re-aggregation.
      const smallest = windows.windows.reduce((m, w) => Math.min(m, w.windowMs), Number.POSITIVE_INFINITY);
      const intervalMs = q.interval
        ? parseInterval(q.interval)
        : Number.isFinite(smallest)
          ? smallest
          : 60_000;
      if (intervalMs === undefined)
        return send(reply, 'CT_ERR_BAD_QUERY', 'interval must look like 90s, 5m, 1h, 1d or be milliseconds');
      if ((to - from) / intervalMs > MAX_BUCKETS)
        return send(
          reply,
          'CT_ERR_BAD_QUERY',
          `at most ${MAX_BUCKETS} intervals per request: widen the interval`,
        );
      const buckets = rebucket(windows.windows, intervalMs);
      if (wantsCsv(req)) {
        reply.type('text/csv; charset=utf-8');
        return `ts,count,min,max,mean\n${buckets.map((b) => csvLine([isoSeconds(b.ts), b.count, b.min, b.max, b.mean])).join('')}`;
      }
      return {
        roomId: req.params.roomId,
        quantity: q.quantity,
        from,
        to,
        intervalMs,
        sensors: windows.sensors,
        buckets,
      };
    },
  );

  app.get<{ Params: { courseId: string }; Querystring: { after?: string; limit?: string; format?: string } }>(
    '/api/courses/:courseId/engagement',
    {
      schema: {
        tags: ['reports'],
        summary: "Each student's engagement in one course as of now (pseudonyms only)",
        params: params('courseId'),
        querystring: query({
          after: 'the pseudonym the previous page ended with',
          limit: '1…5000 (default 500)',
          format: 'json | csv',
        }),
        response: { 200: courseEngagementResponse, ...errors(400, 404) },
      },
    },
    async (req, reply) => {
      const limit = intParam(req.query.limit, 500, 1, 5000);
      if (limit === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'limit must be an integer 1…5000');
      const now = deps.now();
      const rows = await store.courseEngagement(req.params.courseId, now, req.query.after ?? '', limit);
      if (rows.length === 0 && !req.query.after)
        return send(reply, 'CT_ERR_NOT_FOUND', `course ${req.params.courseId}`);
      const next = rows.length === limit ? rows[rows.length - 1]!.studentId : null;
      if (!wantsCsv(req)) {
        return {
          courseId: req.params.courseId,
          asOf: now,
          students: rows.map((r) => ({ studentId: r.studentId, ...r.state })),
          next,
        };
      }
      reply.type('text/csv; charset=utf-8');
      return `student_id,status,engagement_score,risk_flag,events,active_days,submissions,days_since_last_activity,trend\n${rows
        .map((r) =>
          csvLine([
            r.studentId,
            r.state.status,
            r.state.engagementScore,
            r.state.riskFlag,
            r.state.events,
            r.state.activeDays,
            r.state.submissions,
            r.state.daysSinceLastActivity,
            r.state.trend,
          ]),
        )
        .join('')}`;
    },
  );
}
