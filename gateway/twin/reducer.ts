/**
 * The room twin reducer: a pure fold of readings (and the passing of time) into one room's live state —
 * latest value per quantity, occupancy, comfort, device health, power now and energy today — plus the
 * TwinChanges worth telling someone about (occupancy flips, comfort level changes, device health changes).
 *
 * Two clocks. Occupancy, comfort and energy follow **event time**, the readings' own timestamps: readings
 * are applied in timestamp order and the room is evaluated at each distinct timestamp, so buffered,
 * replayed or batched data yields the same room history as live data, and a change carries the time it
 * happened in the room. The **wall clock** (`now`) decides only device health (stale/offline now), and it
 * moves the room's event clock on while no reading arrives at all (`idleAdvanceMs`): a room whose sensors
 * fell silent loses its evidence as time passes, while a replay running faster than real time is never
 * overtaken by the wall clock.
 *
 * Pure: time comes in as arguments; no clocks, timers or I/O. Inputs are never mutated (new objects,
 * sharing untouched parts). The state is plain JSON (no Map/Set/class) because it is checkpointed with
 * lowdb. Occupancy method: see occupancy.ts; comfort bands: comfort.ts; health: health.ts.
 */
import type { DeviceInfo, RoomInfo } from '../../shared/campus.ts';
import type { DeviceHealth, Reading, TwinChange } from '../../shared/events.ts';
import type { Quantity } from '../../shared/quantities.ts';
import {
  COMFORT_QUANTITIES,
  type ComfortConfig,
  type ComfortInput,
  type ComfortQuantity,
  type ComfortState,
  evaluateComfort,
  initialComfort,
} from './comfort.ts';
import { type HealthConfig, judgeHealth } from './health.ts';
import {
  type Booking,
  type Co2Track,
  DEFAULT_OCCUPANCY_CONFIG,
  evaluateOccupancy,
  evidenceWeight,
  initialCo2Track,
  initialLightTrack,
  initialOccupancy,
  type LightTrack,
  type OccupancyConfig,
  type OccupancyEvidence,
  type OccupancyState,
  timePrior,
  trackCo2,
  trackLight,
} from './occupancy.ts';

export type { Band, ComfortConfig, ComfortState } from './comfort.ts';
export type { HealthConfig } from './health.ts';
export type { Co2Track, OccupancyBasis, OccupancyConfig, OccupancyState } from './occupancy.ts';

/** Key names match the gateway config's `twin` section so it can be spread over the defaults. */
export interface TwinConfig extends ComfortConfig, HealthConfig {
  /** For devices that report but are not in the registry. */
  defaultExpectedIntervalMs: number;
  /** "Today" for energy is the UTC day shifted by this offset. */
  tzOffsetMinutes: number;
  /**
   * With no reading arriving for this long (wall clock), the room's event clock moves on with the wall
   * clock, so silent sensors stop counting. Shorter gaps (a replay, a sensor between two reports) leave
   * the room where its readings put it.
   */
  idleAdvanceMs: number;
  occupancy: OccupancyConfig;
}

export const DEFAULT_TWIN_CONFIG: TwinConfig = deepFreeze({
  temperatureC: { alertLow: 16, warnLow: 19, warnHigh: 25, alertHigh: 28 },
  humidityPct: { alertLow: 20, warnLow: 30, warnHigh: 60, alertHigh: 70 },
  co2WarnPpm: 1000,
  co2AlertPpm: 1500,
  comfortDeadband: { temperatureC: 0.5, humidityPct: 2, co2Ppm: 50 },
  comfortMaxReadingAgeMs: 30 * 60_000,
  staleFactor: 3,
  offlineFactor: 10,
  defaultExpectedIntervalMs: 60_000,
  tzOffsetMinutes: 0,
  idleAdvanceMs: 30_000,
  occupancy: DEFAULT_OCCUPANCY_CONFIG,
});

export interface LatestValue {
  value: number;
  unit: string;
  ts: number;
  deviceId: string;
  channel: string;
}

/** A cumulative energy register: today's use is carried + last − dayStart (carried spans meter resets). */
export interface EnergyMeter {
  day: string;
  dayStartKwh: number;
  lastKwh: number;
  lastTs: number;
  carriedKwh: number;
}

export interface DeviceTwin {
  deviceId: string;
  expectedIntervalMs: number;
  lastSeen: number | null;
  health: DeviceHealth;
  /** Latest power per channel (kW). */
  powerKw: Record<string, { value: number; ts: number }>;
  energy: Record<string, EnergyMeter>;
}

export interface RoomTwin {
  roomId: string;
  /** The event time the room was last evaluated at (never moves back). */
  evaluatedAt: number | null;
  /** The newest reading's timestamp (event time). */
  watermark?: number | null;
  /** Wall-clock time the newest-arriving reading was received (drives the idle advance). */
  lastArrivalAt?: number | null;
  /**
   * The occupancy channels the room normally has (from the registry): quantity → device ids. Refreshed from
   * the registry on restore, so a checkpoint never outlives a changed registry.
   */
  expected?: Partial<Record<Quantity, string[]>>;
  /** Bookings of the room (admin room.booked / room.released), ended ones dropped after a day. */
  bookings?: Booking[];
  latest: Partial<Record<Quantity, LatestValue>>;
  devices: Record<string, DeviceTwin>;
  occupancy: OccupancyState;
  comfort: ComfortState;
  co2Track: Co2Track;
  /** The room's learned lit level (absent in checkpoints from before it was learned). */
  lightTrack?: LightTrack;
  lastMotionTs: number | null;
  /** Sum of the latest power of devices that are not offline. */
  powerKw: number;
  energyTodayKwh: number;
}

export interface Reduced {
  state: RoomTwin;
  changes: TwinChange[];
}

export function initialRoomState(room: RoomInfo, devices: DeviceInfo[]): RoomTwin {
  const twins: Record<string, DeviceTwin> = Object.fromEntries(
    devices
      .filter((d) => d.roomId === room.roomId)
      .map((d) => [d.deviceId, newDevice(d.deviceId, d.expectedIntervalMs)]),
  );
  return {
    roomId: room.roomId,
    evaluatedAt: null,
    watermark: null,
    lastArrivalAt: null,
    expected: expectedChannels(room, devices),
    latest: {},
    devices: twins,
    occupancy: initialOccupancy(),
    comfort: initialComfort(),
    co2Track: initialCo2Track(),
    lightTrack: initialLightTrack(),
    lastMotionTs: null,
    powerKw: 0,
    energyTodayKwh: 0,
  };
}

/** Quantities that decide occupancy, in the words a reason uses for their sensor. */
const OCCUPANCY_SENSORS: readonly [Quantity, string][] = [
  ['occupancy_count', 'people counter'],
  ['motion', 'motion sensor'],
  ['light', 'light sensor'],
  ['co2', 'CO2 sensor'],
];

/** The occupancy channels of the room's registry devices: quantity → device ids. */
export function expectedChannels(
  room: RoomInfo,
  devices: readonly DeviceInfo[],
): Partial<Record<Quantity, string[]>> {
  const out: Partial<Record<Quantity, string[]>> = {};
  for (const d of devices) {
    if (d.roomId !== room.roomId) continue;
    for (const ch of d.channels.values()) {
      if (!OCCUPANCY_SENSORS.some(([q]) => q === ch.quantity)) continue;
      const list = out[ch.quantity] ?? [];
      if (!list.includes(d.deviceId)) list.push(d.deviceId);
      out[ch.quantity] = list;
    }
  }
  return out;
}

export function reduceReading(state: RoomTwin, reading: Reading, now: number, cfg: TwinConfig): Reduced {
  return reduceReadings(state, [reading], now, cfg);
}

/**
 * Readings of one room (a group commit, a replayed batch): applied in timestamp order, the room evaluated
 * once per distinct timestamp (never earlier than it already was), so the result and the changes do not
 * depend on how the readings were batched. `now` is the wall clock: device health only.
 * Works on private drafts; the input state is never touched.
 */
export function reduceReadings(
  state: RoomTwin,
  readings: readonly Reading[],
  now: number,
  cfg: TwinConfig,
): Reduced {
  const mine = readings.filter(
    (r) => r.roomId === state.roomId && Number.isFinite(r.value) && Number.isFinite(r.ts),
  );
  if (mine.length === 0) return { state, changes: [] };
  // Stable: readings of one timestamp keep their arrival order.
  if (mine.some((r, i) => i > 0 && r.ts < mine[i - 1]!.ts)) mine.sort((a, b) => a.ts - b.ts);
  // One private draft for the whole call, evaluated after each timestamp's readings (evaluate compares
  // against what the draft held before it, so it can work in place).
  const draft: RoomTwin = { ...state, devices: { ...state.devices }, latest: { ...state.latest } };
  const copiedDevices = new Set<string>();
  const changes: TwinChange[] = [];
  // A room that has never had a reading has been ticking by the wall clock (roomClock); that is no history
  // of its own, so its first readings set its event clock even when they are older (a history replayed
  // into a room with no live sensors).
  if ((draft.watermark ?? null) === null) draft.evaluatedAt = null;
  for (let i = 0; i < mine.length; ) {
    const ts = mine[i]!.ts;
    let arrival = draft.lastArrivalAt ?? Number.NEGATIVE_INFINITY;
    const evaluatedAt = draft.evaluatedAt;
    for (; i < mine.length && mine[i]!.ts === ts; i++) {
      const r = mine[i]!;
      applyReading(draft, copiedDevices, r, now, cfg);
      arrival = Math.max(arrival, Math.min(r.receivedAt, now));
    }
    draft.watermark = Math.max(draft.watermark ?? ts, ts);
    draft.lastArrivalAt = Number.isFinite(arrival) ? arrival : now;
    const at = Math.max(ts, evaluatedAt ?? ts);
    for (const c of evaluate(draft, draft, at, now, cfg).changes) changes.push(c);
  }
  return { state: draft, changes };
}

/** A booking change from the admin systems (room.booked with its span, or room.released). */
export type BookingChange =
  | { kind: 'booked'; bookingId: string; startTs: number; endTs: number }
  | { kind: 'released'; bookingId: string };

/** Ended bookings are kept this long (a late replay still sees them), then dropped. */
const BOOKING_KEEP_MS = 24 * 3600_000;

/**
 * A booking booked or released: the room's bookings updated (one entry per booking id) and the room
 * re-evaluated at its clock, since the booking changes what the time says before any sensor does.
 */
export function reduceBooking(state: RoomTwin, b: BookingChange, now: number, cfg: TwinConfig): Reduced {
  const at = roomClock(state, now, cfg);
  const kept = (state.bookings ?? []).filter(
    (x) => x.bookingId !== b.bookingId && x.endTs > at - BOOKING_KEEP_MS,
  );
  const bookings =
    b.kind === 'booked' ? [...kept, { bookingId: b.bookingId, startTs: b.startTs, endTs: b.endTs }] : kept;
  bookings.sort((x, y) => x.startTs - y.startTs || (x.bookingId < y.bookingId ? -1 : 1));
  return evaluate(state, { ...state, bookings }, at, now, cfg);
}

/**
 * The event time a room stands at when the wall clock says `now` and no reading is being applied: where
 * its readings put it, moved on by the wall-clock time since the last arrival once that exceeds
 * `idleAdvanceMs`.
 */
export function roomClock(state: RoomTwin, now: number, cfg: TwinConfig): number {
  const mark = state.watermark ?? null;
  const arrived = state.lastArrivalAt ?? null;
  const evaluated = state.evaluatedAt ?? Number.NEGATIVE_INFINITY;
  // A room without readings (or a checkpoint from before event time) goes by the wall clock.
  if (mark === null || arrived === null) return Math.max(evaluated, now);
  const idle = now - arrived;
  return Math.max(evaluated, mark, idle >= cfg.idleAdvanceMs ? mark + idle : mark);
}

/** The per-reading part of a reduction, applied to the draft: what the reading itself changes. */
function applyReading(
  draft: RoomTwin,
  copiedDevices: Set<string>,
  reading: Reading,
  now: number,
  cfg: TwinConfig,
): void {
  const { deviceId, channel, quantity, value, ts } = reading;
  let device = own(draft.devices, deviceId);
  if (!device || !copiedDevices.has(deviceId)) {
    device = device ? { ...device } : newDevice(deviceId, cfg.defaultExpectedIntervalMs);
    draft.devices[deviceId] = device;
    copiedDevices.add(deviceId);
  }
  // Seen when it arrived (a device replaying its buffer is alive), but never later than now.
  const seenAt = Math.min(Math.max(ts, reading.receivedAt), now);
  device.lastSeen = Math.max(device.lastSeen ?? seenAt, seenAt);
  if (quantity === 'power') {
    const prev = own(device.powerKw, channel);
    if (!prev || ts >= prev.ts) device.powerKw = { ...device.powerKw, [channel]: { value, ts } };
  } else if (quantity === 'energy') {
    const meter = updateMeter(own(device.energy, channel), value, ts, cfg.tzOffsetMinutes);
    if (meter) device.energy = { ...device.energy, [channel]: meter };
  }
  const prevLatest = draft.latest[quantity];
  if (!prevLatest || ts >= prevLatest.ts) {
    draft.latest[quantity] = { value, unit: reading.unit, ts, deviceId, channel };
  }
  if (quantity === 'motion' && value >= 0.5 && ts > (draft.lastMotionTs ?? Number.NEGATIVE_INFINITY)) {
    draft.lastMotionTs = ts;
  } else if (quantity === 'co2') {
    draft.co2Track = trackCo2(draft.co2Track, ts, value, cfg.occupancy);
  } else if (quantity === 'light') {
    draft.lightTrack = trackLight(draft.lightTrack ?? initialLightTrack(), ts, value, cfg.occupancy);
  }
}

/**
 * Time passed with no reading: device health (wall clock), and — once the room has been idle for
 * idleAdvanceMs — evidence freshness, motion hold and day rollover at the room's advanced event clock.
 */
export function reduceTick(state: RoomTwin, now: number, cfg: TwinConfig): Reduced {
  return evaluate(state, { ...state }, roomClock(state, now, cfg), now, cfg);
}

/**
 * Re-derives everything time-dependent in `next` (a private shallow copy, or `prev` itself: what is
 * compared is read before it is replaced) and diffs it against `prev`: device health at the wall clock
 * `now`, the rest at the event time `at`.
 */
function evaluate(prev: RoomTwin, next: RoomTwin, at: number, now: number, cfg: TwinConfig): Reduced {
  const changes: TwinChange[] = [];
  const roomId = prev.roomId;
  const prevOccupancy = prev.occupancy;
  const prevComfort = prev.comfort;
  const change = (c: Omit<TwinChange, 'roomId' | 'ts'>, ts = at) => changes.push({ roomId, ts, ...c });

  let devices = next.devices;
  for (const [id, d] of Object.entries(next.devices)) {
    const verdict = judgeHealth(d.lastSeen, d.expectedIntervalMs, now, cfg);
    if (verdict.health === d.health) continue;
    devices = { ...devices, [id]: { ...d, health: verdict.health } };
    change(
      { kind: 'health', deviceId: id, from: d.health, to: verdict.health, reasons: [verdict.reason] },
      now,
    );
  }
  next.devices = devices;

  let powerKw = 0;
  let energyTodayKwh = 0;
  let today: string | undefined;
  for (const d of Object.values(devices)) {
    if (d.health !== 'offline') for (const p of Object.values(d.powerKw)) powerKw += p.value;
    for (const m of Object.values(d.energy)) {
      today ??= dayKey(at, cfg.tzOffsetMinutes);
      if (m.day === today) energyTodayKwh += m.carriedKwh + m.lastKwh - m.dayStartKwh;
    }
  }
  next.powerKw = round6(powerKw);
  next.energyTodayKwh = round6(energyTodayKwh);

  const evidence = occupancyEvidence(next, at, cfg);
  next.occupancy = evaluateOccupancy(prevOccupancy, evidence, next.co2Track, at, cfg.occupancy);
  if (next.occupancy.occupied !== prevOccupancy.occupied) {
    change({
      kind: 'occupancy',
      from: occupancyWord(prevOccupancy.occupied),
      to: occupancyWord(next.occupancy.occupied),
      reasons: [`basis ${next.occupancy.basis}`, ...next.occupancy.reasons],
      probability: occupancyProbability(next.occupancy),
      basis: next.occupancy.basis,
    });
  }

  const comfortInputs: Partial<Record<ComfortQuantity, ComfortInput>> = {};
  for (const q of COMFORT_QUANTITIES) {
    const l = next.latest[q];
    if (l) comfortInputs[q] = l;
  }
  next.comfort = evaluateComfort(prevComfort, comfortInputs, at, cfg);
  if (next.comfort.level !== prevComfort.level) {
    const reasons = next.comfort.reasons.length > 0 ? next.comfort.reasons : ['all readings within bands'];
    change({ kind: 'comfort', from: prevComfort.level, to: next.comfort.level, reasons });
  }

  next.evaluatedAt = at;
  return { state: next, changes };
}

function occupancyEvidence(s: RoomTwin, now: number, cfg: TwinConfig): OccupancyEvidence {
  const intervalOf = (l: LatestValue) =>
    own(s.devices, l.deviceId)?.expectedIntervalMs ?? cfg.defaultExpectedIntervalMs;
  const recent = (l: LatestValue) =>
    now - l.ts <= Math.max(cfg.occupancy.sensorRecentMs, cfg.staleFactor * intervalOf(l));
  const weight = (l: LatestValue) => evidenceWeight(now - l.ts, intervalOf(l), cfg.staleFactor);
  const ev: OccupancyEvidence = {};
  const silent: string[] = [];
  for (const [q, words] of OCCUPANCY_SENSORS) {
    if (!s.expected?.[q]?.length) continue;
    const l = s.latest[q];
    if (!l) silent.push(`${words} has not reported`);
    else if (weight(l) === 0) silent.push(`${words} silent since ${isoMinute(l.ts)}`);
  }
  if (silent.length) ev.silent = silent;
  const prior = timePrior(now, s.bookings ?? [], cfg.tzOffsetMinutes, cfg.occupancy);
  if (prior) ev.prior = prior;
  const { occupancy_count: count, motion, light, co2 } = s.latest;
  if (count) ev.count = { value: count.value, recent: recent(count) };
  if (motion || s.lastMotionTs !== null) {
    ev.motion = { lastMotionTs: s.lastMotionTs, recent: motion ? recent(motion) : false };
  }
  if (light) {
    const level = s.lightTrack?.level;
    ev.light = { lux: light.value, weight: weight(light), ...(level ? { level } : {}) };
  }
  if (co2) ev.co2 = { ppm: co2.value, weight: weight(co2) };
  return ev;
}

function updateMeter(m: EnergyMeter | undefined, kwh: number, ts: number, tzOffsetMinutes: number) {
  const day = dayKey(ts, tzOffsetMinutes);
  if (!m || (ts > m.lastTs && day > m.day)) {
    return { day, dayStartKwh: kwh, lastKwh: kwh, lastTs: ts, carriedKwh: 0 };
  }
  if (ts <= m.lastTs) return undefined; // late: the register only moves forward in time
  if (kwh < m.lastKwh) {
    // Register reset, wrapped or replaced: bank what was counted so far today and start again from here
    // (the use between the two readings is unknown; guessing "from zero" could add a whole meter's worth).
    return {
      ...m,
      dayStartKwh: kwh,
      lastKwh: kwh,
      lastTs: ts,
      carriedKwh: m.carriedKwh + m.lastKwh - m.dayStartKwh,
    };
  }
  return { ...m, lastKwh: kwh, lastTs: ts };
}

const DAY_MS = 86_400_000;
/** The last day asked for and its key: the room is evaluated at every reading, nearly always on one day. */
let lastDay = { n: Number.NaN, key: '' };

/** YYYY-MM-DD of the UTC instant shifted by the offset; lexical order is day order. */
export function dayKey(ts: number, tzOffsetMinutes: number): string {
  const local = ts + tzOffsetMinutes * 60_000;
  const n = Math.floor(local / DAY_MS);
  if (n !== lastDay.n) lastDay = { n, key: new Date(n * DAY_MS).toISOString().slice(0, 10) };
  return lastDay.key;
}

export interface RoomSummary {
  roomId: string;
  evaluatedAt: number | null;
  occupied: boolean;
  confidence: number;
  basis: OccupancyState['basis'];
  /** The whole occupancy verdict: P(occupied) (null without evidence), why, and since when it stands. */
  occupancy: {
    occupied: boolean;
    probability: number | null;
    confidence: number;
    basis: OccupancyState['basis'];
    reasons: string[];
    since: number | null;
  };
  /** Overall level, the reasons, and each quantity's own level (a status page colours each value). */
  comfort: {
    level: ComfortState['level'];
    reasons: string[];
    byQuantity: ComfortState['byQuantity'];
  };
  latest: Partial<Record<Quantity, { value: number; unit: string; ts: number }>>;
  devices: Record<string, { health: DeviceHealth; lastSeen: number | null }>;
  powerKw: number;
  energyTodayKwh: number;
}

/**
 * JSON view for the status API, as of `now`: the state re-evaluated as a tick would (health, freshness, day rollover)
 * without emitting changes. Pass the config the twin is reduced with.
 */
export function summarizeRoom(
  state: RoomTwin,
  now: number,
  cfg: TwinConfig = DEFAULT_TWIN_CONFIG,
): RoomSummary {
  const s = reduceTick(state, now, cfg).state;
  const latest: RoomSummary['latest'] = {};
  for (const [q, l] of Object.entries(s.latest) as [Quantity, LatestValue][]) {
    latest[q] = { value: l.value, unit: l.unit, ts: l.ts };
  }
  const devices: RoomSummary['devices'] = Object.fromEntries(
    Object.entries(s.devices).map(([id, d]) => [id, { health: d.health, lastSeen: d.lastSeen }]),
  );
  return {
    roomId: s.roomId,
    evaluatedAt: s.evaluatedAt,
    occupied: s.occupancy.occupied,
    confidence: s.occupancy.confidence,
    basis: s.occupancy.basis,
    occupancy: {
      occupied: s.occupancy.occupied,
      probability: occupancyProbability(s.occupancy),
      confidence: s.occupancy.confidence,
      basis: s.occupancy.basis,
      reasons: s.occupancy.reasons,
      since: s.occupancy.since,
    },
    comfort: { level: s.comfort.level, reasons: s.comfort.reasons, byQuantity: s.comfort.byQuantity },
    latest,
    devices,
    powerKw: s.powerKw,
    energyTodayKwh: s.energyTodayKwh,
  };
}

/** P(occupied) of a verdict: its confidence turned round for "vacant"; null when there is no evidence. */
export function occupancyProbability(o: OccupancyState): number | null {
  if (o.basis === 'none') return null;
  return Math.round((o.occupied ? o.confidence : 1 - o.confidence) * 1000) / 1000;
}

function newDevice(deviceId: string, expectedIntervalMs: number): DeviceTwin {
  return { deviceId, expectedIntervalMs, lastSeen: null, health: 'offline', powerKw: {}, energy: {} };
}

function occupancyWord(occupied: boolean): string {
  return occupied ? 'occupied' : 'vacant';
}

/** Own-property lookup: ids and channel names come from devices, so never reach into the prototype. */
function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

let lastMinute = { n: Number.NaN, text: '' };

/** `2015-02-04T10:42Z`: when a sensor last spoke, to the minute (a silent sensor is named at every reading). */
function isoMinute(ts: number): string {
  const n = Math.floor(ts / 60_000);
  if (n !== lastMinute.n) lastMinute = { n, text: `${new Date(n * 60_000).toISOString().slice(0, 16)}Z` };
  return lastMinute.text;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}
