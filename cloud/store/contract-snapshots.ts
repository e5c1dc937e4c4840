/**
 * The CloudStore contract for snapshots: a small campus fed through applyBatch, a snapshot at a cut-off,
 * and rows compared with values worked out by hand (see the comments). Every store implementation runs it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../shared/events.ts';
import type { WireItem } from '../../shared/wire.ts';
import { agg, aggItem, P0, prepared } from './contract.ts';
import type { IngestStore, ReportStore } from './types.ts';

/** What the snapshot contract uses of a store. */
export type SnapshotContractStore = Pick<IngestStore, 'applyBatch' | 'close'> &
  Pick<ReportStore, 'createSnapshot' | 'listSnapshots' | 'snapshot' | 'snapshotRows' | 'analyticsRows'>;

const H = 3_600_000;
const D = 24 * H;
/** The cut-off: 08:00 UTC into epoch day 20833. */
const C = 1_800_000_000_000;
export const SNAPSHOT_CUTOFF = C;

function ev(
  id: string,
  source: string,
  type: string,
  ts: number,
  over: Record<string, unknown> = {},
): WireItem {
  return {
    id,
    body: {
      eventId: id,
      source,
      type,
      originalType: type,
      ts,
      receivedAt: ts,
      actorId: null,
      courseId: null,
      ...over,
    },
  };
}
const learn = (
  id: string,
  type: string,
  ts: number,
  actorId: string,
  courseId: string | null,
  objectId: string,
) => ev(id, 'caliper', type, ts, { actorId, courseId, objectId });
const admin = (id: string, type: string, ts: number, actorId: string, courseId: string) =>
  ev(id, 'admin', type, ts, { actorId, courseId, roomId: null });

function twin(
  id: string,
  roomId: string,
  kind: string,
  to: string,
  ts: number,
  over: Record<string, unknown> = {},
) {
  return { id, body: { roomId, ts, kind, from: 'x', to, reasons: [`${kind} ${to}`], ...over } };
}

export const SNAPSHOT_EVENTS: WireItem[] = [
  admin('e1', 'enrolment.created', C - 20 * D, 'p_a', 'c1'),
  learn('e2', 'resource.viewed', C - 1 * D, 'p_a', 'c1', 'o1'),
  learn('e3', 'resource.viewed', C - 1 * D + H, 'p_a', 'c1', 'o2'),
  learn('e4', 'resource.viewed', C - 3 * D, 'p_a', 'c1', 'o1'),
  learn('e5', 'resource.viewed', C - 10 * D, 'p_a', 'c1', 'o3'),
  learn('e6', 'assignment.submitted', C - 2 * D, 'p_a', 'c1', 'a1'),
  { ...learn('e7', 'assessment.graded', C - 2 * D + H, 'p_a', 'c1', 'a1') },
  learn('e8', 'resource.viewed', C + H, 'p_a', 'c1', 'o9'), // after the cut-off: not counted
  learn('e9', 'session.login', C - 1 * D, 'p_a', null, 'lms'), // no course: no row
  admin('e10', 'enrolment.created', C - 30 * D, 'p_b', 'c1'),
  learn('e11', 'resource.viewed', C - 20 * D, 'p_b', 'c1', 'o1'),
  admin('e12', 'enrolment.withdrawn', C - 5 * D, 'p_b', 'c1'),
  admin('e13', 'enrolment.created', C - 15 * D, 'p_c', 'c2'),
  // Work orders on r1: one opened and closed, one (high) still open at the cut-off.
  ev('e14', 'admin', 'workorder.opened', C - 5 * H, { roomId: 'r1', workOrderId: 'wo-1', priority: 'low' }),
  ev('e15', 'admin', 'workorder.closed', C - 4 * H, { roomId: 'r1', workOrderId: 'wo-1' }),
  ev('e16', 'admin', 'workorder.opened', C - 3 * H, { roomId: 'r1', workOrderId: 'wo-2', priority: 'high' }),
];
// e7 carries its grade.
(SNAPSHOT_EVENTS[6]!.body as Record<string, unknown>).score = 8;
(SNAPSHOT_EVENTS[6]!.body as Record<string, unknown>).maxScore = 10;

export const SNAPSHOT_TWINS: WireItem[] = [
  twin('t1', 'r1', 'occupancy', 'occupied', C - 2 * H),
  twin('t2', 'r1', 'occupancy', 'vacant', C + H), // after the cut-off
  twin('t3', 'r1', 'comfort', 'warn', C - H / 2),
  twin('t4', 'r1', 'health', 'offline', C - H / 6, { deviceId: 'env-1' }),
  twin('t5', 'r2', 'occupancy', 'occupied', C + 2 * H), // r2 is unknown at the cut-off
  // Inside the analytics period [C − 24 h, C), which starts at 08:00 UTC; open hours 08:00–18:00 = minutes 0–599.
  twin('t6', 'r1', 'occupancy', 'occupied', C - D + 1 * H), // minute 60
  twin('t7', 'r1', 'occupancy', 'vacant', C - D + 4 * H), // minute 240
  twin('t8', 'r1', 'health', 'online', C - D + 4 * H, { deviceId: 'env-1' }),
];

const M = 60_000;
const P = C - D; // the period's first minute
function win(
  deviceId: string,
  roomId: string,
  quantity: Aggregate['quantity'],
  minute: number,
  v: { mean?: number; first?: number; last?: number; windowMs?: number },
) {
  const mean = v.mean ?? 0;
  return aggItem(
    agg({
      deviceId,
      channel: quantity,
      roomId,
      quantity,
      unit: quantity === 'co2' ? 'ppm' : quantity === 'power' ? 'kW' : 'kWh',
      windowStart: P + minute * M,
      windowMs: v.windowMs ?? M,
      count: 1,
      sum: mean,
      mean,
      min: Math.min(mean, v.first ?? mean),
      max: Math.max(mean, v.last ?? mean),
      first: v.first ?? mean,
      last: v.last ?? mean,
    }),
  );
}

export const SNAPSHOT_WINDOWS = [
  win('co2-1', 'r1', 'co2', -5, { mean: 2000 }), // before the period
  win('co2-1', 'r1', 'co2', 100, { mean: 1200 }), // 1 minute over
  win('co2-1', 'r1', 'co2', 101, { mean: 1000 }), // not over (1000 is the limit)
  win('co2-1', 'r1', 'co2', 102, { mean: 900 }),
  win('co2-1', 'r1', 'co2', 1300, { mean: 1100, windowMs: 5 * M }), // 5 minutes over, another window size
  win('meter-1', 'r1', 'energy', 10, { first: 100, last: 101, mean: 100.5 }),
  win('meter-1', 'r1', 'energy', 500, { first: 105, last: 107.5, mean: 106 }),
  win('pm-2', 'r2', 'power', 0, { mean: 2 }),
  win('pm-2', 'r2', 'power', 1, { mean: 4 }),
  // A week before minute 10: the baseline for the period's first hour (0.5 kWh).
  win('meter-1', 'r1', 'energy', 10 - 7 * 1440, { first: 90, last: 90.5, mean: 90.25 }),
];

/** Worked by hand from the twins and windows above (cloud/reporting/room-analytics.ts defines each). */
export const ROOM_RESULTS = [
  // occupied minutes 60–239 = 180 of the open minutes with a known state, 60–599 = 540
  ['room/r1/utilization', 'utilization', 0.333, 'r1'],
  ['room/r1/comfort_violation_minutes', 'comfort_violation_minutes', 30, 'r1'], // warn from C − 30 min
  ['room/r1/co2_over_1000_minutes', 'co2_over_1000_minutes', 6, 'r1'],
  ['room/r1/energy_kwh', 'energy_kwh', 7.5, 'r1'], // 107.5 − 100
  // online from minute 240, offline for the last 10 of 1,200 known minutes
  ['room/r1/device_offline_share', 'device_offline_share', 0.008, 'r1'],
  // 30/240 × 30 = 3.75 (comfort) + 0.008 × 25 = 0.2 (sensors) + 25 (energy: the first hour used 1 kWh against
  // a 0.5 kWh baseline, 100 % over; the other hours have no baseline) + 20 (wo-2 is high) = 48.95
  ['room/r1/facility_risk', 'facility_risk', 49, 'r1'],
  ['room/r2/energy_kwh', 'energy_kwh', 0.1, 'r2'], // (2 kW + 4 kW) × 1 min
  ['room/r2/facility_risk', 'facility_risk', 0, 'r2'], // no baseline, nothing else known
] as const;

/** p_a in c1, worked by hand (cloud/reporting/engagement.ts defines each figure). */
export const P_A_C1 = {
  status: 'enrolled',
  events: 6, // e2–e7
  activeDays: 4, // days 20832 (e2, e3), 20831 (e6, e7), 20830 (e4), 20823 (e5)
  activeDaysLast28: 4,
  distinctResources: 4, // o1, o2, o3, a1
  submissions: 1,
  graded: 1,
  meanScorePct: 80,
  firstActivityTs: C - 10 * D,
  lastActivityTs: C - D + H,
  daysSinceLastActivity: 0, // 23 h before the cut-off
  eventsLast7Days: 5,
  eventsPrev7Days: 1,
  eventsPerWeek: 2.1, // 6 events / (20 days / 7)
  trend: 'rising',
  // 100 × (0.35 × 4/12 + 0.25 × (6/2)/20 + 0.2 × 1 + 0.2 × 1/(20/7/2)) = 49.4
  engagementScore: 49,
  riskFlag: 0,
};

/** Applies the fixture campus (events, twin changes, windows) to a store in one batch. */
export async function feedSnapshotCampus(store: Pick<IngestStore, 'applyBatch'>, now: number): Promise<void> {
  const events = [
    prepared('event', 'gw-1', 'ev1', SNAPSHOT_EVENTS),
    prepared('twin', 'gw-1', 'tw1', SNAPSHOT_TWINS),
    prepared('aggregate', 'gw-1', 'ag1', SNAPSHOT_WINDOWS),
  ];
  await store.applyBatch(P0, events, events[2]!.position, now);
}

export function snapshotContract(
  name: string,
  makeStore: () => SnapshotContractStore | Promise<SnapshotContractStore>,
): void {
  describe(`CloudStore snapshot contract: ${name}`, () => {
    const open: SnapshotContractStore[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });
    const fed = async () => {
      const s = await makeStore();
      open.push(s);
      await feedSnapshotCampus(s, C + 3 * H);
      return s;
    };

    it('copies rooms and enrolments as of the cut-off, with hand-computed engagement', async () => {
      const s = await fed();
      const info = await s.createSnapshot({ cutoffTs: C, now: C + 5 * H, trigger: 'api' });
      expect(info).toEqual({
        snapshotId: '2027-01-15T08:00:00Z',
        cutoffTs: C,
        createdAt: C + 5 * H,
        trigger: 'api',
        rooms: 1,
        enrolments: 3,
        results: 14,
        periodFrom: C - D,
      });
      const rows = await s.snapshotRows(info.snapshotId, -1, 100);
      expect(rows.map((r) => [r.seq, r.studentId, r.courseId, r.facilityId, r.snapshotTs])).toEqual([
        [0, null, null, 'r1', C - H / 6],
        [1, 'p_a', 'c1', null, C - D + H],
        [2, 'p_b', 'c1', null, C - 5 * D],
        [3, 'p_c', 'c2', null, C - 15 * D],
      ]);
      const state = rows.map((r) => JSON.parse(r.state) as Record<string, unknown>);
      expect(state[0]).toEqual({
        campusId: null,
        occupancy: { state: 'occupied', since: C - 2 * H, reasons: ['occupancy occupied'] },
        comfort: { state: 'warn', since: C - H / 2, reasons: ['comfort warn'] },
        health: { 'env-1': { state: 'offline', since: C - H / 6 } },
        devices: 1,
        devicesOffline: 1,
      });
      expect(state[1]).toEqual(P_A_C1);
      // p_b withdrew: one view 20 days ago, 1 active day in 28 → 100 × 0.35 × 1/12 = 2.9; not flagged.
      expect(state[2]).toMatchObject({
        status: 'withdrawn',
        events: 1,
        engagementScore: 3,
        riskFlag: 0,
        trend: 'none',
      });
      // p_c enrolled and never active: score 0, flagged.
      expect(state[3]).toMatchObject({
        status: 'enrolled',
        events: 0,
        lastActivityTs: null,
        daysSinceLastActivity: null,
        engagementScore: 0,
        riskFlag: 1,
      });
    });

    it('computes facility and engagement analytics with the snapshot, as worked by hand', async () => {
      const s = await fed();
      const info = await s.createSnapshot({ cutoffTs: C, now: C + 5 * H, trigger: 'api' });
      const rows = await s.analyticsRows(info.snapshotId, -1, 100);
      expect(rows.map((r) => r.seq)).toEqual([...Array(14).keys()]);
      expect(rows.every((r) => r.computedTs === C + 5 * H)).toBe(true);
      expect(rows.slice(0, 8).map((r) => [r.resultId, r.metric, r.value, r.facilityId])).toEqual(
        ROOM_RESULTS,
      );
      expect(rows.slice(8).map((r) => [r.resultId, r.value, r.studentId, r.courseId])).toEqual([
        ['enrolment/p_a/c1/engagement_score', 49, 'p_a', 'c1'],
        ['enrolment/p_a/c1/risk_flag', 0, 'p_a', 'c1'],
        ['enrolment/p_b/c1/engagement_score', 3, 'p_b', 'c1'],
        ['enrolment/p_b/c1/risk_flag', 0, 'p_b', 'c1'],
        ['enrolment/p_c/c2/engagement_score', 0, 'p_c', 'c2'],
        ['enrolment/p_c/c2/risk_flag', 1, 'p_c', 'c2'],
      ]);
      // Open hours change utilization only: all day, r1 was occupied 180 + 120 (from C − 2 h) of 1,380 minutes.
      const allDay = await s.createSnapshot({
        cutoffTs: C,
        now: C + 6 * H,
        trigger: 'api',
        analytics: { periodMs: D, openHours: '00:00-24:00', timeZone: 'UTC' },
      });
      const u = (await s.analyticsRows(allDay.snapshotId, -1, 1))[0]!;
      expect([u.metric, u.value]).toEqual(['utilization', 0.217]);
      expect(await s.analyticsRows('nope', -1, 10)).toEqual([]);
    });

    it('never changes a snapshot; a second one with the same cut-off gets its own id', async () => {
      const s = await fed();
      const first = await s.createSnapshot({ cutoffTs: C, now: C + 5 * H, trigger: 'schedule' });
      const before = await s.snapshotRows(first.snapshotId, -1, 100);
      // A late event before the cut-off arrives afterwards.
      const late = [
        prepared('event', 'gw-1', 'ev2', [learn('e20', 'forum.posted', C - H, 'p_c', 'c2', 'f1')]),
      ];
      await s.applyBatch(P0, late, late[0]!.position, C + 6 * H);
      const second = await s.createSnapshot({ cutoffTs: C, now: C + 7 * H, trigger: 'api' });
      expect(second.snapshotId).toBe(`${first.snapshotId}-1`);
      expect(await s.snapshotRows(first.snapshotId, -1, 100)).toEqual(before);
      const after = await s.snapshotRows(second.snapshotId, -1, 100);
      expect(JSON.parse(after[3]!.state)).toMatchObject({ events: 1, lastActivityTs: C - H, riskFlag: 1 });
      expect(await s.snapshot(first.snapshotId)).toEqual(first);
      expect(await s.snapshot('nope')).toBeUndefined();
    });

    it("keeps two campuses' rooms of one id apart: facility ids say the campus only for a shared id", async () => {
      const s = await fed();
      // North's gateway has an r1 of its own (the fixture's r1 is of a gateway naming no campus), and r5.
      const north = prepared(
        'twin',
        'gw-n',
        'n1',
        [
          twin('n-t1', 'r1', 'occupancy', 'vacant', C - H),
          twin('n-t2', 'r5', 'occupancy', 'occupied', C - H),
        ],
        { campusId: 'north' },
      );
      await s.applyBatch(P0, [north], north.position, C + 4 * H);
      const info = await s.createSnapshot({ cutoffTs: C, now: C + 5 * H, trigger: 'api' });
      expect(info.rooms).toBe(3);
      const rooms = (await s.snapshotRows(info.snapshotId, -1, 100)).filter((r) => r.facilityId !== null);
      expect(
        rooms.map((r) => {
          const state = JSON.parse(r.state) as { campusId: string | null; occupancy: { state: string } };
          return [r.facilityId, state.campusId, state.occupancy.state];
        }),
      ).toEqual([
        ['(unnamed)/r1', null, 'occupied'],
        ['north/r1', 'north', 'vacant'],
        ['r5', 'north', 'occupied'],
      ]);
      const results = await s.analyticsRows(info.snapshotId, -1, 1000);
      const facilities = new Set(results.flatMap((r) => (r.facilityId === null ? [] : [r.facilityId])));
      // r2 has windows but no twin state: results, no state row.
      expect([...facilities].sort()).toEqual(['(unnamed)/r1', 'north/r1', 'r2', 'r5']);
      const risk = (f: string) =>
        results.filter((r) => r.facilityId === f && r.metric === 'facility_risk').map((r) => r.resultId);
      expect(risk('north/r1')).toEqual([`room/${encodeURIComponent('north/r1')}/facility_risk`]);
    });

    it('pages rows by seq and lists snapshots newest first', async () => {
      const s = await fed();
      const ids: string[] = [];
      for (const k of [0, 1, 2])
        ids.push(
          (await s.createSnapshot({ cutoffTs: C + k * H, now: C + 5 * H, trigger: 'api' })).snapshotId,
        );
      const page1 = await s.snapshotRows(ids[0]!, -1, 3);
      const page2 = await s.snapshotRows(ids[0]!, page1.at(-1)!.seq, 3);
      expect([...page1, ...page2].map((r) => r.seq)).toEqual([0, 1, 2, 3]);
      expect(await s.snapshotRows(ids[0]!, 3, 3)).toEqual([]);
      const list = await s.listSnapshots({ limit: 2 });
      expect(list.map((x) => x.snapshotId)).toEqual([ids[2], ids[1]]);
      const rest = await s.listSnapshots({ limit: 2, before: ids[1]! });
      expect(rest.map((x) => x.snapshotId)).toEqual([ids[0]]);
      // At C + 1 h r1 has turned vacant and r2 does not exist yet; at C + 2 h both rooms are there.
      const at1 = await s.snapshotRows(ids[1]!, -1, 1);
      expect(JSON.parse(at1[0]!.state).occupancy.state).toBe('vacant');
      expect((await s.snapshot(ids[2]!))?.rooms).toBe(2);
    });
  });
}
