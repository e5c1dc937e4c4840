/**
 * The CloudStore's ingest-side reads: the queries behind the API (portable SQL, plain SELECTs with `?`
 * placeholders; the PostgreSQL store runs the same text) and the mapping of their rows, shared by both
 * stores. SqliteReads runs them on SQLite.
 */
import type Database from 'better-sqlite3';
import type { Alert, AlertSeverity } from '../../shared/events.ts';
import type { Quantity } from '../../shared/quantities.ts';
import type { MergedWindow } from '../consume/merge.ts';
import { prepareAll } from './sql.ts';
import type {
  Ambiguous,
  CheckpointRow,
  ClassCounts,
  GatewaySummary,
  OwnershipRow,
  QuarantineEntry,
  QueryRange,
  RoomStateValue,
  RoomView,
} from './types.ts';
import { SqliteWindowSeeks } from './window-seeks.ts';

export interface GatewayRow {
  gateway_id: string;
  campus_id: string | null;
  last_batch_at: number;
  last_enqueued_at: number;
  newest_item_ts: number | null;
  batches_applied: number;
  duplicate_batches: number;
  duplicate_items: number;
  quarantined: number;
  items_alert: number;
  items_twin: number;
  items_event: number;
  items_aggregate: number;
  items_raw: number;
}

export interface SensorRow {
  sensor_id: number;
  campus_id: string;
  room_id: string;
  quantity: string;
  unit: string;
}

export interface WindowRow {
  window_ms: number;
  window_start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  first_value: number;
  first_ts: number;
  last_value: number;
  last_ts: number;
}

export interface AlertRow {
  alert_id: string;
  ts: number;
  severity: string;
  code: string;
  room_id: string | null;
  device_id: string | null;
  message: string;
}

/** The sensor `campusId` names among a device and channel's rows (by campus), or the only one. */
export function pickSensor(rows: readonly SensorRow[], campusId?: string): SensorRow | Ambiguous | undefined {
  const campus = pickCampus(
    rows.map((r) => r.campus_id),
    campusId,
  );
  return typeof campus === 'string' ? rows.find((r) => r.campus_id === campus) : campus;
}

/**
 * Which of the campuses that have a sensor or room (sorted, each once) a read is about: the one named, if
 * it is among them; the only one, when none is named; Ambiguous when several have it and none is named.
 */
export function pickCampus(campuses: readonly string[], campusId?: string): string | Ambiguous | undefined {
  if (campusId !== undefined) return campuses.includes(campusId) ? campusId : undefined;
  if (campuses.length > 1) return { campuses: [...campuses] };
  return campuses[0];
}

export function windowFromRow(
  deviceId: string,
  channel: string,
  sensor: SensorRow,
  r: WindowRow,
): MergedWindow {
  return {
    deviceId,
    channel,
    roomId: sensor.room_id,
    quantity: sensor.quantity as Quantity,
    unit: sensor.unit,
    windowStart: r.window_start,
    windowMs: r.window_ms,
    count: r.count,
    sum: r.sum,
    mean: r.sum / r.count,
    min: r.min,
    max: r.max,
    first: r.first_value,
    firstTs: r.first_ts,
    last: r.last_value,
    lastTs: r.last_ts,
  };
}

function alertFromRow(r: AlertRow): Alert {
  const a: Alert = {
    alertId: r.alert_id,
    ts: r.ts,
    severity: r.severity as AlertSeverity,
    code: r.code,
    message: r.message,
  };
  if (r.room_id !== null) a.roomId = r.room_id;
  if (r.device_id !== null) a.deviceId = r.device_id;
  return a;
}

/** The read statements' text. */
export const READ_SQL = {
  gateways: 'SELECT * FROM gateways ORDER BY gateway_id',
  // The campuses with a room of this id; a room with changes always has a latest state (the apply writes
  // both), so twin_changes is asked only by roomKnown.
  roomCampuses: `SELECT campus_id FROM room_state WHERE room_id = ?
    UNION SELECT campus_id FROM alerts WHERE room_id = ? ORDER BY campus_id`,
  roomState: `SELECT kind, subject, state, ts, reasons, gateway_id, detail FROM room_state
    WHERE room_id = ? AND campus_id = ? ORDER BY kind, subject`,
  roomAlerts:
    'SELECT * FROM alerts WHERE room_id = ? AND campus_id = ? ORDER BY ts DESC, alert_id DESC LIMIT ?',
  roomKnown: 'SELECT campus_id FROM twin_changes WHERE room_id = ? ORDER BY campus_id LIMIT 1',
  sensor: `SELECT sensor_id, campus_id, room_id, quantity, unit FROM sensors WHERE device_id = ? AND channel = ?
    ORDER BY campus_id`,
  // Raw readings of a device channel with no windows: on one campus, or (null) on any.
  rawKnown: `SELECT 1 AS x FROM readings WHERE device_id = ? AND channel = ?
    AND campus_id = COALESCE(CAST(? AS TEXT), campus_id) LIMIT 1`,

  quarantineCount: 'SELECT COUNT(*) AS n FROM quarantine',
  quarantineList: 'SELECT * FROM quarantine ORDER BY id DESC LIMIT ?',
  itemTotals: `SELECT COALESCE(SUM(items_alert), 0) AS alert, COALESCE(SUM(items_twin), 0) AS twin,
         COALESCE(SUM(items_event), 0) AS event, COALESCE(SUM(items_aggregate), 0) AS aggregate,
         COALESCE(SUM(items_raw), 0) AS raw FROM gateways`,

  readings: 'SELECT COALESCE(SUM(count), 0) AS n FROM aggregates',
  listCheckpoints: `SELECT namespace, event_hub, consumer_group, partition_id, sequence_number, offset_value FROM checkpoints
       WHERE namespace = ? AND event_hub = ? AND consumer_group = ? ORDER BY partition_id`,

  listOwnership: `SELECT namespace, event_hub, consumer_group, partition_id, owner_id, etag, modified_at FROM ownership
       WHERE namespace = ? AND event_hub = ? AND consumer_group = ? ORDER BY partition_id`,
} as const;

export interface CheckpointDbRow {
  namespace: string;
  event_hub: string;
  consumer_group: string;
  partition_id: string;
  sequence_number: number;
  offset_value: string;
}

export interface OwnershipDbRow {
  namespace: string;
  event_hub: string;
  consumer_group: string;
  partition_id: string;
  owner_id: string;
  etag: string;
  modified_at: number;
}

export interface RoomStateDbRow {
  kind: string;
  subject: string;
  state: string;
  ts: number;
  reasons: string;
  gateway_id: string;
  detail: string | null;
}

export interface QuarantineDbRow {
  id: number;
  at: number;
  partition_id: string;
  sequence_number: number;
  gateway_id: string | null;
  batch_id: string | null;
  item_id: string | null;
  code: string;
  reason: string;
  body: string;
}

export function checkpointFromRow(r: CheckpointDbRow): CheckpointRow {
  return {
    fullyQualifiedNamespace: r.namespace,
    eventHubName: r.event_hub,
    consumerGroup: r.consumer_group,
    partitionId: r.partition_id,
    sequenceNumber: r.sequence_number,
    offset: r.offset_value,
  };
}

export function ownershipFromRow(r: OwnershipDbRow): OwnershipRow {
  return {
    fullyQualifiedNamespace: r.namespace,
    eventHubName: r.event_hub,
    consumerGroup: r.consumer_group,
    partitionId: r.partition_id,
    ownerId: r.owner_id,
    etag: r.etag,
    lastModifiedTimeInMs: r.modified_at,
  };
}

export function gatewayFromRow(r: GatewayRow): GatewaySummary {
  return {
    gatewayId: r.gateway_id,
    campusId: r.campus_id,
    lastBatchAt: r.last_batch_at,
    lastEnqueuedAt: r.last_enqueued_at,
    newestItemTs: r.newest_item_ts,
    items: {
      alert: r.items_alert,
      twin: r.items_twin,
      event: r.items_event,
      aggregate: r.items_aggregate,
      raw: r.items_raw,
    },
    batchesApplied: r.batches_applied,
    duplicateBatches: r.duplicate_batches,
    duplicateItems: r.duplicate_items,
    quarantined: r.quarantined,
  };
}

/** A room's view on `campusId` from its latest states and recent alerts there. */
export function roomViewOf(
  roomId: string,
  campusId: string,
  states: readonly RoomStateDbRow[],
  alertRows: readonly AlertRow[],
): RoomView {
  const alerts = alertRows.map(alertFromRow);
  const view: RoomView = {
    roomId,
    campusId: campusId || null,
    state: {},
    health: {},
    recentAlerts: alerts,
  };
  for (const s of states) {
    const v: RoomStateValue = {
      state: s.state,
      ts: s.ts,
      reasons: JSON.parse(s.reasons) as string[],
      gatewayId: s.gateway_id,
    };
    if (s.detail) Object.assign(v, JSON.parse(s.detail) as Pick<RoomStateValue, 'probability' | 'basis'>);
    if (s.kind === 'health') view.health[s.subject] = v;
    else if (s.kind === 'occupancy' || s.kind === 'comfort') view.state[s.kind] = v;
  }
  return view;
}

export function quarantineFromRow(r: QuarantineDbRow): QuarantineEntry {
  return {
    id: r.id,
    at: r.at,
    partitionId: r.partition_id,
    sequenceNumber: r.sequence_number,
    gatewayId: r.gateway_id,
    batchId: r.batch_id,
    itemId: r.item_id,
    code: r.code,
    reason: r.reason,
    body: r.body,
  };
}

export class SqliteReads {
  readonly db: Database.Database;
  /** The windows' seeks, shared with the store's room periods. */
  readonly windowSeeks: SqliteWindowSeeks;
  readonly #q: { [K in keyof typeof READ_SQL]: Database.Statement };

  constructor(db: Database.Database) {
    this.db = db;
    this.#q = prepareAll(db, READ_SQL);
    this.windowSeeks = new SqliteWindowSeeks(db);
  }

  async listCheckpoints(ns: string, eventHubName: string, consumerGroup: string): Promise<CheckpointRow[]> {
    const rows = this.#q.listCheckpoints.all(ns, eventHubName, consumerGroup) as CheckpointDbRow[];
    return rows.map(checkpointFromRow);
  }

  async listOwnership(ns: string, eventHubName: string, consumerGroup: string): Promise<OwnershipRow[]> {
    const rows = this.#q.listOwnership.all(ns, eventHubName, consumerGroup) as OwnershipDbRow[];
    return rows.map(ownershipFromRow);
  }

  async gateways(): Promise<GatewaySummary[]> {
    return (this.#q.gateways.all() as GatewayRow[]).map(gatewayFromRow);
  }

  async room(
    roomId: string,
    alertsLimit: number,
    campusId?: string,
  ): Promise<RoomView | Ambiguous | undefined> {
    type CampusRow = { campus_id: string };
    let rows = this.#q.roomCampuses.all(roomId, roomId) as CampusRow[];
    if (rows.length === 0) rows = this.#q.roomKnown.all(roomId) as CampusRow[];
    const campus = pickCampus(
      rows.map((r) => r.campus_id),
      campusId,
    );
    if (typeof campus !== 'string') return campus;
    return roomViewOf(
      roomId,
      campus,
      this.#q.roomState.all(roomId, campus) as RoomStateDbRow[],
      this.#q.roomAlerts.all(roomId, campus, alertsLimit) as AlertRow[],
    );
  }

  async sensorWindows(
    deviceId: string,
    channel: string,
    range: QueryRange,
    campusId?: string,
  ): Promise<MergedWindow[] | Ambiguous | undefined> {
    const sensor = pickSensor(this.#q.sensor.all(deviceId, channel) as SensorRow[], campusId);
    if (sensor && 'campuses' in sensor) return sensor;
    if (!sensor) return this.#q.rawKnown.get(deviceId, channel, campusId ?? null) ? [] : undefined;
    const { from, to, limit } = range;
    const rows = this.windowSeeks.inTimeOrder<WindowRow>(sensor.sensor_id, from, to, limit);
    return rows.map((r) => windowFromRow(deviceId, channel, sensor, r));
  }

  async quarantine(limit: number): Promise<{ total: number; entries: QuarantineEntry[] }> {
    const total = (this.#q.quarantineCount.get() as { n: number }).n;
    const rows = this.#q.quarantineList.all(limit) as QuarantineDbRow[];
    return { total, entries: rows.map(quarantineFromRow) };
  }

  async counts(): Promise<{ items: ClassCounts; readingsRepresented: number; quarantined: number }> {
    const items = this.#q.itemTotals.get() as ClassCounts;
    const readingsRepresented = (this.#q.readings.get() as { n: number }).n;
    const quarantined = (this.#q.quarantineCount.get() as { n: number }).n;
    return { items: { ...items }, readingsRepresented, quarantined };
  }
}
