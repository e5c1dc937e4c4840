/**
 * Device housekeeping (battery, signal, faults from devices/{id}/status) into alerts, pure: a battery that
 * drops below the threshold, and faults the device did not report last time. Repeats of the same state
 * raise nothing, so a device that reports its status every minute does not flood the outbox.
 */
import type { Alert, DeviceStatus } from '../../shared/events.ts';

export function statusAlerts(
  prev: DeviceStatus | undefined,
  next: DeviceStatus,
  roomId: string | undefined,
  lowBatteryPct: number,
): Alert[] {
  const alerts: Alert[] = [];
  const where = roomId ? ` in room ${roomId}` : '';
  const base = { ts: next.ts, deviceId: next.deviceId, ...(roomId ? { roomId } : {}) };
  const wasLow = prev?.batteryPct !== undefined && prev.batteryPct < lowBatteryPct;
  if (next.batteryPct !== undefined && next.batteryPct < lowBatteryPct && !wasLow) {
    alerts.push({
      ...base,
      alertId: `alert:status:${next.deviceId}:battery_low:${next.ts}`,
      severity: 'warning',
      code: 'device.battery_low',
      message: `device ${next.deviceId}${where}: battery ${next.batteryPct} % < ${lowBatteryPct} %`,
    });
  }
  const known = new Set(prev?.faults ?? []);
  const fresh = next.faults.filter((f) => !known.has(f));
  if (fresh.length > 0) {
    alerts.push({
      ...base,
      alertId: `alert:status:${next.deviceId}:fault:${next.ts}`,
      severity: 'warning',
      code: 'device.fault',
      message: `device ${next.deviceId}${where} reports ${fresh.join(', ')}`,
    });
  }
  return alerts;
}
