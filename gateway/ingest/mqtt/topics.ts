/**
 * The topic contract (pure): devices publish `devices/{deviceId}/telemetry` and `devices/{deviceId}/status`,
 * and `devices/{deviceId}/backfill` for readings older than the journal's retention (a device emptying its
 * buffer after an outage, a campus loading last term's data: same payload forms as telemetry); they may
 * subscribe only under their own `devices/{deviceId}/` prefix.
 */
export type TopicKind = 'telemetry' | 'status' | 'backfill';

export function parseDeviceTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
  if (!topic.startsWith('devices/')) return undefined;
  const slash = topic.indexOf('/', 8);
  if (slash <= 8) return undefined;
  const kind = topic.slice(slash + 1);
  if (kind !== 'telemetry' && kind !== 'status' && kind !== 'backfill') return undefined;
  return { deviceId: topic.slice(8, slash), kind };
}

/** A device may subscribe under its own prefix only (ids cannot hold wildcards, so none sits above it). */
export function maySubscribe(deviceId: string, filter: string): boolean {
  return filter.startsWith(`devices/${deviceId}/`);
}
