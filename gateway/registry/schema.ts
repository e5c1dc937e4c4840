/**
 * config/campus.yaml: buildings → floors → rooms, device kinds (reusable channel profiles) and devices.
 */
import { z } from 'zod';
import { CAMPUS_ID } from '../../shared/campus.ts';
import { QUANTITY_NAMES } from '../../shared/quantities.ts';
import { modbusDeviceSchema } from '../ingest/modbus/settings.ts';

const id = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');
const quantity = z.enum(QUANTITY_NAMES as [string, ...string[]]);

const channel = z.union([
  quantity.transform((q) => ({ name: q, quantity: q })),
  z.object({ name: id, quantity }),
]);

const deviceKind = z.object({
  channels: z.array(channel).min(1),
  expectedIntervalMs: z.number().int().positive().default(60_000),
});

export const campusSchema = z.object({
  campus: z.object({
    id: z.string().regex(CAMPUS_ID, '1-128 letters, digits, . _ - (the uplink sends it with every event)'),
    name: z.string().default(''),
  }),
  buildings: z
    .array(
      z.object({
        id,
        name: z.string().default(''),
        floors: z.array(
          z.object({
            id,
            level: z.number().int().default(0),
            rooms: z.array(
              z.object({
                id,
                name: z.string().default(''),
                capacity: z.number().int().min(0).default(0),
                areaM2: z.number().min(0).default(0),
              }),
            ),
          }),
        ),
      }),
    )
    .default([]),
  deviceKinds: z.record(z.string(), deviceKind).default({}),
  /** Modbus register maps by name, for devices' `modbus.profile` (built-in ones: sdm120, room-sensor). */
  modbusProfiles: z.record(id, z.unknown()).default({}),
  devices: z
    .array(
      z.object({
        id,
        roomId: id,
        kind: z.string().min(1),
        /** Overrides the kind's channels. */
        channels: z.array(channel).optional(),
        expectedIntervalMs: z.number().int().positive().optional(),
        /** scrypt$N$r$p$salt$hash as written by `campus-twin hash-password`. */
        passwordHash: z
          .string()
          .regex(
            /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
            'expected scrypt$N$r$p$salt$hash',
          )
          .optional(),
        /** A device the gateway polls over Modbus TCP/RTU (see gateway/ingest/modbus/settings.ts). */
        modbus: modbusDeviceSchema.optional(),
      }),
    )
    .default([]),
});

export type CampusFile = z.output<typeof campusSchema>;
