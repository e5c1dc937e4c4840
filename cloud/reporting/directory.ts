/**
 * Rooms and buildings as reporting shows them: the campus registry (which building and floor a room is on,
 * its name and capacity) joined with each room's latest twin state in the store. Pure; the registry is
 * optional (a room the registry does not name is listed with null building and floor).
 */
import { type RoomKeyState, roomKey } from './rooms.ts';

export interface DirectoryRoom {
  roomId: string;
  name: string;
  buildingId: string;
  floorId: string;
  capacity: number;
}

export interface DirectoryBuilding {
  buildingId: string;
  name: string;
  floors: readonly { floorId: string; level: number; roomIds: readonly string[] }[];
}

export interface Directory {
  /** The registry's campus (its campus.id): its rooms are the rooms of that campus. null without one. */
  campusId: string | null;
  buildings: readonly DirectoryBuilding[];
  rooms: ReadonlyMap<string, DirectoryRoom>;
}

export const EMPTY_DIRECTORY: Directory = { campusId: null, buildings: [], rooms: new Map() };

/** One (room, kind, subject)'s latest state, as the store keeps it. */
export type StateRow = RoomKeyState;

export interface RoomSummary {
  roomId: string;
  /** null for a room of gateways that name no campus, without a registry to place it. */
  campusId: string | null;
  name: string | null;
  buildingId: string | null;
  floorId: string | null;
  capacity: number | null;
  occupancy: string | null;
  occupancySince: number | null;
  comfort: string | null;
  comfortReasons: string[];
  devices: { online: number; stale: number; offline: number };
  lastChangeTs: number | null;
  /** Comfort warn/alert, or a device stale or offline. */
  needsAttention: boolean;
}

/**
 * Every room the registry names or the store has state for (a room being a room id on a campus), sorted by
 * building, floor, room, campus. A registry room is the store's room of that id on the registry's campus,
 * or, when the store has none there, on campus '' (gateways naming no campus: a campus from before campus
 * ids, or one that never set one); a registry room without state is listed on the registry's campus.
 */
export function roomSummaries(dir: Directory, states: readonly StateRow[]): RoomSummary[] {
  const out = new Map<string, RoomSummary>();
  const home = dir.campusId ?? '';
  const stored = new Set(states.map((s) => roomKey(s.campusId, s.roomId)));
  const get = (roomId: string, campusId: string, d?: DirectoryRoom): RoomSummary => {
    const k = roomKey(campusId, roomId);
    let r = out.get(k);
    if (!r) {
      r = {
        roomId,
        campusId: campusId || null,
        name: d?.name ?? null,
        buildingId: d?.buildingId ?? null,
        floorId: d?.floorId ?? null,
        capacity: d?.capacity ?? null,
        occupancy: null,
        occupancySince: null,
        comfort: null,
        comfortReasons: [],
        devices: { online: 0, stale: 0, offline: 0 },
        lastChangeTs: null,
        needsAttention: false,
      };
      out.set(k, r);
    }
    return r;
  };
  for (const [roomId, d] of dir.rooms) {
    const unnamed = !stored.has(roomKey(home, roomId)) && stored.has(roomKey('', roomId));
    get(roomId, unnamed ? '' : home, d);
  }
  for (const s of states) {
    const r = get(s.roomId, s.campusId);
    r.lastChangeTs = Math.max(r.lastChangeTs ?? s.ts, s.ts);
    if (s.kind === 'occupancy') {
      r.occupancy = s.state;
      r.occupancySince = s.ts;
    } else if (s.kind === 'comfort') {
      r.comfort = s.state;
      r.comfortReasons = s.reasons;
    } else if (
      s.kind === 'health' &&
      (s.state === 'online' || s.state === 'stale' || s.state === 'offline')
    ) {
      r.devices[s.state]++;
    }
  }
  for (const r of out.values())
    r.needsAttention =
      r.comfort === 'warn' || r.comfort === 'alert' || r.devices.stale + r.devices.offline > 0;
  const key = (r: RoomSummary) =>
    `${r.buildingId ?? '\uffff'}\u0000${r.floorId ?? ''}\u0000${r.roomId}\u0000${r.campusId ?? ''}`;
  return [...out.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export interface BuildingSummary {
  buildingId: string;
  name: string;
  floors: number;
  rooms: number;
  roomsWithState: number;
  occupied: number;
  /** Occupied rooms ÷ rooms whose occupancy is known (null with none known). */
  occupiedShare: number | null;
  comfort: { ok: number; warn: number; alert: number; unknown: number };
  devices: { online: number; stale: number; offline: number };
  roomsNeedingAttention: number;
  alertsLast24h: number;
}

/** One building of the registry: its rooms among `rooms` (roomSummaries), and their alerts (by roomKey). */
export function buildingSummary(
  b: DirectoryBuilding,
  rooms: readonly RoomSummary[],
  alertsByRoom: ReadonlyMap<string, number>,
): BuildingSummary {
  const mine = rooms.filter((r) => r.buildingId === b.buildingId);
  const comfort = { ok: 0, warn: 0, alert: 0, unknown: 0 };
  const devices = { online: 0, stale: 0, offline: 0 };
  let occupied = 0;
  let known = 0;
  let alerts = 0;
  for (const r of mine) {
    if (r.comfort === 'ok' || r.comfort === 'warn' || r.comfort === 'alert') comfort[r.comfort]++;
    else comfort.unknown++;
    devices.online += r.devices.online;
    devices.stale += r.devices.stale;
    devices.offline += r.devices.offline;
    if (r.occupancy === 'occupied' || r.occupancy === 'vacant') {
      known++;
      if (r.occupancy === 'occupied') occupied++;
    }
    alerts += alertsByRoom.get(roomKey(r.campusId ?? '', r.roomId)) ?? 0;
  }
  return {
    buildingId: b.buildingId,
    name: b.name,
    floors: b.floors.length,
    rooms: mine.length,
    roomsWithState: mine.filter((r) => r.lastChangeTs !== null).length,
    occupied,
    occupiedShare: known === 0 ? null : Math.round((occupied / known) * 1000) / 1000,
    comfort,
    devices,
    roomsNeedingAttention: mine.filter((r) => r.needsAttention).length,
    alertsLast24h: alerts,
  };
}
