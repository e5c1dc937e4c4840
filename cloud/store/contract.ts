/**
 * The CloudStore contract: one suite every implementation runs (SQLite, PostgreSQL), through the
 * interface only (its ingest side, IngestStore). Call `storeContract(name, makeStore)` from a *.test.ts; `makeStore` returns a fresh,
 * empty store each time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Aggregate, Alert, Reading, TwinChange } from '../../shared/events.ts';
import { rng } from '../../shared/random.ts';
import {
  aggregateItemId,
  type EncodeOptions,
  encodeBatch,
  type WireClass,
  type WireItem,
} from '../../shared/wire.ts';
import { type MergedWindow, mergeAll } from '../consume/merge.ts';
import { type EventPosition, type PreparedEvent, prepareEvent } from '../consume/prepare.ts';
import type { CloudStore, IngestStore, PartitionRef, QueryRange, RoomView } from './types.ts';

export { rng };

export const P0: PartitionRef = {
  fullyQualifiedNamespace: 'ns.example',
  eventHubName: 'hub',
  consumerGroup: '$Default',
  partitionId: '0',
};

const NOW = 1_800_000_000_000;
const T0 = 1_799_990_000_000;

export function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function agg(over: Partial<Aggregate> & Pick<Aggregate, 'windowStart'>): Aggregate {
  const a: Aggregate = {
    deviceId: 'env-1',
    channel: 'temperature',
    roomId: 'r1',
    quantity: 'temperature',
    unit: '°C',
    windowMs: 60_000,
    count: 10,
    min: 20,
    max: 22,
    sum: 210,
    mean: 21,
    first: 20.5,
    firstTs: over.windowStart,
    last: 21.5,
    lastTs: over.windowStart + 50_000,
    late: false,
    ...over,
  };
  return a;
}

/** A sensor's windows in a test, where no sensor is ambiguous (one that is fails the test). */
export async function windowsOf(
  s: Pick<CloudStore, 'sensorWindows'>,
  deviceId: string,
  channel: string,
  range: QueryRange,
  campusId?: string,
): Promise<MergedWindow[] | undefined> {
  const w = await s.sensorWindows(deviceId, channel, range, campusId);
  if (w && 'campuses' in w) throw new Error(`${deviceId}/${channel} is on campuses ${w.campuses.join(', ')}`);
  return w;
}

/** A raw reading item's body: env-9's CO2 in r2 at T0, received 5 ms later, with `over` on top. */
export function rawReading(over: Partial<Reading> = {}): Reading {
  return {
    deviceId: 'env-9',
    channel: 'co2',
    roomId: 'r2',
    quantity: 'co2',
    value: 800,
    unit: 'ppm',
    ts: T0,
    receivedAt: T0 + 5,
    source: 'mqtt',
    ...over,
  };
}

/** store.room, for a test that expects one campus to have the room (it throws otherwise). */
export async function roomOf(
  s: Pick<CloudStore, 'room'>,
  roomId: string,
  alertsLimit: number,
  campusId?: string,
): Promise<RoomView | undefined> {
  const r = await s.room(roomId, alertsLimit, campusId);
  if (r && 'campuses' in r) throw new Error(`room ${roomId} is on campuses ${r.campuses.join(', ')}`);
  return r;
}

/** An event of one window (`agg(fields)`) from `gatewayId`, naming `campusId` when given. */
export function windowEvent(
  gatewayId: string,
  batchId: string,
  fields: Parameters<typeof agg>[0],
  campusId?: string,
): PreparedEvent {
  return prepared('aggregate', gatewayId, batchId, [aggItem(agg(fields))], { campusId });
}

export function aggItem(a: Aggregate): WireItem {
  return { id: aggregateItemId(a), body: { ...a } };
}

let seq = 0;
export function prepared(
  cls: WireClass,
  gatewayId: string,
  batchId: string,
  items: readonly WireItem[],
  opts: EncodeOptions = {},
): PreparedEvent {
  const { body, properties } = encodeBatch(cls, gatewayId, batchId, items, opts);
  seq++;
  return prepareEvent(
    { properties, body, sequenceNumber: seq, offset: String(seq * 100), enqueuedTimeMs: NOW - 1000 },
    { maxEventBytes: 1024 * 1024, maxBodyBytes: 256 },
  );
}

/**
 * A batch that passed validation but makes the store fail mid-apply (its one aggregate's count is null, which
 * the window upsert refuses): for checking that a failed apply leaves nothing behind.
 */
export function poisonedBatch(
  batchId: string,
  over: Partial<Aggregate> & Pick<Aggregate, 'windowStart'>,
): PreparedEvent {
  const ev = prepared('aggregate', 'gw-1', batchId, [aggItem(agg(over))]);
  if (ev.ok && ev.items[0]?.cls === 'aggregate') (ev.items[0].value as { count: unknown }).count = null;
  return ev;
}

function at(events: readonly PreparedEvent[]): EventPosition {
  return events.at(-1)!.position;
}

/**
 * Windows for the window reads by seeks, and reads of them (window-seeks.ts): sensor d0 has one-minute
 * windows, d1 also 15-minute ones, d2 one-minute windows 7 s off the minute (another phase), d3 few; gaps
 * everywhere, late deltas on top; all in room r1. Reads over random ranges (some not on a minute) and limits.
 */
export function windowSeekFixture(seed: number): {
  events: PreparedEvent[];
  reads: { device: string; range: QueryRange }[];
} {
  const rand = rng(seed);
  const windows: Aggregate[] = [];
  for (let m = 0; m < 600; m++) {
    const t = m * 60_000;
    if (rand() < 0.8) windows.push(agg({ deviceId: 'd0', windowStart: t }));
    if (rand() < 0.7) windows.push(agg({ deviceId: 'd1', windowStart: t }));
    if (m % 15 === 0) windows.push(agg({ deviceId: 'd1', windowStart: t, windowMs: 900_000 }));
    if (rand() < 0.6) windows.push(agg({ deviceId: 'd2', windowStart: t + 7_000 }));
    if (m % 97 === 0) windows.push(agg({ deviceId: 'd3', windowStart: t }));
  }
  for (let i = 0; i < 40; i++) {
    const w = windows[Math.floor(rand() * windows.length)]!;
    windows.push({ ...w, late: true, count: 1, sum: 21, firstTs: w.windowStart + 1 });
  }
  const events: PreparedEvent[] = [];
  for (let i = 0; i < windows.length; i += 200)
    events.push(prepared('aggregate', 'gw-1', `b${i}`, windows.slice(i, i + 200).map(aggItem)));
  const reads = Array.from({ length: 120 }, (_, k) => {
    const from = Math.floor(rand() * 700 - 50) * 60_000 + (rand() < 0.3 ? 3_000 : 0);
    const to = from + Math.floor(rand() * 400) * 60_000 + (rand() < 0.3 ? 8_000 : 0);
    const limit = rand() < 0.5 ? 1 + Math.floor(rand() * 20) : 10_000;
    return { device: `d${k % 4}`, range: { from, to, limit } };
  });
  return { events, reads };
}

export function storeContract(name: string, makeStore: () => IngestStore | Promise<IngestStore>): void {
  describe(`CloudStore contract: ${name}`, () => {
    const open: IngestStore[] = [];
    const fresh = async () => {
      const s = await makeStore();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });
    const apply = (s: IngestStore, events: PreparedEvent[], p = P0) =>
      s.applyBatch(p, events, at(events), NOW);

    it('applies a batch and moves the checkpoint in the same call', async () => {
      const s = await fresh();
      const items = [0, 1, 2].map((i) => aggItem(agg({ windowStart: T0 + i * 60_000 })));
      const ev = prepared('aggregate', 'gw-1', 'b1', items);
      const r = await apply(s, [ev]);
      expect(r).toMatchObject({
        batchesApplied: 1,
        duplicateBatches: 0,
        duplicateItems: 0,
        readingsRepresented: 30,
      });
      expect(r.itemsApplied.aggregate).toBe(3);
      expect(await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup)).toEqual([
        { ...P0, sequenceNumber: ev.position.sequenceNumber, offset: ev.position.offset },
      ]);
      expect(await s.listCheckpoints(P0.fullyQualifiedNamespace, 'other-hub', P0.consumerGroup)).toEqual([]);
      const w = await windowsOf(s, 'env-1', 'temperature', { from: T0, to: T0 + 3 * 60_000, limit: 100 });
      expect(w?.map((x) => [x.windowStart, x.count, x.mean])).toEqual([
        [T0, 10, 21],
        [T0 + 60_000, 10, 21],
        [T0 + 120_000, 10, 21],
      ]);
      expect(
        await windowsOf(s, 'env-1', 'temperature', { from: T0, to: T0 + 60_000, limit: 100 }),
      ).toHaveLength(1);
      expect(await windowsOf(s, 'nope', 'temperature', { from: 0, to: NOW, limit: 10 })).toBeUndefined();
    });

    it('skips a batch id applied before, and items applied before under a new batch id', async () => {
      const s = await fresh();
      const items = [0, 1, 2, 3].map((i) => aggItem(agg({ windowStart: T0 + i * 60_000 })));
      await apply(s, [prepared('aggregate', 'gw-1', 'b1', items)]);
      const again = await apply(s, [prepared('aggregate', 'gw-1', 'b1', items)]);
      expect(again).toMatchObject({ batchesApplied: 0, duplicateBatches: 1, readingsRepresented: 0 });
      const resent = await apply(s, [
        prepared('aggregate', 'gw-1', 'b2', [
          ...items.slice(2),
          aggItem(agg({ windowStart: T0 + 4 * 60_000 })),
        ]),
      ]);
      expect(resent).toMatchObject({ batchesApplied: 1, duplicateItems: 2, readingsRepresented: 10 });
      const c = await s.counts();
      expect(c.readingsRepresented).toBe(50);
      expect(c.items.aggregate).toBe(5);
      const [g] = await s.gateways();
      expect(g).toMatchObject({
        gatewayId: 'gw-1',
        batchesApplied: 2,
        duplicateBatches: 1,
        duplicateItems: 2,
      });
      expect(g!.items.aggregate).toBe(5);
      expect(g!.newestItemTs).toBe(T0 + 4 * 60_000 + 50_000);
      expect(g!.campusId).toBeNull();
    });

    it('records the campus each gateway names, keeping it through events that name none', async () => {
      const s = await fresh();
      const window = (gw: string, batch: string, w: number, campusId?: string) =>
        windowEvent(gw, batch, { windowStart: T0 + w * 60_000 }, campusId);
      await apply(s, [window('gw-1', 'c1', 0, 'north'), window('gw-2', 'c2', 1, 'south')]);
      // An event without the property (a gateway from before it) leaves the campus as it was.
      await apply(s, [window('gw-1', 'c3', 2)]);
      const campuses = async () =>
        Object.fromEntries((await s.gateways()).map((g) => [g.gatewayId, g.campusId]));
      expect(await campuses()).toEqual({ 'gw-1': 'north', 'gw-2': 'south' });
      // A gateway moved to another campus: its latest event says so.
      await apply(s, [window('gw-2', 'c4', 3, 'east')]);
      expect(await campuses()).toEqual({ 'gw-1': 'north', 'gw-2': 'east' });
    });

    for (const seed of [1, 2, 3, 4, 5]) {
      it(`merges aggregates and late deltas order-independently (seed ${seed})`, async () => {
        const rand = rng(seed);
        const all: Aggregate[] = [];
        for (let w = 0; w < 6; w++) {
          const windowStart = T0 + w * 60_000;
          const v = () => Math.round(rand() * 40) / 2; // halves: float sums stay exact in any order
          const base = agg({ windowStart, count: 1 + Math.floor(rand() * 50), min: 0, max: 30 });
          base.sum = base.count * 10;
          base.first = v();
          base.last = v();
          all.push(base);
          for (let d = 0; d < 3; d++) {
            // Distinct firstTs per delta: a late item's id is derived from it.
            const firstTs = windowStart + (d * 20 + Math.floor(rand() * 15)) * 1000;
            const delta = agg({
              windowStart,
              late: true,
              count: 1 + Math.floor(rand() * 5),
              min: v(),
              max: 30 + v(),
              firstTs,
              lastTs: firstTs + Math.floor(rand() * 5) * 1000,
              first: v(),
              last: v(),
            });
            delta.sum = delta.count * 5;
            all.push(delta);
          }
        }
        const expected = [...mergeAll(all).values()].sort((a, b) => a.windowStart - b.windowStart);
        const results = [];
        for (let round = 0; round < 3; round++) {
          const s = await fresh();
          const items = shuffle(all, rand).map(aggItem);
          // Random batch boundaries, batches applied in random order, one of them twice.
          const batches: WireItem[][] = [];
          for (let i = 0; i < items.length; ) {
            const n = 1 + Math.floor(rand() * 6);
            batches.push(items.slice(i, i + n));
            i += n;
          }
          const events = batches.map((b, i) => prepared('aggregate', 'gw-1', `b${i}`, b));
          const order = shuffle(events, rand);
          await apply(s, [...order.slice(0, 3), order[0]!]);
          for (const ev of order.slice(3)) await apply(s, [ev]);
          results.push(await windowsOf(s, 'env-1', 'temperature', { from: 0, to: NOW, limit: 1000 }));
        }
        for (const r of results) expect(r).toEqual(expected);
      });
    }

    it('keeps twin history and the latest state per kind by event time, in any order', async () => {
      const changes: TwinChange[] = [];
      for (let i = 0; i < 12; i++)
        changes.push({
          roomId: 'r1',
          ts: T0 + i * 1000,
          kind: 'occupancy',
          from: 'x',
          to: `s${i}`,
          reasons: [`i${i}`],
          probability: i / 20,
          basis: i % 2 ? 'co2' : 'light+co2',
        });
      changes.push({
        roomId: 'r1',
        ts: T0 + 5000,
        kind: 'comfort',
        from: 'ok',
        to: 'warn',
        reasons: ['co2'],
      });
      changes.push({ roomId: 'r1', ts: T0 + 4000, kind: 'comfort', from: 'warn', to: 'alert', reasons: [] });
      changes.push({
        roomId: 'r1',
        ts: T0 + 100,
        kind: 'health',
        deviceId: 'env-1',
        from: 'online',
        to: 'stale',
        reasons: [],
      });
      const rand = rng(9);
      for (let round = 0; round < 3; round++) {
        const s = await fresh();
        const items = shuffle(changes, rand).map((c) => ({
          id: `twin:${c.roomId}:${c.kind}:${c.deviceId ?? ''}:${c.ts}`,
          body: { ...c },
        }));
        for (let i = 0; i < items.length; i += 4)
          await apply(s, [prepared('twin', 'gw-1', `t${i}`, items.slice(i, i + 4))]);
        const room = await roomOf(s, 'r1', 10);
        expect(room?.state.occupancy).toEqual({
          state: 's11',
          ts: T0 + 11_000,
          reasons: ['i11'],
          gatewayId: 'gw-1',
          probability: 0.55,
          basis: 'co2',
        });
        expect(room?.state.comfort).toMatchObject({ state: 'warn', ts: T0 + 5000 });
        expect(room?.state.comfort).not.toHaveProperty('probability');
        expect(room?.health['env-1']).toMatchObject({ state: 'stale' });
        expect((await s.counts()).items.twin).toBe(changes.length);
      }
    });

    it('stores alerts, learning/admin events and raw readings by id; unknown rooms are undefined', async () => {
      const s = await fresh();
      const alerts: Alert[] = [1, 2, 3].map((i) => ({
        alertId: `a${i}`,
        ts: T0 + i,
        severity: 'warning',
        code: 'co2_high',
        roomId: 'r2',
        message: `alert ${i}`,
      }));
      const alertItems = alerts.map((a) => ({ id: a.alertId, body: { ...a } }));
      await apply(s, [prepared('alert', 'gw-1', 'a1', alertItems)]);
      // The same alert ids from the same gateway, in a new batch: duplicates.
      const again = await apply(s, [prepared('alert', 'gw-1', 'a2', alertItems)]);
      expect(again).toMatchObject({ batchesApplied: 1, duplicateItems: 3 });
      const room = await roomOf(s, 'r2', 2);
      expect(room?.recentAlerts.map((a) => a.alertId)).toEqual(['a3', 'a2']);
      expect(room?.recentAlerts[0]).toEqual(alerts[2]);
      const ev = {
        eventId: 'e1',
        source: 'caliper',
        type: 'resource.viewed',
        actorId: 'p1',
        courseId: 'c1',
        objectId: 'o1',
        ts: T0,
      };
      const r1 = await apply(s, [prepared('event', 'gw-1', 'e1', [{ id: 'e1', body: ev }])]);
      expect(r1.itemsApplied.event).toBe(1);
      await apply(s, [prepared('raw', 'gw-1', 'r1', [{ id: 'raw:env-9:co2:1', body: { ...rawReading() } }])]);
      expect(await windowsOf(s, 'env-9', 'co2', { from: 0, to: NOW, limit: 10 })).toEqual([]);
      expect(await roomOf(s, 'nowhere', 5)).toBeUndefined();
      expect((await s.counts()).items).toMatchObject({ alert: 3, event: 1, raw: 1 });
    });

    it('keeps the same device and channel on two campuses apart, and says when a read must name one', async () => {
      const s = await fresh();
      // North and south both have env-1; a late copy of north's window from north adds into north's only.
      await apply(s, [
        windowEvent('gw-n', 'n1', { windowStart: T0, count: 4 }, 'north'),
        windowEvent('gw-s', 's1', { windowStart: T0, count: 7 }, 'south'),
      ]);
      await apply(s, [windowEvent('gw-n', 'n2', { windowStart: T0, count: 2, late: true }, 'north')]);
      const range = { from: 0, to: NOW, limit: 10 };
      const counts = async (campusId: string) =>
        (await windowsOf(s, 'env-1', 'temperature', range, campusId))?.map((w) => w.count);
      expect(await counts('north')).toEqual([6]);
      expect(await counts('south')).toEqual([7]);
      expect(await windowsOf(s, 'env-1', 'temperature', range, 'east')).toBeUndefined();
      expect(await s.sensorWindows('env-1', 'temperature', range)).toEqual({ campuses: ['north', 'south'] });
      // A gateway naming no campus has its own ('') sensors; a device only one campus has needs no name.
      await apply(s, [windowEvent('gw-old', 'o1', { windowStart: T0, count: 3 })]);
      expect(await counts('')).toEqual([3]);
      expect(await s.sensorWindows('env-1', 'temperature', range)).toEqual({
        campuses: ['', 'north', 'south'],
      });
    });

    it('gives the sensors a gateway sent before it named its campus to that campus', async () => {
      const s = await fresh();
      const window = (w: number, batch: string, campusId?: string) =>
        windowEvent('gw-1', batch, { windowStart: T0 + w * 60_000 }, campusId);
      await apply(s, [window(0, 'b1')]);
      // Upgraded, the gateway names its campus: env-1 is the same sensor, its history whole.
      await apply(s, [window(1, 'b2', 'north')]);
      const range = { from: 0, to: NOW, limit: 10 };
      const starts = async (campusId?: string) =>
        (await windowsOf(s, 'env-1', 'temperature', range, campusId))?.map((w) => w.windowStart);
      expect(await starts('north')).toEqual([T0, T0 + 60_000]);
      expect(await starts()).toEqual([T0, T0 + 60_000]);
      // Its first window again, now named: still a duplicate.
      expect(await apply(s, [window(0, 'b3', 'north')])).toMatchObject({ duplicateItems: 1 });
      // Another campus's env-1 is another sensor.
      await apply(s, [windowEvent('gw-2', 'b4', { windowStart: T0 }, 'south')]);
      expect(await starts('south')).toEqual([T0]);
      expect(await starts('north')).toEqual([T0, T0 + 60_000]);
    });

    it('gives an unnamed sensor to the first campus in call order when two name it in one call', async () => {
      const s = await fresh();
      const window = (gw: string, batch: string, w: number, campusId?: string) =>
        windowEvent(gw, batch, { windowStart: T0 + w * 60_000 }, campusId);
      await apply(s, [window('gw-0', 'b0', 0)]);
      // South's event comes first in the call, then north's: south adopts env-1 and its history.
      await apply(s, [window('gw-s', 'b1', 1, 'south'), window('gw-n', 'b2', 2, 'north')]);
      const range = { from: 0, to: NOW, limit: 10 };
      const starts = async (campusId: string) =>
        (await windowsOf(s, 'env-1', 'temperature', range, campusId))?.map((w) => w.windowStart);
      expect(await starts('south')).toEqual([T0, T0 + 60_000]);
      expect(await starts('north')).toEqual([T0 + 120_000]);
      expect(await s.sensorWindows('env-1', 'temperature', range)).toEqual({ campuses: ['north', 'south'] });
    });

    it('keeps the same room id on two campuses apart, and says when a read must name one', async () => {
      const s = await fresh();
      const change = (ts: number, to: string) => ({
        id: `twin:B1-101:${ts}`,
        body: { roomId: 'B1-101', kind: 'occupancy', ts, from: 'vacant', to, reasons: [to] },
      });
      const alert = (campus: string): Alert => ({
        alertId: 'alert:B1-101:co2',
        ts: T0,
        severity: 'warning',
        code: 'co2_high',
        roomId: 'B1-101',
        message: `co2 on ${campus}`,
      });
      // The same item and alert ids from both campuses' gateways: each applies, each on its own campus.
      await apply(s, [
        prepared('twin', 'gw-n', 'n1', [change(T0, 'occupied')], { campusId: 'north' }),
        prepared('twin', 'gw-s', 's1', [change(T0, 'vacant')], { campusId: 'south' }),
        prepared('alert', 'gw-n', 'n2', [{ id: 'a', body: { ...alert('north') } }], { campusId: 'north' }),
        prepared('alert', 'gw-s', 's2', [{ id: 'a', body: { ...alert('south') } }], { campusId: 'south' }),
      ]);
      expect(await s.room('B1-101', 5)).toEqual({ campuses: ['north', 'south'] });
      const north = await roomOf(s, 'B1-101', 5, 'north');
      expect(north).toMatchObject({ roomId: 'B1-101', campusId: 'north' });
      expect(north?.state.occupancy).toMatchObject({ state: 'occupied', gatewayId: 'gw-n' });
      expect(north?.recentAlerts.map((a) => a.message)).toEqual(['co2 on north']);
      const south = await roomOf(s, 'B1-101', 5, 'south');
      expect(south?.state.occupancy).toMatchObject({ state: 'vacant', gatewayId: 'gw-s' });
      expect(south?.recentAlerts.map((a) => a.message)).toEqual(['co2 on south']);
      expect(await s.room('B1-101', 5, 'east')).toBeUndefined();
      // A room only one campus has needs no name; a gateway naming none has rooms of campus '' (null).
      await apply(s, [
        prepared('twin', 'gw-old', 'o1', [
          { ...change(T0, 'occupied'), body: { ...change(T0, 'occupied').body, roomId: 'r7' } },
        ]),
      ]);
      expect(await roomOf(s, 'r7', 5)).toMatchObject({ roomId: 'r7', campusId: null });
    });

    it('moves the rooms a gateway wrote before it named its campus to that campus, newest state kept', async () => {
      const s = await fresh();
      const twin = (gw: string, batch: string, kind: string, ts: number, to: string, campusId?: string) =>
        prepared(
          'twin',
          gw,
          batch,
          [{ id: `twin:r1:${kind}:${ts}`, body: { roomId: 'r1', kind, ts, from: '', to, reasons: [] } }],
          { campusId },
        );
      const alert: Alert = {
        alertId: 'al-1',
        ts: T0,
        severity: 'warning',
        code: 'co2_high',
        roomId: 'r1',
        message: 'before the upgrade',
      };
      // gw-1 names no campus yet; gw-2, already on north, has newer occupancy and older comfort for r1.
      await apply(s, [
        twin('gw-1', 'b1', 'occupancy', T0 + 10, 'occupied'),
        twin('gw-1', 'b2', 'comfort', T0 + 30, 'warn'),
        prepared('alert', 'gw-1', 'b3', [{ id: 'al-1', body: { ...alert } }]),
        twin('gw-2', 'c1', 'occupancy', T0 + 20, 'vacant', 'north'),
        twin('gw-2', 'c2', 'comfort', T0 + 25, 'ok', 'north'),
      ]);
      expect(await s.room('r1', 5)).toEqual({ campuses: ['', 'north'] });
      // Upgraded, gw-1 names north (its event is about another room): r1 is one room, the newer of each state.
      await apply(s, [windowEvent('gw-1', 'b4', { windowStart: T0 }, 'north')]);
      const room = await roomOf(s, 'r1', 5);
      expect(room?.campusId).toBe('north');
      expect(room?.state.occupancy).toMatchObject({ state: 'vacant', ts: T0 + 20, gatewayId: 'gw-2' });
      expect(room?.state.comfort).toMatchObject({ state: 'warn', ts: T0 + 30, gatewayId: 'gw-1' });
      expect(room?.recentAlerts).toEqual([alert]);
      expect(await s.room('r1', 5, '')).toBeUndefined();
      // gw-1's next change lands on north, and its old ones are history there (resent: duplicates).
      await apply(s, [twin('gw-1', 'b5', 'occupancy', T0 + 40, 'occupied', 'north')]);
      expect((await roomOf(s, 'r1', 5))?.state.occupancy).toMatchObject({ state: 'occupied', ts: T0 + 40 });
      expect(await apply(s, [twin('gw-1', 'b6', 'occupancy', T0 + 10, 'occupied', 'north')])).toMatchObject({
        duplicateItems: 1,
      });
    });

    it('moves a room to the campus its gateway names later in the same call', async () => {
      const s = await fresh();
      const twin = (batch: string, ts: number, campusId?: string) =>
        prepared(
          'twin',
          'gw-1',
          batch,
          [
            {
              id: `twin:r1:${ts}`,
              body: { roomId: 'r1', kind: 'occupancy', ts, from: '', to: `s${ts}`, reasons: [] },
            },
          ],
          { campusId },
        );
      // Sent before and after the gateway's upgrade, consumed together.
      await apply(s, [twin('b1', T0 + 2), twin('b2', T0 + 1, 'north')]);
      const room = await roomOf(s, 'r1', 5);
      expect(room).toMatchObject({ campusId: 'north' });
      expect(room?.state.occupancy).toMatchObject({ state: `s${T0 + 2}`, ts: T0 + 2 });
    });

    it("keeps raw readings on their gateway's campus, moved there when it names one", async () => {
      const s = await fresh();
      const raw = (gw: string, batch: string, deviceId: string, campusId?: string) =>
        prepared(
          'raw',
          gw,
          batch,
          [{ id: `raw:${deviceId}:co2:${batch}`, body: { ...rawReading({ deviceId }) } }],
          { campusId },
        );
      const range = { from: 0, to: NOW, limit: 10 };
      // Raw readings only (no windows): a device channel that exists, with no windows, on its campus only.
      await apply(s, [raw('gw-n', 'n1', 'env-8', 'north'), raw('gw-0', 'o1', 'env-9')]);
      expect(await s.sensorWindows('env-8', 'co2', range, 'north')).toEqual([]);
      expect(await s.sensorWindows('env-8', 'co2', range, 'south')).toBeUndefined();
      expect(await s.sensorWindows('env-8', 'co2', range)).toEqual([]);
      expect(await s.sensorWindows('env-9', 'co2', range, 'north')).toBeUndefined();
      // gw-0 names north: its raw readings are north's.
      await apply(s, [windowEvent('gw-0', 'o2', { windowStart: T0 }, 'north')]);
      expect(await s.sensorWindows('env-9', 'co2', range, 'north')).toEqual([]);
      expect(await s.sensorWindows('env-9', 'co2', range, '')).toBeUndefined();
    });

    it("keeps item ids to their gateway, but an event id is the LMS's whichever gateway sends it", async () => {
      const s = await fresh();
      const alert: Alert = {
        alertId: 'alert:r1:co2',
        ts: T0,
        severity: 'warning',
        code: 'co2_high',
        roomId: 'r1',
        message: 'm',
      };
      const twin = {
        roomId: 'r9',
        kind: 'occupancy',
        ts: T0,
        from: 'vacant',
        to: 'occupied',
        reasons: ['co2'],
      };
      const reading = rawReading({ roomId: 'r9', receivedAt: T0 });
      const late = aggItem(agg({ windowStart: T0, late: true }));
      const ev = {
        eventId: 'urn:uuid:1',
        source: 'caliper',
        type: 'resource.viewed',
        actorId: 'p1',
        courseId: 'c1',
        ts: T0,
      };
      const batch = (gw: string, n: number) => [
        prepared('alert', gw, `${gw}-a${n}`, [{ id: alert.alertId, body: { ...alert } }]),
        prepared('twin', gw, `${gw}-t${n}`, [{ id: 'twin:r9:occupancy::1', body: twin }]),
        prepared('raw', gw, `${gw}-r${n}`, [{ id: 'raw:env-9:co2:1', body: { ...reading } }]),
        prepared('aggregate', gw, `${gw}-g${n}`, [late]),
        prepared('event', gw, `${gw}-e${n}`, [{ id: ev.eventId, body: ev }]),
      ];
      // Two gateways (two campuses, say) whose ids coincide: each has its own alert, change, reading, delta.
      const first = await apply(s, [...batch('gw-1', 1), ...batch('gw-2', 1)]);
      expect(first.itemsApplied).toEqual({ alert: 2, twin: 2, raw: 2, aggregate: 2, event: 1 });
      expect(first.duplicateItems).toBe(1);
      expect((await s.gateways()).map((g) => [g.gatewayId, g.items.event, g.duplicateItems])).toEqual([
        ['gw-1', 1, 0],
        ['gw-2', 0, 1],
      ]);
      // Each gateway resending its items in new batches: all duplicates.
      const again = await apply(s, [...batch('gw-1', 2), ...batch('gw-2', 2)]);
      expect(again).toMatchObject({ batchesApplied: 10, duplicateItems: 10 });
      expect((await s.counts()).items).toMatchObject({ alert: 2, twin: 2, raw: 2, aggregate: 2, event: 1 });
    });

    it('quarantines bad events and invalid items, and still advances the checkpoint', async () => {
      const s = await fresh();
      const good = aggItem(agg({ windowStart: T0 }));
      const bad = { id: 'agg-bad', body: { ...agg({ windowStart: T0 + 60_000 }), count: 'many' } };
      const mixed = prepared('aggregate', 'gw-1', 'm1', [good, bad]);
      const broken = prepareEvent(
        {
          properties: {
            schema: 'campus-twin.aggregate.v1',
            gatewayId: 'gw-1',
            batchId: 'x1',
            itemCount: 1,
            contentEncoding: 'gzip',
          },
          body: Buffer.from('not gzip'),
          sequenceNumber: 900,
          offset: '9000',
          enqueuedTimeMs: NOW,
        },
        { maxEventBytes: 1024, maxBodyBytes: 16 },
      );
      const r = await apply(s, [mixed, broken]);
      expect(r.batchesApplied).toBe(1);
      expect(r.itemsApplied.aggregate).toBe(1);
      expect(r.quarantined.sort((a, b) => a.code.localeCompare(b.code))).toEqual([
        { code: 'CT_ERR_WIRE_ENCODING', count: 1 },
        { code: 'CT_ERR_WIRE_SCHEMA', count: 1 },
      ]);
      const q = await s.quarantine(10);
      expect(q.total).toBe(2);
      expect(q.entries[0]).toMatchObject({
        code: 'CT_ERR_WIRE_ENCODING',
        gatewayId: 'gw-1',
        batchId: 'x1',
        sequenceNumber: 900,
        partitionId: '0',
      });
      expect(q.entries[0]!.body).toBe(Buffer.from('not gzip').toString('base64'));
      expect(q.entries[1]).toMatchObject({ code: 'CT_ERR_WIRE_SCHEMA', itemId: 'agg-bad', batchId: 'm1' });
      expect(q.entries[1]!.reason).toContain('count');
      const [cp] = await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup);
      expect(cp).toMatchObject({ sequenceNumber: 900, offset: '9000' });
      expect((await s.gateways())[0]?.quarantined).toBe(2);
    });

    it('commits nothing when an apply fails part-way (data and checkpoint are one transaction)', async () => {
      const s = await fresh();
      const ok = prepared('aggregate', 'gw-1', 'ok', [aggItem(agg({ windowStart: T0 }))]);
      await apply(s, [ok]);
      const good = prepared('aggregate', 'gw-1', 'g2', [aggItem(agg({ windowStart: T0 + 60_000 }))]);
      const poisoned = poisonedBatch('p', { windowStart: T0 + 120_000 });
      await expect(apply(s, [good, poisoned])).rejects.toThrow();
      expect((await s.counts()).readingsRepresented).toBe(10);
      const [cp] = await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup);
      expect(cp?.sequenceNumber).toBe(ok.position.sequenceNumber);
      // Redelivered after the failure, the good batch applies normally.
      expect((await apply(s, [good])).batchesApplied).toBe(1);
    });

    it('never moves a checkpoint backwards', async () => {
      const s = await fresh();
      await s.updateCheckpoint({ ...P0, sequenceNumber: 10, offset: '1000' }, NOW);
      await s.updateCheckpoint({ ...P0, sequenceNumber: 4, offset: '400' }, NOW);
      const ev = prepared('aggregate', 'gw-1', 'late-owner', [aggItem(agg({ windowStart: T0 }))]);
      await s.applyBatch(P0, [ev], { sequenceNumber: 2, offset: '200', enqueuedTimeMs: NOW }, NOW);
      expect(await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup)).toEqual([
        { ...P0, sequenceNumber: 10, offset: '1000' },
      ]);
      await s.updateCheckpoint({ ...P0, sequenceNumber: 11, offset: '1100' }, NOW);
      const [cp] = await s.listCheckpoints(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup);
      expect(cp?.offset).toBe('1100');
    });

    it('claims ownership by compare-and-set on etag', async () => {
      const s = await fresh();
      const claim = (ownerId: string, partitionId: string, etag?: string) => ({
        ...P0,
        partitionId,
        ownerId,
        ...(etag ? { etag } : {}),
      });
      const [a] = await s.claimOwnership([claim('A', '0')], NOW);
      expect(a).toMatchObject({ ownerId: 'A', partitionId: '0', lastModifiedTimeInMs: NOW });
      expect(a?.etag).toBeTruthy();
      // A second "new" claim on the same partition loses; a claim with a made-up etag loses.
      expect(await s.claimOwnership([claim('B', '0')], NOW)).toEqual([]);
      expect(await s.claimOwnership([claim('B', '0', 'stale')], NOW)).toEqual([]);
      // With the current etag, B takes it over; A's old etag is now stale.
      const [b] = await s.claimOwnership([claim('B', '0', a!.etag)], NOW + 1);
      expect(b?.ownerId).toBe('B');
      expect(b?.etag).not.toBe(a?.etag);
      expect(await s.claimOwnership([claim('A', '0', a!.etag)], NOW + 2)).toEqual([]);
      // Mixed: only the claims that hold win.
      const won = await s.claimOwnership([claim('A', '1'), claim('A', '0', a!.etag)], NOW + 3);
      expect(won.map((o) => o.partitionId)).toEqual(['1']);
      const owners = await s.listOwnership(P0.fullyQualifiedNamespace, P0.eventHubName, P0.consumerGroup);
      expect(owners.map((o) => [o.partitionId, o.ownerId])).toEqual([
        ['0', 'B'],
        ['1', 'A'],
      ]);
      expect(await s.listOwnership(P0.fullyQualifiedNamespace, P0.eventHubName, 'other')).toEqual([]);
    });
  });
}

/**
 * Two store objects on one database (two processes on one SQLite file, two pools on one PostgreSQL
 * database): racing claims with one etag, one wins; the same batch through both counts once, one after the
 * other and at the same time. `openPair` returns two fresh stores on one fresh, empty database.
 */
export function sharedStoreContract(
  name: string,
  openPair: () => Promise<[IngestStore, IngestStore]> | [IngestStore, IngestStore],
): void {
  describe(`CloudStore shared by two connections: ${name}`, () => {
    it('lets one of two racing claims win, and counts a batch applied through both once', async () => {
      const [a, b] = await openPair();
      try {
        const [first] = await a.claimOwnership([{ ...P0, ownerId: 'A' }], 1);
        const claims = await Promise.all([
          a.claimOwnership([{ ...P0, ownerId: 'A', etag: first!.etag! }], 2),
          b.claimOwnership([{ ...P0, ownerId: 'B', etag: first!.etag! }], 2),
        ]);
        expect(claims.flat()).toHaveLength(1);
        // The same batch through both connections, one after the other.
        const ev = prepared('aggregate', 'gw-1', 'b1', [aggItem(agg({ windowStart: 0 }))]);
        const r1 = await a.applyBatch(P0, [ev], ev.position, 5);
        const r2 = await b.applyBatch(P0, [ev], ev.position, 6);
        expect([r1.batchesApplied, r2.batchesApplied, r2.duplicateBatches]).toEqual([1, 0, 1]);
        expect((await b.counts()).readingsRepresented).toBe(10);
        // The same batches through both at the same time, in opposite orders: every window and batch once.
        const events = Array.from({ length: 20 }, (_, i) =>
          prepared(
            'aggregate',
            'gw-1',
            `c${i}`,
            Array.from({ length: 25 }, (_, k) => aggItem(agg({ windowStart: (1 + i * 25 + k) * 60_000 }))),
          ),
        );
        const last = events.at(-1)!.position;
        const [s1, s2] = await Promise.all([
          a.applyBatch(P0, events, last, 7),
          b.applyBatch(P0, [...events].reverse(), last, 8),
        ]);
        expect(s1.batchesApplied + s2.batchesApplied).toBe(20);
        expect(s1.itemsApplied.aggregate + s2.itemsApplied.aggregate).toBe(500);
        const counts = await b.counts();
        expect(counts.readingsRepresented).toBe(10 + 500 * 10);
        expect(counts.items.aggregate).toBe(1 + 500);
        expect((await a.gateways())[0]).toMatchObject({ gatewayId: 'gw-1', batchesApplied: 21 });
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
