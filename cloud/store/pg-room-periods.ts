/**
 * The room periods on PostgreSQL: the SQLite store's statements (ROOM_PERIOD_SQL) with `$n` placeholders,
 * and the same assembly of their rows (assemblePeriods). Every read runs on the given queryable: the pool
 * for a live read, a transaction's client while a snapshot is built.
 */
import type { RoomPeriod } from '../reporting/room-analytics.ts';
import type { RoomKeyState } from '../reporting/rooms.ts';
import { type PgQueryable, pgNamed, pgRows } from './pg-sql.ts';
import { pgSensorsWindows } from './pg-window-seeks.ts';
import {
  type AnalyticSensorRow,
  assemblePeriods,
  type ChangeRow,
  type KeyStateRow,
  keyStateOf,
  periodSensorReads,
  ROOM_PERIOD_SQL,
  type WindowRow,
  type WorkOrderRow,
} from './room-periods.ts';
import type { RoomFilter } from './types.ts';

/**
 * ROOM_PERIOD_SQL.roomKeys as PostgreSQL plans it best: a LATERAL subquery per latest-state key (one backward
 * index scan each). The portable form's row-value join is not an index condition there: 400 ms instead of
 * 15 ms over 100,000 changes.
 */
const PG_ROOM_KEYS = `SELECT t.room_id, t.campus_id, t.kind, t.subject, t.to_state AS state, t.ts, t.reasons
FROM room_state k CROSS JOIN LATERAL (SELECT t2.room_id, t2.campus_id, t2.kind, t2.subject, t2.to_state, t2.ts,
    t2.reasons
  FROM twin_changes t2
  WHERE t2.room_id = k.room_id AND t2.campus_id = k.campus_id AND t2.kind = k.kind AND t2.subject = k.subject
    AND t2.ts <= @cutoff
  ORDER BY t2.ts DESC, t2.item_id DESC LIMIT 1) t
ORDER BY t.room_id, t.campus_id, t.kind, t.subject`;

/**
 * ROOM_PERIOD_SQL.roomKeys as Citus plans it: room_state (by campus) and twin_changes (by gateway) are not
 * co-located, so the LATERAL form is refused there ("complex joins are only supported when all distributed
 * tables are co-located"). Each shard keeps each key's latest change per gateway (DISTINCT ON with the
 * distribution column, pushed down), the coordinator keeps the latest of those per key, and the join keeps
 * the keys room_state has, as the other forms do. On one server it reads every change up to the cut-off,
 * so it is used on Citus only.
 */
const CITUS_ROOM_KEYS = `SELECT t.room_id, t.campus_id, t.kind, t.subject, t.to_state AS state, t.ts, t.reasons
FROM (SELECT DISTINCT ON (room_id, campus_id, kind, subject) * FROM (
    SELECT DISTINCT ON (gateway_id, room_id, campus_id, kind, subject) room_id, campus_id, kind, subject, to_state,
      ts, reasons, item_id
    FROM twin_changes WHERE ts <= @cutoff
    ORDER BY gateway_id, room_id, campus_id, kind, subject, ts DESC, item_id DESC) g
  ORDER BY room_id, campus_id, kind, subject, ts DESC, item_id DESC) t
JOIN room_state k ON k.room_id = t.room_id AND k.campus_id = t.campus_id AND k.kind = t.kind
  AND k.subject = t.subject
ORDER BY t.room_id, t.campus_id, t.kind, t.subject`;

const PG_SQL = { ...ROOM_PERIOD_SQL, roomKeys: PG_ROOM_KEYS, citusRoomKeys: CITUS_ROOM_KEYS };
const Q = Object.fromEntries(Object.entries(PG_SQL).map(([k, sql]) => [k, pgNamed(sql)])) as Record<
  keyof typeof PG_SQL,
  ReturnType<typeof pgNamed>
>;

/** The rows of one of ROOM_PERIOD_SQL's statements (in their PostgreSQL or Citus form). */
function rows<T>(db: PgQueryable, name: keyof typeof Q, params: Record<string, unknown> = {}): Promise<T[]> {
  return pgRows(db, Q[name].text, Q[name].values(params)) as Promise<T[]>;
}

/** Each (room, kind, subject)'s latest state at or before `cutoff`; `onCitus`: the form Citus plans. */
export async function pgKeyStates(db: PgQueryable, cutoff: number, onCitus = false): Promise<RoomKeyState[]> {
  return (await rows<KeyStateRow>(db, onCitus ? 'citusRoomKeys' : 'roomKeys', { cutoff })).map(keyStateOf);
}

/** Each (room, kind, subject)'s latest state of all (the `room_state` table the apply keeps). */
export async function pgLatestStates(db: PgQueryable): Promise<RoomKeyState[]> {
  return (await rows<KeyStateRow>(db, 'latest')).map(keyStateOf);
}

/** See assemblePeriods (room-periods.ts). */
export async function pgRoomPeriods(
  db: PgQueryable,
  from: number,
  to: number,
  filter: RoomFilter = {},
  onCitus = false,
): Promise<RoomPeriod[]> {
  const keyStates = await pgKeyStates(db, from, onCitus);
  const changes = await rows<ChangeRow>(db, 'periodChanges', { from, to });
  const reads = periodSensorReads(await rows<AnalyticSensorRow>(db, 'analyticSensors'), from, filter);
  const bySensor = await pgSensorsWindows(
    db,
    reads.map((r) => ({ sensorId: r.sensor.sensor_id, from: r.from })),
    to,
  );
  const sensors = reads.map((r) => ({ sensor: r.sensor, rows: bySensor.get(r.sensor.sensor_id) ?? [] }));
  const workOrders = await rows<WorkOrderRow>(db, 'workOrders', { to });
  return assemblePeriods(from, to, filter, { keyStates, changes, sensors, workOrders });
}
