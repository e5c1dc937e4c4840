/**
 * The PostgreSQL store on a real PostgreSQL server started for this file (tests/helpers/postgres.ts): the
 * shared contract, then what only a networked database has — concurrent writers on one database, and
 * migrations applied once. Each store gets a schema of its own, so every test starts empty.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres.ts';
import { roomKey } from '../reporting/rooms.ts';
import { CITUS_PLAN, distributeOnCitus } from './citus.ts';
import {
  agg,
  aggItem,
  P0,
  poisonedBatch,
  prepared,
  sharedStoreContract,
  storeContract,
  windowSeekFixture,
  windowsOf,
} from './contract.ts';
import {
  SNAPSHOT_CUTOFF as C,
  SNAPSHOT_EVENTS,
  SNAPSHOT_TWINS,
  SNAPSHOT_WINDOWS,
  snapshotContract,
} from './contract-snapshots.ts';
import { pgKeyStates } from './pg-room-periods.ts';
import { PG_MIGRATIONS } from './pg-schema.ts';
import { pgNamed, pgPlaceholders } from './pg-sql.ts';
import { PostgresCloudStore } from './postgres.ts';
import { SqliteCloudStore } from './sqlite.ts';

let server: TestPostgres | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

let n = 0;
const freshSchema = () => `t${process.pid}_${n++}`;
const open = (schema = freshSchema()) => PostgresCloudStore.open({ url: server!.url, schema });

storeContract('PostgreSQL', () => open());
sharedStoreContract('PostgreSQL, two pools on one database', async () => {
  const schema = freshSchema();
  return [await open(schema), await open(schema)];
});
snapshotContract('PostgreSQL', () => open());

const H = 3_600_000;
const D = 24 * H;
const M = 60_000;

/**
 * The snapshot campus and more: a second CO2 sensor in r1 whose windows arrive newest first, alerts in two
 * rooms, and more students in c1 (for paging), as one list of prepared events both stores apply.
 */
function reportCampus() {
  const co2 = (minute: number, mean: number) =>
    aggItem(
      agg({
        deviceId: 'co2-2',
        channel: 'co2',
        roomId: 'r1',
        quantity: 'co2',
        unit: 'ppm',
        windowStart: C - D + minute * M,
        windowMs: M,
        count: 2,
        sum: 2 * mean,
        mean,
        min: mean - 50,
        max: mean + 50,
        first: mean - 10,
        last: mean + 10,
      }),
    );
  const alert = (i: number, roomId: string | null, ts: number) => ({
    id: `al${i}`,
    body: { alertId: `al${i}`, ts, severity: 'warning', code: 'co2_high', roomId, message: `alert ${i}` },
  });
  const view = (i: number, actorId: string, ts: number) => ({
    id: `v${i}`,
    body: {
      eventId: `v${i}`,
      source: 'caliper',
      type: 'resource.viewed',
      originalType: 'resource.viewed',
      ts,
      receivedAt: ts,
      actorId,
      courseId: 'c1',
      objectId: `o${i % 3}`,
    },
  });
  return [
    prepared('event', 'gw-1', 'ev1', SNAPSHOT_EVENTS),
    prepared('twin', 'gw-1', 'tw1', SNAPSHOT_TWINS),
    prepared('aggregate', 'gw-1', 'ag1', SNAPSHOT_WINDOWS),
    prepared('aggregate', 'gw-2', 'ag2', [co2(900, 1500), co2(300, 700), co2(200, 1100)]),
    prepared('alert', 'gw-1', 'al1', [
      alert(1, 'r1', C - 3 * H),
      alert(2, 'r1', C - H),
      alert(3, 'r2', C - 2 * D),
      alert(4, null, C - H),
    ]),
    prepared(
      'event',
      'gw-2',
      'ev2',
      ['p_d', 'p_e', 'p_f'].flatMap((a, k) => [0, 1, 2].map((i) => view(k * 3 + i, a, C - (k + i) * D - H))),
    ),
  ];
}

describe('PostgreSQL live reporting reads and room periods', () => {
  it('answers as the SQLite store does on the same applied events', async () => {
    const events = reportCampus();
    const last = events.at(-1)!.position;
    const lite = new SqliteCloudStore({ file: ':memory:' });
    const pgs = await open();
    try {
      for (const s of [lite, pgs]) {
        const r = await s.applyBatch(P0, events, last, C + 3 * H);
        expect(r.batchesApplied).toBe(events.length);
      }
      const both = async <T>(read: (s: SqliteCloudStore | PostgresCloudStore) => Promise<T>): Promise<T> => {
        const [a, b] = [await read(lite), await read(pgs)];
        expect(b).toEqual(a);
        return b;
      };

      const states = await both((s) => s.roomStates());
      expect(states.map((r) => [r.roomId, r.kind, r.subject, r.state])).toEqual([
        ['r1', 'comfort', '', 'warn'],
        ['r1', 'health', 'env-1', 'offline'],
        ['r1', 'occupancy', '', 'vacant'],
        ['r2', 'occupancy', '', 'occupied'],
      ]);

      const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
      expect(sorted(await both((s) => s.alertCounts(C - 3 * D)))).toEqual([
        [roomKey('', 'r1'), 2],
        [roomKey('', 'r2'), 1],
      ]);
      expect(sorted(await both((s) => s.alertCounts(C - 2 * H)))).toEqual([[roomKey('', 'r1'), 1]]);

      // Two CO2 sensors in r1, each sensor's windows in time order (co2-2's arrived newest first).
      const windows = async (room: string, quantity: string, from: number, to: number) => {
        const w = await both((s) => s.roomWindows(room, quantity, from, to));
        if (w && 'campuses' in w) throw new Error(`room ${room} is on campuses ${w.campuses.join(', ')}`);
        return w;
      };
      const co2 = await windows('r1', 'co2', C - D, C);
      expect(co2?.sensors).toEqual([
        { deviceId: 'co2-1', channel: 'co2' },
        { deviceId: 'co2-2', channel: 'co2' },
      ]);
      expect(
        co2?.windows.map((w) => [(w.windowStart - (C - D)) / M, w.windowMs / M, w.count, w.sum]),
      ).toEqual([
        [100, 1, 1, 1200],
        [101, 1, 1, 1000],
        [102, 1, 1, 900],
        [1300, 5, 1, 1100],
        [200, 1, 2, 2200],
        [300, 1, 2, 1400],
        [900, 1, 2, 3000],
      ]);
      expect((await windows('r1', 'energy', C - 8 * D, C))?.windows).toHaveLength(3);
      expect((await windows('r2', 'power', C - D, C))?.windows).toHaveLength(2);
      expect(await windows('r2', 'co2', C - D, C)).toBeUndefined();

      const periods = await both((s) => s.roomPeriods(C - D, C));
      expect(periods.map((p) => p.roomId)).toEqual(['r1', 'r2']);
      expect(periods[0]!.co2).toHaveLength(2);
      expect(periods[0]!.occupancy?.changes.map((c) => c.state)).toEqual(['occupied', 'vacant', 'occupied']);
      expect(periods[0]!.workOrders?.map((w) => w.workOrderId)).toEqual(['wo-2']);
      expect(periods[0]!.energyHistory).toHaveLength(3);
      const r1 = await both((s) => s.roomPeriods(C - D, C, { roomId: 'r1' }));
      expect(r1).toEqual([periods[0]]);
      expect(await both((s) => s.roomPeriods(C - D, C, { roomId: 'nowhere' }))).toEqual([]);
      // Later, r2's twin is known and r1 has no open work order any more nor windows in the period.
      const later = await both((s) => s.roomPeriods(C + H, C + 3 * H));
      expect(later.map((p) => [p.roomId, p.occupancy?.initial ?? null, p.co2.length])).toEqual([
        ['r1', 'vacant', 0],
        ['r2', null, 0],
      ]);

      const c1 = await both((s) => s.courseEngagement('c1', C, '', 100));
      expect(c1.map((r) => [r.studentId, r.state.events])).toEqual([
        ['p_a', 6],
        ['p_b', 1],
        ['p_d', 3],
        ['p_e', 3],
        ['p_f', 3],
      ]);
      const page1 = await both((s) => s.courseEngagement('c1', C, '', 2));
      const page2 = await both((s) => s.courseEngagement('c1', C, page1.at(-1)!.studentId, 2));
      const page3 = await both((s) => s.courseEngagement('c1', C, page2.at(-1)!.studentId, 2));
      expect([...page1, ...page2, ...page3]).toEqual(c1);
      expect(await both((s) => s.courseEngagement('c1', C - 40 * D, '', 10))).toEqual([]);
      expect((await both((s) => s.courseEngagement('c2', C, '', 10))).map((r) => r.studentId)).toEqual([
        'p_c',
      ]);
    } finally {
      await lite.close();
      await pgs.close();
    }
  });

  it("reads each room key's latest state in its Citus form as in its one-server form", async () => {
    // The Citus form (a DISTINCT ON per gateway, no LATERAL) is plain SQL: it runs here too, so CI holds
    // it to the form one server uses, on the same applied events, before and after every change.
    const events = reportCampus();
    const schema = freshSchema();
    const pgs = await open(schema);
    const client = new pg.Client({ connectionString: server!.url, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await pgs.applyBatch(P0, events, events.at(-1)!.position, C + 3 * H);
      const sizes: number[] = [];
      for (const cutoff of [C - 8 * D, C - D, C - H, C, C + 3 * H]) {
        const oneServer = await pgKeyStates(client, cutoff, false);
        expect(await pgKeyStates(client, cutoff, true), `cutoff ${cutoff}`).toEqual(oneServer);
        sizes.push(oneServer.length);
      }
      expect(Math.max(...sizes)).toBeGreaterThanOrEqual(4);
    } finally {
      await client.end();
      await pgs.close();
    }
  });

  it('builds the same snapshot as the SQLite store, past a thousand rows per insert', async () => {
    // 1,200 more enrolments in c3: 1,206 enrolment rows, 2,412 of their results (inserted 1,000 at a time),
    // after 8 room results (r1 six, r2 two).
    const enrol = Array.from({ length: 1200 }, (_, i) => ({
      id: `en${i}`,
      body: {
        eventId: `en${i}`,
        source: 'admin',
        type: 'enrolment.created',
        originalType: 'enrolment.created',
        ts: C - (i % 30) * D,
        receivedAt: C,
        actorId: `s${String(i).padStart(4, '0')}`,
        courseId: 'c3',
      },
    }));
    const events = [...reportCampus(), prepared('event', 'gw-3', 'en', enrol)];
    const last = events.at(-1)!.position;
    const lite = new SqliteCloudStore({ file: ':memory:' });
    const pgs = await open();
    try {
      const opts = { cutoffTs: C, now: C + 4 * H, trigger: 'api' as const };
      const infos = [];
      for (const s of [lite, pgs]) {
        await s.applyBatch(P0, events, last, C + 3 * H);
        infos.push(await s.createSnapshot(opts));
      }
      const [a, b] = infos;
      expect(b).toEqual(a);
      expect(b).toMatchObject({ rooms: 1, enrolments: 1206, results: 8 + 2 * 1206 });
      const rows = await pgs.snapshotRows(b!.snapshotId, -1, 5000);
      expect(rows).toHaveLength(1207);
      expect(rows).toEqual(await lite.snapshotRows(a!.snapshotId, -1, 5000));
      const results = await pgs.analyticsRows(b!.snapshotId, -1, 5000);
      expect(results.map((r) => r.seq)).toEqual([...Array(b!.results).keys()]);
      expect(results).toEqual(await lite.analyticsRows(a!.snapshotId, -1, 5000));
      expect(await pgs.analyticsRows(b!.snapshotId, -1, 5000, 'co2_over_1000_minutes')).toEqual(
        await lite.analyticsRows(a!.snapshotId, -1, 5000, 'co2_over_1000_minutes'),
      );
    } finally {
      await lite.close();
      await pgs.close();
    }
  });

  it('builds two snapshots with one cut-off at once on two stores: each its own id, both whole', async () => {
    const schema = freshSchema();
    const a = await open(schema);
    const b = await open(schema);
    try {
      const events = reportCampus();
      await a.applyBatch(P0, events, events.at(-1)!.position, C + 3 * H);
      const [x, y] = await Promise.all([
        a.createSnapshot({ cutoffTs: C, now: C + 4 * H, trigger: 'api' }),
        b.createSnapshot({ cutoffTs: C, now: C + 4 * H, trigger: 'schedule' }),
      ]);
      expect([x.snapshotId, y.snapshotId].sort()).toEqual(['2027-01-15T08:00:00Z', '2027-01-15T08:00:00Z-1']);
      for (const info of [x, y]) {
        expect(info).toMatchObject({ rooms: 1, enrolments: 6 });
        expect(await a.snapshot(info.snapshotId)).toEqual(info);
        expect(await b.snapshotRows(info.snapshotId, -1, 100)).toHaveLength(7);
        expect(await b.analyticsRows(info.snapshotId, -1, 100)).toHaveLength(info.results);
      }
      const risk = await a.analyticsRows(x.snapshotId, -1, 100, 'risk_flag');
      expect(risk.map((r) => r.studentId)).toEqual(['p_a', 'p_b', 'p_c', 'p_d', 'p_e', 'p_f']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('PostgreSQL store', () => {
  it('numbers placeholders in order, a named one once however often it is used', () => {
    expect(pgPlaceholders('SELECT ? AS a WHERE b = ? AND c IN (?, ?)')).toBe(
      'SELECT $1 AS a WHERE b = $2 AND c IN ($3, $4)',
    );
    const q = pgNamed('SELECT @b AS x WHERE ts > @a AND ts <= @b AND y = @c_1');
    expect(q.text).toBe('SELECT $1 AS x WHERE ts > $2 AND ts <= $1 AND y = $3');
    expect(q.values({ a: 1, b: 2, c_1: 3, unused: 4 })).toEqual([2, 1, 3]);
    expect(() => q.values({ a: 1 })).toThrow('missing SQL parameter @b');
  });

  it('applies its migrations once, recorded, however many processes open the database', async () => {
    const schema = freshSchema();
    const opened = await Promise.allSettled([open(schema), open(schema), open(schema)]);
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const again = await open(schema);
    try {
      expect(opened.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const client = new pg.Client({ connectionString: server!.url });
      await client.connect();
      try {
        const rows = await client.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
        expect(rows.rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
      } finally {
        await client.end();
      }
    } finally {
      for (const s of [...stores, again]) await s.close();
    }
  });

  it('on a Citus database distributes its tables by the plan, once; on one server leaves them alone', async () => {
    // Both ways run: one server in CI, a Citus cluster with CT_TEST_CITUS=1 (deploy/citus/README.md).
    const schema = freshSchema();
    const stores = await Promise.all([open(schema), open(schema)]);
    const client = new pg.Client({ connectionString: server!.url, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      const onCitus =
        (await client.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).rowCount === 1;
      expect(await distributeOnCitus(client, schema)).toEqual({ onCitus, distributed: [] });
      if (!onCitus) {
        expect(
          (await client.query("SELECT 1 FROM pg_class WHERE relname = 'pg_dist_partition'")).rowCount,
        ).toBe(0);
        return;
      }
      const rows = (
        await client.query<{ table: string; column: string | null; colocation: number }>(
          `SELECT c.relname AS table, p.colocationid AS colocation,
             CASE WHEN p.partkey IS NULL THEN NULL ELSE column_to_column_name(p.logicalrelid, p.partkey) END AS column
           FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
          [schema],
        )
      ).rows;
      const byTable = new Map(rows.map((r) => [r.table, r]));
      expect([...byTable.keys()].sort()).toEqual(CITUS_PLAN.map((t) => t.table).sort());
      for (const t of CITUS_PLAN) {
        expect(byTable.get(t.table)?.column ?? undefined, t.table).toBe(t.column);
        if (t.colocateWith)
          expect(byTable.get(t.table)?.colocation, t.table).toBe(byTable.get(t.colocateWith)?.colocation);
      }
    } finally {
      await client.end();
      for (const s of stores) await s.close();
    }
  });

  it('rolls a failed apply back whole: nothing of it, not even a new sensor, is left', async () => {
    const s = await open();
    try {
      const poisoned = poisonedBatch('p', { windowStart: 0, deviceId: 'new-1' });
      await expect(s.applyBatch(P0, [poisoned], poisoned.position, 1)).rejects.toThrow();
      const range = { from: 0, to: 60_000, limit: 10 };
      expect(await windowsOf(s, 'new-1', 'temperature', range)).toBeUndefined();
      expect(await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup)).toEqual(
        [],
      );
      const ok = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 0, deviceId: 'new-1' }))]);
      await s.applyBatch(P0, [ok], ok.position, 2);
      expect((await windowsOf(s, 'new-1', 'temperature', range))?.map((w) => w.count)).toEqual([10]);
      // The data version moves with a write.
      const before = await s.dataVersion();
      const more = prepared('aggregate', 'gw-1', 'b2', [aggItem(agg({ windowStart: 60_000 }))]);
      await s.applyBatch(P0, [more], more.position, 3);
      expect(await s.dataVersion()).not.toBe(before);
    } finally {
      await s.close();
    }
  });

  it('refuses a schema name it would have to quote', async () => {
    await expect(PostgresCloudStore.open({ url: server!.url, schema: 'a"; DROP' })).rejects.toThrow(
      /lower-case letters/,
    );
  });
});

describe('PostgreSQL window reads by seeks (migration 8)', () => {
  it("give the SQLite store's windows for every sensor, range and limit, and for a room (randomized)", async () => {
    const { events, reads } = windowSeekFixture(29);
    const lite = new SqliteCloudStore({ file: ':memory:' });
    const s = await open();
    try {
      for (const [i, ev] of events.entries()) {
        await lite.applyBatch(P0, [ev], ev.position, i + 1);
        await s.applyBatch(P0, [ev], ev.position, i + 1);
      }
      let compared = 0;
      for (const { device, range } of reads) {
        const want = await windowsOf(lite, device, 'temperature', range);
        expect(await windowsOf(s, device, 'temperature', range)).toEqual(want);
        compared += want!.length;
      }
      expect(compared).toBeGreaterThan(2_000);
      const room = await s.roomWindows('r1', 'temperature', 600_000, 20_000_000);
      expect(room).toEqual(await lite.roomWindows('r1', 'temperature', 600_000, 20_000_000));
      expect(room && 'windows' in room ? room.windows.length : 0).toBeGreaterThan(500);
    } finally {
      await lite.close();
      await s.close();
    }
  });
  it("migration 8 re-keys a version-7 store's windows time-major and fills its sensors' spans", async () => {
    const schema = freshSchema();
    const made = await open(schema);
    const windows = [0, 60_000, 120_000].map((windowStart) => agg({ windowStart }));
    const hourly = agg({ windowStart: 3_600_000, windowMs: 3_600_000, deviceId: 'env-2' });
    const ev = prepared('aggregate', 'gw-1', 'b1', [...windows, hourly].map(aggItem));
    await made.applyBatch(P0, [ev], ev.position, 1);
    await made.close();
    const client = new pg.Client({ connectionString: server!.url });
    await client.connect();
    try {
      // Back to version 7: the key sensor-major, no spans.
      await client.query(`SET search_path TO ${schema};
        DROP TABLE sensor_windows;
        ALTER TABLE aggregates DROP CONSTRAINT aggregates_pkey;
        ALTER TABLE aggregates ADD PRIMARY KEY (sensor_id, window_ms, window_start);
        DELETE FROM schema_migrations WHERE version = 8;`);
      const s = await open(schema);
      try {
        const key = await client.query(`SELECT a.attname FROM pg_index i
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = '${schema}.aggregates'::regclass AND i.indisprimary
          ORDER BY array_position(i.indkey, a.attnum)`);
        expect(key.rows.map((r) => r.attname)).toEqual(['window_ms', 'window_start', 'sensor_id']);
        const spans = await client.query(
          `SELECT window_ms, phase, first_start, last_start FROM ${schema}.sensor_windows ORDER BY 1`,
        );
        expect(spans.rows).toEqual([
          { window_ms: '60000', phase: '0', first_start: '0', last_start: '120000' },
          { window_ms: '3600000', phase: '0', first_start: '3600000', last_start: '3600000' },
        ]);
        const range = { from: 0, to: 7_200_000, limit: 10 };
        const again = prepared(
          'aggregate',
          'gw-1',
          'b2',
          [...windows, agg({ windowStart: 180_000 })].map(aggItem),
        );
        expect(await s.applyBatch(P0, [again], again.position, 2)).toMatchObject({
          itemsApplied: { aggregate: 1 },
          duplicateItems: 3,
        });
        expect((await windowsOf(s, 'env-1', 'temperature', range))?.map((w) => w.windowStart)).toEqual([
          0, 60_000, 120_000, 180_000,
        ]);
        expect((await windowsOf(s, 'env-2', 'temperature', range))?.map((w) => w.windowMs)).toEqual([
          3_600_000,
        ]);
      } finally {
        await s.close();
      }
    } finally {
      await client.end();
    }
  });
});
