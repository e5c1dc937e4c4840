/**
 * applyBatch on PostgreSQL in a few set-based statements per call instead of one round trip per item: the
 * SQLite store's statements (sql.ts) with their VALUES tuple turned into `SELECT … FROM unnest($1::t[], …)`,
 * so one statement carries every row of its kind. Runs inside the caller's transaction and decides exactly
 * what the one-by-one apply would (SqliteCloudStore#applyEvents, in event and item order):
 *  - a batch id seen before (stored, or earlier in this call) is skipped whole;
 *  - an item id its gateway sent before is a duplicate: the items table's `ON CONFLICT DO NOTHING …
 *    RETURNING` says which (gateway, id) pairs are new, and only a pair's first occurrence in the call can be;
 *  - an event (learning/admin) applies once per event id, whichever gateway sends it: its row is its record;
 *  - a base window aggregate applies at most once per window (has_base), its first occurrence in the call;
 *    late deltas merge one by one (rare, and two of one window cannot share a statement);
 *  - a room's latest state is the newest of its new changes (by ts, then item id), upserted once per key;
 *  - a sensor ends up in the room its last aggregate of the call names;
 *  - a gateway naming a campus its row lacks has its unnamed rooms adopted there (ADOPT_ROOMS), after the
 *    call's room rows, which gives what the one-by-one apply gives (adoption before that event's rows).
 */
import type pg from 'pg';
import type { Aggregate } from '../../shared/events.ts';
import type { EventPosition, PreparedEvent } from '../consume/prepare.ts';
import type { ValidItem } from '../consume/validate.ts';
import { ApplyTally, type GatewayDelta, gatewayParams } from './apply-tally.ts';
import {
  type BulkStatement,
  bulk,
  bulkParams,
  bulkSql,
  isUniqueViolation,
  pgNamed,
  pgPlaceholders,
} from './pg-sql.ts';
import { pgWriteSpans } from './pg-window-seeks.ts';
import { NestedMap, SensorMap } from './sensor-map.ts';
import {
  ADOPT_ROOMS,
  aggregateParams,
  alertParams,
  batchParams,
  checkpointParams,
  eventParams,
  eventQuarantine,
  INSERT_NEW_BASE,
  itemQuarantine,
  type QuarantineInput,
  quarantineParams,
  readingParams,
  SQL,
  twinParams,
} from './sql.ts';
import type { ApplyResult, PartitionRef } from './types.ts';
import { SpanTracker } from './window-seeks.ts';

const T = 'text';
const B = 'bigint';
const F = 'float8';
const I = 'integer';

const returning = (b: BulkStatement, cols: string): BulkStatement => ({
  ...b,
  text: `${b.text} RETURNING ${cols}`,
});

/**
 * SQL.insertEvent over arrays, returning the ids it stored (also the history import's). What was stored is
 * counted from the rows returned, not the command's row count: Citus reports the rows an INSERT … SELECT
 * sent to the shards there, conflicts included.
 */
export const PG_INSERT_EVENT = returning(
  bulkSql(SQL.insertEvent, [T, T, B, T, T, T, T, T, T, T, F, F, I]),
  'event_id',
);

const BULK = {
  insertItem: returning(bulkSql(SQL.insertItem, [T, T, T]), 'gateway_id, item_id'),
  insertSensor: bulkSql(SQL.insertSensor, [T, T, T, T, T, T]),
  sensorsOf: {
    text: `SELECT s.sensor_id, s.campus_id, s.device_id, s.channel, s.room_id FROM sensors s
      JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(k, d, c)
        ON s.campus_id = u.k AND s.device_id = u.d AND s.channel = u.c`,
    types: [T, T, T],
  },
  adoptSensors: {
    text: `UPDATE sensors s SET campus_id = u.k FROM unnest($1::text[], $2::text[], $3::text[]) AS u(k, d, c)
      WHERE s.campus_id = '' AND s.device_id = u.d AND s.channel = u.c
        AND NOT EXISTS (SELECT 1 FROM sensors t WHERE t.campus_id = u.k AND t.device_id = u.d AND t.channel = u.c)`,
    types: [T, T, T],
  },
  moveSensors: {
    text: `UPDATE sensors s SET room_id = u.r FROM unnest($1::bigint[], $2::text[]) AS u(id, r)
      WHERE s.sensor_id = u.id`,
    types: [B, T],
  },
  insertNewBases: bulkSql(INSERT_NEW_BASE, [B, B, B, B, F, F, F, F, B, F, B]),
  upsertBase: returning(
    bulkSql(SQL.upsertBase, [B, B, B, B, F, F, F, F, B, F, B]),
    'sensor_id, window_ms, window_start',
  ),
  upsertDelta: pgPlaceholders(SQL.upsertDelta),
  insertTwin: bulkSql(SQL.insertTwin, [T, T, T, T, T, B, T, T, T, T]),
  upsertRoomState: bulkSql(SQL.upsertRoomState, [T, T, T, T, B, T, T, T, T, T]),
  insertAlert: bulkSql(SQL.insertAlert, [T, T, B, T, T, T, T, T, T]),
  gatewayCampuses: 'SELECT gateway_id, campus_id FROM gateways WHERE gateway_id = ANY($1::text[])',
  insertEvent: PG_INSERT_EVENT,
  insertReading: bulkSql(SQL.insertReading, [T, T, T, T, T, T, F, T, B, B, T, T]),
  insertBatch: bulkSql(SQL.insertBatch, [T, T, T, I, I, I, I, T, B, B, B]),
  batchesKnown: {
    text: `SELECT b.gateway_id, b.batch_id FROM batches b
      JOIN unnest($1::text[], $2::text[]) AS u(g, id) ON b.gateway_id = u.g AND b.batch_id = u.id`,
    types: [T, T],
  },
  insertQuarantine: bulkSql(SQL.insertQuarantine, [B, T, B, T, T, T, T, T, T]),
  // One row per gateway of the call (the tally has one delta each), so no key twice in the statement.
  upsertGateway: bulkSql(SQL.upsertGateway, [T, B, B, B, B, B, B, B, B, B, B, B, B, T]),
  upsertCheckpoint: pgPlaceholders(SQL.upsertCheckpoint),
} as const satisfies Record<string, BulkStatement | string>;

/** A compound key of strings or numbers (none of them containing U+0000). */
const key = (...parts: readonly (string | number)[]) => parts.join('\u0000');

/** What a PostgreSQL apply call reads and records beyond its transaction. */
export interface PgApplyCache {
  /**
   * Each gateway's campus as the gateways table has it (null: named none yet): the store's, kept from call to
   * call; the caller forgets it when a transaction is lost.
   */
  gatewayCampus: Map<string, string | null>;
  /**
   * This transaction's window spans (sensor_windows), over those committed transactions wrote: the caller
   * adds them to the store's once the transaction has committed (SpanTracker.commit).
   */
  spans: SpanTracker;
}

export function newPgApplyCache(): PgApplyCache {
  return { gatewayCampus: new Map(), spans: new SpanTracker() };
}

interface Planned {
  ev: Extract<PreparedEvent, { ok: true }>;
  d: GatewayDelta;
  /** Its place in the call (quarantine rows keep the one-by-one order). */
  index: number;
}

/**
 * One applyBatch call, inside the caller's transaction on `c`; `cache`: see PgApplyCache.
 * `newBases`: see NewBases; with `insert`, ExistingWindows says to run the call again with `upsert`.
 */
export async function pgApplyEvents(
  c: pg.ClientBase,
  p: PartitionRef,
  events: readonly PreparedEvent[],
  cp: EventPosition,
  now: number,
  cache: PgApplyCache = newPgApplyCache(),
  newBases: NewBases = 'upsert',
): Promise<ApplyResult> {
  const tally = new ApplyTally(now);
  // Per event, in call order: what the one-by-one apply would have quarantined while at that event.
  const quarantine: { at: EventPosition; q: QuarantineInput }[][] = events.map(() => []);
  const addQuarantine = (index: number, ev: PreparedEvent, q: QuarantineInput) => {
    quarantine[index]!.push({ at: ev.position, q });
    tally.quarantine(q.code, q.gatewayId, ev.position.enqueuedTimeMs);
  };

  // Batches: stored before, or repeated within this call.
  const ok = events.filter((e): e is Extract<PreparedEvent, { ok: true }> => e.ok);
  const known = new Set<string>();
  const storedBatches = await bulk(
    c,
    BULK.batchesKnown,
    ok.map((e) => [e.header.gatewayId, e.header.batchId]),
  );
  for (const r of storedBatches?.rows ?? []) known.add(key(r.gateway_id as string, r.batch_id as string));
  const planned: Planned[] = [];
  for (const [index, ev] of events.entries()) {
    if (!ev.ok) {
      addQuarantine(index, ev, eventQuarantine(ev));
      continue;
    }
    const h = ev.header;
    const d = tally.delta(h.gatewayId, ev.position.enqueuedTimeMs, h.campusId);
    const k = key(h.gatewayId, h.batchId);
    if (known.has(k)) {
      d.duplicateBatches++;
      continue;
    }
    known.add(k);
    planned.push({ ev, d, index });
  }

  // Items with an id record (all but base aggregates and events): which (gateway, id) pairs are new.
  const idRows: [string, string, string][] = [];
  for (const { ev } of planned)
    for (const item of ev.items)
      if (item.cls === 'aggregate' ? item.value.late : item.cls !== 'event')
        idRows.push([ev.header.gatewayId, item.id, item.cls]);
  const newIds = new Set<string>();
  const inserted = await bulk(c, BULK.insertItem, idRows);
  for (const r of inserted?.rows ?? []) newIds.add(key(r.gateway_id as string, r.item_id as string));

  // Sensors of every aggregate, created on first sight.
  const sensors = await resolveSensors(c, planned);
  /** The room each sensor's last touched aggregate names (a duplicate late delta touches nothing). */
  const lastRoom = new Map<SensorRef, string>();

  // Decide each item in order: applied or a duplicate.
  const applied = new Set<ValidItem>();
  /** The base windows seen in the call, by sensor id, window size and start. */
  const seenBase = new NestedMap<number, number, number, true>();
  const bases: Base[] = [];
  const deltas: { a: Aggregate; campusId: string }[] = [];
  /** Each event id's first occurrence in the call: the one its row may come from. */
  const firstEvents = new Map<string, { item: ValidItem; row: unknown[] }>();
  for (const { ev } of planned) {
    for (const item of ev.items) {
      if (item.cls === 'event') {
        if (!firstEvents.has(item.value.eventId))
          firstEvents.set(item.value.eventId, {
            item,
            row: [...eventParams(item.value, ev.header.gatewayId)],
          });
        continue;
      }
      if (item.cls === 'aggregate' && !item.value.late) {
        const a = item.value;
        const sensor = sensorOf(sensors, campusOf(ev), a);
        lastRoom.set(sensor, a.roomId);
        if (seenBase.get(sensor.id, a.windowMs, a.windowStart)) continue;
        seenBase.set(sensor.id, a.windowMs, a.windowStart, true);
        bases.push({ item, a, sensor: sensor.id });
        continue;
      }
      // New to the store, and its first occurrence in the call (taken out of newIds once seen).
      if (!newIds.delete(key(ev.header.gatewayId, item.id))) continue;
      applied.add(item);
      if (item.cls === 'aggregate') {
        lastRoom.set(sensorOf(sensors, campusOf(ev), item.value), item.value.roomId);
        deltas.push({ a: item.value, campusId: campusOf(ev) });
      }
    }
  }
  const moves: [number, string][] = [];
  for (const [sensor, room] of lastRoom) if (sensor.roomId !== room) moves.push([sensor.id, room]);
  await bulk(c, BULK.moveSensors, moves);
  for (const b of await applyBases(c, bases, newBases)) {
    applied.add(b.item);
    cache.spans.note(b.sensor, b.a.windowMs, b.a.windowStart);
  }
  for (const { a, campusId } of deltas) {
    const sensor = sensorOf(sensors, campusId, a).id;
    await c.query(BULK.upsertDelta, [...aggregateParams(sensor, a)]);
    cache.spans.note(sensor, a.windowMs, a.windowStart);
  }
  await pgWriteSpans(c, cache.spans);
  const storedEvents = await bulk(
    c,
    BULK.insertEvent,
    [...firstEvents.values()].map((e) => e.row),
  );
  for (const r of storedEvents?.rows ?? []) applied.add(firstEvents.get(r.event_id as string)!.item);

  // The other classes' rows, for the items applied.
  const twins: ReturnType<typeof twinParams>[] = [];
  const alerts: unknown[][] = [];
  const raws: unknown[][] = [];
  for (const { ev } of planned) {
    const gw = ev.header.gatewayId;
    const campus = campusOf(ev);
    for (const item of ev.items) {
      if (!applied.has(item)) continue;
      if (item.cls === 'twin') twins.push(twinParams(gw, campus, item.id, item.value));
      else if (item.cls === 'alert') alerts.push([...alertParams(gw, campus, item.value)]);
      else if (item.cls === 'raw') raws.push([...readingParams(gw, campus, item.id, item.value)]);
    }
  }
  await bulk(
    c,
    BULK.insertTwin,
    twins.map((t) => t.change),
  );
  // One upsert per (room, campus, kind, subject): the newest change (the statement's own rule), so no key
  // twice.
  const latest = new Map<string, (typeof twins)[number]['state']>();
  for (const t of twins) {
    const s = t.state;
    const k = key(s[0], s[9], s[1], s[2]);
    const cur = latest.get(k);
    if (!cur || s[4] > cur[4] || (s[4] === cur[4] && s[6] > cur[6])) latest.set(k, s);
  }
  await bulk(c, BULK.upsertRoomState, [...latest.values()]);
  await bulk(c, BULK.insertAlert, alerts);
  await bulk(c, BULK.insertReading, raws);
  // After this call's room rows and readings, as the one-by-one apply sees them: a gateway's unnamed rows
  // written earlier in the call move too.
  await adoptRooms(c, planned, cache.gatewayCampus);

  // Per batch: counts, its invalid items quarantined, its record.
  const batchRows: unknown[][] = [];
  for (const { ev, d, index } of planned) {
    let n = 0;
    for (const item of ev.items) {
      if (!applied.has(item)) continue;
      n++;
      tally.applied(d, item);
    }
    const duplicates = ev.items.length - n;
    for (const bad of ev.invalid) addQuarantine(index, ev, itemQuarantine(ev.header, bad));
    batchRows.push([...batchParams(p.partitionId, ev, n, duplicates, now)]);
    d.batches++;
    d.duplicateItems += duplicates;
  }
  await bulk(c, BULK.insertBatch, batchRows);
  await bulk(
    c,
    BULK.insertQuarantine,
    quarantine.flat().map(({ at, q }) => quarantineParams(now, p.partitionId, at, q)),
  );
  await bulk(
    c,
    BULK.upsertGateway,
    [...tally.deltas()].map(([gatewayId, d]) => gatewayParams(gatewayId, d)),
  );
  await c.query(BULK.upsertCheckpoint, [
    ...checkpointParams({ ...p, sequenceNumber: cp.sequenceNumber, offset: cp.offset }, now),
  ]);
  return tally.result();
}

interface Base {
  item: ValidItem;
  a: Aggregate;
  sensor: number;
}

/**
 * How a call applies its base windows: `insert` — every one is a new window (the usual case), a plain INSERT
 * (no conflict handling, no RETURNING) at ~0.6 of the upsert's server time (bench/README.md, apply-pg);
 * `upsert` — row by row (has_base), returning which it applied.
 */
export type NewBases = 'insert' | 'upsert';

/**
 * The `insert` way found a window that exists (a late delta came first, a base resent under a new batch id,
 * another consumer's): the transaction is lost, and the caller runs the call again the `upsert` way.
 */
export class ExistingWindows extends Error {
  constructor() {
    super('a base window exists: apply again with upsert');
  }
}

/** The call's base windows (each window once), applied; returns those that were. */
async function applyBases(c: pg.ClientBase, bases: readonly Base[], how: NewBases): Promise<readonly Base[]> {
  if (bases.length === 0) return [];
  const stmt = how === 'insert' ? BULK.insertNewBases : BULK.upsertBase;
  const params = bulkParams(
    stmt,
    bases.map(({ a, sensor }) => aggregateParams(sensor, a)),
  );
  if (how === 'insert') {
    try {
      await c.query(stmt.text, params);
    } catch (err) {
      throw isUniqueViolation(err) ? new ExistingWindows() : err;
    }
    return bases;
  }
  const rows = (await c.query(stmt.text, params)).rows;
  const applied = new Set(
    rows.map((r) => key(r.sensor_id as number, r.window_ms as number, r.window_start as number)),
  );
  return bases.filter((b) => applied.has(key(b.sensor, b.a.windowMs, b.a.windowStart)));
}

/**
 * Gateways whose events name a campus their gateways row does not have (the first one each names in the
 * call): their unnamed rooms move there (ADOPT_ROOMS).
 */
async function adoptRooms(
  c: pg.ClientBase,
  planned: readonly Planned[],
  gatewayCampus: Map<string, string | null>,
): Promise<void> {
  const named = new Map<string, string>();
  for (const { ev } of planned) {
    const { gatewayId, campusId } = ev.header;
    if (campusId !== undefined && !named.has(gatewayId)) named.set(gatewayId, campusId);
  }
  const unknown = [...named.keys()].filter((g) => !gatewayCampus.has(g));
  if (unknown.length > 0) {
    for (const g of unknown) gatewayCampus.set(g, null);
    const rows = (await c.query(BULK.gatewayCampuses, [unknown])).rows;
    for (const r of rows) gatewayCampus.set(r.gateway_id as string, r.campus_id as string | null);
  }
  for (const [gatewayId, campusId] of named) {
    if (gatewayCampus.get(gatewayId) !== campusId)
      for (const q of ADOPT_ROOMS_PG)
        await c.query(q.text, q.values({ campus: campusId, gateway: gatewayId }));
    gatewayCampus.set(gatewayId, campusId);
  }
}

const ADOPT_ROOMS_PG = ADOPT_ROOMS.map(pgNamed);

interface SensorRef {
  id: number;
  /** Its room in the store (before this call's moves). */
  roomId: string;
}

/** A call's sensors by campus, device and channel. */
type CallSensors = SensorMap<SensorRef>;

/** The campus an event's sensors are on: the one its gateway names, '' when it names none. */
const campusOf = (ev: Extract<PreparedEvent, { ok: true }>) => ev.header.campusId ?? '';

function sensorOf(
  sensors: CallSensors,
  campusId: string,
  a: { deviceId: string; channel: string },
): SensorRef {
  const ref = sensors.get(campusId, a.deviceId, a.channel);
  if (!ref) throw new Error(`no sensor resolved for ${campusId}/${a.deviceId}/${a.channel}`);
  return ref;
}

/** Id and current room of the sensor of every aggregate of the planned batches, created where new. */
async function resolveSensors(c: pg.ClientBase, planned: readonly Planned[]): Promise<CallSensors> {
  const seen = new SensorMap<true>();
  const list: { a: Aggregate; campusId: string }[] = [];
  for (const { ev } of planned) {
    const campusId = campusOf(ev);
    for (const item of ev.items) {
      if (item.cls !== 'aggregate') continue;
      const a = item.value;
      if (seen.get(campusId, a.deviceId, a.channel)) continue;
      seen.set(campusId, a.deviceId, a.channel, true);
      list.push({ a, campusId });
    }
  }
  const find = async (wanted: typeof list) => {
    const res = await bulk(
      c,
      BULK.sensorsOf,
      wanted.map(({ a, campusId }) => [campusId, a.deviceId, a.channel]),
    );
    for (const r of res?.rows ?? [])
      out.set(r.campus_id as string, r.device_id as string, r.channel as string, {
        id: r.sensor_id as number,
        roomId: r.room_id as string,
      });
  };
  const out: CallSensors = new SensorMap();
  // Usually every sensor exists: one statement.
  await find(list);
  const missing = list.filter(({ a, campusId }) => !out.get(campusId, a.deviceId, a.channel));
  if (missing.length === 0) return out;
  // Sensors recorded before their gateway named a campus ('') join the first campus that names them: the
  // first in call order, as the one-by-one apply decides (one UPDATE row per sensor, so none is arbitrary).
  const adopters = new Map<string, unknown[]>();
  for (const { a, campusId } of missing) {
    const k = key(a.deviceId, a.channel);
    if (campusId !== '' && !adopters.has(k)) adopters.set(k, [campusId, a.deviceId, a.channel]);
  }
  await bulk(c, BULK.adoptSensors, [...adopters.values()]);
  await bulk(
    c,
    BULK.insertSensor,
    missing.map(({ a, campusId }) => [campusId, a.deviceId, a.channel, a.roomId, a.quantity, a.unit]),
  );
  await find(missing);
  return out;
}
