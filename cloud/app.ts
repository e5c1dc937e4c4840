/**
 * `createCloud(config, deps)` wires the cloud service: store, Event Hubs consumer, read API, metrics. It
 * reads no env, argv or signals (cloud/cli.ts does), so tests run several clouds in one process on port 0.
 * Without `eventHub.connectionString` it serves the store and consumes nothing.
 */
import { loadCampus } from '../gateway/registry/index.ts';
import type { Campus } from '../shared/campus.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import type { AuthConfig } from './api/auth.ts';
import { buildCloudApi } from './api/index.ts';
import { type CloudConfig, hubNameOf } from './config/index.ts';
import { type ConsumerIdentity, claimConsumerId } from './consume/identity.ts';
import { type Consumer, createConsumer, DbCheckpointStore } from './consume/index.ts';
import { CloudMetrics } from './metrics.ts';
import { type Directory, EMPTY_DIRECTORY } from './reporting/directory.ts';
import { createSnapshotService, type SnapshotService } from './reporting/scheduler.ts';
import { createRiskService } from './risk/service.ts';
import { type ApplyResult, type CloudStore, configuredStore, SqliteCloudStore } from './store/index.ts';

export interface CloudDeps {
  logger?: Logger;
  now?: () => number;
  /** Defaults to the SQLite store at config.store.file. */
  store?: CloudStore;
  onApplied?: (partitionId: string, result: ApplyResult) => void;
}

export interface Cloud {
  readonly config: CloudConfig;
  readonly store: CloudStore;
  readonly metrics: CloudMetrics;
  /** The API's bound port, after start. */
  readonly port: number;
  readonly consuming: boolean;
  readonly snapshots: SnapshotService;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The reporting directory of a campus registry: buildings, floors, rooms (devices and secrets left out). */
function directoryOf(campus: Campus): Directory {
  return {
    campusId: campus.campusId,
    buildings: [...campus.buildings.values()],
    rooms: new Map(
      [...campus.rooms.values()].map((r) => [
        r.roomId,
        {
          roomId: r.roomId,
          name: r.name,
          buildingId: r.buildingId,
          floorId: r.floorId,
          capacity: r.capacity,
        },
      ]),
    ),
  };
}

/** The API's JWT settings, when a secret or a JWKS URL is configured. */
function jwtAuthOf(config: CloudConfig): Pick<AuthConfig, 'jwt'> {
  const j = config.api.jwt;
  if (!j.hs256Secret && !j.jwksUrl) return {};
  return {
    jwt: {
      audience: j.audience,
      clockToleranceSec: j.clockToleranceSec,
      ...(j.issuer ? { issuer: j.issuer } : {}),
      ...(j.hs256Secret ? { hs256Secret: j.hs256Secret } : {}),
      ...(j.jwksUrl ? { jwksUrl: j.jwksUrl } : {}),
    },
  };
}

export function createCloud(config: CloudConfig, deps: CloudDeps = {}): Cloud {
  const logger = (deps.logger ?? createLogger({ level: config.log.level })).child({ component: 'cloud' });
  const now = deps.now ?? Date.now;
  const metrics = new CloudMetrics();
  const hubName = hubNameOf(config);
  if (config.eventHub.connectionString && !hubName)
    throw new Error('eventHub.hubName is required (or EntityPath in the connection string)');
  const store = deps.store ?? configuredStore(config);
  if (store instanceof SqliteCloudStore && store.walCheckpoints())
    metrics.watchCheckpoints(() => store.walCheckpoints());
  let consumer: Consumer | undefined;
  let identity: ConsumerIdentity | undefined;
  if (config.eventHub.connectionString) {
    if (!config.eventHub.consumerId && config.store.file !== ':memory:' && !deps.store)
      identity = claimConsumerId(config.store.file);
    const identifier = config.eventHub.consumerId || identity?.id;
    if (identifier) logger.info({ consumerId: identifier }, 'consumer identity');
    consumer = createConsumer(
      {
        connectionString: config.eventHub.connectionString,
        ...(identifier ? { identifier } : {}),
        ...(config.eventHub.hubName ? { hubName } : {}),
        consumerGroup: config.eventHub.consumerGroup,
        maxBatchSize: config.eventHub.maxBatchSize,
        maxWaitTimeInSeconds: config.eventHub.maxWaitTimeInSeconds,
        maxEventBytes: config.eventHub.maxEventBytes,
        recoverAfterMs: config.eventHub.recoverAfterMs,
        maxBodyBytes: config.quarantine.maxBodyBytes,
        loadBalancing: config.loadBalancing,
        retryOptions: config.retryOptions,
      },
      {
        store,
        checkpointStore: new DbCheckpointStore(store, now),
        metrics,
        logger: logger.child({ component: 'consumer' }),
        now,
        ...(deps.onApplied ? { onApplied: deps.onApplied } : {}),
      },
    );
  } else {
    logger.warn('no eventHub.connectionString: serving the store without consuming');
  }
  const snapshots = createSnapshotService({
    store,
    now,
    logger: logger.child({ component: 'snapshots' }),
    metrics,
    schedule: { cron: config.reporting.snapshotCron, timezone: config.reporting.timezone },
    analytics: {
      periodMs: config.reporting.analyticsPeriodMs,
      openHours: config.reporting.openHours,
      timeZone: config.reporting.timezone,
    },
  });
  const risk = createRiskService({
    store,
    now,
    logger: logger.child({ component: 'risk' }),
    metrics,
    cron: config.reporting.riskCron,
    timezone: config.reporting.timezone,
  });
  const directory = config.campusFile ? directoryOf(loadCampus(config.campusFile)) : EMPTY_DIRECTORY;
  const http = buildCloudApi({
    directory,
    rateLimit: config.api.rateLimit,
    store,
    metrics,
    now,
    createSnapshot: (cutoffTs) => snapshots.build(cutoffTs, 'api'),
    auth: {
      open: config.dev,
      tokens: config.api.tokens,
      metricsPublic: config.api.metricsPublic,
      ...jwtAuthOf(config),
    },
    health: () => ({
      consuming: consumer?.isRunning ?? false,
      nextSnapshotAt: snapshots.nextRun()?.toISOString() ?? null,
    }),
  });
  let port = 0;
  let listening = false;
  let stopped = false;

  return {
    config,
    store,
    metrics,
    get port() {
      return port;
    },
    get consuming() {
      return consumer?.isRunning ?? false;
    },
    snapshots,
    async start() {
      // The store answers before anything is served or consumed (a PostgreSQL store connects and migrates
      // first: a wrong URL or password fails here, with the database's own message).
      await store.dataVersion();
      await http.listen({ host: config.api.host, port: config.api.port });
      listening = true;
      const addr = http.server.address();
      port = typeof addr === 'object' && addr ? addr.port : config.api.port;
      consumer?.start();
      snapshots.start();
      risk.start();
      logger.info({ port, consuming: Boolean(consumer), dev: config.dev }, 'cloud started');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Consumer and snapshot builds first: their transactions finish before the store closes.
      await consumer?.stop();
      identity?.release();
      await snapshots.stop();
      await risk.stop();
      if (listening) await http.close();
      await store.close();
      logger.info('cloud stopped');
    },
  };
}
