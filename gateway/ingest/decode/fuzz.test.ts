import { describe, expect, it } from 'vitest';
import type { ChannelInfo, DeviceInfo } from '../../../shared/campus.ts';
import { QUANTITY_NAMES } from '../../../shared/quantities.ts';
import {
  FUZZ_FUTURE_OFFSET_MS,
  FUZZ_MAX_PAYLOAD_BYTES,
  FUZZ_MAX_VALID_PER_PAYLOAD,
  type FuzzKind,
  fuzzPayloads,
} from './fuzz.ts';
import { type DecodeContext, decodeTelemetry } from './index.ts';

const NOW = Date.UTC(2026, 10, 27, 12);
const COUNT = 10_000;

/** One channel per quantity, named after it, so every range and the motion/boolean rule are exercised. */
function device(names: readonly string[]): DeviceInfo {
  const channels = new Map<string, ChannelInfo>();
  names.forEach((name, i) => {
    channels.set(name, { name, quantity: QUANTITY_NAMES[i % QUANTITY_NAMES.length]! });
  });
  return {
    deviceId: 'fuzz-dev',
    roomId: 'R-1',
    kind: 'fuzz',
    expectedIntervalMs: 60_000,
    channels,
    passwordHash: undefined,
  };
}

/** A context inside the bounds fuzz.ts documents for `count` payloads generated from `baseTs`. */
function ctx(dev: DeviceInfo, baseTs: number, count: number): DecodeContext {
  const now = baseTs;
  const maxFutureMs = FUZZ_MAX_VALID_PER_PAYLOAD * count;
  expect(now + maxFutureMs).toBeLessThan(baseTs + FUZZ_FUTURE_OFFSET_MS);
  return {
    device: dev,
    now,
    maxFutureMs,
    oldestAcceptedTs: baseTs,
    maxPayloadBytes: FUZZ_MAX_PAYLOAD_BYTES,
    source: 'mqtt',
  };
}

function agreement(seed: number, names: string[], count: number) {
  const dev = device(names);
  const c = ctx(dev, NOW, count);
  const kinds = new Map<FuzzKind, number>();
  const mismatches: string[] = [];
  const seen = new Set<string>();
  let accepted = 0;
  let maxBytes = 0;
  for (const p of fuzzPayloads(seed, count, names, NOW)) {
    kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
    maxBytes = Math.max(maxBytes, p.payload.byteLength);
    const res = decodeTelemetry(p.payload, c);
    const valid = res.rejections.length === 0;
    if (valid !== p.valid || res.readings.length !== p.validReadings) {
      mismatches.push(
        `${p.kind} labelled ${p.valid}/${p.validReadings}, got ${valid}/${res.readings.length}: ` +
          `${p.payload.toString('utf8').slice(0, 200)} → ${JSON.stringify(res.rejections).slice(0, 300)}`,
      );
    }
    for (const r of res.readings) seen.add(`${r.channel}@${r.ts}`);
    accepted += res.readings.length;
  }
  return { kinds, mismatches, accepted, unique: seen.size, maxBytes };
}

describe('fuzzPayloads', () => {
  it(`agrees with decodeTelemetry on ${COUNT} payloads`, () => {
    const names = [
      'temperature',
      'humidity',
      'co2',
      'light',
      'motion',
      'occupancy',
      'power',
      'energy',
      'voltage',
      'current',
    ];
    const r = agreement(20261127, names, COUNT);
    expect(r.mismatches.slice(0, 5)).toEqual([]);
    // Every kind shows up, and accepted readings are unique across the run (what an integration test counts).
    expect([...r.kinds.keys()].sort()).toHaveLength(15);
    expect(r.accepted).toBeGreaterThan(COUNT);
    expect(r.unique).toBe(r.accepted);
    expect(r.maxBytes).toBeLessThanOrEqual(FUZZ_MAX_PAYLOAD_BYTES);
  });

  it('agrees for other seeds and for a device with a single channel', () => {
    for (const seed of [1, 2, 0xdeadbeef])
      expect(agreement(seed, ['co2', 'temp', 'pir'], 2000).mismatches).toEqual([]);
    expect(agreement(7, ['only'], 2000).mismatches).toEqual([]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const take = (seed: number) =>
      Array.from(fuzzPayloads(seed, 200, ['a', 'b'], NOW), (p) => p.payload.toString('base64')).join('|');
    expect(take(42)).toBe(take(42));
    expect(take(42)).not.toBe(take(43));
  });

  it('labels totals that match what decoding accepts', () => {
    let labelled = 0;
    for (const p of fuzzPayloads(5, 500, ['a', 'b', 'c'], NOW)) labelled += p.validReadings;
    expect(labelled).toBe(agreement(5, ['a', 'b', 'c'], 500).accepted);
  });

  it('refuses inputs for which its labels could not be exact', () => {
    expect(() => fuzzPayloads(1, 1, [], NOW).next()).toThrow(RangeError);
    expect(() => fuzzPayloads(1, 1, ['a:b'], NOW).next()).toThrow(RangeError);
    expect(() => fuzzPayloads(1, 1, ['zz-fuzz-unknown-1'], NOW).next()).toThrow(RangeError);
    expect(() => fuzzPayloads(1, 1, ['a'], 1000).next()).toThrow(RangeError);
  });
});
