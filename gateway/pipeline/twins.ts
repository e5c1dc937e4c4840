/**
 * Holds every room's twin state and turns readings and time into TwinChanges with the pure reducer.
 * Changes are staged so that the caller can make them durable (outbox) in the same transaction as the
 * readings that caused them, and only then adopt the new states. Checkpointed to lowdb (small state only).
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import type { Campus, DeviceInfo } from '../../shared/campus.ts';
import { DamagedFileError, DurableJsonFile, readJsonFile } from '../../shared/durable-file.ts';
import type { AdminEvent, Alert, DeviceStatus, Reading, TwinChange } from '../../shared/events.ts';
import type { RecordedJournal } from '../journal/identity.ts';
import {
  type BookingChange,
  initialRoomState,
  type RoomTwin,
  reduceBooking,
  reduceReadings,
  reduceTick,
  type TwinConfig,
} from '../twin/reducer.ts';

interface Checkpoint {
  savedAt: number;
  rooms: Record<string, RoomTwin>;
  /** Last devices/{id}/status of each device. */
  deviceStatus?: Record<string, DeviceStatus>;
  /** The journal this state was made from (journal/identity.ts). */
  journal?: RecordedJournal;
}

function isCheckpoint(v: unknown): v is Checkpoint {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c.savedAt === 'number' && typeof c.rooms === 'object' && c.rooms !== null;
}

/** A checkpoint file as read: its data (null when there is none), or why it is damaged. */
export type LoadedCheckpoint = { data: Checkpoint | null } | { damaged: string };

/** Reads (and parses) the checkpoint file once, for the journal check and the restore alike. */
export function loadCheckpoint(checkpointFile: string): LoadedCheckpoint {
  try {
    return { data: readJsonFile(checkpointFile, isCheckpoint) };
  } catch (err) {
    if (err instanceof DamagedFileError) return { damaged: err.reason };
    throw err;
  }
}

/** The journal a loaded checkpoint records; undefined when there is none, or none readable. */
export function recordedJournal(loaded: LoadedCheckpoint): RecordedJournal | undefined {
  return 'data' in loaded ? (loaded.data?.journal ?? undefined) : undefined;
}

/** What restore found: the checkpoint's time, and a damaged file it moved aside. */
export interface Restored {
  savedAt: number;
  damaged?: { file: string; movedTo: string; reason: string };
}

export class TwinStage {
  readonly staged = new Map<string, RoomTwin>();
  readonly changes: TwinChange[] = [];
  readonly failures: { roomId: string; readings: number; error: string }[] = [];
}

export class Twins {
  readonly #rooms = new Map<string, RoomTwin>();
  /** Last status each device reported (battery, signal, faults). */
  readonly deviceStatus = new Map<string, DeviceStatus>();
  readonly #cfg: TwinConfig;
  readonly #db: Low<Checkpoint>;
  readonly #file: string;
  readonly #journal: RecordedJournal | undefined;
  /** The checkpoint as already read (by the journal check), so restore does not read it again. */
  #loaded: LoadedCheckpoint | undefined;

  constructor(
    campus: Campus,
    cfg: TwinConfig,
    checkpointFile: string,
    journal?: RecordedJournal,
    loaded?: LoadedCheckpoint,
  ) {
    this.#cfg = cfg;
    this.#file = checkpointFile;
    this.#journal = journal;
    this.#loaded = loaded;
    mkdirSync(dirname(checkpointFile), { recursive: true });
    // Written atomically with fsync (file and directory): a power cut leaves the old or the new file.
    this.#db = new Low<Checkpoint>(new DurableJsonFile(checkpointFile, isCheckpoint), {
      savedAt: 0,
      rooms: {},
    });
    for (const room of campus.rooms.values()) {
      const devices = room.deviceIds.map((id) => campus.devices.get(id)).filter((d): d is DeviceInfo => !!d);
      this.#rooms.set(room.roomId, initialRoomState(room, devices));
    }
  }

  /**
   * Restore the last checkpoint (savedAt 0 when there was none). A damaged one (empty, torn, not a
   * checkpoint) is moved aside and reported; the caller rebuilds the twin from the journal.
   */
  async restore(now = Date.now()): Promise<Restored> {
    const loaded = this.#loaded ?? loadCheckpoint(this.#file);
    this.#loaded = undefined;
    if ('damaged' in loaded) {
      const movedTo = `${this.#file}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(this.#file, movedTo);
      return { savedAt: 0, damaged: { file: this.#file, movedTo, reason: loaded.damaged } };
    }
    const data = loaded.data ?? { savedAt: 0, rooms: {} };
    this.#db.data = data;
    for (const [roomId, state] of Object.entries(data.rooms ?? {})) {
      const initial = this.#rooms.get(roomId);
      // The registry, not the checkpoint, says which channels the room has.
      if (initial) this.#rooms.set(roomId, { ...state, expected: initial.expected ?? {} });
    }
    for (const [deviceId, status] of Object.entries(data.deviceStatus ?? {}))
      this.deviceStatus.set(deviceId, status);
    return { savedAt: data.savedAt ?? 0 };
  }

  async checkpoint(now: number): Promise<void> {
    this.#db.data = {
      savedAt: now,
      rooms: Object.fromEntries(this.#rooms),
      deviceStatus: Object.fromEntries(this.deviceStatus),
      ...(this.#journal ? { journal: this.#journal } : {}),
    };
    await this.#db.write();
  }

  /**
   * Reduce readings into a stage without adopting the result: one evaluation per room per call (a group
   * commit shares one `now`). A room the reducer cannot handle is skipped and counted: durable ingest must
   * never depend on the twin being right.
   */
  stage(readings: readonly Reading[], now: number, stage = new TwinStage()): TwinStage {
    const byRoom = new Map<string, Reading[]>();
    for (const r of readings) {
      const list = byRoom.get(r.roomId);
      if (list) list.push(r);
      else byRoom.set(r.roomId, [r]);
    }
    for (const [roomId, list] of byRoom) {
      const current = stage.staged.get(roomId) ?? this.#rooms.get(roomId);
      if (!current) continue;
      try {
        const { state, changes } = reduceReadings(current, list, now, this.#cfg);
        stage.staged.set(roomId, state);
        for (const c of changes) stage.changes.push(c);
      } catch (err) {
        stage.failures.push({
          roomId,
          readings: list.length,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return stage;
  }

  /** Room bookings from admin events (room.booked / room.released for a room of this campus). */
  stageBookings(events: readonly AdminEvent[], now: number): TwinStage {
    const stage = new TwinStage();
    for (const e of events) {
      const change = bookingChange(e);
      if (!change || !e.roomId) continue;
      const current = stage.staged.get(e.roomId) ?? this.#rooms.get(e.roomId);
      if (!current) continue;
      const { state, changes } = reduceBooking(current, change, now, this.#cfg);
      stage.staged.set(e.roomId, state);
      for (const c of changes) stage.changes.push(c);
    }
    return stage;
  }

  stageTick(now: number): TwinStage {
    const stage = new TwinStage();
    for (const [roomId, current] of this.#rooms) {
      const { state, changes } = reduceTick(current, now, this.#cfg);
      if (state !== current) stage.staged.set(roomId, state);
      for (const c of changes) stage.changes.push(c);
    }
    return stage;
  }

  adopt(stage: TwinStage): void {
    for (const [roomId, state] of stage.staged) this.#rooms.set(roomId, state);
  }

  get(roomId: string): RoomTwin | undefined {
    return this.#rooms.get(roomId);
  }

  entries(): IterableIterator<[string, RoomTwin]> {
    return this.#rooms.entries();
  }
}

/** What an admin event says about a room's bookings, if anything. */
export function bookingChange(e: AdminEvent): BookingChange | undefined {
  if (!e.bookingId) return undefined;
  if (e.type === 'room.booked' && e.startTs !== undefined && e.endTs !== undefined)
    return { kind: 'booked', bookingId: e.bookingId, startTs: e.startTs, endTs: e.endTs };
  if (e.type === 'room.released') return { kind: 'released', bookingId: e.bookingId };
  return undefined;
}

/** Stable ids: a replay after a crash regenerates the same change, which the outbox then ignores. */
export function twinChangeId(c: TwinChange): string {
  return `twin:${c.roomId}:${c.kind}:${c.deviceId ?? ''}:${c.ts}`;
}

/** The changes that someone should be told about now become alerts as well. */
export function alertFor(c: TwinChange): Alert | undefined {
  if (c.kind === 'comfort' && c.to === 'alert') {
    return {
      alertId: `alert:${twinChangeId(c)}`,
      ts: c.ts,
      severity: 'warning',
      code: 'comfort.alert',
      roomId: c.roomId,
      message: `room ${c.roomId} comfort alert: ${c.reasons.join('; ')}`,
    };
  }
  if (c.kind === 'health' && c.to === 'offline') {
    return {
      alertId: `alert:${twinChangeId(c)}`,
      ts: c.ts,
      severity: 'warning',
      code: 'device.offline',
      roomId: c.roomId,
      ...(c.deviceId ? { deviceId: c.deviceId } : {}),
      message: `device ${c.deviceId ?? '?'} in room ${c.roomId} is offline`,
    };
  }
  return undefined;
}
