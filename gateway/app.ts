/**
 * `createGateway(config, deps)` wires the gateway from its parts and returns {start, stop}; it reads no
 * env, argv or signals (the CLI does), so tests start several gateways in one process on port 0.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Campus } from '../shared/campus.ts';
import { ConfigError } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import type { GatewayConfig } from './config/index.ts';
import { ModbusPoller } from './ingest/modbus/index.ts';
import { createMqttIngest, type MqttIngest } from './ingest/mqtt/broker.ts';
import { installWebhooks, type Webhooks } from './ingest/webhooks/index.ts';
import { GatewayMetrics } from './metrics.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { NO_STAFF_HINT } from './status/auth.ts';
import { buildStatusApp } from './status/server.ts';
import { DEFAULT_TWIN_CONFIG, type TwinConfig } from './twin/reducer.ts';
import { Uplink } from './uplink/index.ts';

export interface GatewayDeps {
  campus: Campus;
  logger?: Logger;
  now?: () => number;
  /** Where webhook secrets named by `secretEnv` are looked up (the CLI passes process.env). */
  env?: NodeJS.ProcessEnv;
  /** Start a new journal although the twin state records another (`campus-twin gateway --new-journal`). */
  acceptNewJournal?: boolean;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly pipeline: Pipeline;
  readonly metrics: GatewayMetrics;
  readonly http: FastifyInstance;
  readonly mqtt: MqttIngest;
  /** Absent when no Event Hubs connection string is configured. */
  readonly uplink: Uplink | undefined;
  /** Absent when no webhook source is enabled. */
  readonly webhooks: Webhooks | undefined;
  /** Polls the campus registry's Modbus devices (with none, it idles). */
  readonly modbus: ModbusPoller;
  /** Bound ports, after start. */
  readonly ports: { mqtt: number; mqtts: number; ws: number; http: number };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function twinConfigFrom(config: GatewayConfig): TwinConfig {
  const t = config.twin;
  return {
    ...DEFAULT_TWIN_CONFIG,
    temperatureC: { ...t.temperatureC },
    humidityPct: { ...t.humidityPct },
    co2WarnPpm: t.co2WarnPpm,
    co2AlertPpm: t.co2AlertPpm,
    staleFactor: t.staleFactor,
    offlineFactor: t.offlineFactor,
    idleAdvanceMs: t.idleAdvanceMs,
    tzOffsetMinutes: t.tzOffsetMinutes,
    occupancy: {
      ...DEFAULT_TWIN_CONFIG.occupancy,
      usualDays: [...t.usualDays],
      usualFromMinute: minuteOfDay(t.usualHours.slice(0, 5)),
      usualToMinute: minuteOfDay(t.usualHours.slice(6)),
    },
  };
}

function minuteOfDay(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function createGateway(config: GatewayConfig, deps: GatewayDeps): Gateway {
  const logger = (deps.logger ?? createLogger({ level: config.log.level })).child({
    gatewayId: config.gatewayId,
  });
  const now = deps.now ?? Date.now;
  const metrics = new GatewayMetrics();
  const twinConfig = twinConfigFrom(config);
  mkdirSync(config.dataDir, { recursive: true });
  const pipeline = new Pipeline(
    deps.campus,
    {
      dataDir: config.dataDir,
      synchronous: config.journal.synchronous,
      retentionMs: config.journal.retentionMs,
      groupCommitMaxRows: config.journal.groupCommitMaxRows,
      quarantineMaxRows: config.journal.quarantineMaxRows,
      quarantineMaxPayloadBytes: config.journal.quarantineMaxPayloadBytes,
      outboxQuotaBytes: config.outbox.quotaBytes,
      forwardRaw: config.outbox.forwardRaw,
      window: { windowMs: config.aggregate.windowMs, allowedLatenessMs: config.aggregate.allowedLatenessMs },
      twin: twinConfig,
      twinTickIntervalMs: config.twin.tickIntervalMs,
      checkpointIntervalMs: config.twin.checkpointIntervalMs,
      lowBatteryPct: config.twin.lowBatteryPct,
      gatewayId: config.gatewayId,
      acceptNewJournal: deps.acceptNewJournal ?? false,
      minFreeBytes: config.journal.minFreeBytes,
      backlogAgeBudgetMs: config.uplink.backlogAgeBudgetMs,
    },
    { metrics, logger, now },
  );
  const mqtt = createMqttIngest(
    {
      host: config.mqtt.host,
      port: config.mqtt.port,
      allowAnonymous: config.dev && config.mqtt.allowAnonymous,
      maxPayloadBytes: config.mqtt.maxPayloadBytes,
      maxPacketBytes: config.mqtt.maxPacketBytes,
      maxFutureMs: config.journal.maxFutureMs,
      retentionMs: config.journal.retentionMs,
      tls: { ...config.mqtt.tls },
      websocket: { ...config.mqtt.websocket },
    },
    { campus: deps.campus, pipeline, metrics, logger, now },
  );
  const uplink = createUplink(config, deps.campus.campusId, { pipeline, metrics, logger, now });
  const modbus = new ModbusPoller(
    { maxFutureMs: config.journal.maxFutureMs, retentionMs: config.journal.retentionMs },
    { campus: deps.campus, pipeline, metrics, logger, now },
  );
  const startedAt = now();
  const http = buildStatusApp({
    uplink: () => uplink?.status(),
    gatewayId: config.gatewayId,
    dev: config.dev,
    allowAnonymous: config.dev && config.mqtt.allowAnonymous,
    campus: deps.campus,
    pipeline,
    metrics,
    twinConfig,
    deviceStatus: pipeline.twins.deviceStatus,
    startedAt,
    now,
    mqttClients: () => mqtt.broker.connectedClients,
    modbus: (deviceId) => modbus.report(deviceId),
    webhooks: async () => webhooks?.metrics.summary(),
    ...(config.http.tls.enabled
      ? {
          https: {
            cert: readFileSync(config.http.tls.certFile),
            key: readFileSync(config.http.tls.keyFile),
          },
        }
      : {}),
    auth: {
      open: config.dev,
      metricsPublic: config.http.metricsPublic,
      staff: config.http.staff,
      onFailure: () => metrics.authFailures.inc({ reason: 'staff_login' }),
    },
  });
  const webhooks = installWebhooks(http, config, {
    store: pipeline.store,
    registry: metrics.registry,
    logger,
    now,
    env: deps.env ?? {},
    onStored: (events) => pipeline.applyAdminEvents(events),
  });
  const ports = { mqtt: 0, mqtts: 0, ws: 0, http: 0 };
  let started = false;

  return {
    config,
    pipeline,
    metrics,
    http,
    mqtt,
    uplink,
    webhooks,
    modbus,
    ports,
    async start() {
      await pipeline.start();
      uplink?.start();
      await mqtt.start();
      Object.assign(ports, mqtt.ports);
      await http.listen({ host: config.http.host, port: config.http.port });
      const addr = http.server.address();
      ports.http = typeof addr === 'object' && addr ? addr.port : config.http.port;
      if (config.modbus.enabled) modbus.start();
      started = true;
      logger.info({ ports, dev: config.dev }, 'gateway started');
      if (!config.dev && config.http.staff.length === 0) logger.warn({ code: 'CT_ERR_AUTH' }, NO_STAFF_HINT);
    },
    async stop() {
      if (started) {
        await mqtt.stop();
        await http.close();
      }
      // Webhook events already accepted by a handler are written before the store closes.
      webhooks?.stop();
      await modbus.stop();
      await uplink?.stop();
      await pipeline.stop();
      logger.info('gateway stopped');
    },
  };
}

function createUplink(
  config: GatewayConfig,
  campusId: string,
  deps: { pipeline: Pipeline; metrics: GatewayMetrics; logger: Logger; now: () => number },
): Uplink | undefined {
  const u = config.uplink;
  const connectionString =
    u.connectionString || (u.connectionStringFile ? readFileSync(u.connectionStringFile, 'utf8').trim() : '');
  if (!connectionString) return undefined;
  if (!u.hubName && !/EntityPath=/i.test(connectionString))
    throw new ConfigError(
      u.connectionStringFile,
      'uplink.hubName',
      'set it, or EntityPath in the connection string',
    );
  const uplink = new Uplink(
    {
      gatewayId: config.gatewayId,
      campusId,
      connectionString,
      hubName: u.hubName,
      maxEventBytes: u.maxEventBytes,
      maxItemsPerEvent: u.maxItemsPerEvent,
      liveWindowMs: u.liveWindowMs,
      backlogBytesPerSec: u.backlogBytesPerSec,
      lingerMs: { ...u.lingerMs },
      backoff: { ...u.backoff },
      sendTimeoutMs: u.sendTimeoutMs,
      idleProbeMs: u.idleProbeMs,
    },
    {
      store: deps.pipeline.store,
      metrics: deps.metrics,
      logger: deps.logger,
      now: deps.now,
      onState: (state, at) => deps.pipeline.events.emit('uplink:state', { state, at }),
    },
  );
  // An alert should not wait for the next idle tick.
  deps.pipeline.events.on('alert:raised', () => uplink.notify());
  return uplink;
}
