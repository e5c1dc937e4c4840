/**
 * The room periods on PostgreSQL: the SQLite store's statements (ROOM_PERIOD_SQL) with `$n` placeholders,
 * and the same assembly of their rows (assemblePeriods). Every read runs on the given queryable: the pool
 * for a live read, a transaction's client while a snapshot is built.
 */
import type { RoomPeriod } from '../reporting/room-analytics.ts';
import type { RoomKeyState } from '../reporting/rooms.ts';
import { type PgQueryable, pgNamed, pgRows } from './pg-sql.ts';
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

const Q = Object.fromEntries(Object.entries(ROOM_PERIOD_SQL).map(([k, sql]) => [k, pgNamed(sql)])) as Record<
  keyof typeof ROOM_PERIOD_SQL,
  ReturnType<typeof pgNamed>
>;

/** The rows of one of ROOM_PERIOD_SQL's statements. */
function rows<T>(db: PgQueryable, name: keyof typeof Q, params: Record<string, unknown> = {}): Promise<T[]> {
  return pgRows(db, Q[name].text, Q[name].values(params)) as Promise<T[]>;
}

/** Each (room, kind, subject)'s latest state at or before `cutoff`. */
export async function pgKeyStates(db: PgQueryable, cutoff: number): Promise<RoomKeyState[]> {
  return (await rows<KeyStateRow>(db, 'roomKeys', { cutoff })).map(keyStateOf);
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
  roomId?: string,
): Promise<RoomPeriod[]> {
  const keyStates = await pgKeyStates(db, from);
  const changes = await rows<ChangeRow>(db, 'periodChanges', { from, to });
  const sensors: { sensor: AnalyticSensorRow; rows: WindowRow[] }[] = [];
  for (const s of periodSensorReads(await rows<AnalyticSensorRow>(db, 'analyticSensors'), from, roomId))
    sensors.push({ sensor: s.sensor, rows: await pgSensorWindows(db, s.sensor.sensor_id, s.from, to) });
  const workOrders = await rows<WorkOrderRow>(db, 'workOrders', { to });
  return assemblePeriods(from, to, roomId, { keyStates, changes, sensors, workOrders });
}

/** A sensor's windows starting in [from, to), of every size it has (one index range per size). */
export async function pgSensorWindows(
  db: PgQueryable,
  sensorId: number,
  from: number,
  to: number,
): Promise<WindowRow[]> {
  const out: WindowRow[] = [];
  for (const { ms } of await rows<{ ms: number }>(db, 'windowSizes', { sensor: sensorId }))
    out.push(...(await rows<WindowRow>(db, 'periodWindows', { sensor: sensorId, ms, from, to })));
  return out;
}
