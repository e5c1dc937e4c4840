/**
 * Generated campuses for benchmarks: `count` devices of one kind, spread over buildings/floors/rooms, each
 * with its own password (`bench-pw-<deviceId>`) hashed at a low scrypt cost (N=1024) so setup takes seconds,
 * written as campus YAML the gateway loads like any other.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { hashPassword } from '../../gateway/registry/index.ts';

export const BENCH_CHANNELS = ['temperature', 'humidity', 'co2', 'light'] as const;

export interface BenchDevice {
  deviceId: string;
  password: string;
}

export interface GeneratedCampus {
  devices: BenchDevice[];
  rooms: number;
}

export function benchPassword(deviceId: string): string {
  return `bench-pw-${deviceId}`;
}

/**
 * Writes a campus YAML with `count` devices (`devicesPerRoom` to a room, 20 rooms a floor, 5 floors a
 * building) of kind `env` (the four BENCH_CHANNELS, expected every `expectedIntervalMs`).
 */
export async function writeBenchCampus(
  file: string,
  opts: { count: number; devicesPerRoom: number; expectedIntervalMs: number; scryptN?: number },
): Promise<GeneratedCampus> {
  const roomsPerFloor = 20;
  const floorsPerBuilding = 5;
  const roomCount = Math.ceil(opts.count / opts.devicesPerRoom);
  const roomIds: string[] = [];
  const buildings: Record<string, unknown>[] = [];
  for (let r = 0; r < roomCount; r++) {
    const b = Math.floor(r / (roomsPerFloor * floorsPerBuilding));
    const f = Math.floor(r / roomsPerFloor) % floorsPerBuilding;
    const buildingId = `b${b}`;
    let building = buildings[b] as { id: string; floors: { id: string; level: number; rooms: unknown[] }[] };
    if (!building) {
      building = { id: buildingId, floors: [] };
      buildings[b] = building;
    }
    let floor = building.floors[f];
    if (!floor) {
      floor = { id: `${buildingId}-f${f}`, level: f, rooms: [] };
      building.floors[f] = floor;
    }
    const roomId = `${buildingId}-f${f}-r${r % roomsPerFloor}`;
    floor.rooms.push({ id: roomId, capacity: 40, areaM2: 80 });
    roomIds.push(roomId);
  }

  const devices: BenchDevice[] = [];
  const entries: Record<string, unknown>[] = [];
  const n = opts.scryptN ?? 1024;
  const chunk = 64; // scrypt runs on the libuv pool; a bounded batch keeps memory flat
  for (let start = 0; start < opts.count; start += chunk) {
    const ids = Array.from({ length: Math.min(chunk, opts.count - start) }, (_, k) => `env-${start + k}`);
    const hashes = await Promise.all(ids.map((id) => hashPassword(benchPassword(id), n, 8, 1)));
    ids.forEach((deviceId, k) => {
      const i = start + k;
      devices.push({ deviceId, password: benchPassword(deviceId) });
      entries.push({
        id: deviceId,
        roomId: roomIds[Math.floor(i / opts.devicesPerRoom)]!,
        kind: 'env',
        passwordHash: hashes[k]!,
      });
    });
  }

  const doc = {
    campus: { id: 'bench-campus', name: 'Benchmark campus' },
    deviceKinds: { env: { channels: [...BENCH_CHANNELS], expectedIntervalMs: opts.expectedIntervalMs } },
    buildings,
    devices: entries,
  };
  writeFileSync(file, stringify(doc));
  return { devices, rooms: roomCount };
}
