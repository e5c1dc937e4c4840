/**
 * The set-based PostgreSQL apply (pg-apply.ts) against the one-by-one SQLite apply as the reference: the
 * same random calls — aggregates and late deltas, twin changes with ties, alerts, raw readings, batches
 * repeated within a call and across calls, items resent under new batch ids, undecodable events, invalid
 * items, a sensor that moves rooms — must give the same results call by call and the same store after.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Aggregate, Alert, Reading, TwinChange } from '../../shared/events.ts';
import type { WireClass, WireItem } from '../../shared/wire.ts';
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres.ts';
import { type PreparedEvent, prepareEvent } from '../consume/prepare.ts';
import { agg, aggItem, P0, prepared, rng, windowsOf } from './contract.ts';
import { pgApplyEvents } from './pg-apply.ts';
import { migrate } from './pg-schema.ts';
import { arrayLiteral, binaryArray, PG_TYPES, pgTransaction } from './pg-sql.ts';
import { PostgresCloudStore } from './postgres.ts';
import { SqliteCloudStore } from './sqlite.ts';
import type { IngestStore } from './types.ts';

let server: TestPostgres | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

const T0 = 1_799_990_000_000;
const ROOMS = ['r1', 'r2', 'r3'];
const DEVICES = ['env-1', 'env-2', 'env-3'];

function randomItems(rand: () => number, n: number, cls: WireClass, serial: { n: number }): WireItem[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const out: WireItem[] = [];
  for (let i = 0; i < n; i++) {
    const k = serial.n++;
    if (cls === 'aggregate') {
      const windowStart = T0 + Math.floor(rand() * 8) * 60_000;
      const late = rand() < 0.3;
      const firstTs = windowStart + (late ? 1000 + (k % 50) * 1000 : 0);
      const a: Aggregate = agg({
        windowStart,
        deviceId: pick(DEVICES),
        roomId: pick(ROOMS),
        late,
        count: 1 + Math.floor(rand() * 9),
        firstTs,
        lastTs: firstTs + 1000,
        first: Math.round(rand() * 40) / 2,
        last: Math.round(rand() * 40) / 2,
        min: 0,
        max: 30,
      });
      a.sum = a.count * 10;
      out.push(aggItem(a));
    } else if (cls === 'twin') {
      const c: TwinChange = {
        roomId: pick(ROOMS),
        ts: T0 + Math.floor(rand() * 5) * 1000,
        kind: pick(['occupancy', 'comfort'] as const),
        from: 'a',
        to: `s${k}`,
        reasons: [`r${k}`],
      };
      out.push({ id: `twin-${k}`, body: { ...c } });
    } else if (cls === 'alert') {
      const a: Alert = {
        alertId: `alert-${k}`,
        ts: T0 + k,
        severity: 'warning',
        code: 'CT_TEST',
        roomId: pick(ROOMS),
        message: `alert ${k}`,
      };
      out.push({ id: a.alertId, body: { ...a } });
    } else {
      const r: Reading = {
        deviceId: pick(DEVICES),
        channel: 'temperature',
        roomId: pick(ROOMS),
        quantity: 'temperature',
        unit: '°C',
        value: k / 4,
        ts: T0 + k,
        receivedAt: T0 + k + 5,
        source: 'mqtt',
      };
      out.push({ id: `raw-${k}`, body: { ...r } });
    }
  }
  return out;
}

/** Random calls of random events, with every kind of repetition and refusal. */
function scenario(seed: number): PreparedEvent[][] {
  const rand = rng(seed);
  const serial = { n: 0 };
  const made: PreparedEvent[] = [];
  const calls: PreparedEvent[][] = [];
  let batch = 0;
  for (let call = 0; call < 8; call++) {
    const events: PreparedEvent[] = [];
    for (let e = 0; e < 1 + Math.floor(rand() * 6); e++) {
      const roll = rand();
      if (roll < 0.15 && made.length) {
        events.push(made[Math.floor(rand() * made.length)]!); // a batch again
        continue;
      }
      if (roll < 0.2) {
        events.push(
          prepareEvent(
            {
              properties: {},
              body: Buffer.from('not a batch'),
              sequenceNumber: 9e6 + e,
              offset: '1',
              enqueuedTimeMs: T0,
            },
            { maxEventBytes: 1 << 20, maxBodyBytes: 64 },
          ),
        );
        continue;
      }
      const cls = (['aggregate', 'aggregate', 'twin', 'alert', 'raw'] as const)[Math.floor(rand() * 5)]!;
      const items = randomItems(rand, 1 + Math.floor(rand() * 12), cls, serial);
      // Resends of earlier items of the class under this new batch id, and now and then an invalid item.
      for (const old of made.filter((m) => m.ok && m.header.cls === cls).slice(-1))
        if (old.ok && rand() < 0.5)
          items.push(...old.items.slice(0, 2).map((i) => ({ id: i.id, body: { ...i.value } })));
      if (rand() < 0.2) items.push({ id: `bad-${serial.n++}`, body: { nonsense: true } });
      const ev = prepared(cls, rand() < 0.8 ? 'gw-1' : 'gw-2', `b${batch++}`, items);
      made.push(ev);
      events.push(ev);
    }
    calls.push(events);
  }
  return calls;
}

async function state(s: IngestStore) {
  const range = { from: 0, to: T0 + 3600_000, limit: 1000 };
  return {
    counts: await s.counts(),
    gateways: await s.gateways(),
    quarantine: await s.quarantine(100),
    windows: await Promise.all(DEVICES.map((d) => windowsOf(s, d, 'temperature', range))),
    rooms: await Promise.all(ROOMS.map((r) => s.room(r, 50))),
    checkpoints: await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup),
  };
}

describe('set-based PostgreSQL apply', () => {
  it('writes array literals PostgreSQL reads back exactly', async () => {
    const texts = [
      'plain',
      '',
      'NULL',
      'a "quoted", {braced} \\ back\\slash',
      'é ü ✓ 日本',
      ' spaced ',
      null,
    ];
    const numbers = [0, -1.5, 1e-7, 1_799_990_000_000, 2 ** 53 - 1, null];
    const client = new pg.Client({ connectionString: server!.url, types: PG_TYPES });
    await client.connect();
    try {
      const t = await client.query('SELECT unnest($1::text[]) AS v', [
        arrayLiteral(
          texts.map((v) => [v]),
          0,
          'text',
        ),
      ]);
      expect(t.rows.map((r) => r.v)).toEqual(texts);
      const f = await client.query('SELECT unnest($1::float8[]) AS v', [
        arrayLiteral(
          numbers.map((v) => [v]),
          0,
          'float8',
        ),
      ]);
      expect(f.rows.map((r) => r.v)).toEqual(numbers);
    } finally {
      await client.end();
    }
  });

  it('writes binary number arrays PostgreSQL reads back exactly, and leaves what does not fit to text', async () => {
    const client = new pg.Client({ connectionString: server!.url, types: PG_TYPES });
    await client.connect();
    const back = async (type: 'bigint' | 'float8' | 'integer', values: readonly (number | null)[]) => {
      const param = binaryArray(
        values.map((v) => [v]),
        0,
        type,
      );
      expect(Buffer.isBuffer(param), `${type} as binary`).toBe(true);
      const r = await client.query(`SELECT unnest($1::${type}[]) AS v`, [param]);
      return r.rows.map((x) => (x.v === null ? null : Number(x.v)));
    };
    try {
      const floats = [0, -1.5, 1e-7, 1_799_990_000_000.25, Number.MAX_VALUE, -0.1, null];
      expect(await back('float8', floats)).toEqual(floats);
      const bigints = [0, -1, 1_799_990_000_000, 2 ** 53 - 1, -(2 ** 53 - 1), -4_294_967_297, null];
      expect(await back('bigint', bigints)).toEqual(bigints);
      const ints = [0, -2_147_483_648, 2_147_483_647, null, 7];
      expect(await back('integer', ints)).toEqual(ints);
      // Not a number of the type: no binary form (the text literal goes, and the server judges it).
      expect(binaryArray([[1.5]], 0, 'bigint')).toBeUndefined();
      expect(binaryArray([[2 ** 31]], 0, 'integer')).toBeUndefined();
      expect(binaryArray([['12']], 0, 'float8')).toBeUndefined();
      expect(binaryArray([], 0, 'float8')).toBeUndefined();
    } finally {
      await client.end();
    }
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    // Odd seeds through the store (new windows inserted, the call run again as an upsert when one exists),
    // even ones as an upsert throughout.
    const viaStore = seed % 2 === 1;
    it(`decides as the one-by-one apply does (seed ${seed}, ${viaStore ? 'the store' : 'upsert'})`, async () => {
      const schema = `apply_${process.pid}_${seed}`;
      const url = server!.url;
      const pool = new pg.Pool({
        connectionString: url,
        types: PG_TYPES,
        options: `-c search_path=${schema}`,
      });
      const client = await pool.connect();
      await migrate(client, 1, schema);
      client.release();
      const reads = await PostgresCloudStore.open({ url, schema });
      const ref = new SqliteCloudStore({ file: ':memory:' });
      try {
        for (const [i, events] of scenario(seed).entries()) {
          const cp = { sequenceNumber: i, offset: String(i), enqueuedTimeMs: T0 };
          const expected = await ref.applyBatch(P0, events, cp, T0 + i);
          const got = viaStore
            ? await reads.applyBatch(P0, events, cp, T0 + i)
            : await pgTransaction(pool, (c) => pgApplyEvents(c, P0, events, cp, T0 + i));
          expect(got, `call ${i}`).toEqual(expected);
        }
        const want = await state(ref);
        expect(want.counts.items.aggregate).toBeGreaterThan(0);
        expect(want.quarantine.total).toBeGreaterThan(0);
        expect(await state(reads)).toEqual(want);
      } finally {
        await reads.close();
        await pool.end();
        await ref.close();
      }
    });
  }
});
