import { describe, expect, it } from 'vitest';
import type { DeviceInfo, RoomInfo } from '../../shared/campus.ts';
import type { Reading, TwinChange } from '../../shared/events.ts';
import type { Quantity } from '../../shared/quantities.ts';
import { testReading } from '../../tests/helpers/readings.ts';
import {
  DEFAULT_TWIN_CONFIG,
  dayKey,
  initialRoomState,
  type Reduced,
  type RoomTwin,
  reduceBooking,
  reduceReading,
  reduceReadings,
  reduceTick,
  roomClock,
  summarizeRoom,
  type TwinConfig,
} from './reducer.ts';

const T0 = Date.UTC(2025, 2, 3, 8, 0, 0); // Monday 2025-03-03 08:00:00Z
const MIN = 60_000;
const cfg = DEFAULT_TWIN_CONFIG;

const ROOM: RoomInfo = {
  roomId: 'B1-101',
  name: 'Seminar 101',
  buildingId: 'B1',
  floorId: 'B1-1',
  capacity: 30,
  areaM2: 60,
  deviceIds: ['env-1', 'pir-1', 'cnt-1', 'meter-1', 'meter-2'],
};

function device(deviceId: string, quantities: Quantity[], expectedIntervalMs = MIN): DeviceInfo {
  return {
    deviceId,
    roomId: ROOM.roomId,
    kind: 'test',
    expectedIntervalMs,
    channels: new Map(quantities.map((q) => [q, { name: q, quantity: q }])),
    passwordHash: undefined,
  };
}

const DEVICES = [
  device('env-1', ['temperature', 'humidity', 'co2', 'light']),
  device('pir-1', ['motion']),
  device('cnt-1', ['occupancy_count']),
  device('meter-1', ['power', 'energy'], 15 * MIN),
  device('meter-2', ['power'], 15 * MIN),
];

const reading = (
  deviceId: string,
  quantity: Quantity,
  value: number,
  ts: number,
  channel: string = quantity,
) => testReading(ts, value, { deviceId, quantity, channel, roomId: ROOM.roomId });

function fresh(devices = DEVICES): RoomTwin {
  return initialRoomState(ROOM, devices);
}

/** Applies readings in order (now = each reading's ts), collecting every change. */
function feed(state: RoomTwin, readings: Reading[], c: TwinConfig = cfg): Reduced {
  const changes: TwinChange[] = [];
  for (const r of readings) {
    const out = reduceReading(state, r, r.ts, c);
    state = out.state;
    changes.push(...out.changes);
  }
  return { state, changes };
}

const env = (q: Quantity, value: number, ts: number) => reading('env-1', q, value, ts);
const kinds = (changes: TwinChange[], kind: TwinChange['kind']) => changes.filter((c) => c.kind === kind);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('initialRoomState', () => {
  it('lists the room’s devices, never seen, and nothing else', () => {
    const s = initialRoomState(ROOM, [...DEVICES, { ...device('elsewhere', ['co2']), roomId: 'B1-102' }]);
    expect(Object.keys(s.devices).sort()).toEqual(['cnt-1', 'env-1', 'meter-1', 'meter-2', 'pir-1']);
    expect(s.devices['env-1']).toMatchObject({ lastSeen: null, health: 'offline', expectedIntervalMs: MIN });
    expect(s.occupancy).toMatchObject({ occupied: false, basis: 'none' });
    expect(s.comfort.level).toBe('ok');
  });
});

describe('latest values', () => {
  it('keeps the newest value and time per quantity; a late reading does not overwrite it', () => {
    const { state } = feed(fresh(), [env('temperature', 21.5, T0), env('temperature', 22, T0 + MIN)]);
    const late = reduceReading(state, env('temperature', 30, T0 + 30_000), T0 + 2 * MIN, cfg);
    expect(late.state.latest.temperature).toMatchObject({ value: 22, unit: '°C', ts: T0 + MIN });
  });

  it('ignores readings for another room and adds unknown devices with the default interval', () => {
    const s = fresh();
    const other = reduceReading(s, { ...env('co2', 900, T0), roomId: 'B1-102' }, T0, cfg);
    expect(other.state).toBe(s);
    expect(other.changes).toEqual([]);
    const stranger = reduceReading(s, reading('new-9', 'temperature', 20, T0), T0, cfg);
    expect(stranger.state.devices['new-9']).toMatchObject({
      expectedIntervalMs: cfg.defaultExpectedIntervalMs,
      health: 'online',
    });
  });
});

describe('comfort', () => {
  it('grades CO2 by the default bands with readable reasons', () => {
    let r = feed(fresh(), [env('co2', 800, T0)]);
    expect(r.state.comfort).toMatchObject({ level: 'ok', reasons: [] });
    r = feed(r.state, [env('co2', 1100, T0 + MIN)]);
    expect(r.state.comfort).toMatchObject({ level: 'warn', reasons: ['co2 1100 ppm ≥ 1000'] });
    r = feed(r.state, [env('co2', 1620, T0 + 2 * MIN)]);
    expect(r.state.comfort).toMatchObject({ level: 'alert', reasons: ['co2 1620 ppm ≥ 1500'] });
    expect(kinds(r.changes, 'comfort')).toEqual([
      {
        roomId: ROOM.roomId,
        ts: T0 + 2 * MIN,
        kind: 'comfort',
        from: 'warn',
        to: 'alert',
        reasons: ['co2 1620 ppm ≥ 1500'],
      },
    ]);
  });

  it('grades temperature and humidity on both sides, worst first', () => {
    const { state } = feed(fresh(), [
      env('temperature', 15.2, T0),
      env('humidity', 64, T0),
      env('co2', 1200, T0),
    ]);
    expect(state.comfort.level).toBe('alert');
    expect(state.comfort.reasons).toEqual([
      'temperature 15.2 °C ≤ 16',
      'humidity 64 %RH ≥ 60',
      'co2 1200 ppm ≥ 1000',
    ]);
    const warm = feed(fresh(), [env('temperature', 25.4, T0)]).state;
    expect(warm.comfort).toMatchObject({ level: 'warn', reasons: ['temperature 25.4 °C ≥ 25'] });
  });

  it('uses configured bands', () => {
    const strict: TwinConfig = { ...cfg, co2WarnPpm: 800, co2AlertPpm: 1200 };
    const { state } = feed(fresh(), [env('co2', 1250, T0)], strict);
    expect(state.comfort).toMatchObject({ level: 'alert', reasons: ['co2 1250 ppm ≥ 1200'] });
  });

  it('does not flap around a threshold: the level drops only once the value clears the deadband', () => {
    const values = [1020, 990, 1010, 980, 1005, 960, 1000, 940, 990];
    const { state, changes } = feed(
      fresh(),
      values.map((v, i) => env('co2', v, T0 + i * MIN)),
    );
    expect(kinds(changes, 'comfort').map((c) => `${c.from}→${c.to}`)).toEqual(['ok→warn', 'warn→ok']);
    expect(state.comfort.level).toBe('ok'); // 990 after 940: below the warn threshold, no re-entry
    const held = feed(fresh(), [env('co2', 1020, T0), env('co2', 970, T0 + MIN)]).state;
    expect(held.comfort.level).toBe('warn');
    expect(held.comfort.reasons[0]).toContain('co2 970 ppm ≥ 950');
  });

  it('forgets readings older than comfortMaxReadingAgeMs as time passes', () => {
    const { state } = feed(fresh(), [env('co2', 1700, T0)]);
    const later = reduceTick(state, T0 + cfg.comfortMaxReadingAgeMs + 1, cfg);
    expect(later.state.comfort.level).toBe('ok');
    expect(kinds(later.changes, 'comfort')).toHaveLength(1);
  });
});

describe('occupancy', () => {
  /** Lights on and CO2 climbing: light/CO2 evidence alone would say occupied. */
  function busyEnvironment(from: number, minutes: number): Reading[] {
    const out: Reading[] = [];
    for (let i = 0; i < minutes; i++) {
      out.push(env('light', 520, from + i * MIN), env('co2', 450 + 15 * i, from + i * MIN));
    }
    return out;
  }

  it('uses light and CO2 when there is no occupancy sensor', () => {
    const { state, changes } = feed(fresh(), busyEnvironment(T0, 15));
    expect(state.occupancy).toMatchObject({ occupied: true, basis: 'light+co2' });
    expect(state.occupancy.confidence).toBeGreaterThan(0.9);
    const flips = kinds(changes, 'occupancy');
    expect(flips).toHaveLength(1);
    expect(flips[0]).toMatchObject({ from: 'vacant', to: 'occupied' });
    expect(flips[0]!.reasons).toContain('light 520 lx ≥ 300 (room lit level not learned yet)');
  });

  it('learns the room’s lit level from its light readings and judges light against it', () => {
    // A lecture hall whose lamps give 800 lx: two lit hours (with some daylight spread below), then an empty
    // afternoon at 560 lx of sunshine with CO2 decaying. Against the fixed 300 lx it would read occupied;
    // against 80% of its own lit level (about 650 lx) it reads vacant, and the reason says why.
    const lit: Reading[] = [];
    for (let i = 0; i < 120; i++) {
      lit.push(env('light', i % 5 === 0 ? 300 + 10 * (i % 20) : 790 + (i % 3) * 10, T0 + i * MIN));
      lit.push(env('co2', 450 + 5 * Math.min(i, 60), T0 + i * MIN + 1000));
    }
    const afternoon: Reading[] = [];
    for (let i = 0; i < 40; i++) {
      const t = T0 + (180 + i) * MIN;
      afternoon.push(env('light', 560, t), env('co2', Math.max(450, 750 - 10 * i), t + 1000));
    }
    const learned = feed(feed(fresh([DEVICES[0]!]), lit).state, afternoon).state;
    expect(learned.occupancy.occupied).toBe(false);
    const reason = learned.occupancy.reasons.find((r) => r.startsWith('light 560 lx'));
    expect(reason).toMatch(/^light 560 lx < 6[0-9]{2} \(room lit at (79|80|81)0 lx\)$/);
    // The same afternoon in a room with no lit history: 560 lx counts as lights on.
    const naive = feed(fresh([DEVICES[0]!]), afternoon.slice(-20)).state;
    expect(naive.occupancy.reasons).toContain('light 560 lx ≥ 300 (room lit level not learned yet)');
    expect(naive.occupancy.envProbability!).toBeGreaterThan(learned.occupancy.envProbability!);
  });

  it('lets a recent occupancy_count win over light and CO2', () => {
    const busy = feed(fresh(), busyEnvironment(T0, 15)).state;
    const zero = reduceReading(
      busy,
      reading('cnt-1', 'occupancy_count', 0, T0 + 15 * MIN),
      T0 + 15 * MIN,
      cfg,
    );
    expect(zero.state.occupancy).toMatchObject({ occupied: false, basis: 'occupancy_count' });
    expect(kinds(zero.changes, 'occupancy')[0]).toMatchObject({ from: 'occupied', to: 'vacant' });
    const three = reduceReading(
      zero.state,
      reading('cnt-1', 'occupancy_count', 3, T0 + 16 * MIN),
      T0 + 16 * MIN,
      cfg,
    );
    expect(three.state.occupancy).toMatchObject({ occupied: true, confidence: 1, basis: 'occupancy_count' });
    // Once the counter has been silent too long, the environment decides again.
    // (CO2 last spoke at minute 14: by minute 40 it is stale too, and the reasons say so.)
    const dark = feed(zero.state, [env('light', 0, T0 + 40 * MIN)]).state;
    expect(dark.occupancy.basis).toBe('light');
    expect(dark.occupancy.reasons).toContain('CO2 sensor silent since 2025-03-03T08:14Z');
  });

  it('lets a recent motion sensor win, holding motion=1 for motionHoldMs', () => {
    const dark = feed(fresh(), [env('light', 0, T0), env('co2', 430, T0)]).state;
    expect(dark.occupancy.occupied).toBe(false);
    const moved = reduceReading(dark, reading('pir-1', 'motion', 1, T0 + MIN), T0 + MIN, cfg);
    expect(moved.state.occupancy).toMatchObject({ occupied: true, basis: 'motion', confidence: 0.95 });
    const still = feed(moved.state, [
      reading('pir-1', 'motion', 0, T0 + 5 * MIN),
      env('light', 0, T0 + 5 * MIN),
    ]);
    expect(still.state.occupancy.occupied).toBe(true);
    const after = feed(still.state, [
      reading('pir-1', 'motion', 0, T0 + MIN + cfg.occupancy.motionHoldMs + 1),
      env('light', 800, T0 + MIN + cfg.occupancy.motionHoldMs + 1),
    ]);
    // Bright light, but the motion sensor is recent and has seen nobody for K minutes.
    expect(after.state.occupancy).toMatchObject({ occupied: false, basis: 'motion' });
    expect(kinds(after.changes, 'occupancy')).toHaveLength(1);
  });

  it('has hysteresis: evidence wavering around the threshold does not flap', () => {
    // Light only: 300 lx → p ≈ 0.38, 312 lx → p ≈ 0.61; a plain p ≥ 0.5 rule would flip every minute.
    const wavering = (from: number) =>
      Array.from({ length: 20 }, (_, i) => env('light', i % 2 === 0 ? 300 : 312, from + i * MIN));
    const fromVacant = feed(fresh(), [env('light', 0, T0), ...wavering(T0 + MIN)]);
    expect(fromVacant.state.occupancy.occupied).toBe(false);
    expect(kinds(fromVacant.changes, 'occupancy')).toEqual([]);
    const p = fromVacant.state.occupancy.envProbability!;
    expect(p).toBeGreaterThan(cfg.occupancy.exitProbability);
    expect(p).toBeLessThan(cfg.occupancy.enterProbability);

    const fromOccupied = feed(fresh(), [env('light', 600, T0), ...wavering(T0 + MIN)]);
    expect(fromOccupied.state.occupancy.occupied).toBe(true);
    expect(kinds(fromOccupied.changes, 'occupancy')).toHaveLength(1); // only the initial vacant → occupied
  });

  it('reads rising CO2 as occupied and its decay as vacant without any light sensor', () => {
    const rise = Array.from({ length: 30 }, (_, i) => env('co2', 440 + 12 * i, T0 + i * MIN));
    const up = feed(fresh(), rise);
    expect(up.state.occupancy).toMatchObject({ occupied: true, basis: 'co2' });
    // People leave: the level stays high for a long time but decays as ventilation would make it.
    const peak = 440 + 12 * 29;
    const decay = Array.from({ length: 30 }, (_, i) =>
      env('co2', 440 + (peak - 440) * Math.exp(-(i + 1) / 60), T0 + (30 + i) * MIN),
    );
    const down = feed(up.state, decay);
    expect(down.state.occupancy.occupied).toBe(false);
    expect(down.state.latest.co2!.value).toBeGreaterThan(650);
  });

  it('lets evidence fade when sensors fall silent, gone at the device stale interval (reduceTick)', () => {
    const lit = feed(fresh(), [env('light', 600, T0)]).state;
    expect(lit.occupancy.occupied).toBe(true);
    // env-1 reports every minute: full weight for 1.5 min, none from its stale interval (3 min).
    const soon = reduceTick(lit, T0 + 90_000, cfg);
    expect(soon.state.occupancy.occupied).toBe(true);
    expect(kinds(soon.changes, 'occupancy')).toEqual([]);
    const late = reduceTick(soon.state, T0 + 3 * MIN, cfg);
    expect(late.state.occupancy).toMatchObject({ occupied: false, basis: 'none', confidence: 0 });
    expect(late.state.occupancy.reasons).toContain('light sensor silent since 2025-03-03T08:00Z');
    expect(kinds(late.changes, 'occupancy')).toHaveLength(1);
  });

  it('names a silent light sensor the room normally has and is less sure without it', () => {
    // Light and rising CO2 for 20 minutes: occupied and sure of it.
    const both = Array.from({ length: 20 }, (_, i) => [
      env('light', 520, T0 + i * MIN),
      env('co2', 480 + 15 * i, T0 + i * MIN + 1000),
    ]).flat();
    const envOnly = () => fresh([DEVICES[0]!]); // a room with one environment sensor
    const sure = feed(envOnly(), both).state;
    expect(sure.occupancy).toMatchObject({ occupied: true, basis: 'light+co2' });
    expect(sure.occupancy.reasons.join(' ')).not.toMatch(/silent|not reported/);
    // The light sensor goes quiet; CO2 goes on rising. Within its stale interval (3 min) the reason says so
    // and the verdict rests on CO2 alone, with less confidence.
    const co2Only = Array.from({ length: 3 }, (_, i) => env('co2', 780 + 15 * i, T0 + (20 + i) * MIN + 1000));
    const after = feed(sure, co2Only).state;
    expect(after.occupancy.basis).toBe('co2');
    expect(after.occupancy.reasons[0]).toBe(
      `light sensor silent since ${new Date(T0 + 19 * MIN).toISOString().slice(0, 16)}Z`,
    );
    expect(after.occupancy.confidence).toBeLessThan(sure.occupancy.confidence);
    // A room whose registry has a light sensor that never reported says that too.
    const dark = feed(envOnly(), [env('co2', 900, T0)]).state;
    expect(dark.occupancy.reasons).toContain('light sensor has not reported');
  });
});

describe('device health', () => {
  it('goes online → stale → offline → online through reduceTick and a new reading', () => {
    const first = reduceReading(fresh(), env('temperature', 21, T0), T0, cfg);
    expect(first.changes).toEqual([
      {
        roomId: ROOM.roomId,
        ts: T0,
        kind: 'health',
        deviceId: 'env-1',
        from: 'offline',
        to: 'online',
        reasons: ['last seen 0 s ago'],
      },
    ]);
    const atEdge = reduceTick(first.state, T0 + 3 * MIN, cfg);
    expect(atEdge.state.devices['env-1']!.health).toBe('online');
    expect(atEdge.changes).toEqual([]);

    const stale = reduceTick(atEdge.state, T0 + 3 * MIN + 1000, cfg);
    expect(stale.changes).toHaveLength(1);
    expect(stale.changes[0]).toMatchObject({
      kind: 'health',
      deviceId: 'env-1',
      from: 'online',
      to: 'stale',
    });
    expect(stale.changes[0]!.reasons[0]).toBe('silent 181 s > 3 × 60 s expected interval');
    expect(reduceTick(stale.state, T0 + 9 * MIN, cfg).changes).toEqual([]);

    const offline = reduceTick(stale.state, T0 + 10 * MIN + 1000, cfg);
    expect(offline.changes.map((c) => `${c.deviceId}:${c.from}→${c.to}`)).toEqual(['env-1:stale→offline']);

    const back = reduceReading(offline.state, env('temperature', 21, T0 + 12 * MIN), T0 + 12 * MIN, cfg);
    expect(kinds(back.changes, 'health')).toMatchObject([
      { deviceId: 'env-1', from: 'offline', to: 'online' },
    ]);
  });

  it('judges each device against its own interval and configurable factors', () => {
    let s = feed(fresh(), [env('temperature', 21, T0), reading('meter-1', 'power', 1, T0)]).state;
    s = reduceTick(s, T0 + 20 * MIN, cfg).state;
    expect(s.devices['env-1']!.health).toBe('offline'); // 20 × 1 min
    expect(s.devices['meter-1']!.health).toBe('online'); // 20 min < 3 × 15 min
    const lenient: TwinConfig = { ...cfg, staleFactor: 30, offlineFactor: 60 };
    const t = reduceTick(feed(fresh(), [env('temperature', 21, T0)], lenient).state, T0 + 20 * MIN, lenient);
    expect(t.state.devices['env-1']!.health).toBe('online');
  });
});

describe('changes', () => {
  it('are emitted only for meaningful changes, not for every reading', () => {
    const readings: Reading[] = [];
    for (let i = 0; i < 30; i++) {
      const ts = T0 + i * MIN;
      readings.push(env('temperature', 21 + (i % 3) * 0.2, ts), env('humidity', 40 + (i % 4), ts));
      readings.push(env('co2', 600 + (i % 5) * 10, ts), env('light', i % 2 ? 20 : 25, ts));
    }
    const { changes } = feed(fresh(), readings);
    expect(changes.map((c) => `${c.kind}:${c.deviceId ?? ''}:${c.to}`)).toEqual(['health:env-1:online']);
    const tick = reduceTick(feed(fresh(), readings).state, T0 + 30 * MIN, cfg);
    expect(tick.changes).toEqual([]);
  });
});

describe('power and energy', () => {
  it('sums the latest power of the room’s devices that are not offline', () => {
    const { state } = feed(fresh(), [
      reading('meter-1', 'power', 1.5, T0),
      reading('meter-2', 'power', 2.25, T0),
      reading('meter-1', 'power', 2, T0 + MIN),
      reading('meter-1', 'power', 9, T0 + 30_000), // late: ignored
      reading('meter-2', 'power', 0.5, T0 + MIN, 'power_l2'), // a second channel of the same device
    ]);
    expect(state.powerKw).toBe(4.75);
    expect(reduceTick(state, T0 + 151 * MIN, cfg).state.powerKw).toBe(4.75); // stale still counts
    const later = reduceTick(state, T0 + 152 * MIN, cfg); // both meters silent > 10 × 15 min
    expect(later.state.powerKw).toBe(0);
  });

  it('counts energy today from the first reading of the day, across a register reset and midnight', () => {
    const day = (h: number, m = 0) => Date.UTC(2025, 2, 3, h, m);
    let r = feed(fresh(), [
      reading('meter-1', 'energy', 1000, day(0, 10)),
      reading('meter-1', 'energy', 1002.5, day(12)),
      reading('meter-1', 'energy', 1001, day(11)), // late: ignored
    ]);
    expect(r.state.energyTodayKwh).toBe(2.5);
    // Register reset: what was counted is kept; the use between the two readings is unknown, so not guessed.
    r = feed(r.state, [reading('meter-1', 'energy', 0.5, day(13))]);
    expect(r.state.energyTodayKwh).toBe(2.5);
    r = feed(r.state, [reading('meter-1', 'energy', 1.25, day(23, 59))]);
    expect(r.state.energyTodayKwh).toBe(3.25);
    const midnight = reduceTick(r.state, day(24, 1), cfg);
    expect(midnight.state.energyTodayKwh).toBe(0);
    r = feed(midnight.state, [
      reading('meter-1', 'energy', 1.5, day(24, 5)),
      reading('meter-1', 'energy', 2, day(25)),
    ]);
    expect(r.state.energyTodayKwh).toBe(0.5);
  });

  it('uses the configured tz offset for "today"', () => {
    const plus2: TwinConfig = { ...cfg, tzOffsetMinutes: 120 };
    expect(dayKey(Date.UTC(2025, 2, 3, 22, 30), 120)).toBe('2025-03-04');
    const { state } = feed(
      fresh(),
      [
        reading('meter-1', 'energy', 10, Date.UTC(2025, 2, 3, 21, 0)), // 23:00 local, 3 March
        reading('meter-1', 'energy', 11, Date.UTC(2025, 2, 3, 22, 30)), // 00:30 local, 4 March
        reading('meter-1', 'energy', 13, Date.UTC(2025, 2, 3, 23, 30)),
      ],
      plus2,
    );
    expect(state.energyTodayKwh).toBe(2);
  });
});

describe('purity and persistence', () => {
  function busyDay(): Reading[] {
    const out: Reading[] = [];
    for (let i = 0; i < 40; i++) {
      const ts = T0 + i * MIN;
      out.push(env('co2', 450 + 30 * i, ts), env('light', i < 30 ? 480 : 0, ts), env('temperature', 22, ts));
      if (i % 10 === 0)
        out.push(reading('meter-1', 'energy', 100 + i, ts), reading('meter-1', 'power', 3, ts));
      if (i === 5) out.push(reading('pir-1', 'motion', 1, ts));
    }
    return out;
  }

  it('never mutates the input state', () => {
    const base = feed(fresh(), busyDay().slice(0, 60)).state;
    const snapshot = structuredClone(base);
    deepFreeze(base); // any write into it would throw in strict mode
    const rest = busyDay().slice(60);
    let s = base;
    for (const r of rest) s = reduceReading(s, r, r.ts, cfg).state;
    reduceTick(base, T0 + 3 * 3600_000, cfg);
    summarizeRoom(base, T0 + 3 * 3600_000, cfg);
    expect(base).toEqual(snapshot);
    expect(s).not.toEqual(base);
  });

  it('round-trips through JSON and carries on identically', () => {
    const { state } = feed(fresh(), busyDay().slice(0, 70));
    const restored = JSON.parse(JSON.stringify(state)) as RoomTwin;
    expect(restored).toEqual(state);
    const rest = busyDay().slice(70);
    const a = feed(state, rest);
    const b = feed(restored, rest);
    expect(b).toEqual(a);
    const tickA = reduceTick(a.state, T0 + 4 * 3600_000, cfg);
    expect(reduceTick(b.state, T0 + 4 * 3600_000, cfg)).toEqual(tickA);
    expect(tickA.changes.length).toBeGreaterThan(0);
  });

  it('keeps the CO2 history bounded', () => {
    const many = Array.from({ length: 2000 }, (_, i) => env('co2', 500 + (i % 7), T0 + i * 5000));
    const { state } = feed(fresh(), many);
    expect(state.co2Track.samples.length).toBeLessThanOrEqual(cfg.occupancy.co2MaxSamples);
    expect(JSON.stringify(state).length).toBeLessThan(5000);
  });
});

describe('summarizeRoom', () => {
  it('gives the status API a JSON view as of now', () => {
    const { state } = feed(fresh(), [
      env('co2', 1620, T0),
      env('temperature', 22.4, T0),
      env('light', 450, T0),
      reading('meter-1', 'power', 1.2, T0),
      reading('meter-1', 'energy', 50, T0),
      reading('meter-1', 'energy', 51.5, T0 + MIN),
    ]);
    const summary = summarizeRoom(state, T0 + 2 * MIN, cfg);
    expect(summary).toMatchObject({
      roomId: ROOM.roomId,
      evaluatedAt: T0 + 2 * MIN,
      occupied: true,
      basis: 'light+co2',
      comfort: { level: 'alert', reasons: ['co2 1620 ppm ≥ 1500'] },
      latest: { co2: { value: 1620, unit: 'ppm', ts: T0 }, temperature: { value: 22.4, unit: '°C', ts: T0 } },
      powerKw: 1.2,
      energyTodayKwh: 1.5,
    });
    expect(summary.devices['env-1']).toEqual({ health: 'online', lastSeen: T0 });
    expect(summary.devices['pir-1']).toEqual({ health: 'offline', lastSeen: null });
    expect(summary.confidence).toBeGreaterThan(0.5);
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    expect(summarizeRoom(state, T0 + 60 * MIN, cfg).devices['env-1']!.health).toBe('offline');
  });
});

describe('reduceReadings (one group commit)', () => {
  it('ends in the same state as folding reduceReading at the same instant, with one evaluation', () => {
    const now = T0 + 5 * MIN;
    const batch = [
      env('temperature', 22, now - 3000),
      env('co2', 1600, now - 2000),
      reading('meter-1', 'power', 3.5, now - 1000),
      reading('cnt-1', 'occupancy_count', 14, now - 500),
    ];
    let folded = fresh();
    const foldedChanges: TwinChange[] = [];
    for (const r of batch) {
      const out = reduceReading(folded, r, now, cfg);
      folded = out.state;
      foldedChanges.push(...out.changes);
    }
    const start = deepFreeze(fresh());
    const batched = reduceReadings(start, batch, now, cfg);
    expect(batched.state).toEqual(folded);
    // same net changes: health of three devices, occupancy, comfort
    const net = (cs: TwinChange[]) => cs.map((c) => `${c.kind}:${c.deviceId ?? ''}:${c.to}`).sort();
    expect(net(batched.changes)).toEqual(net(foldedChanges));
    expect(kinds(batched.changes, 'comfort')[0]?.to).toBe('alert');
  });

  it('keeps a flip-flop inside one batch as history, at the readings own times', () => {
    const now = T0 + 5 * MIN;
    const state = reduceReading(
      fresh(),
      reading('cnt-1', 'occupancy_count', 0, now - 10_000),
      now - 10_000,
      cfg,
    ).state;
    const out = reduceReadings(
      state,
      [
        reading('cnt-1', 'occupancy_count', 0, now - 1000),
        reading('cnt-1', 'occupancy_count', 5, now - 2000),
      ],
      now,
      cfg,
    );
    expect(kinds(out.changes, 'occupancy').map((c) => [c.to, c.ts])).toEqual([
      ['occupied', now - 2000],
      ['vacant', now - 1000],
    ]);
    expect(out.state.latest.occupancy_count?.value).toBe(0);
  });

  it('returns the input state untouched for readings of another room', () => {
    const state = fresh();
    const out = reduceReadings(state, [{ ...env('co2', 900, T0), roomId: 'elsewhere' }], T0, cfg);
    expect(out.state).toBe(state);
    expect(out.changes).toEqual([]);
  });
});

describe('event time', () => {
  /** A morning in the room: lights and CO2 every minute, people from minute 20 to 80. */
  function morning(t0: number): Reading[] {
    const out: Reading[] = [];
    for (let i = 0; i < 120; i++) {
      const busy = i >= 20 && i < 80;
      const co2 = busy
        ? 450 + 10 * (i - 19)
        : 450 + 600 * Math.exp(-Math.max(0, i - 80) / 15) * (i >= 80 ? 1 : 0);
      out.push(env('co2', Math.round(co2), t0 + i * MIN));
      out.push(env('light', busy ? 480 : 40, t0 + i * MIN + 1000));
    }
    return out;
  }
  const flips = (changes: TwinChange[], t0: number) =>
    kinds(changes, 'occupancy').map((c) => [c.from, c.to, c.ts - t0, c.reasons.join('; ')]);

  it('gives the same occupancy history for data from 2015 replayed now as for the same data live', () => {
    const live = feed(fresh(), morning(T0));
    // The same readings stamped in 2015, all arriving now in one burst (a backfill).
    const old = Date.UTC(2015, 1, 4, 8, 0, 0);
    const wall = T0 + 3 * 3600_000;
    const replayed = morning(old).map((r) => ({ ...r, receivedAt: wall }));
    const burst = reduceReadings(fresh(), replayed, wall, cfg);
    expect(flips(live.changes, T0)).toHaveLength(2);
    expect(flips(burst.changes, old)).toEqual(flips(live.changes, T0));
    expect(burst.state.occupancy.since! - old).toBe(live.state.occupancy.since! - T0);
  });

  it('replays history into a room that has only ticked by the wall clock as into a fresh one', () => {
    const old = Date.UTC(2015, 1, 4, 8, 0, 0);
    const wall = T0 + 3 * 3600_000;
    const replayed = morning(old).map((r) => ({ ...r, receivedAt: wall }));
    // A gateway up for an hour with no sensor in this room: its clock followed the wall clock.
    let idle = fresh();
    for (let t = wall - 3600_000; t <= wall; t += 60_000) idle = reduceTick(idle, t, cfg).state;
    expect(idle.evaluatedAt).toBe(wall);
    const intoIdle = reduceReadings(idle, replayed, wall, cfg);
    const intoFresh = reduceReadings(fresh(), replayed, wall, cfg);
    expect(flips(intoIdle.changes, old)).toEqual(flips(intoFresh.changes, old));
    expect(flips(intoIdle.changes, old)).toHaveLength(2);
    expect(intoIdle.state.occupancy).toEqual(intoFresh.state.occupancy);
    // Once it has readings, older data no longer rewinds it.
    expect(intoIdle.state.evaluatedAt).toBe(Math.max(...replayed.map((r) => r.ts)));
  });

  it('does not depend on how the readings are batched', () => {
    const all = morning(T0);
    const whole = reduceReadings(fresh(), all, T0 + 3 * 3600_000, cfg);
    let s = fresh();
    const changes: TwinChange[] = [];
    for (let i = 0; i < all.length; i += 7) {
      const out = reduceReadings(s, all.slice(i, i + 7).reverse(), T0 + 3 * 3600_000, cfg);
      s = out.state;
      changes.push(...out.changes);
    }
    expect(flips(changes, T0)).toEqual(flips(whole.changes, T0));
    expect(s.occupancy).toEqual(whole.state.occupancy);
  });

  it('moves the room clock on with the wall clock only once no reading has arrived for idleAdvanceMs', () => {
    const lit = reduceReadings(fresh(), [{ ...env('light', 600, T0), receivedAt: T0 }], T0, cfg).state;
    expect(roomClock(lit, T0 + 20_000, cfg)).toBe(T0);
    expect(roomClock(lit, T0 + 10 * MIN, cfg)).toBe(T0 + 10 * MIN);
    // A 2015 replay arriving right now stays at its own time whatever the wall clock says.
    const old = Date.UTC(2015, 1, 4, 8, 0, 0);
    const replay = reduceReadings(fresh(), [{ ...env('light', 600, old), receivedAt: T0 }], T0, cfg).state;
    expect(replay.occupancy.since).toBe(old);
    expect(roomClock(replay, T0 + 1000, cfg)).toBe(old);
    const tick = reduceTick(replay, T0 + 1000, cfg);
    expect(kinds(tick.changes, 'occupancy')).toEqual([]);
    // Once the replay is over and nothing arrives, its evidence ages like any silent sensor's.
    const after = reduceTick(replay, T0 + 10 * MIN, cfg);
    expect(after.state.occupancy).toMatchObject({ occupied: false, basis: 'none' });
    expect(kinds(after.changes, 'occupancy')[0]!.ts).toBe(old + 10 * MIN);
  });
});

describe('time and bookings as the prior', () => {
  const envOnly = () => fresh([DEVICES[0]!]);
  /** CO2 creeping up by 1 ppm a minute: weak evidence, the prior decides. */
  const creeping = (t0: number) => Array.from({ length: 20 }, (_, i) => env('co2', 450 + i, t0 + i * MIN));

  it('turns an ambiguous CO2-only verdict when the room is booked, and says so', () => {
    const before = feed(envOnly(), creeping(T0)).state;
    expect(before.occupancy).toMatchObject({ occupied: false, basis: 'co2' });
    expect(before.occupancy.envProbability!).toBeGreaterThan(0.3);
    expect(before.occupancy.envProbability!).toBeLessThan(0.65);
    const booked = reduceBooking(
      before,
      { kind: 'booked', bookingId: 'bk-1', startTs: T0, endTs: T0 + 2 * 3600_000 },
      T0 + 19 * MIN,
      cfg,
    );
    expect(booked.state.occupancy.occupied).toBe(true);
    expect(booked.state.occupancy.reasons).toContain('booked until 10:00Z (bk-1)');
    expect(kinds(booked.changes, 'occupancy')).toEqual([
      expect.objectContaining({ from: 'vacant', to: 'occupied', ts: T0 + 19 * MIN }),
    ]);
    // Released: the usual-hours prior again.
    const released = reduceBooking(booked.state, { kind: 'released', bookingId: 'bk-1' }, T0 + 19 * MIN, cfg);
    expect(released.state.bookings).toEqual([]);
    expect(released.state.occupancy.reasons.join(' ')).not.toMatch(/booked/);
  });

  it('needs stronger evidence outside the usual hours (Saturday), and says why', () => {
    const saturday = T0 + 5 * 24 * 3600_000;
    const weekday = feed(envOnly(), creeping(T0)).state.occupancy;
    const weekend = feed(envOnly(), creeping(saturday)).state.occupancy;
    expect(weekend.reasons).toContain('outside usual hours');
    expect(weekend.envProbability!).toBeLessThan(weekday.envProbability!);
    expect(weekend.occupied).toBe(false);
  });
});
