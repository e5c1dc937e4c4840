/**
 * The gateway's settings (config/gateway.yaml). Units are in the key names. Every key has a default, so an
 * empty file is a valid (secure, non-dev) gateway; `dev: true` is the only way to allow anonymous devices.
 */
import { z } from 'zod';
import { checkWebhooks, webhooksSchema } from './webhooks.ts';

const port = z.number().int().min(0).max(65535);
const ms = z.number().int().positive();

const band = z
  .object({ warnLow: z.number(), warnHigh: z.number(), alertLow: z.number(), alertHigh: z.number() })
  .refine((b) => b.alertLow <= b.warnLow && b.warnLow <= b.warnHigh && b.warnHigh <= b.alertHigh, {
    message: 'expected alertLow ≤ warnLow ≤ warnHigh ≤ alertHigh',
  });

export const gatewaySchema = z
  .object({
    gatewayId: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only')
      .default('gw-local'),
    /** Development mode: anonymous MQTT devices allowed, and the status page says so. */
    dev: z.boolean().default(false),
    dataDir: z.string().min(1).default('./data/gateway'),
    campusFile: z.string().min(1).default('./config/campus.yaml'),
    mqtt: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(1883),
        allowAnonymous: z.boolean().default(false),
        maxPayloadBytes: z.number().int().positive().max(268_435_455).default(65_536),
        /**
         * Packets above this close the connection before they are buffered. Payloads between
         * maxPayloadBytes and this are still read, refused with a code and quarantined.
         */
        maxPacketBytes: z
          .number()
          .int()
          .positive()
          .max(268_435_455)
          .default(1024 * 1024),
        tls: z
          .object({
            enabled: z.boolean().default(false),
            port: port.default(8883),
            certFile: z.string().default(''),
            keyFile: z.string().default(''),
          })
          .prefault({})
          .refine((t) => !t.enabled || (t.certFile !== '' && t.keyFile !== ''), {
            message: 'tls.enabled needs certFile and keyFile',
          }),
        websocket: z
          .object({
            enabled: z.boolean().default(false),
            port: port.default(8083),
            path: z.string().default('/mqtt'),
          })
          .prefault({}),
      })
      .prefault({}),
    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** Staff logins for the status page (login form, session cookie) and API (also HTTP Basic), scrypt hashes. Not needed in dev mode. */
        staff: z
          .array(
            z.object({
              username: z.string().min(1),
              passwordHash: z.string().regex(/^scrypt\$/, 'expected scrypt$N$r$p$salt$hash'),
            }),
          )
          .default([]),
        /** /metrics without a login (Prometheus on the campus network). */
        metricsPublic: z.boolean().default(true),
        /** Serve the status page, API and webhooks over HTTPS on `port` (session cookies become Secure). */
        tls: z
          .object({
            enabled: z.boolean().default(false),
            certFile: z.string().default(''),
            keyFile: z.string().default(''),
          })
          .prefault({})
          .refine((t) => !t.enabled || (t.certFile !== '' && t.keyFile !== ''), {
            message: 'http.tls.enabled needs certFile and keyFile',
          }),
      })
      .prefault({}),
    journal: z
      .object({
        synchronous: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('FULL'),
        /** Readings are kept (and deduplicated) this long; older device timestamps are refused. */
        retentionMs: ms.default(6 * 3600_000),
        /**
         * Free space to keep on the data volume (at most a fifth of it): below it the gateway goes into
         * low-disk mode (journal kept to open windows, outbox quota lowered) until space is back.
         */
        minFreeBytes: z
          .number()
          .int()
          .min(0)
          .default(64 * 1024 * 1024),
        maxFutureMs: ms.default(5 * 60_000),
        /** Upper bound of rows per group-commit transaction. */
        groupCommitMaxRows: z.number().int().positive().default(10_000),
        quarantineMaxRows: z.number().int().positive().default(10_000),
        quarantineMaxPayloadBytes: z.number().int().positive().default(1024),
      })
      .prefault({}),
    aggregate: z
      .object({ windowMs: ms.default(60_000), allowedLatenessMs: z.number().int().min(0).default(120_000) })
      .prefault({}),
    outbox: z
      .object({
        quotaBytes: z
          .number()
          .int()
          .positive()
          .default(1024 ** 3),
        /** Also queue every raw reading for the uplink (off: aggregates carry the data). */
        forwardRaw: z.boolean().default(false),
      })
      .prefault({}),
    uplink: z
      .object({
        /**
         * Event Hubs connection string (real Azure, or the local hub's, which ends in
         * UseDevelopmentEmulator=true). Empty: no uplink, the outbox just holds the backlog. A secret:
         * prefer CT_UPLINK__CONNECTION_STRING or connectionStringFile.
         */
        connectionString: z.string().default(''),
        connectionStringFile: z.string().default(''),
        /** Needed unless the connection string carries EntityPath. */
        hubName: z.string().default(''),
        /** Event Hubs' limit per event: 1 MiB Standard/Premium, 256 KiB Basic. */
        maxEventBytes: z
          .number()
          .int()
          .min(4096)
          .max(1024 * 1024)
          .default(1024 * 1024),
        /** Also bounds the work of packing one event (parsed and encoded in slices between sends). */
        maxItemsPerEvent: z.number().int().positive().default(2_500),
        /** Items younger than this are live and go first; older ones are backlog and drain at the cap. */
        liveWindowMs: ms.default(120_000),
        /** /healthz turns 503 when the oldest unsent item is older than this (nothing is forwarding). */
        backlogAgeBudgetMs: ms.default(24 * 3600_000),
        /** Compressed bytes per second for backlog (not live) events; 0 = no cap. */
        backlogBytesPerSec: z.number().int().min(0).default(4_000_000),
        /** How long items of a class may wait to share an event (fewer, larger events). */
        lingerMs: z
          .object({
            alert: z.number().int().min(0).default(0),
            twin: z.number().int().min(0).default(5_000),
            event: z.number().int().min(0).default(2_000),
            aggregate: z.number().int().min(0).default(5_000),
            raw: z.number().int().min(0).default(10_000),
          })
          .prefault({}),
        backoff: z.object({ baseMs: ms.default(500), maxMs: ms.default(60_000) }).prefault({}),
        /** One send's timeout (the SDK's own retries are kept short: the uplink retries with backoff). */
        sendTimeoutMs: ms.default(30_000),
        /**
         * With nothing to send for this long, ask the hub for its properties: an outage shows on the status
         * page (and in the backlog alerts' context) within this, not only at the next window's send.
         */
        idleProbeMs: ms.default(15_000),
      })
      .prefault({}),
    twin: z
      .object({
        checkpointIntervalMs: ms.default(30_000),
        tickIntervalMs: ms.default(5_000),
        temperatureC: band.default({ alertLow: 16, warnLow: 19, warnHigh: 25, alertHigh: 28 }),
        humidityPct: band.default({ alertLow: 20, warnLow: 30, warnHigh: 60, alertHigh: 70 }),
        co2WarnPpm: z.number().positive().default(1000),
        co2AlertPpm: z.number().positive().default(1500),
        staleFactor: z.number().positive().default(3),
        offlineFactor: z.number().positive().default(10),
        /** With no reading arriving for this long, a room's event clock moves on with the wall clock. */
        idleAdvanceMs: ms.default(30_000),
        /** "Today" and the usual hours are local time at this offset from UTC (minutes east). */
        tzOffsetMinutes: z
          .number()
          .int()
          .min(-14 * 60)
          .max(14 * 60)
          .default(0),
        /** When rooms are usually in use (the occupancy prior outside them is much lower): days 0 = Sunday. */
        usualDays: z.array(z.number().int().min(0).max(6)).default([1, 2, 3, 4, 5]),
        usualHours: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected HH:MM-HH:MM')
          .default('07:00-19:00'),
        /** A device reporting less battery than this (devices/{id}/status) raises an alert. */
        lowBatteryPct: z.number().min(0).max(100).default(15),
      })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    webhooks: webhooksSchema,
    /** Modbus polling of the campus registry's devices that have a `modbus:` block (see README). */
    modbus: z.object({ enabled: z.boolean().default(true) }).prefault({}),
  })
  .refine((c) => c.mqtt.maxPacketBytes >= c.mqtt.maxPayloadBytes, {
    message: 'must be at least mqtt.maxPayloadBytes',
    path: ['mqtt', 'maxPacketBytes'],
  })
  .refine((c) => !c.mqtt.allowAnonymous || c.dev, {
    message: 'anonymous devices are allowed only in dev mode',
    path: ['mqtt', 'allowAnonymous'],
  })
  .refine(
    (c) => !c.uplink.connectionString || c.uplink.hubName || /EntityPath=/i.test(c.uplink.connectionString),
    {
      message: 'set uplink.hubName, or EntityPath in the connection string',
      path: ['uplink', 'hubName'],
    },
  )
  .superRefine(checkWebhooks);

export type GatewayConfigInput = z.input<typeof gatewaySchema>;
export type GatewayConfigData = z.output<typeof gatewaySchema>;
