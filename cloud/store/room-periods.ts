/**
 * What the store knows about rooms over a period, read once for snapshot analytics and facility risk: each
 * room's twin timelines (state at the start and changes inside), its CO2/energy/power windows, its energy
 * history for a same-hour-of-week baseline, and its open work orders. Portable SQL (ROOM_PERIOD_SQL), run by
 * SqliteRoomPeriods here and PgRoomPeriods (pg-room-periods.ts); what is made of the rows read
 * (assemblePeriods, keyStateOf) is shared by both.
 */
import type Database from 'better-sqlite3';
import {
  ENERGY_BASELINE_WEEKS,
  type EnergyWindow,
  openWorkOrders,
  type WorkOrder,
} from '../reporting/facility-risk.ts';
import type { RoomPeriod, Timeline, WindowValue } from '../reporting/room-analytics.ts';
import { byRoom, type RoomKeyState, roomKey } from '../reporting/rooms.ts';
import { prepareAll } from './sql.ts';
import type { RoomFilter } from './types.ts';
import type { SqliteWindowSeeks } from './window-seeks.ts';

/**
 * Each (room, campus, kind, subject)'s latest change at or before the cut-off (ties: the larger item id): for
 * each latest-state key, one seek of twin_changes_key for the change, then its row by primary key. Driven by
 * room_state (a row per key), not by twin_changes: with 400,000 changes over 2,000 keys this is 11 ms
 * instead of 420 ms on SQLite, where the join on the key columns scanned every change. PostgreSQL runs the
 * LATERAL form of the same (pg-room-periods.ts).
 */
const ROOM_KEYS = `SELECT t.room_id, t.campus_id, t.kind, t.subject, t.to_state AS state, t.ts, t.reasons
FROM room_state k JOIN twin_changes t ON (t.gateway_id, t.item_id) = (SELECT t2.gateway_id, t2.item_id
  FROM twin_changes t2
  WHERE t2.room_id = k.room_id AND t2.campus_id = k.campus_id AND t2.kind = k.kind AND t2.subject = k.subject
    AND t2.ts <= @cutoff
  ORDER BY t2.ts DESC, t2.item_id DESC LIMIT 1)
ORDER BY t.room_id, t.campus_id, t.kind, t.subject`;

/** Twin changes inside a period, per key in time order. */
const PERIOD_CHANGES = `SELECT room_id, campus_id, kind, subject, to_state, ts FROM twin_changes
WHERE ts > @from AND ts <= @to ORDER BY room_id, campus_id, kind, subject, ts, item_id`;

const ANALYTIC_QUANTITIES = ['co2', 'energy', 'power'] as const;
export type Analytic = (typeof ANALYTIC_QUANTITIES)[number];

/** Work orders (admin events) by room; an event's campus is its gateway's ('' for imports and unnamed). */
const WORK_ORDERS = `SELECT e.room_id, COALESCE(g.campus_id, '') AS campus_id, e.type, e.ts, e.body FROM events e
  LEFT JOIN gateways g ON g.gateway_id = e.gateway_id
WHERE e.room_id IS NOT NULL AND e.type IN ('workorder.opened', 'workorder.closed') AND e.ts <= @to
ORDER BY e.room_id, campus_id, e.ts, e.event_id`;

const WEEK_MS = 7 * 86_400_000;

export interface KeyStateRow {
  room_id: string;
  campus_id: string;
  kind: string;
  subject: string;
  state: string;
  ts: number;
  reasons: string;
}

export function keyStateOf(r: KeyStateRow): RoomKeyState {
  return {
    roomId: r.room_id,
    campusId: r.campus_id,
    kind: r.kind,
    subject: r.subject,
    state: r.state,
    ts: r.ts,
    reasons: JSON.parse(r.reasons) as string[],
  };
}

export interface WindowRow {
  window_start: number;
  window_ms: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  first_value: number;
  last_value: number;
}

/** Every statement the room periods run (`@name` parameters). */
export const ROOM_PERIOD_SQL = {
  roomKeys: ROOM_KEYS,
  latest: `SELECT room_id, campus_id, kind, subject, state, ts, reasons FROM room_state
    ORDER BY room_id, campus_id, kind, subject`,
  periodChanges: PERIOD_CHANGES,
  analyticSensors: `SELECT sensor_id, room_id, campus_id, quantity FROM sensors WHERE quantity IN (${ANALYTIC_QUANTITIES.map((x) => `'${x}'`).join(', ')})
         ORDER BY room_id, campus_id, sensor_id`,
  workOrders: WORK_ORDERS,
} as const;

export interface ChangeRow {
  room_id: string;
  campus_id: string;
  kind: string;
  subject: string;
  to_state: string;
  ts: number;
}

export interface AnalyticSensorRow {
  sensor_id: number;
  room_id: string;
  campus_id: string;
  quantity: Analytic;
}

export interface WorkOrderRow {
  room_id: string;
  campus_id: string;
  type: string;
  ts: number;
  body: string;
}

const wantedBy =
  (f: RoomFilter) =>
  (roomId: string, campusId: string): boolean =>
    (f.roomId === undefined || roomId === f.roomId) && (f.campusId === undefined || campusId === f.campusId);

/**
 * The analytic sensors of the wanted rooms, each with where its windows are read from: energy and power
 * sensors back to the baseline weeks (the period's part of that read feeds the period's figures, all of it
 * the same-hour-of-week baseline), CO2 sensors from `from`.
 */
export function periodSensorReads(
  sensors: readonly AnalyticSensorRow[],
  from: number,
  filter: RoomFilter = {},
): { sensor: AnalyticSensorRow; from: number }[] {
  const historyFrom = from - ENERGY_BASELINE_WEEKS * WEEK_MS;
  const wanted = wantedBy(filter);
  return sensors
    .filter((s) => wanted(s.room_id, s.campus_id))
    .map((sensor) => ({ sensor, from: sensor.quantity === 'co2' ? from : historyFrom }));
}

/** What `assemblePeriods` is made from: the rows a store read for one period. */
export interface PeriodReads {
  /** Each key's state at `from` (the rows of `roomKeys` with `cutoff = from`). */
  keyStates: readonly RoomKeyState[];
  /** `periodChanges` in [from, to). */
  changes: readonly ChangeRow[];
  /** The sensors of `periodSensorReads`, in its order, each with its windows read from its `from`. */
  sensors: readonly { sensor: AnalyticSensorRow; rows: readonly WindowRow[] }[];
  /** `workOrders` up to `to`. */
  workOrders: readonly WorkOrderRow[];
}

/**
 * Every room (campus and id) with twin history or analytic sensors, of those `filter` wants, with its
 * timelines and windows in [from, to), its energy history back to the baseline weeks, and its work orders
 * open at `to`; sorted by room id, then campus.
 */
export function assemblePeriods(
  from: number,
  to: number,
  filter: RoomFilter,
  reads: PeriodReads,
): RoomPeriod[] {
  const wanted = wantedBy(filter);
  const periods = new Map<string, RoomPeriod>();
  const period = (roomId: string, campusId: string): RoomPeriod => {
    const k = roomKey(campusId, roomId);
    let p = periods.get(k);
    if (!p) {
      p = {
        roomId,
        campusId,
        from,
        to,
        health: new Map(),
        co2: [],
        energy: [],
        power: [],
        energyHistory: [],
        workOrders: [],
      };
      periods.set(k, p);
    }
    return p;
  };
  const timeline = (p: RoomPeriod, kind: string, subject: string): Timeline | undefined => {
    if (kind === 'occupancy' || kind === 'comfort') {
      p[kind] ??= { initial: null, changes: [] };
      return p[kind];
    }
    if (kind !== 'health') return undefined;
    let t = p.health.get(subject);
    if (!t) {
      t = { initial: null, changes: [] };
      p.health.set(subject, t);
    }
    return t;
  };
  for (const k of reads.keyStates) {
    if (!wanted(k.roomId, k.campusId)) continue;
    const t = timeline(period(k.roomId, k.campusId), k.kind, k.subject);
    if (t) t.initial = k.state;
  }
  for (const c of reads.changes) {
    if (!wanted(c.room_id, c.campus_id)) continue;
    const p = period(c.room_id, c.campus_id);
    timeline(p, c.kind, c.subject)?.changes.push({ ts: c.ts, state: c.to_state });
  }
  /** Per room (roomKey), its energy history; a period is made only for a room with some (below). */
  const history = new Map<
    string,
    { roomId: string; campusId: string; energy: EnergyWindow[]; power: EnergyWindow[] }
  >();
  for (const { sensor, rows } of reads.sensors) {
    if (!wanted(sensor.room_id, sensor.campus_id)) continue;
    const windows: WindowValue[] = rows
      .filter((r) => r.window_start >= from)
      .map((r) => ({
        windowStart: r.window_start,
        windowMs: r.window_ms,
        mean: r.sum / r.count,
        first: r.first_value,
        last: r.last_value,
      }));
    if (windows.length > 0) period(sensor.room_id, sensor.campus_id)[sensor.quantity].push(windows);
    if (sensor.quantity === 'co2') continue;
    const k = roomKey(sensor.campus_id, sensor.room_id);
    const acc = history.get(k) ?? {
      roomId: sensor.room_id,
      campusId: sensor.campus_id,
      energy: [],
      power: [],
    };
    history.set(k, acc);
    for (const r of rows) {
      if (sensor.quantity === 'energy')
        acc.energy.push({ windowStart: r.window_start, kwh: Math.max(0, r.last_value - r.first_value) });
      else
        acc.power.push({ windowStart: r.window_start, kwh: ((r.sum / r.count) * r.window_ms) / 3_600_000 });
    }
  }
  // A room's energy registers make its baseline; a room without any, its power integrated.
  for (const acc of history.values()) {
    const windows = acc.energy.length > 0 ? acc.energy : acc.power;
    if (windows.length > 0) period(acc.roomId, acc.campusId).energyHistory = windows;
  }
  type Order = { type: string; ts: number; workOrderId: string | null; priority: WorkOrder['priority'] };
  const orders = new Map<string, { roomId: string; campusId: string; list: Order[] }>();
  for (const r of reads.workOrders) {
    if (!wanted(r.room_id, r.campus_id)) continue;
    const b = JSON.parse(r.body) as { workOrderId?: unknown; priority?: unknown };
    const k = roomKey(r.campus_id, r.room_id);
    const room = orders.get(k) ?? { roomId: r.room_id, campusId: r.campus_id, list: [] };
    room.list.push({
      type: r.type,
      ts: r.ts,
      workOrderId: typeof b.workOrderId === 'string' ? b.workOrderId : null,
      priority: (['low', 'normal', 'high', 'urgent'] as const).find((x) => x === b.priority) ?? null,
    });
    orders.set(k, room);
  }
  for (const { roomId, campusId, list } of orders.values()) {
    const open = openWorkOrders(list, to);
    if (open.length > 0) period(roomId, campusId).workOrders = open;
  }
  return [...periods.values()].sort(byRoom);
}

export class SqliteRoomPeriods {
  readonly #q;
  readonly #seeks: SqliteWindowSeeks;

  constructor(db: Database.Database, seeks: SqliteWindowSeeks) {
    this.#q = prepareAll(db, ROOM_PERIOD_SQL);
    this.#seeks = seeks;
  }

  /** Each (room, kind, subject)'s latest state at or before `cutoff`. */
  keyStates(cutoff: number): RoomKeyState[] {
    return (this.#q.roomKeys.all({ cutoff }) as KeyStateRow[]).map(keyStateOf);
  }

  /** Each (room, kind, subject)'s latest state of all (the `room_state` table the apply keeps). */
  latestStates(): RoomKeyState[] {
    return (this.#q.latest.all() as KeyStateRow[]).map(keyStateOf);
  }

  /** See assemblePeriods. */
  periods(from: number, to: number, filter: RoomFilter = {}): RoomPeriod[] {
    const q = this.#q;
    const keyStates = this.keyStates(from);
    const changes = q.periodChanges.all({ from, to }) as ChangeRow[];
    const sensors = periodSensorReads(q.analyticSensors.all() as AnalyticSensorRow[], from, filter).map(
      (s) => ({ sensor: s.sensor, rows: this.windows(s.sensor.sensor_id, s.from, to) }),
    );
    const workOrders = q.workOrders.all({ to }) as WorkOrderRow[];
    return assemblePeriods(from, to, filter, { keyStates, changes, sensors, workOrders });
  }

  /** A sensor's windows starting in [from, to), of every size it has: by size, then start. */
  windows(sensorId: number, from: number, to: number): WindowRow[] {
    return this.#seeks.bySize<WindowRow>(sensorId, from, to);
  }
}
