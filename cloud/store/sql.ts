/**
 * The SQLite CloudStore's write statements. Portable SQL (PostgreSQL runs the same text with $n
 * placeholders): ON CONFLICT … DO UPDATE … WHERE, CASE instead of two-argument MIN/MAX.
 */
const AGG_INSERT = `INSERT INTO aggregates (sensor_id, window_ms, window_start, count, sum, min, max,
  first_value, first_ts, last_value, last_ts, items, has_base) VALUES (?,?,?,?,?,?,?,?,?,?,?,1,`;

/**
 * A base window inserted with no conflict handling: both applies' fast path when every base of a statement is a
 * new window (pg-apply.ts, insertBases; sqlite-bases.ts); a window that exists makes it fail as a whole.
 */
export const INSERT_NEW_BASE = `${AGG_INSERT} 1)`;

/** INSERT_NEW_BASE for `rows` windows in one statement (the SQLite apply's, sqlite-bases.ts). */
export function insertNewBasesSql(rows: number): string {
  const tuple = INSERT_NEW_BASE.slice(INSERT_NEW_BASE.lastIndexOf('('));
  return INSERT_NEW_BASE + `,${tuple}`.repeat(rows - 1);
}

/** The merge rules of consume/merge.ts in portable SQL (SET is simultaneous: right sides see the old row). */
const AGG_MERGE = `count = aggregates.count + excluded.count,
  sum = aggregates.sum + excluded.sum,
  min = CASE WHEN excluded.min < aggregates.min THEN excluded.min ELSE aggregates.min END,
  max = CASE WHEN excluded.max > aggregates.max THEN excluded.max ELSE aggregates.max END,
  first_value = CASE WHEN excluded.first_ts < aggregates.first_ts OR (excluded.first_ts = aggregates.first_ts
    AND excluded.first_value < aggregates.first_value) THEN excluded.first_value ELSE aggregates.first_value END,
  first_ts = CASE WHEN excluded.first_ts < aggregates.first_ts THEN excluded.first_ts ELSE aggregates.first_ts END,
  last_value = CASE WHEN excluded.last_ts > aggregates.last_ts OR (excluded.last_ts = aggregates.last_ts
    AND excluded.last_value > aggregates.last_value) THEN excluded.last_value ELSE aggregates.last_value END,
  last_ts = CASE WHEN excluded.last_ts > aggregates.last_ts THEN excluded.last_ts ELSE aggregates.last_ts END,
  items = aggregates.items + 1`;

import type Database from 'better-sqlite3';
import type { ErrorCode } from '../../shared/errors.ts';
import type { Aggregate, Alert, Reading, TwinChange } from '../../shared/events.ts';
import type { EventPosition, PreparedEvent } from '../consume/prepare.ts';
import type { ItemRejection, StoredEvent } from '../consume/validate.ts';
import type { CheckpointRow, OwnershipRow } from './types.ts';

/** The code of an item that failed validation inside an accepted batch. */
const QUARANTINE_ITEM_CODE: ErrorCode = 'CT_ERR_WIRE_SCHEMA';

export interface QuarantineInput {
  gatewayId: string | null;
  batchId: string | null;
  itemId: string | null;
  code: ErrorCode;
  reason: string;
  body: string;
}

/** A whole event refused (not decodable, wrong header…). */
export function eventQuarantine(ev: Extract<PreparedEvent, { ok: false }>): QuarantineInput {
  const { gatewayId = null, batchId = null } = ev.header;
  return { gatewayId, batchId, itemId: null, code: ev.code, reason: ev.reason, body: ev.body };
}

/** One invalid item of an accepted batch. */
export function itemQuarantine(
  h: { gatewayId: string; batchId: string },
  bad: ItemRejection,
): QuarantineInput {
  const { gatewayId, batchId } = h;
  return {
    gatewayId,
    batchId,
    itemId: bad.id,
    code: QUARANTINE_ITEM_CODE,
    reason: bad.reason,
    body: bad.body,
  };
}

/** The parameters of SQL.insertQuarantine. */
export function quarantineParams(now: number, partitionId: string, at: EventPosition, q: QuarantineInput) {
  return [
    now,
    partitionId,
    at.sequenceNumber,
    q.gatewayId,
    q.batchId,
    q.itemId,
    q.code,
    q.reason,
    q.body,
  ] as const;
}

/** The parameters of SQL.insertBatch for an accepted batch. */
export function batchParams(
  partitionId: string,
  ev: Extract<PreparedEvent, { ok: true }>,
  applied: number,
  duplicates: number,
  now: number,
) {
  const h = ev.header;
  return [
    h.gatewayId,
    h.batchId,
    h.cls,
    h.itemCount,
    applied,
    duplicates,
    ev.invalid.length,
    partitionId,
    ev.position.sequenceNumber,
    ev.position.enqueuedTimeMs,
    now,
  ] as const;
}

/** The parameters of SQL.upsertCheckpoint: the partition's position, never moved backwards by the statement. */
export function checkpointParams(c: CheckpointRow, now: number) {
  return [
    c.fullyQualifiedNamespace,
    c.eventHubName,
    c.consumerGroup,
    c.partitionId,
    c.sequenceNumber,
    c.offset,
    now,
  ] as const;
}

/**
 * One partition claim as a compare-and-set: a claim without an etag may only create the ownership row
 * (SQL.claimNew); with one, it must match the current row's (SQL.claimExisting). Won when one row changed.
 */
export function claimStatement(
  c: OwnershipRow,
  etag: string,
  now: number,
): { sql: 'claimNew' | 'claimExisting'; params: readonly unknown[] } {
  const key = [c.fullyQualifiedNamespace, c.eventHubName, c.consumerGroup, c.partitionId] as const;
  return c.etag
    ? { sql: 'claimExisting', params: [c.ownerId, etag, now, ...key, c.etag] }
    : { sql: 'claimNew', params: [...key, c.ownerId, etag, now] };
}

/** How many parameters a window takes in SQL.upsertBase / SQL.upsertDelta / INSERT_NEW_BASE. */
export const AGGREGATE_PARAMS = 11;

/**
 * A window's parameters written into `p` from index `at` (a multi-row statement's parameters, reused from
 * call to call).
 */
export function putAggregateParams(p: number[], at: number, sensorId: number, a: Aggregate): void {
  p[at] = sensorId;
  p[at + 1] = a.windowMs;
  p[at + 2] = a.windowStart;
  p[at + 3] = a.count;
  p[at + 4] = a.sum;
  p[at + 5] = a.min;
  p[at + 6] = a.max;
  p[at + 7] = a.first;
  p[at + 8] = a.firstTs;
  p[at + 9] = a.last;
  p[at + 10] = a.lastTs;
}

/** The parameters of SQL.upsertBase / SQL.upsertDelta. */
export function aggregateParams(sensorId: number, a: Aggregate): number[] {
  const p = new Array<number>(AGGREGATE_PARAMS);
  putAggregateParams(p, 0, sensorId, a);
  return p;
}

/**
 * The parameters of SQL.insertTwin (`change`) and SQL.upsertRoomState (`state`) for a change from a gateway
 * on `campusId` ('' when it names none).
 */
export function twinParams(gatewayId: string, campusId: string, itemId: string, c: TwinChange) {
  const subject = c.kind === 'health' ? (c.deviceId ?? '') : '';
  const reasons = JSON.stringify(c.reasons);
  const detail =
    c.probability !== undefined || c.basis !== undefined
      ? JSON.stringify({ probability: c.probability ?? null, basis: c.basis ?? null })
      : null;
  return {
    change: [gatewayId, itemId, c.roomId, c.kind, subject, c.ts, c.from, c.to, reasons, campusId] as const,
    state: [c.roomId, c.kind, subject, c.to, c.ts, reasons, itemId, gatewayId, detail, campusId] as const,
  };
}

/** The parameters of SQL.insertAlert for an alert from a gateway on `campusId` ('' when it names none). */
export function alertParams(gatewayId: string, campusId: string, a: Alert) {
  return [
    a.alertId,
    gatewayId,
    a.ts,
    a.severity,
    a.code,
    a.roomId ?? null,
    a.deviceId ?? null,
    a.message,
    campusId,
  ] as const;
}

/** The parameters of SQL.insertReading (a raw reading item) from a gateway on `campusId` ('' for none). */
export function readingParams(gatewayId: string, campusId: string, itemId: string, r: Reading) {
  return [
    gatewayId,
    itemId,
    r.deviceId,
    r.channel,
    r.roomId,
    r.quantity,
    r.value,
    r.unit,
    r.ts,
    r.receivedAt,
    r.source,
    campusId,
  ] as const;
}

/** An event's reporting columns, in EVENT_COLUMNS_V2 order (insert and migration share it). */
export function eventColumnValues(e: Omit<StoredEvent, 'json'>) {
  return [e.source, e.actorId, e.courseId, e.objectId, e.roomId, e.score, e.maxScore, e.count] as const;
}

/** The parameters of SQL.insertEvent for an event stored under `gatewayId`. */
export function eventParams(e: StoredEvent, gatewayId: string) {
  return [e.eventId, gatewayId, e.ts, e.type, e.json, ...eventColumnValues(e)] as const;
}

/** A room's latest state: the newer change wins (by ts, then item id), whichever arrives first. */
const ROOM_STATE_NEWER = `ON CONFLICT (room_id, campus_id, kind, subject) DO UPDATE SET state = excluded.state,
      ts = excluded.ts, reasons = excluded.reasons, item_id = excluded.item_id, gateway_id = excluded.gateway_id,
      detail = excluded.detail
    WHERE excluded.ts > room_state.ts OR (excluded.ts = room_state.ts AND excluded.item_id > room_state.item_id)`;

export const SQL = {
  batchExists: 'SELECT 1 AS x FROM batches WHERE gateway_id = ? AND batch_id = ?',
  insertBatch: `INSERT INTO batches (gateway_id, batch_id, cls, item_count, applied_items, duplicate_items,
    invalid_items, partition_id, sequence_number, enqueued_at, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
  insertItem: 'INSERT INTO items (gateway_id, item_id, cls) VALUES (?,?,?) ON CONFLICT DO NOTHING',
  gatewayCampus: 'SELECT campus_id FROM gateways WHERE gateway_id = ?',
  insertSensor: `INSERT INTO sensors (campus_id, device_id, channel, room_id, quantity, unit) VALUES (?,?,?,?,?,?)
    ON CONFLICT (campus_id, device_id, channel) DO NOTHING`,
  findSensor: 'SELECT sensor_id, room_id FROM sensors WHERE campus_id = ? AND device_id = ? AND channel = ?',
  moveSensor: 'UPDATE sensors SET room_id = ? WHERE sensor_id = ?',
  // A sensor recorded before its gateway named a campus ('') joins the first campus that names it (asked only
  // when that campus has no such sensor yet).
  adoptSensor: `UPDATE sensors SET campus_id = ? WHERE campus_id = '' AND device_id = ? AND channel = ?`,
  // A base window's item: inserts, or merges into the deltas already there, at most once (has_base).
  upsertBase: `${AGG_INSERT} 1) ON CONFLICT (sensor_id, window_ms, window_start) DO UPDATE SET ${AGG_MERGE},
      has_base = 1 WHERE aggregates.has_base = 0`,
  // A late delta (deduped by the items table first).
  upsertDelta: `${AGG_INSERT} 0) ON CONFLICT (sensor_id, window_ms, window_start) DO UPDATE SET ${AGG_MERGE}`,
  insertTwin: `INSERT INTO twin_changes (gateway_id, item_id, room_id, kind, subject, ts, from_state, to_state,
    reasons, campus_id) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
  upsertRoomState: `INSERT INTO room_state (room_id, kind, subject, state, ts, reasons, item_id, gateway_id, detail,
    campus_id) VALUES (?,?,?,?,?,?,?,?,?,?)
    ${ROOM_STATE_NEWER}`,
  insertAlert: `INSERT INTO alerts (alert_id, gateway_id, ts, severity, code, room_id, device_id, message,
    campus_id) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
  insertEvent: `INSERT INTO events (event_id, gateway_id, ts, type, body, source, actor_id, course_id, object_id,
    room_id, score, max_score, count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
  insertReading: `INSERT INTO readings (gateway_id, item_id, device_id, channel, room_id, quantity, value, unit, ts,
    received_at, source, campus_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
  insertQuarantine: `INSERT INTO quarantine (at, partition_id, sequence_number, gateway_id, batch_id, item_id, code,
    reason, body) VALUES (?,?,?,?,?,?,?,?,?)`,
  upsertGateway: `INSERT INTO gateways (gateway_id, last_batch_at, last_enqueued_at, newest_item_ts, batches_applied,
    duplicate_batches, duplicate_items, quarantined, items_alert, items_twin, items_event, items_aggregate, items_raw,
    campus_id)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (gateway_id) DO UPDATE SET
      campus_id = COALESCE(excluded.campus_id, gateways.campus_id),
      last_batch_at = CASE WHEN excluded.last_batch_at > gateways.last_batch_at
        THEN excluded.last_batch_at ELSE gateways.last_batch_at END,
      last_enqueued_at = CASE WHEN excluded.last_enqueued_at > gateways.last_enqueued_at
        THEN excluded.last_enqueued_at ELSE gateways.last_enqueued_at END,
      newest_item_ts = CASE WHEN excluded.newest_item_ts IS NOT NULL AND (gateways.newest_item_ts IS NULL
        OR excluded.newest_item_ts > gateways.newest_item_ts) THEN excluded.newest_item_ts ELSE gateways.newest_item_ts END,
      batches_applied = gateways.batches_applied + excluded.batches_applied,
      duplicate_batches = gateways.duplicate_batches + excluded.duplicate_batches,
      duplicate_items = gateways.duplicate_items + excluded.duplicate_items,
      quarantined = gateways.quarantined + excluded.quarantined,
      items_alert = gateways.items_alert + excluded.items_alert,
      items_twin = gateways.items_twin + excluded.items_twin,
      items_event = gateways.items_event + excluded.items_event,
      items_aggregate = gateways.items_aggregate + excluded.items_aggregate,
      items_raw = gateways.items_raw + excluded.items_raw`,
  upsertCheckpoint: `INSERT INTO checkpoints (namespace, event_hub, consumer_group, partition_id, sequence_number,
    offset_value, updated_at) VALUES (?,?,?,?,?,?,?)
    ON CONFLICT (namespace, event_hub, consumer_group, partition_id) DO UPDATE SET
      sequence_number = excluded.sequence_number, offset_value = excluded.offset_value,
      updated_at = excluded.updated_at
    WHERE excluded.sequence_number >= checkpoints.sequence_number`,
  claimNew: `INSERT INTO ownership (namespace, event_hub, consumer_group, partition_id, owner_id, etag, modified_at)
    VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
  claimExisting: `UPDATE ownership SET owner_id = ?, etag = ?, modified_at = ?
    WHERE namespace = ? AND event_hub = ? AND consumer_group = ? AND partition_id = ? AND etag = ?`,
} as const;

/**
 * A gateway names its campus for the first time (or a new one): the rooms' rows (and raw readings) it wrote
 * while it named none (campus '') move to that campus, in this order (named parameters @campus, @gateway).
 * A latest state is copied to the campus, the newer of the two kept where that campus already has one
 * (another of its gateways wrote it), then removed from '': its key is never updated in place, which a
 * store distributed by campus (deploy/citus) could not do. Sensors are adopted by name instead
 * (SQL.adoptSensor): their rows do not say which gateway wrote them.
 */
export const ADOPT_ROOMS = [
  `UPDATE twin_changes SET campus_id = @campus WHERE gateway_id = @gateway AND campus_id = ''`,
  `UPDATE alerts SET campus_id = @campus WHERE gateway_id = @gateway AND campus_id = ''`,
  `UPDATE readings SET campus_id = @campus WHERE gateway_id = @gateway AND campus_id = ''`,
  `INSERT INTO room_state (room_id, kind, subject, state, ts, reasons, item_id, gateway_id, detail, campus_id)
    SELECT room_id, kind, subject, state, ts, reasons, item_id, gateway_id, detail, CAST(@campus AS TEXT)
    FROM room_state WHERE gateway_id = @gateway AND campus_id = ''
    ${ROOM_STATE_NEWER}`,
  `DELETE FROM room_state WHERE gateway_id = @gateway AND campus_id = ''`,
] as const;

/** Every statement of a record of SQL texts, prepared on `db` (the SQLite twin of pg-sql.ts's pgSql). */
export const prepareAll = <T extends Record<string, string>>(
  db: Database.Database,
  texts: T,
): { [K in keyof T]: Database.Statement } =>
  Object.fromEntries(Object.entries(texts).map(([k, sql]) => [k, db.prepare(sql)])) as {
    [K in keyof T]: Database.Statement;
  };
