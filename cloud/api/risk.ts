/**
 * Dropout-risk routes (scope risk:read): the original design's `POST /predict/dropout` (`{"engagement_score":
 * n}` → `{"dropout_probability"}`, from a model fitted on real outcomes) and a full feature object; each
 * student's latest scores with their reasons; the highest risks in a course; the trained models.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { roomFacilityRisk } from '../reporting/facility-risk.ts';
import { roomAnalytics } from '../reporting/room-analytics.ts';
import { byRoom } from '../reporting/rooms.ts';
import { topFactors } from '../risk/explain.ts';
import { FEATURES } from '../risk/features.ts';
import { probability, typicalOf } from '../risk/model.ts';
import { engagementProbability } from '../risk/train.ts';
import type { CloudStore, RoomFilter } from '../store/types.ts';
import { intParam, onCampus, send, sendAmbiguous } from './params.ts';
import { errors, params, query } from './schemas.ts';

const SCOPE = { scope: 'risk:read' as const };
const factor = {
  type: 'object',
  properties: {
    feature: { type: 'string' },
    value: { type: 'number' },
    typical: { type: 'number' },
    contribution: { type: 'number' },
    direction: { type: 'string', enum: ['raises', 'lowers'] },
    text: { type: 'string' },
  },
  required: ['feature', 'value', 'typical', 'contribution', 'direction', 'text'],
};
const score = {
  type: 'object',
  properties: {
    courseId: { type: 'string' },
    studentId: { type: 'string', description: 'pseudonym' },
    modelId: { type: 'string' },
    probability: { type: 'number' },
    courseDay: { type: 'integer' },
    factors: { type: 'array', items: factor },
    computedAt: { type: 'integer' },
  },
  required: ['courseId', 'studentId', 'modelId', 'probability', 'courseDay', 'factors', 'computedAt'],
};

export function registerRisk(app: FastifyInstance, deps: { store: CloudStore }): void {
  const { store } = deps;

  const predictDropout = async (req: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const models = await store.riskModels();
    const m = models[0];
    if (!m) return send(reply, 'CT_ERR_MODEL_UNAVAILABLE');
    if ('engagement_score' in body) {
      const e = body.engagement_score;
      if (typeof e !== 'number' || !Number.isFinite(e) || e < 0 || e > 100)
        return send(reply, 'CT_ERR_BAD_QUERY', 'engagement_score must be a number 0…100');
      return { dropout_probability: Math.round(engagementProbability(m, e) * 10_000) / 10_000 };
    }
    const f = body.features;
    if (!f || typeof f !== 'object' || Array.isArray(f))
      return send(reply, 'CT_ERR_BAD_QUERY', 'send {"engagement_score": n} or {"features": {name: value}}');
    const given = f as Record<string, unknown>;
    const unknown = Object.keys(given).filter((k) => !FEATURES.some((d) => d.name === k));
    if (unknown.length > 0)
      return send(
        reply,
        'CT_ERR_BAD_QUERY',
        `unknown feature(s) ${unknown.join(', ')}; known: ${FEATURES.map((d) => d.name).join(', ')}`,
      );
    // A feature left out is taken as typical (the training mean).
    const x = FEATURES.map((d, j) => {
      const v = given[d.name];
      return typeof v === 'number' && Number.isFinite(v) ? v : typicalOf(m.model)[j]!;
    });
    return {
      dropout_probability: Math.round(probability(m.model, x) * 10_000) / 10_000,
      modelId: m.modelId,
      cutoffDay: m.cutoffDay,
      factors: topFactors(m.model, x, 3),
    };
  };
  const predictSchema = (original: boolean) => ({
    config: SCOPE,
    schema: {
      tags: ['risk'],
      summary: original
        ? 'The original design’s path for POST /api/predict/dropout'
        : 'Dropout probability from an engagement score (original shape) or a full feature object',
      body: {
        oneOf: [
          {
            type: 'object',
            properties: { engagement_score: { type: 'number' } },
            required: ['engagement_score'],
          },
          { type: 'object', properties: { features: { type: 'object' } }, required: ['features'] },
        ],
      },
      response: {
        200: {
          type: 'object',
          properties: {
            dropout_probability: { type: 'number' },
            modelId: { type: 'string' },
            cutoffDay: { type: 'integer' },
            factors: { type: 'array', items: factor },
          },
          required: ['dropout_probability'],
        },
        ...errors(400, 503),
      },
    },
  });
  app.post('/api/predict/dropout', predictSchema(false), predictDropout);
  app.post('/predict/dropout', predictSchema(true), predictDropout);

  app.get<{ Params: { studentId: string } }>(
    '/api/students/:studentId/risk',
    {
      config: SCOPE,
      schema: {
        tags: ['risk'],
        summary: "One student's latest dropout risk in each course, with its top factors",
        params: params('studentId'),
        response: {
          200: {
            type: 'object',
            properties: { studentId: { type: 'string' }, scores: { type: 'array', items: score } },
            required: ['studentId', 'scores'],
          },
          ...errors(404),
        },
      },
    },
    async (req, reply) => {
      const scores = await store.riskScores({ studentId: req.params.studentId, top: 1000 });
      if (scores.length === 0)
        return send(reply, 'CT_ERR_NOT_FOUND', `no risk score for ${req.params.studentId}`);
      return { studentId: req.params.studentId, scores };
    },
  );

  app.get<{ Querystring: { course?: string; top?: string } }>(
    '/api/risk/students',
    {
      config: SCOPE,
      schema: {
        tags: ['risk'],
        summary: 'The highest dropout risks, in one course or across all',
        querystring: query({ course: 'course id (default: all courses)', top: '1…1000 (default 20)' }),
        response: {
          200: {
            type: 'object',
            properties: { scores: { type: 'array', items: score } },
            required: ['scores'],
          },
          ...errors(400),
        },
      },
    },
    async (req, reply) => {
      const top = intParam(req.query.top, 20, 1, 1000);
      if (top === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'top must be an integer 1…1000');
      return {
        scores: await store.riskScores({ ...(req.query.course ? { courseId: req.query.course } : {}), top }),
      };
    },
  );

  app.get(
    '/api/risk/models',
    {
      config: SCOPE,
      schema: {
        tags: ['risk'],
        summary: 'Trained dropout models, newest first, with held-out ROC AUC, calibration and importances',
        response: {
          200: {
            type: 'object',
            properties: { models: { type: 'array', items: { type: 'object' } } },
            required: ['models'],
          },
          ...errors(),
        },
      },
    },
    async () => ({
      models: (await store.riskModels()).map(({ model: _m, engagement: _e, ...summary }) => summary),
    }),
  );
}

const facilityRiskSchema = {
  type: 'object',
  properties: {
    roomId: { type: 'string' },
    campusId: { type: ['string', 'null'] },
    from: { type: 'integer' },
    to: { type: 'integer' },
    score: { type: 'integer', minimum: 0, maximum: 100 },
    parts: {
      type: 'object',
      properties: {
        comfort: { type: 'number' },
        sensors: { type: 'number' },
        energy: { type: 'number' },
        workOrders: { type: 'number' },
      },
      required: ['comfort', 'sensors', 'energy', 'workOrders'],
    },
    reasons: { type: 'array', items: { type: 'string' } },
  },
  required: ['roomId', 'campusId', 'from', 'to', 'score', 'parts', 'reasons'],
};

/** The wanted rooms' facility risk over the `periodMs` to now, highest first. */
async function roomRisks(store: CloudStore, now: number, periodMs: number, filter: RoomFilter = {}) {
  const from = now - periodMs;
  // Facility risk reads no utilization: every minute may count as open.
  const open = new Array<boolean>(Math.floor(periodMs / 60_000)).fill(true);
  return (await store.roomPeriods(from, now, filter))
    .map((p) => ({
      roomId: p.roomId,
      campusId: p.campusId || null,
      from,
      to: now,
      ...roomFacilityRisk(p, roomAnalytics(p, open)),
    }))
    .sort((a, b) => b.score - a.score || byRoom(a, b));
}

/** Facility risk (scope reports:read: it is about rooms, not students). */
export function registerFacilityRisk(
  app: FastifyInstance,
  deps: { store: CloudStore; now: () => number },
): void {
  const periodMs = 86_400_000;
  app.get<{ Params: { roomId: string }; Querystring: { campus?: string } }>(
    '/api/rooms/:roomId/risk',
    {
      schema: {
        tags: ['risk'],
        summary: "A room's facility risk over the last 24 h, 0–100, with its parts and reasons",
        params: params('roomId'),
        querystring: query({
          campus: 'the campus whose room it is (needed only when several campuses have the room id)',
        }),
        response: { 200: facilityRiskSchema, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const { roomId } = req.params;
      const campusId = req.query.campus;
      const risks = await roomRisks(deps.store, deps.now(), periodMs, { roomId, campusId });
      const name = onCampus(`room ${roomId}`, campusId);
      if (risks.length > 1)
        return sendAmbiguous(reply, name, { campuses: risks.map((r) => r.campusId ?? '').sort() });
      const [r] = risks;
      if (!r) return send(reply, 'CT_ERR_NOT_FOUND', `nothing known about ${name} in the last 24 h`);
      return r;
    },
  );
  app.get<{ Querystring: { top?: string } }>(
    '/api/risk/rooms',
    {
      schema: {
        tags: ['risk'],
        summary: 'The rooms with the highest facility risk over the last 24 h',
        querystring: query({ top: '1…1000 (default 20)' }),
        response: {
          200: {
            type: 'object',
            properties: { rooms: { type: 'array', items: facilityRiskSchema } },
            required: ['rooms'],
          },
          ...errors(400),
        },
      },
    },
    async (req, reply) => {
      const top = intParam(req.query.top, 20, 1, 1000);
      if (top === undefined) return send(reply, 'CT_ERR_BAD_QUERY', 'top must be an integer 1…1000');
      return { rooms: (await roomRisks(deps.store, deps.now(), periodMs)).slice(0, top) };
    },
  );
}
