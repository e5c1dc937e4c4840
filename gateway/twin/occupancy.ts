/**
 * Occupancy of a room: occupied or not, a confidence in that verdict (0..1) and the basis it rests on.
 *
 * Precedence (first that applies wins):
 *  1. `occupancy_count`, when a counter has reported recently: count > 0 → occupied (confidence 1),
 *     count 0 → vacant (0.95: counters drift).
 *  2. `motion`, when a motion sensor has reported recently: a motion=1 within motionHoldMs → occupied
 *     (0.95); otherwise vacant (0.8: a PIR misses people sitting still).
 *  3. Environment (basis `light+co2`, `light` or `co2`): evidence combined in log-odds,
 *
 *       logit p = prior + wL·fL·tanh((lux − L0) / Ls) + wC·fC·tanh((G − G0) / Gs)
 *
 *     - Prior: what the time says before any sensor does. During a booking of the room (admin
 *       `room.booked` events) bookedPriorLogOdds; otherwise priorLogOdds inside the campus's usual hours
 *       (usualDays, usualFromMinute…usualToMinute, local time) and offHoursPriorLogOdds outside them, so
 *       a lingering CO2 level at night or at a weekend needs stronger evidence. A prior other than the
 *       usual-hours one is named in the reasons.
 *
 *     - Light: lights on (≳ L0) is strong evidence of people, darkness strong evidence of none; daylight just
 *       above L0 is only mild evidence, so CO2 can overrule a sunny empty room. L0 is the room's own: each
 *       room learns its lit level from its light readings (a time-weighted histogram of readings ≥
 *       lightLitMinLux; its lamps make the sharp mode, daylight spreads thin) and L0 = lightLitFraction of
 *       it. Until lightLearnMinutes of lit readings are in, L0 = lightOccupiedLux. lightLitFraction (0.8)
 *       was fitted on the UCI training file: its best single light threshold (365 lx) over its lit level
 *       (450 lx); so a hall lit at 800 lx is not "occupied" at 560 lx of sunshine, nor a dim office
 *       "empty" at 280 lx under its own lamps.
 *     - CO2: from the room's mass balance dC/dt = G − λ·(C − C_base), the CO2 generation rate
 *
 *           G ≈ slope + λ·(C − C_base)        (ppm/min; roughly 1–4 ppm/min per person in a small room)
 *
 *       is positive only while people breathe in the room: the level is rising, or it is high and not
 *       decaying as ventilation would make it. `slope` is a least-squares fit over the last co2WindowMs of
 *       samples (a small bounded history kept in state); `C_base` follows the minimum down quickly and
 *       rises only slowly (co2BaselineRisePpmPerHour), so it tracks the empty-room level and sensor drift but
 *       not a day of occupancy; λ = co2AirChangesPerHour is deliberately low: underestimating ventilation
 *       makes the decay after people leave read as "nobody" at once, at the cost of weaker evidence while a
 *       well-ventilated room is occupied at a steady level.
 *     - fL, fC: freshness, 1 while the reading is at most 1.5 of its device's reporting intervals old and
 *       fading linearly to 0 at the device's stale interval (staleFactor × interval), so a silent sensor
 *       stops voting when the device turns stale. A channel the room normally has (its registry devices)
 *       that is silent or has never reported is named in the reasons ("light sensor silent since …").
 *     - Hysteresis: vacant → occupied only when p ≥ enterProbability, occupied → vacant only when
 *       p ≤ exitProbability; in between the previous verdict stands, so a value near a threshold does not
 *       flap. Confidence is p for "occupied" and 1 − p for "vacant".
 *  4. No evidence at all (basis `none`): vacant with confidence 0, i.e. unknown.
 */
import { formatNumber } from './comfort.ts';

export type OccupancyBasis = 'occupancy_count' | 'motion' | 'light+co2' | 'light' | 'co2' | 'none';

export interface OccupancyConfig {
  /** A count or motion sensor "has reported recently" within this (or staleFactor × its interval). */
  sensorRecentMs: number;
  /** A motion=1 keeps the room occupied this long (K minutes). */
  motionHoldMs: number;
  /** The light threshold until the room's lit level is learned (lightLearnMinutes of lit readings). */
  lightOccupiedLux: number;
  lightScaleLux: number;
  /** Readings at or above this count towards the room's lit level (below: dark or dim daylight). */
  lightLitMinLux: number;
  /** Width of the lit-level histogram's bins. */
  lightBinLux: number;
  /** Minutes of lit readings before the learned level replaces lightOccupiedLux. */
  lightLearnMinutes: number;
  /** The histogram is halved whenever it holds more minutes than this (about two weeks of lit hours). */
  lightMemoryMinutes: number;
  /** The threshold is this share of the room's lit level (the histogram's mode). */
  lightLitFraction: number;
  lightWeight: number;
  co2WindowMs: number;
  co2MaxSamples: number;
  /** The baseline starts at min(first sample, this): the first sample may be taken in a full room. */
  co2BaselineInitPpm: number;
  co2BaselineRisePpmPerHour: number;
  co2BaselineFallTauMs: number;
  co2AirChangesPerHour: number;
  /** CO2 generation at which the CO2 evidence is neutral, and the scale over which it saturates. */
  co2NeutralPpmPerMin: number;
  co2ScalePpmPerMin: number;
  co2Weight: number;
  /** Prior log-odds inside the usual hours. */
  priorLogOdds: number;
  /** Usual hours, local time: days (0 = Sunday … 6) and minutes from midnight [from, to). */
  usualDays: number[];
  usualFromMinute: number;
  usualToMinute: number;
  /** Prior log-odds outside the usual hours. */
  offHoursPriorLogOdds: number;
  /** Prior log-odds while the room is booked. */
  bookedPriorLogOdds: number;
  enterProbability: number;
  exitProbability: number;
}

export const DEFAULT_OCCUPANCY_CONFIG: OccupancyConfig = {
  sensorRecentMs: 15 * 60_000,
  motionHoldMs: 10 * 60_000,
  lightOccupiedLux: 300,
  lightScaleLux: 50,
  lightLitMinLux: 150,
  lightBinLux: 20,
  lightLearnMinutes: 60,
  lightMemoryMinutes: 14 * 12 * 60,
  lightLitFraction: 0.8,
  lightWeight: 4,
  co2WindowMs: 15 * 60_000,
  co2MaxSamples: 32,
  co2BaselineInitPpm: 450,
  co2BaselineRisePpmPerHour: 2,
  co2BaselineFallTauMs: 10 * 60_000,
  co2AirChangesPerHour: 0.5,
  co2NeutralPpmPerMin: 1,
  co2ScalePpmPerMin: 1.5,
  co2Weight: 2.5,
  priorLogOdds: -0.5,
  usualDays: [1, 2, 3, 4, 5],
  usualFromMinute: 7 * 60,
  usualToMinute: 19 * 60,
  offHoursPriorLogOdds: -3,
  bookedPriorLogOdds: 1,
  enterProbability: 0.65,
  exitProbability: 0.35,
};

/** Bounded CO2 history and baseline, plain data (checkpointed with the rest of the twin). */
export interface Co2Track {
  baselinePpm: number | null;
  lastTs: number | null;
  /** [ts, ppm] pairs within co2WindowMs of the newest, oldest first, at most co2MaxSamples. */
  samples: [number, number][];
}

/**
 * What the room's light sensor reads when the room is lit, learned from its readings: minutes of lit
 * readings per lightBinLux bin (bin index → minutes). A room's own lamps give a sharp peak (the mode);
 * daylight spreads thinly over many bins. Plain data, checkpointed with the twin.
 */
export interface LightTrack {
  bins: Record<string, number>;
  minutes: number;
  lastTs: number | null;
  /**
   * The level the histogram gives, kept with it: it changes only with a lit reading, and the room is
   * evaluated at every reading of any channel.
   */
  level?: LightLevel;
}

export interface OccupancyState {
  occupied: boolean;
  confidence: number;
  basis: OccupancyBasis;
  /** Probability of "occupied" from light/CO2 evidence (null when there is none). */
  envProbability: number | null;
  /** When the verdict last flipped (null: never). */
  since: number | null;
  reasons: string[];
}

/** What the reducer has seen, already judged for recency/freshness against the reporting device. */
export interface OccupancyEvidence {
  /** Channels the room normally has that are silent or never reported, in words (stated first). */
  silent?: string[];
  /** The time's prior (usual hours, off hours or a booking) when it is not the usual-hours one. */
  prior?: { logOdds: number; reason: string };
  count?: { value: number; recent: boolean };
  motion?: { lastMotionTs: number | null; recent: boolean };
  light?: { lux: number; weight: number; level?: LightLevel };
  co2?: { ppm: number; weight: number };
}

/** The room's learned lit level and the threshold derived from it. */
export interface LightLevel {
  litLux: number;
  thresholdLux: number;
}

export function initialLightTrack(): LightTrack {
  return { bins: {}, minutes: 0, lastTs: null };
}

/**
 * Counts a light reading into the histogram, weighted by the time since the previous one (at most 10
 * minutes), so a sensor's rate does not matter. Late or duplicate readings are ignored.
 */
export function trackLight(track: LightTrack, ts: number, lux: number, cfg: OccupancyConfig): LightTrack {
  if (track.lastTs !== null && ts <= track.lastTs) return track;
  const minutes = track.lastTs === null ? 1 : Math.min(10, (ts - track.lastTs) / 60_000);
  if (lux < cfg.lightLitMinLux) return { ...track, lastTs: ts };
  const key = String(Math.floor(lux / cfg.lightBinLux));
  let bins: Record<string, number> = { ...track.bins, [key]: (track.bins[key] ?? 0) + minutes };
  let total = track.minutes + minutes;
  if (total > cfg.lightMemoryMinutes) {
    bins = Object.fromEntries(
      Object.entries(bins)
        .map(([k, v]) => [k, v / 2] as const)
        .filter(([, v]) => v >= 0.25),
    );
    total /= 2;
  }
  const level = lightLevel(bins, total, cfg);
  return { bins, minutes: total, lastTs: ts, ...(level ? { level } : {}) };
}

/**
 * The room's lit level: the centre of the busiest three adjacent bins, once lightLearnMinutes of lit
 * readings are in; undefined before (the fixed lightOccupiedLux applies).
 */
function lightLevel(bins: LightTrack['bins'], minutes: number, cfg: OccupancyConfig): LightLevel | undefined {
  if (minutes < cfg.lightLearnMinutes) return undefined;
  let best = -1;
  let bestSum = 0;
  for (const k of Object.keys(bins)) {
    const i = Number(k);
    const sum = (bins[i - 1] ?? 0) + (bins[i] ?? 0) + (bins[i + 1] ?? 0);
    if (sum > bestSum || (sum === bestSum && i < best)) {
      best = i;
      bestSum = sum;
    }
  }
  if (best < 0) return undefined;
  const litLux = (best + 0.5) * cfg.lightBinLux;
  return { litLux, thresholdLux: Math.max(cfg.lightLitMinLux, Math.round(cfg.lightLitFraction * litLux)) };
}

export function initialCo2Track(): Co2Track {
  return { baselinePpm: null, lastTs: null, samples: [] };
}

export function initialOccupancy(): OccupancyState {
  return { occupied: false, confidence: 0, basis: 'none', envProbability: null, since: null, reasons: [] };
}

export function trackCo2(track: Co2Track, ts: number, ppm: number, cfg: OccupancyConfig): Co2Track {
  if (track.lastTs !== null && ts <= track.lastTs) return track; // late or duplicate: history is in order
  let baselinePpm: number;
  if (track.baselinePpm === null || track.lastTs === null) {
    baselinePpm = Math.min(ppm, cfg.co2BaselineInitPpm);
  } else if (ppm < track.baselinePpm) {
    // Down quickly, but not to a single glitchy sample.
    const k = Math.min(1, (ts - track.lastTs) / cfg.co2BaselineFallTauMs);
    baselinePpm = track.baselinePpm + (ppm - track.baselinePpm) * k;
  } else {
    const riseMax = (cfg.co2BaselineRisePpmPerHour * (ts - track.lastTs)) / 3600_000;
    baselinePpm = Math.min(ppm, track.baselinePpm + riseMax);
  }
  const minSpacingMs = cfg.co2WindowMs / cfg.co2MaxSamples;
  const last = track.samples.at(-1);
  let samples = track.samples;
  if (!last || ts - last[0] >= minSpacingMs) {
    samples = [...samples, [ts, ppm] as [number, number]]
      .filter(([t]) => ts - t <= cfg.co2WindowMs)
      .slice(-cfg.co2MaxSamples);
  }
  return { baselinePpm, lastTs: ts, samples };
}

/** Least-squares slope (ppm/min), or null while the history is too short to say. */
export function co2SlopePpmPerMin(track: Co2Track, cfg: OccupancyConfig): number | null {
  const s = track.samples;
  const first = s[0];
  const last = s.at(-1);
  if (s.length < 3 || !first || !last || last[0] - first[0] < cfg.co2WindowMs / 3) return null;
  // Indexed loops: destructuring each pair through the array iterator allocated ~1.5 KB per evaluation.
  const t0 = first[0];
  let mt = 0;
  let mc = 0;
  for (let i = 0; i < s.length; i++) {
    const p = s[i]!;
    mt += p[0] - t0;
    mc += p[1];
  }
  mt /= s.length;
  mc /= s.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < s.length; i++) {
    const p = s[i]!;
    const dt = p[0] - t0 - mt;
    sxy += dt * (p[1] - mc);
    sxx += dt * dt;
  }
  return sxx > 0 ? (sxy / sxx) * 60_000 : null;
}

/**
 * Weight of a reading of this age from a device reporting every intervalMs: 1 up to 1.5 intervals (a
 * report a little late), 0 from the device's stale interval (staleFactor × interval), linear between.
 */
export function evidenceWeight(ageMs: number, intervalMs: number, staleFactor: number): number {
  const staleMs = staleFactor * intervalMs;
  const freshMs = Math.min(1.5 * intervalMs, staleMs);
  if (ageMs <= freshMs) return 1;
  if (ageMs >= staleMs) return 0;
  return (staleMs - ageMs) / (staleMs - freshMs);
}

export function evaluateOccupancy(
  prev: OccupancyState,
  ev: OccupancyEvidence,
  co2: Co2Track,
  now: number,
  cfg: OccupancyConfig,
): OccupancyState {
  const verdict = (
    occupied: boolean,
    confidence: number,
    basis: OccupancyBasis,
    envProbability: number | null,
    reasons: string[],
  ): OccupancyState => ({
    occupied,
    confidence: round3(confidence),
    basis,
    envProbability: envProbability === null ? null : round3(envProbability),
    since: occupied === prev.occupied ? prev.since : now,
    reasons,
  });

  const env = environmentProbability(ev, co2, cfg);
  const silent = ev.silent ?? [];

  if (ev.count?.recent) {
    const n = ev.count.value;
    return verdict(n > 0, n > 0 ? 1 : 0.95, 'occupancy_count', env?.p ?? null, [
      ...silent,
      `occupancy_count ${formatNumber(n)}`,
    ]);
  }
  const m = ev.motion;
  if (m && (m.recent || (m.lastMotionTs !== null && now - m.lastMotionTs <= cfg.motionHoldMs))) {
    if (m.lastMotionTs !== null && now - m.lastMotionTs <= cfg.motionHoldMs) {
      return verdict(true, 0.95, 'motion', env?.p ?? null, [
        ...silent,
        `motion ${ago(now - m.lastMotionTs)}`,
      ]);
    }
    const why = m.lastMotionTs === null ? 'no motion seen' : `no motion for ${ago(now - m.lastMotionTs, '')}`;
    return verdict(false, 0.8, 'motion', env?.p ?? null, [...silent, why]);
  }
  if (!env) return verdict(false, 0, 'none', null, [...silent, 'no recent occupancy evidence']);
  const occupied = prev.occupied ? env.p > cfg.exitProbability : env.p >= cfg.enterProbability;
  const reasons = [...silent, ...env.reasons, `p(occupied) ${env.p.toFixed(2)}`];
  return verdict(occupied, occupied ? env.p : 1 - env.p, env.basis, env.p, reasons);
}

interface EnvVerdict {
  p: number;
  basis: 'light+co2' | 'light' | 'co2';
  reasons: string[];
}

function environmentProbability(
  ev: OccupancyEvidence,
  co2: Co2Track,
  cfg: OccupancyConfig,
): EnvVerdict | null {
  let logit = ev.prior?.logOdds ?? cfg.priorLogOdds;
  const reasons: string[] = ev.prior ? [ev.prior.reason] : [];
  let light = false;
  let gas = false;
  if (ev.light && ev.light.weight > 0) {
    const { lux, weight, level } = ev.light;
    const threshold = level?.thresholdLux ?? cfg.lightOccupiedLux;
    light = true;
    logit += cfg.lightWeight * weight * Math.tanh((lux - threshold) / cfg.lightScaleLux);
    const basis = level
      ? ` (room lit at ${formatNumber(level.litLux)} lx)`
      : ' (room lit level not learned yet)';
    reasons.push(`light ${formatNumber(lux)} lx ${lux >= threshold ? '≥' : '<'} ${threshold}${basis}`);
  }
  if (ev.co2 && ev.co2.weight > 0 && co2.baselinePpm !== null) {
    const { ppm, weight } = ev.co2;
    gas = true;
    const excessPpm = ppm - co2.baselinePpm;
    const slope = co2SlopePpmPerMin(co2, cfg);
    const generation = (slope ?? 0) + (cfg.co2AirChangesPerHour / 60) * excessPpm;
    logit +=
      cfg.co2Weight * weight * Math.tanh((generation - cfg.co2NeutralPpmPerMin) / cfg.co2ScalePpmPerMin);
    const trend = slope === null ? 'trend unknown' : `trend ${signed(slope)} ppm/min`;
    reasons.push(
      `co2 ${formatNumber(ppm)} ppm (${signed(excessPpm)} over baseline ${formatNumber(co2.baselinePpm)}, ` +
        `${trend}): generation ${formatNumber(generation)} ppm/min`,
    );
  }
  if (!light && !gas) return null;
  return {
    p: 1 / (1 + Math.exp(-logit)),
    basis: light && gas ? 'light+co2' : light ? 'light' : 'co2',
    reasons,
  };
}

function signed(v: number): string {
  return v >= 0 ? `+${formatNumber(v)}` : formatNumber(v);
}

function ago(ms: number, suffix = ' ago'): string {
  return `${formatNumber(Math.max(0, ms) / 60_000)} min${suffix}`;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** A booking of the room, from admin `room.booked` events (local epoch ms bounds, [startTs, endTs)). */
export interface Booking {
  bookingId: string;
  startTs: number;
  endTs: number;
}

/**
 * The prior at event time `at`: a booking in force wins; then inside/outside the usual hours (local time,
 * the offset in minutes east of UTC). Undefined means the usual-hours prior (nothing to say about it).
 */
export function timePrior(
  at: number,
  bookings: readonly Booking[],
  tzOffsetMinutes: number,
  cfg: OccupancyConfig,
): { logOdds: number; reason: string } | undefined {
  const booked = bookings.find((b) => b.startTs <= at && at < b.endTs);
  if (booked)
    return {
      logOdds: cfg.bookedPriorLogOdds,
      reason: `booked until ${new Date(booked.endTs).toISOString().slice(11, 16)}Z (${booked.bookingId})`,
    };
  // Local minute of the day and day of the week by arithmetic (evaluated at every reading): day 0 of the
  // epoch, 1970-01-01, was a Thursday (4).
  const localMinute = Math.floor((at + tzOffsetMinutes * 60_000) / 60_000);
  const minute = localMinute - Math.floor(localMinute / 1440) * 1440;
  const weekday = (((Math.floor(localMinute / 1440) + 4) % 7) + 7) % 7;
  const usual =
    cfg.usualDays.includes(weekday) && minute >= cfg.usualFromMinute && minute < cfg.usualToMinute;
  return usual ? undefined : { logOdds: cfg.offHoursPriorLogOdds, reason: 'outside usual hours' };
}
