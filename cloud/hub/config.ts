/**
 * The hub's settings (config/hub.yaml), validated once and frozen; every key can be overridden by an
 * environment variable `CT_HUB_` + key path (CT_HUB_PORT=0, CT_HUB_RETENTION__MAX_AGE_MS=3600000).
 * The hub has its own prefix so the hub and gateway can share one environment in `dev`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { type DeepReadonly, loadConfig, readYamlFile } from '../../shared/config.ts';

/**
 * The well-known development key (config/hub.yaml ships it). It is public: anyone who can reach the port
 * can use it. Set your own `keys` (or CT_HUB_KEYS) for anything reachable from other machines.
 */
export const DEV_KEY = { name: 'RootManageSharedAccessKey', key: 'campus-twin-dev-key-not-secret' } as const;

const entityName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only, starting with a letter or digit');

export const hubSchema = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(5672),
    /** The host name put in printed connection strings. */
    publicHost: z.string().min(1).default('localhost'),
    dataDir: z.string().min(1).default('./data/hub'),
    hubs: z.array(entityName).min(1).default(['campus-twin']),
    /** Event Hubs Basic/Standard allow up to 32. */
    partitions: z.number().int().min(1).max(32).default(4),
    /** `$Default` always exists; these are added. Names are case-insensitive, as in Event Hubs. */
    consumerGroups: z.array(entityName).default([]),
    keys: z
      .array(z.object({ name: z.string().min(1), key: z.string().min(1) }))
      .min(1)
      .default([{ ...DEV_KEY }]),
    /** Advertised on attach; larger sends are rejected (1 MiB = Event Hubs Standard). */
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(1024 * 1024),
    retention: z
      .object({
        /** Events older than this are deleted (Standard keeps 7 days). */
        maxAgeMs: z
          .number()
          .int()
          .positive()
          .default(7 * 24 * 3600_000),
        /** Per partition: the oldest events are deleted while a partition holds more than this. */
        maxBytesPerPartition: z
          .number()
          .int()
          .positive()
          .default(1024 ** 3),
        intervalMs: z.number().int().positive().default(60_000),
      })
      .prefault({}),
    /** How often open links are checked for a token that expired without renewal (then detached). */
    tokenCheckIntervalMs: z.number().int().positive().default(30_000),
    /** Group commit: at most this many events per SQLite transaction. */
    groupCommitMaxEvents: z.number().int().positive().default(5_000),
    synchronous: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('FULL'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .refine((c) => new Set(c.hubs.map((h) => h.toLowerCase())).size === c.hubs.length, {
    message: 'hub names must be unique (case-insensitive)',
    path: ['hubs'],
  });

export type HubConfigInput = z.input<typeof hubSchema>;
export type HubConfig = DeepReadonly<z.output<typeof hubSchema>>;

const HUB_ENV_PREFIX = 'CT_HUB_';

export function hubConfigFrom(raw: unknown, env: NodeJS.ProcessEnv = {}, file = '(inline)'): HubConfig {
  return loadConfig(hubSchema, raw ?? {}, { file, env, prefix: HUB_ENV_PREFIX });
}

export function loadHubConfig(file: string | undefined, env: NodeJS.ProcessEnv): HubConfig {
  const raw = file ? readYamlFile(resolve(file)) : {};
  return hubConfigFrom(raw, env, file ?? '(defaults)');
}
