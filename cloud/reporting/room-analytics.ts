/**
 * Facility analytics for one room over a period (default the 24 h to a snapshot's cut-off), from its twin
 * history and its sensors' windows. Pure and minute-based: each minute of the period is judged at its
 * midpoint, so every figure is a count of minutes (or a share of them) that a person can check by hand.
 *
 * - utilization: occupied minutes ÷ minutes with a known occupancy, counted inside open hours only;
 * - comfort_violation_minutes: minutes whose comfort level was warn or alert (all hours);
 * - co2_over_1000_minutes: minutes covered by a CO2 window whose mean exceeded 1000 ppm (any sensor);
 * - energy_kwh: energy-register sensors' rise (last − first) over the period; without any, power windows
 *   integrated (mean kW × window hours);
 * - device_offline_share: offline device-minutes ÷ device-minutes with a known health.
 * A metric with nothing to judge it by (no occupancy known, no sensor) is left out rather than reported as 0.
 */

import type { EnergyWindow, WorkOrder } from './facility-risk.ts';

export const MINUTE_MS = 60_000;

/** A state over time: the state at the period's start (null if unknown) and the changes inside it. */
export interface Timeline {
  initial: string | null;
  /** Sorted by ts; only changes with from < ts ≤ to. */
  changes: { ts: number; state: string }[];
}

export interface WindowValue {
  windowStart: number;
  windowMs: number;
  mean: number;
  first: number;
  last: number;
}

export interface RoomPeriod {
  roomId: string;
  /** The room's campus ('' for rooms of gateways that name none). */
  campusId: string;
  from: number;
  to: number;
  occupancy?: Timeline;
  comfort?: Timeline;
  health: Map<string, Timeline>;
  /** Per sensor, its windows starting in [from, to). */
  co2: WindowValue[][];
  energy: WindowValue[][];
  power: WindowValue[][];
  /** kWh per window from the baseline weeks before `from` up to `to` (facility-risk.ts). */
  energyHistory?: EnergyWindow[];
  /** Work orders still open at `to`. */
  workOrders?: WorkOrder[];
}

export interface MetricValue {
  metric: string;
  value: number;
}

/** `true` for each minute of [from, to) that falls in open hours (`openHours` says how, see openHoursMask). */
export type OpenMask = readonly boolean[];

/** The state of a timeline at each minute midpoint of [from, to). */
export function perMinute(t: Timeline, from: number, to: number): (string | null)[] {
  const n = Math.max(0, Math.floor((to - from) / MINUTE_MS));
  const out: (string | null)[] = new Array(n);
  let state = t.initial;
  let i = 0;
  for (let m = 0; m < n; m++) {
    const mid = from + m * MINUTE_MS + MINUTE_MS / 2;
    while (i < t.changes.length && t.changes[i]!.ts <= mid) state = t.changes[i++]!.state;
    out[m] = state;
  }
  return out;
}

/**
 * Open minutes of [from, to) for daily open hours "HH:MM-HH:MM" in an IANA time zone ('00:00-24:00' = always).
 * The local time of each minute comes from Intl, so daylight-saving days are right.
 */
export function openHoursMask(from: number, to: number, openHours: string, timeZone: string): boolean[] {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(openHours);
  if (!m) throw new Error(`open hours must look like 08:00-18:00, not "${openHours}"`);
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const n = Math.max(0, Math.floor((to - from) / MINUTE_MS));
  const out: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const parts = fmt.formatToParts(new Date(from + i * MINUTE_MS + MINUTE_MS / 2));
    const hh = Number(parts.find((p) => p.type === 'hour')?.value);
    const mm = Number(parts.find((p) => p.type === 'minute')?.value);
    const local = hh * 60 + mm;
    out[i] = start <= end ? local >= start && local < end : local >= start || local < end;
  }
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function roomAnalytics(p: RoomPeriod, open: OpenMask): MetricValue[] {
  const out: MetricValue[] = [];
  const n = Math.max(0, Math.floor((p.to - p.from) / MINUTE_MS));

  if (p.occupancy) {
    const states = perMinute(p.occupancy, p.from, p.to);
    let observed = 0;
    let occupied = 0;
    for (let m = 0; m < n; m++) {
      if (!open[m] || states[m] === null || states[m] === 'unknown') continue;
      observed++;
      if (states[m] === 'occupied') occupied++;
    }
    if (observed > 0) out.push({ metric: 'utilization', value: round3(occupied / observed) });
  }

  if (p.comfort) {
    const states = perMinute(p.comfort, p.from, p.to);
    if (states.some((s) => s !== null)) {
      const bad = states.filter((s) => s === 'warn' || s === 'alert').length;
      out.push({ metric: 'comfort_violation_minutes', value: bad });
    }
  }

  if (p.co2.length > 0) {
    const over = new Set<number>();
    for (const sensor of p.co2) {
      for (const w of sensor) {
        if (w.mean <= 1000) continue;
        const first = Math.max(0, Math.floor((w.windowStart - p.from) / MINUTE_MS));
        const last = Math.min(n, Math.ceil((w.windowStart + w.windowMs - p.from) / MINUTE_MS));
        for (let m = first; m < last; m++) over.add(m);
      }
    }
    out.push({ metric: 'co2_over_1000_minutes', value: over.size });
  }

  if (p.energy.some((s) => s.length > 0)) {
    let kwh = 0;
    for (const sensor of p.energy) {
      if (sensor.length === 0) continue;
      const sorted = [...sensor].sort((a, b) => a.windowStart - b.windowStart);
      kwh += Math.max(0, sorted[sorted.length - 1]!.last - sorted[0]!.first);
    }
    out.push({ metric: 'energy_kwh', value: round3(kwh) });
  } else if (p.power.some((s) => s.length > 0)) {
    let kwh = 0;
    for (const sensor of p.power) for (const w of sensor) kwh += (w.mean * w.windowMs) / 3_600_000;
    out.push({ metric: 'energy_kwh', value: round3(kwh) });
  }

  if (p.health.size > 0) {
    let observed = 0;
    let offline = 0;
    for (const t of p.health.values()) {
      for (const s of perMinute(t, p.from, p.to)) {
        if (s === null) continue;
        observed++;
        if (s === 'offline') offline++;
      }
    }
    if (observed > 0) out.push({ metric: 'device_offline_share', value: round3(offline / observed) });
  }
  return out;
}
