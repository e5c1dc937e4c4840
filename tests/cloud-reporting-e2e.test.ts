/**
 * Issue 9 item 2 ("Cloud reporting"), accepted end to end: a small campus fed through the real pipeline —
 * MQTT readings and signed Caliper / xAPI / admin webhooks → in-process gateway (journal, windows, twin,
 * uplink) → local hub over AMQP (real @azure/event-hubs SDK) → cloud consumer → store — then
 * `POST /api/snapshots {"cutoff": A}`, `GET /api/snapshots/{id}` and `GET /api/analytics/{id}` as CSV.
 * Engagement rows and the room's CO2 minutes equal values worked out by hand below
 * (cloud/reporting/engagement.ts and room-analytics.ts define them). Room twin rows come from the gateway's
 * reducer, which stamps occupancy and comfort changes with the readings' own (event) time: the room row at
 * the cut-off is checked against the twin changes the gateway emitted up to it, and the snapshot at 'now'
 * against what `/api/rooms/{id}` says at the same time.
 */
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import { pseudonymOf } from '../gateway/ingest/webhooks/index.ts';
import type { TwinChange } from '../shared/events.ts';
import { TEST_CAMPUS_ID, testPassword } from './helpers/campus.ts';
import { startTestCloud, TEST_TOKEN } from './helpers/cloud.ts';
import { parseCsv } from './helpers/csv.ts';
import { startTestGateway, type TestGateway, tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { bearerHeaders, CAMPUS_SECRET, post, webhookConfig } from './helpers/webhooks.ts';

const S = 1000;
const M = 60 * S;
const D = 24 * 60 * M;

/**
 * The cut-off A: the start of the UTC minute 15 s before the test began. Everything below is placed
 * relative to it; 15 s back so the 10 s window [A, A + 10 s) is already closed on the gateway (no wait).
 */
const A = Math.floor((Date.now() - 15 * S) / M) * M;
/** UTC midnight of the cut-off's day. */
const DAY0 = Math.floor(A / D) * D;
/**
 * Learning event i (0…3) of the UTC day k days before the cut-off's falls between that day's midnight and
 * the cut-off's time of day (DAY0 − k·D + i·STEP ≤ A − k·D), so whatever time the test runs at: it is on
 * UTC day k back, exactly k whole days before A, inside the last 7 days for k ≤ 6, inside the 7 before those
 * for 7 ≤ k ≤ 13, inside the last 28 for k ≤ 27.
 */
const STEP = Math.floor((A - DAY0) / 4 / S) * S;
const onDay = (k: number, i = 0) => DAY0 - k * D + i * STEP;
const iso = (ms: number) => new Date(ms).toISOString();
const isoSeconds = (ms: number) => `${iso(ms).slice(0, 19)}Z`;

const GATEWAY_ID = 'gw-reporting';
const ROOM = 'r-101'; // env-1, env-3 (and occ-1) in the test campus
const COURSE = 'https://lms.example.edu/courses/phys-101';
const res = (name: string) => `${COURSE}/resources/${name}`;
const ASSIGNMENT = `${COURSE}/assignments/a1`;
const FORUM = `${COURSE}/forums/f1`;

const STUDENTS = { alice: 'alice@example.edu', bob: 'bob@example.edu', carol: 'carol@example.edu' };
type Student = keyof typeof STUDENTS;
/**
 * The pseudonym the gateway makes (pseudonym.ts): the LMSs send `mailto:` IRIs / xAPI mboxes, the student
 * record system the bare address; both normalise to `mailto:<address>`, so one student is one pseudonym.
 */
const P: Record<Student, string> = {
  alice: pseudonymOf(Buffer.from(CAMPUS_SECRET), `mailto:${STUDENTS.alice}`),
  bob: pseudonymOf(Buffer.from(CAMPUS_SECRET), `mailto:${STUDENTS.bob}`),
  carol: pseudonymOf(Buffer.from(CAMPUS_SECRET), `mailto:${STUDENTS.carol}`),
};

let uuidSeq = 0;
/** Distinct, valid UUIDs (one counter for Caliper and xAPI: their event ids are both `urn:uuid:…`). */
const uuid = () => `00000000-0000-4000-8000-${String(++uuidSeq).padStart(12, '0')}`;

const CALIPER_CONTEXT = 'http://purl.imsglobal.org/ctx/caliper/v1p2';
function caliper(
  type: string,
  action: string,
  actor: unknown,
  object: unknown,
  ts: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    '@context': CALIPER_CONTEXT,
    id: `urn:uuid:${uuid()}`,
    type,
    actor,
    action,
    object,
    eventTime: iso(ts),
    edApp: 'https://lms.example.edu',
    group: { id: COURSE, type: 'CourseSection' },
    ...extra,
  };
}
const viewed = (who: Student, object: string, ts: number) =>
  caliper('ViewEvent', 'Viewed', `mailto:${STUDENTS[who]}`, object, ts);
const envelope = (data: unknown[]) => ({
  sensor: 'https://lms.example.edu/sensors/caliper',
  sendTime: iso(Date.now()),
  dataVersion: CALIPER_CONTEXT,
  data,
});

function xapi(who: Student, verb: string, object: string, ts: number): Record<string, unknown> {
  return {
    id: uuid(),
    actor: { objectType: 'Agent', mbox: `mailto:${STUDENTS[who]}` },
    verb: { id: verb },
    object: { objectType: 'Activity', id: object },
    context: {
      contextActivities: {
        grouping: [{ id: COURSE, definition: { type: 'http://adlnet.gov/expapi/activities/course' } }],
      },
    },
    timestamp: iso(ts),
  };
}
const XAPI_VIEWED = 'http://id.tincanapi.com/verb/viewed';
const XAPI_POST = 'http://activitystrea.ms/schema/1.0/post';

/** Alice (Caliper, one forum post over xAPI): regular, submitting, graded. */
const ALICE_CALIPER = [
  viewed('alice', res('o1'), onDay(1, 0)),
  viewed('alice', res('o2'), onDay(1, 1)),
  // No course: journaled and stored, but no (student, course) row counts it.
  caliper('SessionEvent', 'LoggedIn', `mailto:${STUDENTS.alice}`, 'https://lms.example.edu', onDay(1, 2), {
    group: undefined,
  }),
  caliper('AssignableEvent', 'Submitted', `mailto:${STUDENTS.alice}`, ASSIGNMENT, onDay(2, 0)),
  // Graded by the autograder: the learner is the attempt's assignee; the object is the assignable.
  caliper(
    'GradeEvent',
    'Graded',
    'https://lms.example.edu/autograder',
    {
      id: `${ASSIGNMENT}/attempts/1`,
      type: 'Attempt',
      assignee: `mailto:${STUDENTS.alice}`,
      assignable: ASSIGNMENT,
    },
    onDay(2, 1),
    { generated: { id: `${ASSIGNMENT}/attempts/1/score`, type: 'Score', scoreGiven: 8, maxScore: 10 } },
  ),
  viewed('alice', res('o1'), onDay(3)),
  viewed('alice', res('o3'), onDay(9)),
  viewed('alice', res('o1'), onDay(10)),
  // After the cut-off: not counted.
  viewed('alice', res('o9'), A + S),
];
/** Carol (Caliper): two views long ago, then withdrew. */
const CAROL_CALIPER = [
  caliper('NavigationEvent', 'NavigatedTo', `mailto:${STUDENTS.carol}`, res('o1'), onDay(20)),
  viewed('carol', res('o2'), onDay(16)),
];
/** Bob (xAPI): active in the week before last, almost silent since. And Alice's forum post. */
const XAPI = [
  xapi('bob', XAPI_VIEWED, res('o1'), onDay(12)),
  xapi('bob', XAPI_VIEWED, res('o2'), onDay(11)),
  xapi('bob', XAPI_VIEWED, res('o1'), onDay(8)),
  xapi('bob', XAPI_VIEWED, res('o3'), onDay(4)),
  xapi('alice', XAPI_POST, FORUM, onDay(5)),
];
/** The student record system (POST /webhooks/admin, bearer): enrolments, relative to A itself. */
const ADMIN = [
  ['sis-1', 'enrolment.created', A - 21 * D, STUDENTS.alice],
  ['sis-2', 'enrolment.created', A - 21 * D, STUDENTS.bob],
  ['sis-3', 'enrolment.created', A - 28 * D, STUDENTS.carol],
  ['sis-4', 'enrolment.withdrawn', A - 10 * D, STUDENTS.carol],
].map(([eventId, type, ts, studentId]) => ({ eventId, type, ts, studentId, courseId: COURSE }));
const EVENTS_SENT = ALICE_CALIPER.length + CAROL_CALIPER.length + XAPI.length + ADMIN.length; // 20

/**
 * Engagement as of A, worked by hand (weeks since the start = since enrolment, which precedes every
 * student's first activity; scores 100 × (0.35 regularity + 0.25 volume + 0.2 trend + 0.2 submissions)).
 */
const EXPECTED_STATE: Record<Student, Record<string, unknown>> = {
  alice: {
    status: 'enrolled',
    // days 1 (o1, o2), 2 (submitted a1, graded a1), 3 (o1), 5 (forum post), 9 (o3), 10 (o1); not the login
    // (no course) nor the view after the cut-off
    events: 8,
    activeDays: 6, // days 1, 2, 3, 5, 9, 10
    activeDaysLast28: 6,
    distinctResources: 5, // o1, o2, a1, f1, o3
    submissions: 1,
    graded: 1,
    meanScorePct: 80, // 8 / 10
    firstActivityTs: onDay(10),
    lastActivityTs: onDay(1, 1),
    daysSinceLastActivity: 1,
    eventsLast7Days: 6, // days 1–5: 2 + 2 + 1 + 1
    eventsPrev7Days: 2, // days 9, 10
    eventsPerWeek: 2.7, // 8 / (21 days / 7) = 2.67
    trend: 'rising', // 6 > 2 + max(1, 2 × 0.25)
    // 100 × (0.35 × 6/12 + 0.25 × ((6 + 2)/2)/20 + 0.2 × 1 + 0.2 × 1/(3 weeks / 2))
    //   = 17.5 + 5 + 20 + 13.33 = 55.83
    engagementScore: 56,
    riskFlag: 0,
  },
  bob: {
    status: 'enrolled',
    events: 4, // days 12, 11, 8, 4
    activeDays: 4,
    activeDaysLast28: 4,
    distinctResources: 3, // o1, o2, o3
    submissions: 0,
    graded: 0,
    meanScorePct: null,
    firstActivityTs: onDay(12),
    lastActivityTs: onDay(4),
    daysSinceLastActivity: 4,
    eventsLast7Days: 1, // day 4
    eventsPrev7Days: 3, // days 8, 11, 12
    eventsPerWeek: 1.3, // 4 / 3 = 1.33
    trend: 'falling', // 1 < 3 − max(1, 3 × 0.25)
    // 100 × (0.35 × 4/12 + 0.25 × ((1 + 3)/2)/20 + 0.2 × 1/3 + 0.2 × 0) = 11.67 + 2.5 + 6.67 = 20.83
    engagementScore: 21,
    riskFlag: 1, // still enrolled, score < 25
  },
  carol: {
    status: 'withdrawn', // withdrawn (A − 10 d) after enrolled (A − 28 d)
    events: 2, // days 20, 16
    activeDays: 2,
    activeDaysLast28: 2,
    distinctResources: 2,
    submissions: 0,
    graded: 0,
    meanScorePct: null,
    firstActivityTs: onDay(20),
    lastActivityTs: onDay(16),
    daysSinceLastActivity: 16,
    eventsLast7Days: 0,
    eventsPrev7Days: 0,
    eventsPerWeek: 0.5, // 2 / (28 days / 7)
    trend: 'none',
    // 100 × (0.35 × 2/12 + 0 + 0 (no activity in either week) + 0) = 5.83
    engagementScore: 6,
    riskFlag: 0, // disengaged (score < 25, 16 days idle) but withdrawn: not flagged
  },
};
/** snapshot_ts: the newest fact of the row (last activity or an admin event). */
const EXPECTED_ROW_TS: Record<Student, number> = {
  alice: onDay(1, 1),
  bob: onDay(4), // > enrolment at A − 21 d
  carol: A - 10 * D, // the withdrawal, after her last view (day 16)
};

/**
 * CO2 of env-1, every 5 s over [A − 40 min, A − 20 min) (240 readings, two per 10 s gateway window). The
 * cloud counts minutes of the 24 h to A covered by a window whose *mean* exceeds 1000 ppm (any sensor).
 */
const SERIES_START = A - 40 * M;
const SERIES_N = 240;
function env1Co2(ts: number): number {
  const t = (ts - SERIES_START) / S; // seconds into the series
  if (t < 300) return 1200; // [A − 40 min, A − 35 min): every window 1200 → 5 minutes
  if (t === 620) return 1300; // window [A − 30 min + 20 s, +10 s): (1300 + 900)/2 = 1100 → minute A − 30
  if (t === 625) return 900;
  if (t === 720) return 1100; // window [A − 28 min, +10 s): (1100 + 900)/2 = 1000, not over (> 1000 counts)
  if (t === 725) return 900;
  if (t === 870) return 1500; // window [A − 26 min + 30 s, +10 s): mean 950, not over though it peaks at 1500
  if (t === 875) return 400;
  if (t === 960 || t === 965) return 1200; // windows at A − 24 min + 0 s and + 50 s: one minute, A − 24
  if (t === 1010 || t === 1015) return 1100;
  return 700;
}
/** env-3 (same room): one window inside a minute env-1 already counts, one in a new minute. */
const ENV3: { ts: number; co2: number }[] = [
  { ts: A - 38 * M, co2: 1400 }, // minute A − 38: already over on env-1 → no new minute
  { ts: A - 38 * M + 5 * S, co2: 1400 },
  { ts: A - 22 * M + 30 * S, co2: 1050 }, // minute A − 22: new
  { ts: A - 22 * M + 35 * S, co2: 1050 },
];
/** After the cut-off: the window [A, A + 10 s) starts at the period's end, so it is not counted. */
const ENV1_AFTER: { ts: number; co2: number }[] = [
  { ts: A, co2: 2000 },
  { ts: A + 5 * S, co2: 2000 },
];
/** 5 (A − 40 … A − 36) + 1 (A − 30) + 1 (A − 24) + 1 (env-3, A − 22) = 8. */
const EXPECTED_CO2_MINUTES = 8;

const FAST_UPLINK = {
  lingerMs: { alert: 0, twin: 100, event: 100, aggregate: 100, raw: 100 },
  backoff: { baseMs: 100, maxMs: 500 },
  sendTimeoutMs: 5000,
};

/** Publish readings with explicit timestamps (QoS 1, native JSON) as one device; resolves when acked. */
async function publishAt(
  mqttUrl: string,
  deviceId: string,
  points: { ts: number; readings: Record<string, number> }[],
): Promise<void> {
  const client = await mqtt.connectAsync(mqttUrl, {
    clientId: `${deviceId}-${Math.random().toString(36).slice(2, 8)}`,
    username: deviceId,
    password: testPassword(deviceId),
    reconnectPeriod: 0,
  });
  try {
    await Promise.all(
      points.map((p) =>
        client.publishAsync(
          `devices/${deviceId}/telemetry`,
          JSON.stringify({ ts: p.ts, readings: p.readings }),
          {
            qos: 1,
          },
        ),
      ),
    );
  } finally {
    await client.endAsync();
  }
}

describe('cloud reporting end to end: webhooks + MQTT → gateway → hub → cloud → snapshot & analytics CSV', () => {
  let hub: TestHub | undefined;
  let cloud: Cloud | undefined;
  let gw: TestGateway | undefined;
  let dir: string | undefined;
  /** Every twin change the gateway committed, as it announced them. */
  const emitted: TwinChange[] = [];
  /** The newest change of a kind (and device) at or before t. */
  const lastAt = (t: number, kind: TwinChange['kind'], deviceId?: string) =>
    emitted
      .filter((c) => c.roomId === ROOM && c.kind === kind && c.deviceId === deviceId && c.ts <= t)
      .sort((a, b) => a.ts - b.ts)
      .at(-1);
  /** r-101's snapshot state at t, from the emitted changes (cloud/reporting/rooms.ts's row layout). */
  const roomAt = (t: number) => {
    const view = (c: TwinChange | undefined) => (c ? { state: c.to, since: c.ts, reasons: c.reasons } : null);
    const devices = [...new Set(emitted.filter((c) => c.kind === 'health').map((c) => c.deviceId!))];
    const health = Object.fromEntries(
      devices.flatMap((d) => {
        const c = lastAt(t, 'health', d);
        return c ? [[d, { state: c.to, since: c.ts }]] : [];
      }),
    );
    const occupancy = lastAt(t, 'occupancy');
    const comfort = lastAt(t, 'comfort');
    const state = {
      occupancy: view(occupancy),
      comfort: view(comfort),
      health,
      devices: Object.keys(health).length,
      devicesOffline: Object.values(health).filter((h) => h.state === 'offline').length,
    };
    const newest = Math.max(
      ...[occupancy, comfort].flatMap((c) => (c ? [c.ts] : [])),
      ...Object.values(health).map((h) => h.since),
    );
    return { state, newest };
  };
  /** Minutes of [from, to) whose midpoint falls in a warn or alert comfort level. */
  const comfortViolationMinutes = (from: number, to: number) => {
    let n = 0;
    for (let t = from + 30 * S; t < to; t += M) {
      const c = lastAt(t, 'comfort');
      if (c && c.to !== 'ok') n++;
    }
    return n;
  };
  /** Occupied ÷ known minutes (room-analytics.ts's rule, open all day), from the gateway's own changes. */
  const utilization = (from: number, to: number) => {
    let known = 0;
    let occupied = 0;
    for (let t = from + 30 * S; t < to; t += M) {
      const c = lastAt(t, 'occupancy');
      if (!c) continue;
      known++;
      if (c.to === 'occupied') occupied++;
    }
    return Math.round((occupied / known) * 1000) / 1000;
  };
  let api = '';
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${api}${path}`, { headers: { ...auth, ...headers } });
  const postSnapshot = (body?: unknown) =>
    fetch(`${api}/api/snapshots`, {
      method: 'POST',
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const sumCounts = async (deviceId: string, channel: string): Promise<number> => {
    const r = await get(
      `/api/sensors/${deviceId}/${channel}/aggregates?from=${A - 2 * 60 * M}&to=${A + 60 * M}`,
    );
    if (r.status === 404) return 0;
    const body = (await r.json()) as { windows: { count: number }[] };
    return body.windows.reduce((a, w) => a + w.count, 0);
  };

  beforeAll(async () => {
    hub = await startTestHub();
    dir = tempDir('ct-reporting-');
    // Static admin token (not dev mode: the API is authenticated); on-demand snapshots only.
    // Open all day: room utilization counts only open hours, and with the default 08:00-18:00 UTC whether the
    // room's occupied minutes counted depended on when the suite ran.
    cloud = await startTestCloud(hub, dir, { reporting: { snapshotCron: '', openHours: '00:00-24:00' } });
    api = `http://127.0.0.1:${cloud.port}`;
    gw = await startTestGateway({
      gatewayId: GATEWAY_ID,
      aggregate: { windowMs: 10_000, allowedLatenessMs: 2_000 },
      uplink: { connectionString: hub.connectionString, hubName: hub.hubName, ...FAST_UPLINK },
      ...webhookConfig(),
    });
    gw.gw.pipeline.events.on('twin:changed', (c: TwinChange) => emitted.push({ ...c }));

    // Learning and admin events through the signed webhooks (past event times are accepted as they are).
    const sends: [string, unknown, number, Record<string, string>?][] = [
      ['/webhooks/lms/caliper', envelope(ALICE_CALIPER), ALICE_CALIPER.length],
      ['/webhooks/lms/caliper', envelope(CAROL_CALIPER), CAROL_CALIPER.length],
      ['/webhooks/lms/xapi', XAPI, XAPI.length],
      ['/webhooks/admin', { events: ADMIN }, ADMIN.length, bearerHeaders()],
    ];
    for (const [route, body, n, headers] of sends) {
      const r = await post(gw.httpUrl, route, JSON.stringify(body), headers ? { headers } : {});
      expect(r.status, `${route}: ${JSON.stringify(r.json)}`).toBe(202);
      expect(r.json).toMatchObject({ accepted: n, duplicates: 0 });
    }

    // Readings over MQTT with their own (past) timestamps.
    const series = Array.from({ length: SERIES_N }, (_, i) => SERIES_START + i * 5 * S);
    await publishAt(gw.mqttUrl, 'env-1', [
      ...series.map((ts) => ({ ts, readings: { co2: env1Co2(ts), temperature: 21.5 } })),
      ...ENV1_AFTER.map((p) => ({ ts: p.ts, readings: { co2: p.co2, temperature: 21.5 } })),
    ]);
    await publishAt(
      gw.mqttUrl,
      'env-3',
      ENV3.map((p) => ({ ts: p.ts, readings: { co2: p.co2, temperature: 22 } })),
    );

    // The cloud has applied every event and every reading (the gateway's windows may reach it as closed
    // windows or as late one-reading deltas; either way the counts add up).
    await waitFor(
      async () => {
        const g = (await (await get('/api/gateways')).json()) as {
          gateways: { gatewayId: string; items: { event: number } }[];
        };
        const events = g.gateways.find((x) => x.gatewayId === GATEWAY_ID)?.items.event ?? 0;
        return (
          events === EVENTS_SENT &&
          (await sumCounts('env-1', 'co2')) === SERIES_N + ENV1_AFTER.length &&
          (await sumCounts('env-1', 'temperature')) === SERIES_N + ENV1_AFTER.length &&
          (await sumCounts('env-3', 'co2')) === ENV3.length
        );
      },
      30_000,
      'the cloud to hold every event and reading',
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await cloud?.stop();
    await hub?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const snapshotId = isoSeconds(A);
  let createdAt = 0;

  it('POST /api/snapshots with the cut-off builds snapshot "<cut-off to the second>" (admin token needed)', async () => {
    const anonymous = await fetch(`${api}/api/snapshots`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cutoff: A }),
    });
    expect(anonymous.status).toBe(401);

    const before = Date.now();
    const r = await postSnapshot({ cutoff: A });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/snapshots/${encodeURIComponent(snapshotId)}`);
    const info = (await r.json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      snapshotId,
      cutoffTs: A,
      cutoff: iso(A),
      trigger: 'api',
      // Occupancy and comfort changes carry the readings' event time, before A: r-101 is known then.
      rooms: 1,
      enrolments: 3, // Alice, Bob, Carol in the course
      // r-101's comfort minutes, CO2 minutes and facility risk; score and risk flag per enrolment
      results: 4 + 3 * 2,
      periodFrom: A - D,
    });
    createdAt = info.createdAt as number;
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
  });

  it('GET /api/snapshots/{id} (CSV): one row per enrolment with the hand-computed engagement', async () => {
    const r = await get(`/api/snapshots/${encodeURIComponent(snapshotId)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await r.text();
    expect(text.startsWith('snapshot_id,student_id,course_id,facility_id,snapshot_ts,state\n')).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(['snapshot_id', 'student_id', 'course_id', 'facility_id', 'snapshot_ts', 'state']);
    // The room row first (facility rows sort before student rows), then (student pseudonym, course).
    const [room, ...students] = rows;
    const atA = roomAt(A);
    expect(room!.slice(0, 5)).toEqual([snapshotId, '', '', ROOM, isoSeconds(atA.newest)]);
    expect(JSON.parse(room![5]!)).toEqual({ campusId: TEST_CAMPUS_ID, ...atA.state });
    expect(atA.state.occupancy).not.toBeNull();
    const order = (Object.keys(P) as Student[]).sort((a, b) => (P[a] < P[b] ? -1 : 1));
    expect(students.map((row) => row.slice(0, 5))).toEqual(
      order.map((s) => [snapshotId, P[s], COURSE, '', isoSeconds(EXPECTED_ROW_TS[s])]),
    );
    for (const [i, s] of order.entries()) {
      expect(JSON.parse(students[i]![5]!), s).toEqual(EXPECTED_STATE[s]);
    }
  });

  it('GET /api/analytics/{id} (CSV): engagement score and risk flag per enrolment, CO2 minutes of the room', async () => {
    const r = await get(`/api/analytics/${encodeURIComponent(snapshotId)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await r.text();
    expect(text.startsWith('result_id,snapshot_id,metric,value,computed_ts\n')).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(['result_id', 'snapshot_id', 'metric', 'value', 'computed_ts']);
    const computed = isoSeconds(createdAt);
    const order = (Object.keys(P) as Student[]).sort((a, b) => (P[a] < P[b] ? -1 : 1));
    // Comfort minutes from the gateway's comfort changes, minute by minute (room-analytics.ts's rule:
    // the level at each minute's midpoint); device health is known only after A (wall clock).
    const bad = comfortViolationMinutes(A - D, A);
    expect(bad).toBeGreaterThan(0);
    expect(rows).toEqual([
      // Occupied minutes over the minutes its occupancy was known (from its first change on).
      [`room/${ROOM}/utilization`, snapshotId, 'utilization', String(utilization(A - D, A)), computed],
      [
        `room/${ROOM}/comfort_violation_minutes`,
        snapshotId,
        'comfort_violation_minutes',
        String(bad),
        computed,
      ],
      [`room/${ROOM}/co2_over_1000_minutes`, snapshotId, 'co2_over_1000_minutes', '8', computed],
      // Facility risk: comfort only (30 at 240 minutes); no health in the period, no energy, no work order.
      [
        `room/${ROOM}/facility_risk`,
        snapshotId,
        'facility_risk',
        String(Math.round(30 * Math.min(1, bad / 240))),
        computed,
      ],
      ...order.flatMap((s) => {
        const id = `enrolment/${P[s]}/${encodeURIComponent(COURSE)}`;
        const st = EXPECTED_STATE[s];
        return [
          [`${id}/engagement_score`, snapshotId, 'engagement_score', String(st.engagementScore), computed],
          [`${id}/risk_flag`, snapshotId, 'risk_flag', String(st.riskFlag), computed],
        ];
      }),
    ]);
    expect(Number(rows[2]![3])).toBe(EXPECTED_CO2_MINUTES);
    // The values by student, as a reader would check them: Alice 56/0, Bob 21/1, Carol 6/0.
    const byId = new Map(rows.map((row) => [row[0]!, Number(row[3])]));
    expect(byId.get(`enrolment/${P.alice}/${encodeURIComponent(COURSE)}/engagement_score`)).toBe(56);
    expect(byId.get(`enrolment/${P.bob}/${encodeURIComponent(COURSE)}/risk_flag`)).toBe(1);
    expect(byId.get(`enrolment/${P.carol}/${encodeURIComponent(COURSE)}/engagement_score`)).toBe(6);
    // ?metric= filters.
    const only = parseCsv(
      await (await get(`/api/analytics/${encodeURIComponent(snapshotId)}?metric=risk_flag`)).text(),
    );
    expect(only.slice(1).map((row) => [row[0], row[3]])).toEqual(
      order.map((s) => [
        `enrolment/${P[s]}/${encodeURIComponent(COURSE)}/risk_flag`,
        String(EXPECTED_STATE[s].riskFlag),
      ]),
    );
  });

  it("a snapshot at 'now' holds the room's twin state exactly as GET /api/rooms/{id} reports it", async () => {
    type StateValue = { state: string; ts: number; reasons: string[]; probability?: number; basis?: string };
    type RoomView = {
      state: { occupancy?: StateValue; comfort?: StateValue };
      health: Record<string, StateValue>;
    };
    const view = async (): Promise<RoomView> => {
      const r = await get(`/api/rooms/${ROOM}`);
      expect(r.status).toBe(200);
      const v = (await r.json()) as RoomView;
      return { state: v.state, health: v.health };
    };
    // The gateway's twin changes (made when the readings arrived) have reached the cloud.
    await waitFor(
      async () => {
        const r = await get(`/api/rooms/${ROOM}`);
        if (r.status !== 200) return false;
        const v = (await r.json()) as RoomView;
        return (
          v.state.comfort?.state === 'alert' &&
          v.state.occupancy?.state === 'occupied' &&
          v.health['env-1'] &&
          v.health['env-3']
        );
      },
      20_000,
      "r-101's twin state in the cloud",
    );
    // The twin goes on changing (health turns stale, then offline): retry until nothing changed around
    // the build, so the snapshot and the API describe the same moment.
    for (let attempt = 0; ; attempt++) {
      const before = await view();
      // The cloud's copy of the occupancy verdict carries the gateway's probability and basis.
      expect(before.state.occupancy).toMatchObject({ basis: 'co2', probability: expect.any(Number) });
      expect(before.state.occupancy?.probability).toBeGreaterThan(0.65);
      const r = await postSnapshot();
      expect(r.status).toBe(201);
      const id = ((await r.json()) as { snapshotId: string }).snapshotId;
      const after = await view();
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        if (attempt >= 5) throw new Error('the room kept changing');
        continue;
      }
      const rows = parseCsv(await (await get(`/api/snapshots/${encodeURIComponent(id)}`)).text()).slice(1);
      const rooms = rows.filter((row) => row[3] !== '');
      expect(rooms.map((row) => row[3])).toEqual([ROOM]); // r-102 never reported
      const [sid, student, course, facility, ts, state] = rooms[0]!;
      expect([sid, student, course, facility]).toEqual([id, '', '', ROOM]);
      const since = (v: StateValue | undefined) =>
        v ? { state: v.state, since: v.ts, reasons: v.reasons } : null;
      const health = Object.fromEntries(
        Object.entries(before.health).map(([d, v]) => [d, { state: v.state, since: v.ts }]),
      );
      expect(JSON.parse(state!)).toEqual({
        campusId: TEST_CAMPUS_ID,
        occupancy: since(before.state.occupancy),
        comfort: since(before.state.comfort),
        health,
        devices: Object.keys(health).length,
        devicesOffline: Object.values(health).filter((h) => h.state === 'offline').length,
      });
      const newest = Math.max(
        ...[before.state.occupancy, before.state.comfort, ...Object.values(before.health)]
          .filter((v): v is StateValue => v !== undefined)
          .map((v) => v.ts),
      );
      expect(ts).toBe(isoSeconds(newest));
      // Sanity on the reducer's side: env-1's latest CO2 (2000 ppm, just after A) puts comfort at alert,
      // and both sensors that reported have a health entry.
      expect(before.state.comfort?.state).toBe('alert');
      expect(Object.keys(health).sort()).toEqual(['env-1', 'env-3']);
      break;
    }
  });
});
