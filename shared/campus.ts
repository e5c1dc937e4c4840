/**
 * The campus registry as the rest of the code sees it, after config/campus.yaml has been validated:
 * buildings → floors → rooms, and the devices in them with their channels. Lookups are by id.
 */
import type { ModbusDeviceSettings } from '../gateway/ingest/modbus/settings.ts';
import type { Quantity } from './quantities.ts';

/**
 * A campus id: what the campus file's `campus.id` may be (gateway/registry/schema.ts) and what the cloud
 * accepts as an uplink event's `campusId` (shared/wire.ts), so a gateway never sends one that is refused.
 */
export const CAMPUS_ID = /^[A-Za-z0-9._-]{1,128}$/;

export interface ChannelInfo {
  /** The name a device uses in its payload (native JSON key or SenML name). */
  name: string;
  quantity: Quantity;
}

export interface DeviceInfo {
  deviceId: string;
  roomId: string;
  kind: string;
  /** How often the device is expected to report; health is judged against it. */
  expectedIntervalMs: number;
  channels: ReadonlyMap<string, ChannelInfo>;
  /** `scrypt$N$r$p$salt$hash` (base64), or undefined for a device with no MQTT login (e.g. Modbus). */
  passwordHash: string | undefined;
  /** Set for a device the gateway polls over Modbus (its `modbus:` block, register map resolved). */
  modbus?: ModbusDeviceSettings;
}

export interface RoomInfo {
  roomId: string;
  name: string;
  buildingId: string;
  floorId: string;
  capacity: number;
  areaM2: number;
  deviceIds: readonly string[];
}

export interface BuildingInfo {
  buildingId: string;
  name: string;
  floors: readonly { floorId: string; level: number; roomIds: readonly string[] }[];
}

export interface Campus {
  campusId: string;
  name: string;
  buildings: ReadonlyMap<string, BuildingInfo>;
  rooms: ReadonlyMap<string, RoomInfo>;
  devices: ReadonlyMap<string, DeviceInfo>;
}
