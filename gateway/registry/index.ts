/**
 * Turns a validated campus file into the lookup structure the gateway uses (shared/campus.ts), checking
 * cross-references (a device's room and kind exist, ids are unique) with the path of the bad field.
 */
import { resolve } from 'node:path';
import type { Campus, ChannelInfo, DeviceInfo, RoomInfo } from '../../shared/campus.ts';
import { ConfigError, readYamlFile } from '../../shared/config.ts';
import type { Quantity } from '../../shared/quantities.ts';
import {
  checkBuses,
  isMapIssue,
  type ModbusDeviceSettings,
  modbusDeviceFrom,
  resolveProfiles,
} from '../ingest/modbus/settings.ts';
import { type CampusFile, campusSchema } from './schema.ts';

export { hashPassword, PasswordVerifier, verifyPassword } from './passwords.ts';

export function campusFrom(raw: unknown, file = '(inline)'): Campus {
  const parsed = campusSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(file, issue.path.map(String).join('.'), issue.message);
  }
  return buildCampus(parsed.data, file);
}

export function loadCampus(file: string): Campus {
  return campusFrom(readYamlFile(resolve(file)), file);
}

function buildCampus(data: CampusFile, file: string): Campus {
  const rooms = new Map<string, RoomInfo & { deviceIds: string[] }>();
  const buildings = new Map<string, Campus['buildings'] extends ReadonlyMap<string, infer B> ? B : never>();
  data.buildings.forEach((b, bi) => {
    if (buildings.has(b.id))
      throw new ConfigError(file, `buildings.${bi}.id`, `duplicate building id ${b.id}`);
    const floors = b.floors.map((f, fi) => {
      const roomIds = f.rooms.map((r, ri) => {
        if (rooms.has(r.id)) {
          throw new ConfigError(
            file,
            `buildings.${bi}.floors.${fi}.rooms.${ri}.id`,
            `duplicate room id ${r.id}`,
          );
        }
        rooms.set(r.id, {
          roomId: r.id,
          name: r.name || r.id,
          buildingId: b.id,
          floorId: f.id,
          capacity: r.capacity,
          areaM2: r.areaM2,
          deviceIds: [],
        });
        return r.id;
      });
      return { floorId: f.id, level: f.level, roomIds };
    });
    buildings.set(b.id, { buildingId: b.id, name: b.name || b.id, floors });
  });

  const devices = new Map<string, DeviceInfo>();
  const profiles = resolveProfiles(data.modbusProfiles);
  if (isMapIssue(profiles)) throw new ConfigError(file, `modbusProfiles.${profiles.path}`, profiles.message);
  const polled: { settings: ModbusDeviceSettings; at: string }[] = [];
  data.devices.forEach((d, di) => {
    const at = `devices.${di}`;
    if (devices.has(d.id)) throw new ConfigError(file, `${at}.id`, `duplicate device id ${d.id}`);
    const room = rooms.get(d.roomId);
    if (!room) throw new ConfigError(file, `${at}.roomId`, `unknown room ${d.roomId}`);
    const kind = data.deviceKinds[d.kind];
    if (!kind && !d.channels && !d.modbus) {
      throw new ConfigError(file, `${at}.kind`, `unknown device kind ${d.kind} and no channels given`);
    }
    const channels = new Map<string, ChannelInfo>();
    for (const c of d.channels ?? kind?.channels ?? []) {
      channels.set(c.name, { name: c.name, quantity: c.quantity as Quantity });
    }
    const modbus = d.modbus ? modbusDeviceFrom(d.modbus, profiles, channels) : undefined;
    if (modbus && isMapIssue(modbus))
      throw new ConfigError(file, `${at}.modbus.${modbus.path}`, modbus.message);
    if (modbus) polled.push({ settings: modbus, at });
    devices.set(d.id, {
      deviceId: d.id,
      roomId: d.roomId,
      kind: d.kind,
      expectedIntervalMs:
        d.expectedIntervalMs ?? kind?.expectedIntervalMs ?? modbus?.pollIntervalMs ?? 60_000,
      channels,
      passwordHash: d.passwordHash,
      ...(modbus ? { modbus } : {}),
    });
    room.deviceIds.push(d.id);
  });
  const conflict = checkBuses(polled);
  if (conflict) throw new ConfigError(file, conflict.at, conflict.message);

  return { campusId: data.campus.id, name: data.campus.name || data.campus.id, buildings, rooms, devices };
}
