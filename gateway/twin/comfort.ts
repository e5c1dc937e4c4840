/**
 * Comfort level of a room (ok / warn / alert) from configurable bands on temperature, humidity and CO2,
 * with a reason a person can read ("co2 1620 ppm ≥ 1500"). A value stepping back below a threshold must
 * clear it by a small deadband before the level drops, so a reading hovering at 1000 ppm does not emit a
 * change on every sample. Only recent readings count: a dead sensor's last value is device health's
 * business, not a comfort verdict.
 */
import type { ComfortLevel } from '../../shared/events.ts';
import type { Quantity } from '../../shared/quantities.ts';

/** Thresholds of one quantity; `null` disables a side (CO2 has no "too low"). Alerts are inclusive (≥, ≤). */
export interface Band {
  alertLow: number | null;
  warnLow: number | null;
  warnHigh: number | null;
  alertHigh: number | null;
}

export interface ComfortConfig {
  temperatureC: Band;
  humidityPct: Band;
  co2WarnPpm: number;
  co2AlertPpm: number;
  /** How far a value must come back inside a threshold before the level drops, per quantity. */
  comfortDeadband: { temperatureC: number; humidityPct: number; co2Ppm: number };
  /** Readings older than this are ignored for comfort. */
  comfortMaxReadingAgeMs: number;
}

export const COMFORT_QUANTITIES = ['temperature', 'humidity', 'co2'] as const;
export type ComfortQuantity = (typeof COMFORT_QUANTITIES)[number];

export interface ComfortState {
  level: ComfortLevel;
  reasons: string[];
  /** Level per quantity; remembered so the deadband knows which side of a threshold we came from. */
  byQuantity: Partial<Record<ComfortQuantity, ComfortLevel>>;
}

export interface ComfortInput {
  value: number;
  unit: string;
  ts: number;
}

const RANK: Record<ComfortLevel, number> = { ok: 0, warn: 1, alert: 2 };

export function initialComfort(): ComfortState {
  return { level: 'ok', reasons: [], byQuantity: {} };
}

function bandOf(q: ComfortQuantity, cfg: ComfortConfig): { band: Band; deadband: number } {
  switch (q) {
    case 'temperature':
      return { band: cfg.temperatureC, deadband: cfg.comfortDeadband.temperatureC };
    case 'humidity':
      return { band: cfg.humidityPct, deadband: cfg.comfortDeadband.humidityPct };
    case 'co2':
      return {
        band: { alertLow: null, warnLow: null, warnHigh: cfg.co2WarnPpm, alertHigh: cfg.co2AlertPpm },
        deadband: cfg.comfortDeadband.co2Ppm,
      };
  }
}

interface Judged {
  level: ComfortLevel;
  reason: string | null;
}

/** Level of one value; `relax` moves every threshold towards "ok" (used only to hold a level). */
function judge(q: Quantity, v: number, unit: string, band: Band, relax: number): Judged {
  const say = (op: '≥' | '≤', threshold: number, edge: number): string => {
    const base = `${q} ${formatNumber(v)} ${unit} ${op} ${formatNumber(threshold)}`;
    return relax > 0 ? `${base} (holding: ${formatNumber(edge)} − ${formatNumber(relax)} deadband)` : base;
  };
  if (band.alertHigh !== null && v >= band.alertHigh - relax) {
    return { level: 'alert', reason: say('≥', band.alertHigh - relax, band.alertHigh) };
  }
  if (band.alertLow !== null && v <= band.alertLow + relax) {
    return { level: 'alert', reason: say('≤', band.alertLow + relax, band.alertLow) };
  }
  if (band.warnHigh !== null && v >= band.warnHigh - relax) {
    return { level: 'warn', reason: say('≥', band.warnHigh - relax, band.warnHigh) };
  }
  if (band.warnLow !== null && v <= band.warnLow + relax) {
    return { level: 'warn', reason: say('≤', band.warnLow + relax, band.warnLow) };
  }
  return { level: 'ok', reason: null };
}

export function evaluateComfort(
  prev: ComfortState,
  latest: Partial<Record<ComfortQuantity, ComfortInput>>,
  now: number,
  cfg: ComfortConfig,
): ComfortState {
  const byQuantity: Partial<Record<ComfortQuantity, ComfortLevel>> = {};
  const found: Judged[] = [];
  for (const q of COMFORT_QUANTITIES) {
    const r = latest[q];
    if (!r || now - r.ts > cfg.comfortMaxReadingAgeMs) continue;
    const { band, deadband } = bandOf(q, cfg);
    let j = judge(q, r.value, r.unit, band, 0);
    const before = prev.byQuantity[q];
    if (before && RANK[j.level] < RANK[before] && deadband > 0) {
      // Falling back: keep the previous level while the value stays within the deadband of its threshold.
      const held = judge(q, r.value, r.unit, band, deadband);
      // (With overlapping bands the relaxed verdict could overshoot the previous level; then don't hold.)
      if (RANK[held.level] > RANK[j.level] && RANK[held.level] <= RANK[before]) j = held;
    }
    byQuantity[q] = j.level;
    found.push(j);
  }
  let level: ComfortLevel = 'ok';
  for (const j of found) if (RANK[j.level] > RANK[level]) level = j.level;
  const reasons = found
    .filter((j) => j.reason !== null)
    .sort((a, b) => RANK[b.level] - RANK[a.level])
    .map((j) => j.reason!);
  return { level, reasons, byQuantity };
}

/** Integers from 100 up, one decimal below; no trailing ".0". */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const rounded = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}
