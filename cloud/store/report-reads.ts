/**
 * The SQLite store's live reporting reads: every room's latest state, alert counts, a room's windows for one
 * quantity (for history), and one course's engagement computed now. Statements prepared once.
 */
import type Database from 'better-sqlite3';
import type { StateRow } from '../reporting/directory.ts';
import { engagementState } from '../reporting/engagement.ts';
import { type EnrolmentRow, enrolmentPageSql, enrolmentParams, features } from './enrolments.ts';
import type { SqliteRoomPeriods } from './room-periods.ts';
import type { CourseEngagementRow, RoomWindows } from './types.ts';

export class SqliteReportReads {
  readonly #q;
  readonly #rooms: SqliteRoomPeriods;

  constructor(db: Database.Database, rooms: SqliteRoomPeriods) {
    this.#rooms = rooms;
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      alerts: q(
        'SELECT room_id, COUNT(*) AS n FROM alerts WHERE ts >= ? AND room_id IS NOT NULL GROUP BY room_id',
      ),
      roomSensors: q(
        'SELECT sensor_id, device_id, channel FROM sensors WHERE room_id = ? AND quantity = ? ORDER BY device_id, channel',
      ),
      course: q(enrolmentPageSql(true)),
    };
  }

  roomStates(): StateRow[] {
    return this.#rooms.latestStates();
  }

  alertCounts(since: number): Map<string, number> {
    const rows = this.#q.alerts.all(since) as { room_id: string; n: number }[];
    return new Map(rows.map((r) => [r.room_id, r.n]));
  }

  roomWindows(roomId: string, quantity: string, from: number, to: number): RoomWindows | undefined {
    const sensors = this.#q.roomSensors.all(roomId, quantity) as {
      sensor_id: number;
      device_id: string;
      channel: string;
    }[];
    if (sensors.length === 0) return undefined;
    const windows = sensors.flatMap((s) =>
      this.#rooms.windows(s.sensor_id, from, to).map((r) => ({
        windowStart: r.window_start,
        windowMs: r.window_ms,
        count: r.count,
        sum: r.sum,
        min: r.min,
        max: r.max,
      })),
    );
    return { sensors: sensors.map((s) => ({ deviceId: s.device_id, channel: s.channel })), windows };
  }

  courseEngagement(courseId: string, cutoffTs: number, after: string, limit: number): CourseEngagementRow[] {
    const rows = this.#q.course.all({
      ...enrolmentParams(cutoffTs),
      courseId,
      actor: after,
      limit,
    }) as EnrolmentRow[];
    return rows.map((r) => ({
      studentId: r.actor_id,
      courseId: r.course_id,
      state: engagementState(features(r), cutoffTs),
    }));
  }
}
