/** A small campus for tests: two rooms, devices with known passwords (`pw-<deviceId>`), cheap scrypt. */

import { campusFrom, hashPassword } from '../../gateway/registry/index.ts';
import type { Campus } from '../../shared/campus.ts';

/** The campus id of the tests' campus file (the gateway sends it as campusId). */
export const TEST_CAMPUS_ID = 'test-campus';

export const TEST_DEVICES = ['env-1', 'env-2', 'env-3', 'env-4', 'occ-1', 'meter-1'] as const;

export function testPassword(deviceId: string): string {
  return `pw-${deviceId}`;
}

export async function testCampusData(extraDevices = 0): Promise<Record<string, unknown>> {
  const hash = (id: string) => hashPassword(testPassword(id), 1024, 8, 1);
  const devices: Record<string, unknown>[] = [
    { id: 'env-1', roomId: 'r-101', kind: 'env', passwordHash: await hash('env-1') },
    { id: 'env-2', roomId: 'r-102', kind: 'env', passwordHash: await hash('env-2') },
    { id: 'env-3', roomId: 'r-101', kind: 'env', passwordHash: await hash('env-3') },
    { id: 'env-4', roomId: 'r-102', kind: 'env', passwordHash: await hash('env-4') },
    { id: 'occ-1', roomId: 'r-101', kind: 'counter', passwordHash: await hash('occ-1') },
    { id: 'meter-1', roomId: 'r-102', kind: 'meter', passwordHash: await hash('meter-1') },
  ];
  for (let i = 0; i < extraDevices; i++) {
    devices.push({
      id: `bulk-${i}`,
      roomId: i % 2 ? 'r-101' : 'r-102',
      kind: 'env',
      passwordHash: await hash(`bulk-${i}`),
    });
  }
  return {
    campus: { id: TEST_CAMPUS_ID },
    deviceKinds: {
      env: { channels: ['temperature', 'humidity', 'co2', 'light'], expectedIntervalMs: 10_000 },
      counter: { channels: ['occupancy_count'], expectedIntervalMs: 10_000 },
      meter: { channels: ['power', 'energy'], expectedIntervalMs: 10_000 },
    },
    buildings: [
      {
        id: 'b1',
        floors: [
          {
            id: 'b1-f1',
            level: 1,
            rooms: [
              { id: 'r-101', capacity: 30, areaM2: 60 },
              { id: 'r-102', capacity: 60, areaM2: 110 },
            ],
          },
        ],
      },
    ],
    devices,
  };
}

export async function testCampus(extraDevices = 0): Promise<Campus> {
  return campusFrom(await testCampusData(extraDevices));
}
