/**
 * A room's twin state as a snapshot keeps it: the latest occupancy, comfort and per-device health change at
 * or before the cut-off, grouped per room. Pure; the store finds those changes (store/snapshots.ts).
 */

/** One (room, kind, subject)'s latest change at or before the cut-off. */
export interface RoomKeyState {
  roomId: string;
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
  /** The newest change the state is made of. */
  ts: number;
  state: RoomSnapshotState;
}

/** Groups per-key states (in any order) into one state per room, rooms sorted by id. */
export function roomSnapshots(rows: readonly RoomKeyState[]): RoomSnapshot[] {
  const rooms = new Map<string, RoomSnapshot>();
  for (const r of rows) {
    let room = rooms.get(r.roomId);
    if (!room) {
      room = {
        roomId: r.roomId,
        ts: r.ts,
        state: { occupancy: null, comfort: null, health: {}, devices: 0, devicesOffline: 0 },
      };
      rooms.set(r.roomId, room);
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
  return [...rooms.values()].sort((a, b) => (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
}
