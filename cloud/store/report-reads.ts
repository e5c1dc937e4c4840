/**
 * The SQLite store's live reporting reads: every room's latest state, alert counts, a room's windows for one
 * quantity (for history), and one course's engagement computed now. Statements prepared once. The statements
 * (REPORT_SQL) and what is made of their rows are shared with the PostgreSQL store (pg-report-reads.ts).
 */
import type Database from 'better-sqlite3';
import type { StateRow } from '../reporting/directory.ts';
import { engagementState } from '../reporting/engagement.ts';
import { roomKey } from '../reporting/rooms.ts';
import { type EnrolmentRow, enrolmentPageSql, enrolmentParams, features } from './enrolments.ts';
import { pickCampus } from './reads.ts';
import type { SqliteRoomPeriods, WindowRow } from './room-periods.ts';
import { prepareAll } from './sql.ts';
import type { Ambiguous, CourseEngagementRow, RoomWindows } from './types.ts';

/** `?` placeholders, except `course` (`@name`, see courseEngagementParams). */
export const REPORT_SQL = {
  alerts: `SELECT room_id, campus_id, COUNT(*) AS n FROM alerts WHERE ts >= ? AND room_id IS NOT NULL
    GROUP BY room_id, campus_id`,
  roomSensors: `SELECT sensor_id, campus_id, device_id, channel FROM sensors WHERE room_id = ? AND quantity = ?
    ORDER BY campus_id, device_id, channel`,
  course: enrolmentPageSql(true),
} as const;

export interface RoomSensorRow {
  sensor_id: number;
  campus_id: string;
  device_id: string;
  channel: string;
}

export interface AlertCountRow {
  room_id: string;
  campus_id: string;
  n: number;
}

export function alertCountsOf(rows: readonly AlertCountRow[]): Map<string, number> {
  return new Map(rows.map((r) => [roomKey(r.campus_id, r.room_id), r.n]));
}

/**
 * The sensors of a room id's quantity (read with roomSensors) on the campus a read is about (pickCampus):
 * an empty list when the room has none there, Ambiguous when several campuses have some and none is named.
 */
export function roomSensorsOn(
  rows: readonly RoomSensorRow[],
  campusId?: string,
): RoomSensorRow[] | Ambiguous {
  const campus = pickCampus([...new Set(rows.map((r) => r.campus_id))], campusId);
  if (campus !== undefined && typeof campus !== 'string') return campus;
  return rows.filter((r) => r.campus_id === campus);
}

/** A room's windows of one quantity: its sensors, each with its windows (read in the sensors' order). */
export function roomWindowsOf(
  sensors: readonly RoomSensorRow[],
  windows: readonly (readonly WindowRow[])[],
): RoomWindows | undefined {
  if (sensors.length === 0) return undefined;
  return {
    sensors: sensors.map((s) => ({ deviceId: s.device_id, channel: s.channel })),
    windows: windows.flatMap((rows) =>
      rows.map((r) => ({
        windowStart: r.window_start,
        windowMs: r.window_ms,
        count: r.count,
        sum: r.sum,
        min: r.min,
        max: r.max,
      })),
    ),
  };
}

/** The `course` statement's parameters. */
export function courseEngagementParams(courseId: string, cutoffTs: number, after: string, limit: number) {
  return { ...enrolmentParams(cutoffTs), courseId, actor: after, limit };
}

export function courseEngagementOf(rows: readonly EnrolmentRow[], cutoffTs: number): CourseEngagementRow[] {
  return rows.map((r) => ({
    studentId: r.actor_id,
    courseId: r.course_id,
    state: engagementState(features(r), cutoffTs),
  }));
}

export class SqliteReportReads {
  readonly #q;
  readonly #rooms: SqliteRoomPeriods;

  constructor(db: Database.Database, rooms: SqliteRoomPeriods) {
    this.#rooms = rooms;
    this.#q = prepareAll(db, REPORT_SQL);
  }

  roomStates(): StateRow[] {
    return this.#rooms.latestStates();
  }

  alertCounts(since: number): Map<string, number> {
    return alertCountsOf(this.#q.alerts.all(since) as AlertCountRow[]);
  }

  roomWindows(
    roomId: string,
    quantity: string,
    from: number,
    to: number,
    campusId?: string,
  ): RoomWindows | Ambiguous | undefined {
    const sensors = roomSensorsOn(this.#q.roomSensors.all(roomId, quantity) as RoomSensorRow[], campusId);
    if (!Array.isArray(sensors)) return sensors;
    return roomWindowsOf(
      sensors,
      sensors.map((s) => this.#rooms.windows(s.sensor_id, from, to)),
    );
  }

  courseEngagement(courseId: string, cutoffTs: number, after: string, limit: number): CourseEngagementRow[] {
    const rows = this.#q.course.all(
      courseEngagementParams(courseId, cutoffTs, after, limit),
    ) as EnrolmentRow[];
    return courseEngagementOf(rows, cutoffTs);
  }
}
