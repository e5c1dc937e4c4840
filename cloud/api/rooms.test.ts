import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudMetrics } from '../metrics.ts';
import type { Directory } from '../reporting/directory.ts';
import { P0, prepared, windowEvent } from '../store/contract.ts';
import { feedSnapshotCampus } from '../store/contract-snapshots.ts';
import { SqliteCloudStore } from '../store/sqlite.ts';
import { buildCloudApi } from './server.ts';

const TOKEN = 'rooms-test-token-0123456789';
const H = 3_600_000;
const C = 1_800_000_000_000;
const P = C - 24 * H;
const NOW = C + 5 * H;

const directory: Directory = {
  campusId: null,
  buildings: [
    { buildingId: 'b1', name: 'Library', floors: [{ floorId: 'f1', level: 1, roomIds: ['r1', 'r3'] }] },
  ],
  rooms: new Map([
    ['r1', { roomId: 'r1', name: 'Reading room', buildingId: 'b1', floorId: 'f1', capacity: 40 }],
    ['r3', { roomId: 'r3', name: 'Store', buildingId: 'b1', floorId: 'f1', capacity: 2 }],
  ]),
};

describe('reporting API: buildings, rooms, history, courses', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  const app = buildCloudApi({
    store,
    metrics: new CloudMetrics(),
    now: () => NOW,
    directory,
    auth: { open: false, tokens: [TOKEN], metricsPublic: true },
  });
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

  beforeAll(async () => {
    await feedSnapshotCampus(store, NOW);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('lists buildings from the registry and summarises one from the rooms latest states', async () => {
    const list = (await get('/api/buildings')).json();
    expect(list).toEqual({
      buildings: [
        { buildingId: 'b1', name: 'Library', floors: [{ floorId: 'f1', level: 1, rooms: 2 }], rooms: 2 },
      ],
      unassignedRooms: 1, // r2 has state but the registry does not name it
    });
    const summary = (await get('/api/buildings/b1/summary')).json();
    // r1: vacant since C + 1 h, comfort warn, env-1 offline; r3: nothing known.
    expect(summary).toEqual({
      now: NOW,
      buildingId: 'b1',
      name: 'Library',
      floors: 1,
      rooms: 2,
      roomsWithState: 1,
      occupied: 0,
      occupiedShare: 0,
      comfort: { ok: 0, warn: 1, alert: 0, unknown: 1 },
      devices: { online: 0, stale: 0, offline: 1 },
      roomsNeedingAttention: 1,
      alertsLast24h: 0,
    });
    expect((await get('/api/buildings/nope/summary')).statusCode).toBe(404);
  });

  it('lists rooms with filters and pages, as JSON or CSV', async () => {
    const all = (await get('/api/rooms')).json();
    expect(all.total).toBe(3);
    expect(all.rooms.map((r: { roomId: string }) => r.roomId)).toEqual(['r1', 'r3', 'r2']);
    expect(all.rooms[0]).toMatchObject({
      name: 'Reading room',
      occupancy: 'vacant',
      occupancySince: C + H,
      comfort: 'warn',
      needsAttention: true,
    });
    const attention = (await get('/api/rooms?building=b1&attention=true')).json();
    expect(attention.rooms.map((r: { roomId: string }) => r.roomId)).toEqual(['r1']);
    const page = (await get('/api/rooms?limit=1&offset=1')).json();
    expect([page.total, page.rooms[0].roomId]).toEqual([3, 'r3']);
    const csv = await get('/api/rooms?format=csv&building=b1');
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\n')).toEqual([
      'room_id,name,building_id,floor_id,capacity,occupancy,occupancy_since,comfort,devices_online,devices_stale,devices_offline,needs_attention,campus_id',
      'r1,Reading room,b1,f1,40,vacant,2027-01-15T09:00:00Z,warn,0,0,1,1,',
      'r3,Store,b1,f1,2,,,,0,0,0,0,',
      '',
    ]);
    expect((await get('/api/rooms?attention=maybe')).statusCode).toBe(400);
  });

  it('re-aggregates a room history from stored windows of any size', async () => {
    const from = P - 10 * 60_000;
    const hourly = (await get(`/api/rooms/r1/history?quantity=co2&from=${from}&to=${C}&interval=1h`)).json();
    expect(hourly).toMatchObject({
      roomId: 'r1',
      quantity: 'co2',
      intervalMs: H,
      sensors: [{ deviceId: 'co2-1', channel: 'co2' }],
    });
    // Windows at P − 5 min, P + 100/101/102 min (1,200, 1,000, 900 ppm) and P + 1,300 min (5 min, 1,100 ppm).
    expect(hourly.buckets).toEqual([
      { ts: P - H, count: 1, min: 2000, max: 2000, mean: 2000 },
      { ts: P + H, count: 3, min: 900, max: 1200, mean: 3100 / 3 },
      { ts: P + 21 * H, count: 1, min: 1100, max: 1100, mean: 1100 },
    ]);
    const raw = (await get(`/api/rooms/r1/history?quantity=co2&from=${from}&to=${C}`)).json();
    expect([raw.intervalMs, raw.buckets.length]).toEqual([60_000, 5]);
    const csv = await get(`/api/rooms/r1/history?quantity=co2&from=${from}&to=${C}&interval=1h&format=csv`);
    expect(csv.body.split('\n').slice(0, 2)).toEqual([
      'ts,count,min,max,mean',
      '2027-01-14T07:00:00Z,1,2000,2000,2000',
    ]);
    expect((await get('/api/rooms/r1/history?quantity=smell')).statusCode).toBe(400);
    expect((await get('/api/rooms/r1/history?quantity=co2&interval=1s&from=0')).statusCode).toBe(400);
    expect((await get('/api/rooms/r3/history?quantity=co2')).statusCode).toBe(404);
  });

  it("reports a course's engagement as of now, page by page", async () => {
    const c1 = (await get('/api/courses/c1/engagement')).json();
    expect(c1.students.map((s: { studentId: string; status: string }) => [s.studentId, s.status])).toEqual([
      ['p_a', 'enrolled'],
      ['p_b', 'withdrawn'],
    ]);
    // As of now (C + 5 h) p_a's view at C + 1 h counts too: 7 learning events.
    expect(c1.students[0]).toMatchObject({ events: 7, submissions: 1 });
    const first = (await get('/api/courses/c1/engagement?limit=1')).json();
    expect([first.students.length, first.next]).toEqual([1, 'p_a']);
    const second = (await get('/api/courses/c1/engagement?limit=1&after=p_a')).json();
    expect(second.students[0].studentId).toBe('p_b');
    const csv = await get('/api/courses/c2/engagement?format=csv');
    expect(csv.body.split('\n')[1]).toMatch(/^p_c,enrolled,0,1,0,0,0,,none$/);
    expect((await get('/api/courses/nope/engagement')).statusCode).toBe(404);
  });
});

describe('reporting API with two campuses in one cloud', () => {
  const store = new SqliteCloudStore({ file: ':memory:' });
  // The registry is north's; the fixture campus's gateway names no campus (its rooms are campus '').
  const app = buildCloudApi({
    store,
    metrics: new CloudMetrics(),
    now: () => NOW,
    directory: { ...directory, campusId: 'north' },
    auth: { open: true, tokens: [], metricsPublic: false },
  });
  const get = (url: string) => app.inject({ method: 'GET', url });

  beforeAll(async () => {
    await feedSnapshotCampus(store, NOW);
    // South has an r1 too: occupied, an alert, a CO2 sensor of its own.
    const twin = {
      roomId: 'r1',
      ts: C + 2 * H,
      kind: 'occupancy',
      from: 'vacant',
      to: 'occupied',
      reasons: [],
    };
    const alert = {
      alertId: 'a1',
      ts: C + 2 * H,
      severity: 'warning',
      code: 'co2_high',
      roomId: 'r1',
      message: 'm',
    };
    const south = [
      prepared('twin', 'gw-s', 's1', [{ id: 't1', body: twin }], { campusId: 'south' }),
      prepared('alert', 'gw-s', 's2', [{ id: 'a1', body: alert }], { campusId: 'south' }),
      windowEvent(
        'gw-s',
        's3',
        { deviceId: 'co2-9', channel: 'co2', quantity: 'co2', unit: 'ppm', windowStart: C + H },
        'south',
      ),
    ];
    await store.applyBatch(P0, south, south[2]!.position, NOW);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it("lists each campus's r1 apart: the registry's on the rooms of its unnamed gateway, south's on its own", async () => {
    const all = (await get('/api/rooms')).json();
    const rooms = all.rooms.map(
      (r: { roomId: string; campusId: string | null; name: string | null; occupancy: string | null }) => [
        r.roomId,
        r.campusId,
        r.name,
        r.occupancy,
      ],
    );
    expect(rooms).toEqual([
      ['r1', null, 'Reading room', 'vacant'],
      ['r3', 'north', 'Store', null],
      ['r1', 'south', null, 'occupied'],
      ['r2', null, null, 'occupied'],
    ]);
    const south = (await get('/api/rooms?campus=south')).json();
    expect(south.rooms.map((r: { roomId: string }) => r.roomId)).toEqual(['r1']);
    // South's alert is not the Library's.
    expect((await get('/api/buildings/b1/summary')).json()).toMatchObject({ rooms: 2, alertsLast24h: 0 });
  });

  it('asks which campus for a room id two campuses have, in history and facility risk', async () => {
    const history = await get(`/api/rooms/r1/history?quantity=co2&from=${P}&to=${NOW}`);
    expect(history.statusCode).toBe(409);
    expect(history.json().error).toMatchObject({
      code: 'CT_ERR_AMBIGUOUS',
      message: expect.stringContaining('co2 of room r1 is on campuses (unnamed), south'),
    });
    const southCo2 = (
      await get(`/api/rooms/r1/history?quantity=co2&from=${P}&to=${NOW}&campus=south`)
    ).json();
    expect(southCo2.sensors).toEqual([{ deviceId: 'co2-9', channel: 'co2' }]);
    const unnamedCo2 = (await get(`/api/rooms/r1/history?quantity=co2&from=${P}&to=${NOW}&campus=`)).json();
    expect(unnamedCo2.sensors).toEqual([{ deviceId: 'co2-1', channel: 'co2' }]);
    const risk = await get('/api/rooms/r1/risk');
    expect(risk.statusCode).toBe(409);
    const southRisk = await get('/api/rooms/r1/risk?campus=south');
    expect(southRisk.statusCode).toBe(200);
    expect(southRisk.json()).toMatchObject({ roomId: 'r1', campusId: 'south' });
    expect((await get('/api/rooms/r1/risk?campus=east')).statusCode).toBe(404);
    // r2 is on one campus only: no campus needed.
    expect((await get('/api/rooms/r2/risk')).json()).toMatchObject({ roomId: 'r2', campusId: null });
  });
});
