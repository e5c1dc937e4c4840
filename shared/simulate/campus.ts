/** Picks the MQTT devices of a campus registry (those with a login) as simulated devices. */
import type { Campus } from '../campus.ts';
import type { SimDevice } from './model.ts';

export function simDevicesFrom(
  campus: Campus,
  opts: { rooms?: number; roomIds?: readonly string[]; seed?: string } = {},
): SimDevice[] {
  let roomIds = [...campus.rooms.keys()];
  if (opts.roomIds) roomIds = roomIds.filter((r) => opts.roomIds!.includes(r));
  if (opts.rooms !== undefined) roomIds = roomIds.slice(0, opts.rooms);
  const out: SimDevice[] = [];
  for (const roomId of roomIds) {
    const room = campus.rooms.get(roomId)!;
    for (const deviceId of room.deviceIds) {
      const d = campus.devices.get(deviceId);
      if (!d || d.passwordHash === undefined) continue;
      out.push({
        deviceId,
        roomId,
        capacity: room.capacity,
        channels: [...d.channels.values()].map((c) => ({ name: c.name, quantity: c.quantity })),
        ...(opts.seed ? { seed: opts.seed } : {}),
      });
    }
  }
  return out;
}
