/**
 * History import and dropout-risk reads on both stores: one scenario run against the SQLite classes
 * (history.ts, risk-reads.ts) and the PostgreSQL ones (pg-history.ts, pg-risk-reads.ts) on a real PostgreSQL
 * server started for this file. Each answer is checked against the expected value and between the two.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres.ts';
import { eventColumns, type StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import type { Factor } from '../risk/explain.ts';
import { DAY_MS, type Outcome, type RiskInputs } from '../risk/features.ts';
import { campus, TERM_STARTS } from '../risk/synthetic.ts';
import { SqliteHistory } from './history.ts';
import { PgHistory } from './pg-history.ts';
import { PgRiskReads } from './pg-risk-reads.ts';
import { migrate } from './pg-schema.ts';
import { PG_TYPES } from './pg-sql.ts';
import { SqliteRiskReads } from './risk-reads.ts';
import { SqliteCloudStore } from './sqlite.ts';
import type { RiskModelRecord, RiskScoreRow } from './types.ts';

let server: TestPostgres | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

/** The same methods on both stores, awaited (the SQLite ones answer synchronously). */
interface Sides {
  history: {
    importEvents(e: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }>;
    upsertCourses(c: readonly CourseRecord[]): Promise<void>;
    courses(): Promise<CourseRecord[]>;
  };
  risk: {
    riskInputs(courseId: string, startTs: number, cutTs: number): Promise<RiskInputs[]>;
    outcomes(courseId: string): Promise<Map<string, Outcome>>;
    eventCourses(): Promise<{ courseId: string; firstTs: number }[]>;
    saveModel(m: RiskModelRecord): Promise<void>;
    models(): Promise<RiskModelRecord[]>;
    replaceScores(courseId: string, rows: readonly RiskScoreRow[]): Promise<void>;
    scores(q: { studentId?: string; courseId?: string; top: number }): Promise<RiskScoreRow[]>;
  };
  close(): Promise<void>;
}

function sqliteSide(): Sides {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const h = new SqliteHistory(store.db);
  const r = new SqliteRiskReads(store.db);
  return {
    history: {
      importEvents: async (e) => h.importEvents(e),
      upsertCourses: async (c) => h.upsertCourses(c),
      courses: async () => h.courses(),
    },
    risk: {
      riskInputs: async (c, s, t) => r.riskInputs(c, s, t),
      outcomes: async (c) => r.outcomes(c),
      eventCourses: async () => r.eventCourses(),
      saveModel: async (m) => r.saveModel(m),
      models: async () => r.models(),
      replaceScores: async (c, rows) => r.replaceScores(c, rows),
      scores: async (q) => r.scores(q),
    },
    close: async () => store.close(),
  };
}

let n = 0;
async function pgSide(): Promise<Sides> {
  const schema = `rh${process.pid}_${n++}`;
  const pool = new pg.Pool({
    connectionString: server!.url,
    max: 3,
    types: PG_TYPES,
    options: `-c search_path=${schema}`,
  });
  const client = await pool.connect();
  try {
    await migrate(client, 1, schema);
  } finally {
    client.release();
  }
  return { history: new PgHistory(pool), risk: new PgRiskReads(pool), close: () => pool.end() };
}

/** Runs `fn` on a fresh SQLite side and a fresh PostgreSQL side. */
async function both(fn: (s: Sides, name: string) => Promise<void>): Promise<void> {
  for (const [name, open] of [
    ['SQLite', async () => sqliteSide()],
    ['PostgreSQL', pgSide],
  ] as const) {
    const s = await open();
    try {
      await fn(s, name);
    } finally {
      await s.close();
    }
  }
}

const S = Date.UTC(2025, 1, 3); // C1 starts (midnight UTC: day numbers are whole)
const S2 = S + 7 * DAY_MS; // C2 starts
const H = 3_600_000;
const d = (days: number, hours = 0) => S + days * DAY_MS + hours * H;

function stored(body: Record<string, unknown>): StoredEvent {
  return { ...eventColumns(body), json: JSON.stringify(body) };
}

let seq = 0;
function ev(
  actorId: string | null,
  courseId: string | null,
  type: string,
  ts: number,
  over: Record<string, unknown> = {},
): StoredEvent {
  const admin = type.startsWith('enrolment.');
  return stored({
    eventId: `e${++seq}`,
    source: admin ? 'admin' : 'lms',
    type,
    originalType: type,
    ts,
    receivedAt: ts,
    actorId,
    courseId,
    objectId: null,
    ...over,
  });
}

const EVENTS: StoredEvent[] = [
  // C1, s1: registered 10 days before the start, active before and after it, submits a1 twice, graded.
  ev('s1', 'C1', 'enrolment.created', d(-10)),
  ev('s1', 'C1', 'resource.viewed', d(-2, 1), { objectId: 'r1', count: 3 }),
  ev('s1', 'C1', 'resource.viewed', d(1, 1), { objectId: 'r2', count: 2 }),
  ev('s1', 'C1', 'resource.viewed', d(1, 5), { objectId: 'r1' }),
  ev('s1', 'C1', 'assessment.submitted', d(9), { objectId: 'a1' }),
  ev('s1', 'C1', 'assessment.submitted', d(9, 2), { objectId: 'a1' }),
  ev('s1', 'C1', 'assessment.graded', d(12), { objectId: 'a1', score: 15, maxScore: 20 }),
  ev('s1', 'C1', 'resource.viewed', d(16), { objectId: 'r2', count: 5 }),
  ev('s1', 'C1', 'resource.viewed', d(22, 3), { objectId: 'r3', count: 4 }),
  ev('s1', 'C1', 'resource.viewed', d(30), { objectId: 'r9', count: 100 }), // after the cut-off
  ev('s1', 'C1', 'enrolment.completed', d(100)),
  // C1, s2: little activity, grades (one without a maximum, one of maximum 0: neither counts), withdraws twice.
  ev('s2', 'C1', 'enrolment.created', d(-3)),
  ev('s2', 'C1', 'resource.viewed', d(2), { objectId: 'r1' }),
  ev('s2', 'C1', 'assessment.graded', d(12), { objectId: 'a1', score: 5, maxScore: 20 }),
  ev('s2', 'C1', 'assessment.graded', d(13), { objectId: 'a0', score: 3, maxScore: 0 }),
  ev('s2', 'C1', 'assessment.graded', d(14), { objectId: 'a2', score: 3 }),
  ev('s2', 'C1', 'enrolment.withdrawn', d(20)),
  ev('s2', 'C1', 'enrolment.withdrawn', d(25)),
  // C1 without an actor (the course's first event), and an event of no course.
  ev(null, 'C1', 'course.announced', d(-20)),
  ev('s1', null, 'room.entered', d(-30)),
  // C2: s3 and s2.
  ev('s3', 'C2', 'enrolment.created', S2 - DAY_MS),
  ev('s3', 'C2', 'resource.viewed', S2 + DAY_MS, { objectId: 'q1', count: 2 }),
  ev('s2', 'C2', 'enrolment.created', S2),
];

const COURSES: CourseRecord[] = [
  {
    courseId: 'C2',
    name: 'Second',
    startTs: S2,
    endTs: null,
    assessments: [],
  },
  {
    courseId: 'C1',
    name: 'First',
    startTs: S,
    endTs: d(100),
    assessments: [
      { assessmentId: 'a1', kind: 'TMA', dueTs: d(10), weight: 20 },
      { assessmentId: 'a2', kind: 'exam', dueTs: null, weight: null },
      { assessmentId: 'a0', kind: 'TMA', dueTs: d(5), weight: 10 },
    ],
  },
];

const EXPECTED_C1: RiskInputs[] = [
  {
    studentId: 's1',
    courseId: 'C1',
    // Views (3+2+1+5+4) and two submissions; not the grade, not the view after the cut-off.
    clicks: 17,
    clicksBeforeStart: 3,
    clicksSinceStart: 14,
    clicksLast7: 4,
    clicksPrev7: 5,
    activeDays: 5,
    activeDaysLast14: 2,
    lastActivityTs: d(22, 3),
    distinctResources: 4,
    meanScore: 0.75,
    graded: 1,
    registeredTs: d(-10),
    submissions: new Map([['a1', d(9)]]),
  },
  {
    studentId: 's2',
    courseId: 'C1',
    clicks: 1,
    clicksBeforeStart: 0,
    clicksSinceStart: 1,
    clicksLast7: 0,
    clicksPrev7: 0,
    activeDays: 1,
    activeDaysLast14: 0,
    lastActivityTs: d(2),
    distinctResources: 1,
    meanScore: 0.25,
    graded: 1,
    registeredTs: d(-3),
    submissions: new Map(),
  },
];

function model(modelId: string, createdAt: number): RiskModelRecord {
  // The stores keep a model as opaque JSON: a record with a small logistic model is enough.
  return {
    modelId,
    createdAt,
    kind: 'logistic-l2',
    cutoffDay: 28,
    features: ['clicks', 'activeDays'],
    model: {
      kind: 'logistic-l2',
      logistic: {
        means: [10, 3],
        sds: [4, 1.5],
        weights: [-0.8, -0.4],
        intercept: -1.2,
        l2: 1,
        iterations: 12,
        converged: true,
      },
    },
    selection: { validationCourses: ['C0'], logisticAuc: 0.71, gbdtAuc: null },
  } as unknown as RiskModelRecord;
}

const factor = (feature: string, contribution: number): Factor => ({
  feature,
  value: 2,
  typical: 10,
  contribution,
  direction: contribution > 0 ? 'raises' : 'lowers',
  text: `${feature} ${contribution > 0 ? 'raises' : 'lowers'} the risk`,
});

const score = (courseId: string, studentId: string, probability: number): RiskScoreRow => ({
  courseId,
  studentId,
  modelId: 'm-2',
  probability,
  courseDay: 28,
  factors: [factor('clicks', probability), factor('activeDays', -0.25)],
  computedAt: d(28, 1),
});

describe('history and risk reads, SQLite and PostgreSQL', () => {
  it('imports events once each, and reads features, outcomes and event courses the same', async () => {
    const answers: unknown[] = [];
    await both(async (s, name) => {
      // An event twice in one import counts as a duplicate, like one stored before.
      const first = await s.history.importEvents([...EVENTS, EVENTS[1]!]);
      expect(first, name).toEqual({ inserted: EVENTS.length, duplicates: 1 });
      expect(await s.history.importEvents(EVENTS), name).toEqual({
        inserted: 0,
        duplicates: EVENTS.length,
      });
      expect(await s.history.importEvents([]), name).toEqual({ inserted: 0, duplicates: 0 });

      const c1 = await s.risk.riskInputs('C1', S, d(28));
      expect(c1, name).toEqual(EXPECTED_C1);
      // A cut-off before s2's first view: s2's registration and grades are not activity.
      const early = await s.risk.riskInputs('C1', S, d(1, 2));
      expect(
        early.map((r) => [r.studentId, r.clicks, r.lastActivityTs, r.meanScore, r.submissions.size]),
        name,
      ).toEqual([
        ['s1', 5, d(1, 1), null, 0],
        ['s2', 0, null, null, 0],
      ]);
      const c2 = await s.risk.riskInputs('C2', S2, S2 + 28 * DAY_MS);
      expect(
        c2.map((r) => [r.studentId, r.clicks, r.activeDays, r.registeredTs]),
        name,
      ).toEqual([
        ['s2', 0, 0, S2],
        ['s3', 2, 1, S2 - DAY_MS],
      ]);
      expect(await s.risk.riskInputs('nope', S, d(28)), name).toEqual([]);

      const outcomes = await s.risk.outcomes('C1');
      expect(outcomes, name).toEqual(
        new Map([
          ['s1', { withdrawnTs: null, completedTs: d(100) }],
          ['s2', { withdrawnTs: d(25), completedTs: null }],
        ]),
      );
      expect(await s.risk.outcomes('C2'), name).toEqual(new Map());

      const courses = await s.risk.eventCourses();
      expect(courses, name).toEqual([
        { courseId: 'C1', firstTs: d(-20) },
        { courseId: 'C2', firstTs: S2 - DAY_MS },
      ]);
      answers.push({ c1, early, c2, outcomes, courses });
    });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('upserts the course catalogue and reads it back in order', async () => {
    const answers: unknown[] = [];
    await both(async (s, name) => {
      await s.history.upsertCourses(COURSES);
      // Again, changed: the name and an assessment's weight are replaced, nothing is added twice.
      await s.history.upsertCourses([
        {
          ...COURSES[1]!,
          name: 'First (2025)',
          assessments: [{ assessmentId: 'a1', kind: 'TMA', dueTs: d(10), weight: 25 }],
        },
      ]);
      const courses = await s.history.courses();
      expect(courses, name).toEqual([
        {
          courseId: 'C1',
          name: 'First (2025)',
          startTs: S,
          endTs: d(100),
          // No due date first, then by due date.
          assessments: [
            { assessmentId: 'a2', kind: 'exam', dueTs: null, weight: null },
            { assessmentId: 'a0', kind: 'TMA', dueTs: d(5), weight: 10 },
            { assessmentId: 'a1', kind: 'TMA', dueTs: d(10), weight: 25 },
          ],
        },
        { courseId: 'C2', name: 'Second', startTs: S2, endTs: null, assessments: [] },
      ]);
      answers.push(courses);
    });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('keeps models newest first, each once, and replaces a course’s scores whole', async () => {
    const answers: unknown[] = [];
    await both(async (s, name) => {
      expect(await s.risk.models(), name).toEqual([]);
      await s.risk.saveModel(model('m-1', 1000));
      expect(
        (await s.risk.models()).map((m) => m.modelId),
        name,
      ).toEqual(['m-1']);
      await s.risk.saveModel(model('m-2', 2000));
      await s.risk.saveModel(model('m-0', 2000));
      await s.risk.saveModel(model('m-1', 1000)); // the same id again: kept once
      const models = await s.risk.models();
      expect(models, name).toEqual([model('m-0', 2000), model('m-2', 2000), model('m-1', 1000)]);

      await s.risk.replaceScores('C1', [score('C1', 's1', 0.8), score('C1', 's2', 0.3)]);
      await s.risk.replaceScores('C2', [score('C2', 's3', 0.5), score('C2', 's2', 0.9)]);
      const student = await s.risk.scores({ studentId: 's2', top: 1 });
      expect(student, name).toEqual([score('C1', 's2', 0.3), score('C2', 's2', 0.9)]);
      const course = await s.risk.scores({ courseId: 'C1', top: 1 });
      expect(course, name).toEqual([score('C1', 's1', 0.8)]);
      const top = await s.risk.scores({ top: 3 });
      expect(top, name).toEqual([score('C2', 's2', 0.9), score('C1', 's1', 0.8), score('C2', 's3', 0.5)]);

      // C1 again with one student: s2's C1 score goes, C2's stay.
      await s.risk.replaceScores('C1', [score('C1', 's1', 0.1)]);
      const after = await s.risk.scores({ top: 100 });
      expect(after, name).toEqual([score('C2', 's2', 0.9), score('C2', 's3', 0.5), score('C1', 's1', 0.1)]);
      expect(await s.risk.scores({ studentId: 's2', top: 100 }), name).toEqual([score('C2', 's2', 0.9)]);
      await s.risk.replaceScores('C2', []);
      expect(await s.risk.scores({ top: 100 }), name).toEqual([score('C1', 's1', 0.1)]);
      answers.push({ models, student, course, top, after });
    });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('imports a large history in one go and aggregates it the same', async () => {
    const { events } = campus(7, (rand) => rand());
    expect(events.length).toBeGreaterThan(5000);
    const answers: unknown[] = [];
    await both(async (s, name) => {
      expect(await s.history.importEvents(events), name).toEqual({ inserted: events.length, duplicates: 0 });
      // Half again, and a few new: the old ones are duplicates across chunks.
      const again = [...events.slice(0, 2500), ...EVENTS.slice(0, 3)];
      expect(await s.history.importEvents(again), name).toEqual({ inserted: 3, duplicates: 2500 });
      const start = TERM_STARTS[1]!;
      const inputs = await s.risk.riskInputs('C-1', start, start + 28 * DAY_MS);
      expect(inputs, name).toHaveLength(150);
      const outcomes = await s.risk.outcomes('C-1');
      expect(outcomes.size, name).toBe(150);
      answers.push({ inputs, outcomes, courses: await s.risk.eventCourses() });
    });
    expect(answers[1]).toEqual(answers[0]);
  }, 120_000);
});
