/**
 * What the store knows about rooms over a period, read once for snapshot analytics and facility risk: each
 * room's twin timelines (state at the start and changes inside), its CO2/energy/power windows, its energy
 * history for a same-hour-of-week baseline, and its open work orders. Portable SQL.
 */
import type Database from 'better-sqlite3';
import {
  ENERGY_BASELINE_WEEKS,
  type EnergyWindow,
  openWorkOrders,
  type WorkOrder,
} from '../reporting/facility-risk.ts';
import type { RoomPeriod, Timeline, WindowValue } from '../reporting/room-analytics.ts';
import type { RoomKeyState } from '../reporting/rooms.ts';

/** Each (room, kind, subject)'s latest change at or before the cut-off (ties: the larger item id). */
const ROOM_KEYS = `SELECT t.room_id, t.kind, t.subject, t.to_state AS state, t.ts, t.reasons
FROM room_state k JOIN twin_changes t
  ON t.room_id = k.room_id AND t.kind = k.kind AND t.subject = k.subject
WHERE t.item_id = (SELECT t2.item_id FROM twin_changes t2
  WHERE t2.room_id = k.room_id AND t2.kind = k.kind AND t2.subject = k.subject AND t2.ts <= @cutoff
  ORDER BY t2.ts DESC, t2.item_id DESC LIMIT 1)
ORDER BY t.room_id, t.kind, t.subject`;

/** Twin changes inside a period, per key in time order. */
const PERIOD_CHANGES = `SELECT room_id, kind, subject, to_state, ts FROM twin_changes
WHERE ts > @from AND ts <= @to ORDER BY room_id, kind, subject, ts, item_id`;

/** The window sizes a sensor has, by a loose index scan (one seek per size, not one row per window). */
const WINDOW_SIZES = `WITH RECURSIVE w(ms) AS (
  SELECT MIN(window_ms) FROM aggregates WHERE sensor_id = @sensor
  UNION ALL
  SELECT (SELECT MIN(window_ms) FROM aggregates WHERE sensor_id = @sensor AND window_ms > w.ms) FROM w
  WHERE w.ms IS NOT NULL)
SELECT ms FROM w WHERE ms IS NOT NULL`;

const PERIOD_WINDOWS = `SELECT window_start, window_ms, count, sum, min, max, first_value, last_value FROM aggregates
WHERE sensor_id = @sensor AND window_ms = @ms AND window_start >= @from AND window_start < @to`;

const ANALYTIC_QUANTITIES = ['co2', 'energy', 'power'] as const;
type Analytic = (typeof ANALYTIC_QUANTITIES)[number];

const WORK_ORDERS = `SELECT room_id, type, ts, body FROM events
WHERE room_id IS NOT NULL AND type IN ('workorder.opened', 'workorder.closed') AND ts <= @to
ORDER BY room_id, ts, event_id`;

const WEEK_MS = 7 * 86_400_000;

interface KeyStateRow {
  room_id: string;
  kind: string;
  subject: string;
  state: string;
  ts: number;
  reasons: string;
}

function keyStateOf(r: KeyStateRow): RoomKeyState {
  return {
    roomId: r.room_id,
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

export class SqliteRoomPeriods {
  readonly #q;

  constructor(db: Database.Database) {
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      roomKeys: q(ROOM_KEYS),
      latest: q(
        'SELECT room_id, kind, subject, state, ts, reasons FROM room_state ORDER BY room_id, kind, subject',
      ),
      periodChanges: q(PERIOD_CHANGES),
      analyticSensors: q(
        `SELECT sensor_id, room_id, quantity FROM sensors WHERE quantity IN (${ANALYTIC_QUANTITIES.map((x) => `'${x}'`).join(', ')})
         ORDER BY room_id, sensor_id`,
      ),
      windowSizes: q(WINDOW_SIZES),
      periodWindows: q(PERIOD_WINDOWS),
      workOrders: q(WORK_ORDERS),
    };
  }

  /** Each (room, kind, subject)'s latest state at or before `cutoff`. */
  keyStates(cutoff: number): RoomKeyState[] {
    return (this.#q.roomKeys.all({ cutoff }) as KeyStateRow[]).map(keyStateOf);
  }

  /** Each (room, kind, subject)'s latest state of all (the `room_state` table the apply keeps). */
  latestStates(): RoomKeyState[] {
    return (this.#q.latest.all() as KeyStateRow[]).map(keyStateOf);
  }

  /**
   * Every room with twin history or analytic sensors (or just `roomId`), with its timelines and windows in
   * [from, to), its energy history back to the baseline weeks, and its work orders open at `to`.
   */
  periods(from: number, to: number, roomId?: string): RoomPeriod[] {
    const q = this.#q;
    const wanted = (id: string) => roomId === undefined || id === roomId;
    const periods = new Map<string, RoomPeriod>();
    const period = (roomId: string): RoomPeriod => {
      let p = periods.get(roomId);
      if (!p) {
        p = {
          roomId,
          from,
          to,
          health: new Map(),
          co2: [],
          energy: [],
          power: [],
          energyHistory: [],
          workOrders: [],
        };
        periods.set(roomId, p);
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
    for (const k of this.keyStates(from)) {
      if (!wanted(k.roomId)) continue;
      const t = timeline(period(k.roomId), k.kind, k.subject);
      if (t) t.initial = k.state;
    }
    const changes = q.periodChanges.all({ from, to }) as {
      room_id: string;
      kind: string;
      subject: string;
      to_state: string;
      ts: number;
    }[];
    for (const c of changes) {
      if (!wanted(c.room_id)) continue;
      timeline(period(c.room_id), c.kind, c.subject)?.changes.push({ ts: c.ts, state: c.to_state });
    }
    const sensors = (
      q.analyticSensors.all() as { sensor_id: number; room_id: string; quantity: Analytic }[]
    ).filter((s) => wanted(s.room_id));
    // Energy and power sensors are read once, back to the baseline weeks: the period's part of that read
    // feeds the period's figures, all of it the same-hour-of-week baseline.
    const historyFrom = from - ENERGY_BASELINE_WEEKS * WEEK_MS;
    const history = new Map<string, { energy: EnergyWindow[]; power: EnergyWindow[] }>();
    for (const sensor of sensors) {
      const metered = sensor.quantity !== 'co2';
      const rows = this.windows(sensor.sensor_id, metered ? historyFrom : from, to);
      const windows: WindowValue[] = rows
        .filter((r) => r.window_start >= from)
        .map((r) => ({
          windowStart: r.window_start,
          windowMs: r.window_ms,
          mean: r.sum / r.count,
          first: r.first_value,
          last: r.last_value,
        }));
      if (windows.length > 0) period(sensor.room_id)[sensor.quantity].push(windows);
      if (!metered) continue;
      const acc = history.get(sensor.room_id) ?? { energy: [], power: [] };
      history.set(sensor.room_id, acc);
      for (const r of rows) {
        if (sensor.quantity === 'energy')
          acc.energy.push({ windowStart: r.window_start, kwh: Math.max(0, r.last_value - r.first_value) });
        else
          acc.power.push({ windowStart: r.window_start, kwh: ((r.sum / r.count) * r.window_ms) / 3_600_000 });
      }
    }
    // A room's energy registers make its baseline; a room without any, its power integrated.
    for (const [id, acc] of history) {
      const windows = acc.energy.length > 0 ? acc.energy : acc.power;
      if (windows.length > 0) period(id).energyHistory = windows;
    }
    const orders = new Map<
      string,
      { type: string; ts: number; workOrderId: string | null; priority: WorkOrder['priority'] }[]
    >();
    for (const r of q.workOrders.all({ to }) as {
      room_id: string;
      type: string;
      ts: number;
      body: string;
    }[]) {
      if (!wanted(r.room_id)) continue;
      const b = JSON.parse(r.body) as { workOrderId?: unknown; priority?: unknown };
      const list = orders.get(r.room_id) ?? [];
      list.push({
        type: r.type,
        ts: r.ts,
        workOrderId: typeof b.workOrderId === 'string' ? b.workOrderId : null,
        priority: (['low', 'normal', 'high', 'urgent'] as const).find((x) => x === b.priority) ?? null,
      });
      orders.set(r.room_id, list);
    }
    for (const [roomId, list] of orders) {
      const open = openWorkOrders(list, to);
      if (open.length > 0) period(roomId).workOrders = open;
    }
    return [...periods.values()].sort((a, b) => (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
  }

  /** A sensor's windows starting in [from, to), of every size it has (one index range per size). */
  windows(sensorId: number, from: number, to: number): WindowRow[] {
    const out: WindowRow[] = [];
    for (const { ms } of this.#q.windowSizes.all({ sensor: sensorId }) as { ms: number }[])
      out.push(...(this.#q.periodWindows.all({ sensor: sensorId, ms, from, to }) as WindowRow[]));
    return out;
  }
}
