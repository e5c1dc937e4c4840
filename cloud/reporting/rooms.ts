/**
 * A room's twin state as a snapshot keeps it: the latest occupancy, comfort and per-device health change at
 * or before the cut-off, grouped per room. Pure; the store finds those changes (store/snapshots.ts).
 */

/** One (room, kind, subject)'s latest change at or before the cut-off. */
export interface RoomKeyState {
  roomId: string;
  /** The room's campus ('' for rooms of gateways that name none). */
  campusId: string;
  kind: string;
  /** The device for health changes, '' otherwise. */
  subject: string;
  state: string;
  ts: number;
  reasons: string[];
}

export interface StateSince {
  state: string;
  since: number;
  reasons: string[];
}

export interface RoomSnapshotState {
  occupancy: StateSince | null;
  comfort: StateSince | null;
  health: Record<string, { state: string; since: number }>;
  devices: number;
  devicesOffline: number;
}

export interface RoomSnapshot {
  roomId: string;
  campusId: string;
  /** The newest change the state is made of. */
  ts: number;
  state: RoomSnapshotState;
}

/** How a campus id reads in messages and ids: the campus of gateways that name none is '(unnamed)'. */
export const campusLabel = (campusId: string): string => campusId || '(unnamed)';

/** A room's key in maps: its campus and id (neither contains U+0000). */
export const roomKey = (campusId: string, roomId: string): string => `${campusId}\u0000${roomId}`;

type Placed = { roomId: string; campusId: string | null };

/** Sorts rooms by id, then campus (none first). */
export function byRoom(a: Placed, b: Placed): number {
  if (a.roomId !== b.roomId) return a.roomId < b.roomId ? -1 : 1;
  const x = a.campusId ?? '';
  const y = b.campusId ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Groups per-key states (in any order) into one state per room (campus and id), sorted by id, campus. */
export function roomSnapshots(rows: readonly RoomKeyState[]): RoomSnapshot[] {
  const rooms = new Map<string, RoomSnapshot>();
  for (const r of rows) {
    const k = roomKey(r.campusId, r.roomId);
    let room = rooms.get(k);
    if (!room) {
      room = {
        roomId: r.roomId,
        campusId: r.campusId,
        ts: r.ts,
        state: { occupancy: null, comfort: null, health: {}, devices: 0, devicesOffline: 0 },
      };
      rooms.set(k, room);
    }
    room.ts = Math.max(room.ts, r.ts);
    const s = room.state;
    if (r.kind === 'occupancy' || r.kind === 'comfort') {
      s[r.kind] = { state: r.state, since: r.ts, reasons: r.reasons };
    } else if (r.kind === 'health') {
      s.health[r.subject] = { state: r.state, since: r.ts };
      s.devices++;
      if (r.state === 'offline') s.devicesOffline++;
    }
  }
  return [...rooms.values()].sort(byRoom);
}

/**
 * Facility ids for the rooms of one snapshot: a room's id, or `<campus>/<room id>` ('(unnamed)' for campus
 * '') when more than one campus has that room id among `rooms`, so that the original API's facility_id
 * stays the room id for a campus of its own and never names two rooms.
 */
export function facilityIds(
  rooms: readonly { roomId: string; campusId: string }[],
): (r: { roomId: string; campusId: string }) => string {
  const campuses = new Map<string, Set<string>>();
  for (const r of rooms) {
    const set = campuses.get(r.roomId) ?? new Set();
    set.add(r.campusId);
    campuses.set(r.roomId, set);
  }
  return (r) =>
    (campuses.get(r.roomId)?.size ?? 0) > 1 ? `${campusLabel(r.campusId)}/${r.roomId}` : r.roomId;
}
