/**
 * The cloud service's settings (config/cloud.yaml). Units are in the key names. Every key has a default,
 * so an empty file is a valid (secure, non-dev) cloud that serves its store; without
 * `eventHub.connectionString` it consumes nothing.
 */
import cron from 'node-cron';
import { z } from 'zod';
import { PG_SCHEMA_NAME } from '../store/pg-sql.ts';

const port = z.number().int().min(0).max(65535);
const ms = z.number().int().positive();

export const cloudSchema = z
  .object({
    /** Development mode: the API is open without a token. */
    dev: z.boolean().default(false),
    eventHub: z
      .object({
        /** `Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=hub]`; empty = no consumer. */
        connectionString: z.string().default(''),
        /** Needed unless the connection string carries EntityPath. */
        hubName: z.string().default(''),
        consumerGroup: z.string().min(1).default('$Default'),
        /**
         * This process's owner id in partition ownership; '' = a stable slot next to the store file
         * (`<host>-<n>`), so a restarted cloud resumes its partitions at once instead of waiting out its
         * predecessor's ownership. Set it when processes on different hosts share a consumer group.
         */
        consumerId: z.string().max(128).default(''),
        /** Events handed to one apply transaction at most (the SDK's processEvents batch). */
        maxBatchSize: z.number().int().positive().max(5000).default(100),
        maxWaitTimeInSeconds: z.number().positive().default(1),
        /** Consumer errors for this long with no batch processed: reconnect with a new client. */
        recoverAfterMs: ms.default(15_000),
        /** Larger events are quarantined unread (Event Hubs Standard caps events at 1 MB). */
        maxEventBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
      })
      .prefault({}),
    loadBalancing: z
      .object({
        strategy: z.enum(['balanced', 'greedy']).default('balanced'),
        updateIntervalInMs: ms.default(10_000),
        partitionOwnershipExpirationIntervalInMs: ms.default(60_000),
      })
      .prefault({}),
    retryOptions: z
      .object({
        maxRetries: z.number().int().min(0).default(3),
        retryDelayInMs: ms.default(1000),
        maxRetryDelayInMs: ms.default(30_000),
        timeoutInMs: ms.default(60_000),
      })
      .prefault({}),
    store: z
      .object({
        /**
         * postgres://user:password@host:port/database selects the PostgreSQL store (its tables in `schema`,
         * migrated at start); empty: the SQLite store at `file`.
         */
        url: z
          .string()
          .regex(/^(postgres|postgresql):\/\/\S+$/, 'a postgres:// or postgresql:// URL, or empty for SQLite')
          .or(z.literal(''))
          .default(''),
        /** PostgreSQL: the schema of the store's tables (created if missing); empty: the server's default. */
        schema: z
          .string()
          .regex(PG_SCHEMA_NAME, 'lower-case letters, digits and _, at most 63')
          .or(z.literal(''))
          .default(''),
        /** PostgreSQL: connections in the pool (each consumer transaction and API read takes one). */
        poolSize: z.number().int().min(1).max(200).default(8),
        /** SQLite: the database file (also where a consumer's identity slot is kept, with either store). */
        file: z.string().min(1).default('./data/cloud/cloud.db'),
        /**
         * NORMAL is safe for exactly-once: data and checkpoint commit together, so a transaction lost to a
         * power cut is simply consumed again from Event Hubs.
         */
        synchronous: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('NORMAL'),
        /** How long a writer waits for another process's transaction on the same file. */
        busyTimeoutMs: z.number().int().min(0).default(10_000),
      })
      .prefault({}),
    quarantine: z
      .object({
        /** Bytes of an offending body kept with its quarantine row (base64 for binary). */
        maxBodyBytes: z.number().int().min(0).default(1024),
      })
      .prefault({}),
    api: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(8000),
        /** Bearer tokens accepted by /api (outside dev mode). */
        tokens: z.array(z.string().min(16, 'tokens need at least 16 characters')).default([]),
        /**
         * JWT bearer tokens (scopes reports:read, risk:read, admin in the `scope` claim): an HS256 secret
         * and/or a JWKS URL for RS256/ES256 (an identity provider's). Off while both are empty.
         */
        jwt: z
          .object({
            audience: z.string().min(1).default('campus-twin'),
            /** Checked when set. */
            issuer: z.string().default(''),
            hs256Secret: z
              .string()
              .default('')
              .refine((v) => v === '' || v.length >= 32, { message: 'needs at least 32 characters' }),
            jwksUrl: z
              .string()
              .default('')
              .refine((v) => v === '' || URL.canParse(v), { message: 'not a URL' }),
            clockToleranceSec: z.number().int().min(0).max(300).default(30),
          })
          .prefault({}),
        /** Requests per caller (per bearer token, else per address) per window; max 0 = no limit. */
        rateLimit: z
          .object({
            max: z.number().int().min(0).default(600),
            timeWindowMs: ms.default(60_000),
          })
          .prefault({}),
        /** /metrics without a token (Prometheus inside the network). */
        metricsPublic: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * The campus registry (the gateways' campus.yaml): buildings, floors, room names and capacities for the
     * reporting API. '' = none (rooms are still reported, without building or floor).
     */
    campusFile: z.string().default(''),
    reporting: z
      .object({
        /** When snapshots are built (node-cron syntax, default hourly on the hour); '' = on demand only. */
        snapshotCron: z
          .string()
          .default('0 * * * *')
          .refine((v) => v === '' || cron.validate(v), { message: 'not a valid cron expression' }),
        /** When dropout scores are refreshed for students still enrolled; '' = only by train-risk. */
        riskCron: z
          .string()
          .default('20 * * * *')
          .refine((v) => v === '' || cron.validate(v), { message: 'not a valid cron expression' }),
        /** The time zone the cron expressions are read in (IANA name). */
        timezone: z.string().min(1).default('UTC'),
        /** Daily open hours "HH:MM-HH:MM" (in `timezone`): room utilization counts only these. */
        openHours: z
          .string()
          .regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, 'open hours look like 08:00-18:00')
          .default('08:00-18:00'),
        /** The period before a snapshot's cut-off that its facility analytics cover. */
        analyticsPeriodMs: ms.default(86_400_000),
      })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .strict();

export type CloudConfigInput = z.input<typeof cloudSchema>;
export type CloudConfigData = z.output<typeof cloudSchema>;
