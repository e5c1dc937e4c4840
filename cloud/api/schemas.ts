/**
 * JSON Schemas of the cloud API's requests and responses, attached to the routes so that @fastify/swagger
 * generates the OpenAPI document (`/docs/json`, Swagger UI at `/docs`). They document; the handlers validate
 * (each with its own CT_ERR_ code and message), and responses are serialised as they are. A test checks
 * real responses against these schemas, so the document cannot drift from what the API returns.
 */
import { ERROR_CODES } from '../../shared/errors.ts';

type Schema = Record<string, unknown>;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const ms = { type: 'integer', description: 'epoch milliseconds' } as const;
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const obj = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});
const arr = (items: Schema): Schema => ({ type: 'array', items });

export const errorSchema = obj({
  error: obj({ code: { type: 'string', enum: ERROR_CODES }, message: str }),
});

/** The error answers a route can give, besides its success. */
export function errors(...statuses: number[]): Record<number, Schema> {
  const descriptions: Record<number, string> = {
    400: 'Bad query or body (CT_ERR_BAD_QUERY)',
    401: 'Missing or invalid credentials (CT_ERR_AUTH)',
    403: 'Valid credentials without the scope this route needs (CT_ERR_FORBIDDEN)',
    404: 'No such resource (CT_ERR_NOT_FOUND)',
    409: 'The id names a resource on several campuses (CT_ERR_AMBIGUOUS); name one with ?campus=',
    429: 'Rate limit exceeded (CT_ERR_RATE_LIMITED); see Retry-After',
  };
  return Object.fromEntries(
    [401, 403, 429, ...statuses].map((s) => [s, { ...errorSchema, description: descriptions[s] }]),
  );
}

const classCounts = obj({ alert: int, twin: int, event: int, aggregate: int, raw: int });

export const gatewaysResponse = obj({
  now: ms,
  gateways: arr(
    obj({
      gatewayId: str,
      campusId: nullable(str),
      lastBatchAt: ms,
      lastEnqueuedAt: ms,
      newestItemTs: nullable(ms),
      lagMs: nullable(int),
      items: classCounts,
      batchesApplied: int,
      duplicateBatches: int,
      duplicateItems: int,
      quarantined: int,
    }),
  ),
});

const stateValue = obj(
  {
    state: str,
    ts: ms,
    reasons: arr(str),
    gatewayId: str,
    probability: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    basis: { type: ['string', 'null'] },
  },
  ['state', 'ts', 'reasons', 'gatewayId'],
);
const alert = obj(
  {
    alertId: str,
    ts: ms,
    severity: { type: 'string', enum: ['info', 'warning', 'critical'] },
    code: str,
    roomId: str,
    deviceId: str,
    message: str,
  },
  ['alertId', 'ts', 'severity', 'code', 'message'],
);

export const roomResponse = obj({
  roomId: str,
  campusId: nullable(str),
  state: obj({ occupancy: stateValue, comfort: stateValue }, []),
  health: { type: 'object', additionalProperties: stateValue },
  recentAlerts: arr(alert),
});

export const aggregatesResponse = obj({
  deviceId: str,
  channel: str,
  from: ms,
  to: ms,
  windows: arr(
    obj({
      deviceId: str,
      channel: str,
      roomId: str,
      quantity: str,
      unit: str,
      windowStart: ms,
      windowMs: int,
      count: int,
      sum: num,
      mean: num,
      min: num,
      max: num,
      first: num,
      firstTs: ms,
      last: num,
      lastTs: ms,
    }),
  ),
});

export const quarantineResponse = obj({
  total: int,
  entries: arr(
    obj({
      id: int,
      at: ms,
      partitionId: str,
      sequenceNumber: int,
      gatewayId: nullable(str),
      batchId: nullable(str),
      itemId: nullable(str),
      code: str,
      reason: str,
      body: str,
    }),
  ),
});

export const snapshotSchema = obj({
  snapshotId: { type: 'string', description: 'the cut-off, ISO 8601 to the second (-1, -2… if taken)' },
  cutoffTs: ms,
  cutoff: { type: 'string', format: 'date-time' },
  createdAt: ms,
  createdAtIso: { type: 'string', format: 'date-time' },
  trigger: { type: 'string', enum: ['schedule', 'api', 'cli'] },
  rooms: int,
  enrolments: int,
  results: int,
  periodFrom: ms,
});

export const snapshotListResponse = obj({ snapshots: arr(snapshotSchema), next: nullable(str) });

const engagementProps = {
  status: { type: 'string', enum: ['enrolled', 'withdrawn', 'completed', 'unknown'] },
  events: int,
  activeDays: int,
  activeDaysLast28: int,
  distinctResources: int,
  submissions: int,
  graded: int,
  meanScorePct: nullable(num),
  firstActivityTs: nullable(ms),
  lastActivityTs: nullable(ms),
  daysSinceLastActivity: nullable(int),
  eventsLast7Days: int,
  eventsPrev7Days: int,
  eventsPerWeek: num,
  trend: { type: 'string', enum: ['rising', 'steady', 'falling', 'none'] },
  engagementScore: { type: 'integer', minimum: 0, maximum: 100 },
  riskFlag: { type: 'integer', enum: [0, 1] },
};

const csv = (description: string): Schema => ({ type: 'string', description });

export const snapshotBody = {
  type: 'object',
  properties: { cutoff: { type: ['string', 'integer'], description: 'ISO 8601 or epoch ms; default now' } },
  additionalProperties: false,
};

export const snapshotContent = {
  description: 'CSV (default) or JSON (Accept: application/json or ?format=json), streamed',
  content: {
    'text/csv': { schema: csv('snapshot_id,student_id,course_id,facility_id,snapshot_ts,state') },
    'application/json': {
      schema: obj({
        snapshot: snapshotSchema,
        rows: arr(
          obj({
            seq: int,
            studentId: nullable(str),
            courseId: nullable(str),
            facilityId: nullable(str),
            snapshotTs: ms,
            state: { type: 'object', description: 'a room state or an engagement state' },
          }),
        ),
      }),
    },
  },
};

export const analyticsContent = {
  description: 'CSV (default) or JSON, streamed',
  content: {
    'text/csv': { schema: csv('result_id,snapshot_id,metric,value,computed_ts') },
    'application/json': {
      schema: obj({
        snapshot: snapshotSchema,
        results: arr(
          obj({
            seq: int,
            resultId: str,
            metric: str,
            value: num,
            computedTs: ms,
            studentId: nullable(str),
            courseId: nullable(str),
            facilityId: nullable(str),
          }),
        ),
      }),
    },
  },
};

const roomSummary = obj({
  roomId: str,
  campusId: nullable(str),
  name: nullable(str),
  buildingId: nullable(str),
  floorId: nullable(str),
  capacity: nullable(int),
  occupancy: nullable(str),
  occupancySince: nullable(ms),
  comfort: nullable(str),
  comfortReasons: arr(str),
  devices: obj({ online: int, stale: int, offline: int }),
  lastChangeTs: nullable(ms),
  needsAttention: { type: 'boolean' },
});

export const buildingsResponse = obj({
  buildings: arr(
    obj({
      buildingId: str,
      name: str,
      floors: arr(obj({ floorId: str, level: int, rooms: int })),
      rooms: int,
    }),
  ),
  unassignedRooms: int,
});

export const buildingSummaryResponse = obj({
  now: ms,
  buildingId: str,
  name: str,
  floors: int,
  rooms: int,
  roomsWithState: int,
  occupied: int,
  occupiedShare: nullable(num),
  comfort: obj({ ok: int, warn: int, alert: int, unknown: int }),
  devices: obj({ online: int, stale: int, offline: int }),
  roomsNeedingAttention: int,
  alertsLast24h: int,
});

export const roomsResponse = {
  description: 'JSON, or CSV with ?format=csv / Accept: text/csv',
  content: {
    'application/json': { schema: obj({ total: int, offset: int, limit: int, rooms: arr(roomSummary) }) },
    'text/csv': { schema: csv('room_id,name,building_id,floor_id,capacity,occupancy,…') },
  },
};

export const historyResponse = {
  description: 'JSON, or CSV (ts,count,min,max,mean) with ?format=csv',
  content: {
    'application/json': {
      schema: obj({
        roomId: str,
        quantity: str,
        from: ms,
        to: ms,
        intervalMs: int,
        sensors: arr(obj({ deviceId: str, channel: str })),
        buckets: arr(obj({ ts: ms, count: int, min: num, max: num, mean: num })),
      }),
    },
    'text/csv': { schema: csv('ts,count,min,max,mean') },
  },
};

export const courseEngagementResponse = {
  description: 'JSON, or CSV with ?format=csv',
  content: {
    'application/json': {
      schema: obj({
        courseId: str,
        asOf: ms,
        students: arr(obj({ studentId: { type: 'string', description: 'pseudonym' }, ...engagementProps })),
        next: nullable(str),
      }),
    },
    'text/csv': { schema: csv('student_id,status,engagement_score,risk_flag,…') },
  },
};

/** Query parameters as strings: the handlers parse and refuse them with their own messages. */
export function query(names: Record<string, string>): Schema {
  return {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(names).map(([k, description]) => [k, { type: 'string', description }]),
    ),
  };
}

export function params(...names: string[]): Schema {
  return obj(Object.fromEntries(names.map((n) => [n, str])));
}
