/**
 * The topic contract (pure): devices publish `devices/{deviceId}/telemetry` and `devices/{deviceId}/status`,
 * and may subscribe only under their own `devices/{deviceId}/` prefix.
 */
export type TopicKind = 'telemetry' | 'status';

export function parseDeviceTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
  if (!topic.startsWith('devices/')) return undefined;
  const slash = topic.indexOf('/', 8);
  if (slash <= 8) return undefined;
  const kind = topic.slice(slash + 1);
  if (kind !== 'telemetry' && kind !== 'status') return undefined;
  return { deviceId: topic.slice(8, slash), kind };
}

/** A device may subscribe under its own prefix only (ids cannot hold wildcards, so none sits above it). */
export function maySubscribe(deviceId: string, filter: string): boolean {
  return filter.startsWith(`devices/${deviceId}/`);
}
