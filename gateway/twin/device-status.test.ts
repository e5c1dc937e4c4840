import { describe, expect, it } from 'vitest';
import type { DeviceStatus } from '../../shared/events.ts';
import { statusAlerts } from './device-status.ts';

const T0 = Date.UTC(2026, 10, 27, 12);
const st = (ts: number, batteryPct: number | undefined, faults: string[] = []): DeviceStatus => ({
  deviceId: 'pir-1',
  ts,
  faults,
  ...(batteryPct === undefined ? {} : { batteryPct }),
});

describe('statusAlerts', () => {
  it('alerts once when the battery drops below the threshold, again only after it recovered', () => {
    expect(statusAlerts(undefined, st(T0, 40), 'r-1', 15)).toEqual([]);
    const low = statusAlerts(st(T0, 40), st(T0 + 1, 12), 'r-1', 15);
    expect(low).toMatchObject([
      { code: 'device.battery_low', severity: 'warning', roomId: 'r-1', deviceId: 'pir-1' },
    ]);
    expect(low[0]?.message).toBe('device pir-1 in room r-1: battery 12 % < 15 %');
    expect(statusAlerts(st(T0 + 1, 12), st(T0 + 2, 11), 'r-1', 15)).toEqual([]);
    expect(statusAlerts(st(T0 + 2, 11), st(T0 + 3, 90), 'r-1', 15)).toEqual([]);
    expect(statusAlerts(st(T0 + 3, 90), st(T0 + 4, 10), 'r-1', 15)).toHaveLength(1);
  });

  it('alerts on faults the device did not report before', () => {
    expect(statusAlerts(st(T0, 50), st(T0 + 1, 50, ['lens_dirty']), undefined, 15)).toMatchObject([
      { code: 'device.fault', message: 'device pir-1 reports lens_dirty' },
    ]);
    expect(
      statusAlerts(st(T0 + 1, 50, ['lens_dirty']), st(T0 + 2, 50, ['lens_dirty']), undefined, 15),
    ).toEqual([]);
    const more = statusAlerts(
      st(T0 + 2, 50, ['lens_dirty']),
      st(T0 + 3, 50, ['lens_dirty', 'tamper']),
      undefined,
      15,
    );
    expect(more[0]?.message).toBe('device pir-1 reports tamper');
  });
});
