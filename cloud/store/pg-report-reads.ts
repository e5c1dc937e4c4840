/**
 * The PostgreSQL store's live reporting reads: the SQLite store's statements (REPORT_SQL) with `$n`
 * placeholders, and the same mapping of their rows (report-reads.ts).
 */
import type { StateRow } from '../reporting/directory.ts';
import type { EnrolmentRow } from './enrolments.ts';
import { pgLatestStates } from './pg-room-periods.ts';
import { type PgQueryable, pgNamed, pgPlaceholders, pgRows } from './pg-sql.ts';
import { pgSensorsWindows } from './pg-window-seeks.ts';
import {
  type AlertCountRow,
  alertCountsOf,
  courseEngagementOf,
  courseEngagementParams,
  REPORT_SQL,
  type RoomSensorRow,
  roomSensorsOn,
  roomWindowsOf,
} from './report-reads.ts';
import type { Ambiguous, CourseEngagementRow, RoomWindows } from './types.ts';

const ALERTS = pgPlaceholders(REPORT_SQL.alerts);
const ROOM_SENSORS = pgPlaceholders(REPORT_SQL.roomSensors);
const COURSE = pgNamed(REPORT_SQL.course);

export function pgRoomStates(db: PgQueryable): Promise<StateRow[]> {
  return pgLatestStates(db);
}

export async function pgAlertCounts(db: PgQueryable, since: number): Promise<Map<string, number>> {
  return alertCountsOf(await pgRows<AlertCountRow>(db, ALERTS, [since]));
}

export async function pgRoomWindows(
  db: PgQueryable,
  roomId: string,
  quantity: string,
  from: number,
  to: number,
  campusId?: string,
): Promise<RoomWindows | Ambiguous | undefined> {
  const sensors = roomSensorsOn(await pgRows<RoomSensorRow>(db, ROOM_SENSORS, [roomId, quantity]), campusId);
  if (!Array.isArray(sensors)) return sensors;
  const bySensor = await pgSensorsWindows(
    db,
    sensors.map((s) => ({ sensorId: s.sensor_id, from })),
    to,
  );
  return roomWindowsOf(
    sensors,
    sensors.map((s) => bySensor.get(s.sensor_id) ?? []),
  );
}

export async function pgCourseEngagement(
  db: PgQueryable,
  courseId: string,
  cutoffTs: number,
  after: string,
  limit: number,
): Promise<CourseEngagementRow[]> {
  const rows = await pgRows<EnrolmentRow>(
    db,
    COURSE.text,
    COURSE.values(courseEngagementParams(courseId, cutoffTs, after, limit)),
  );
  return courseEngagementOf(rows, cutoffTs);
}
