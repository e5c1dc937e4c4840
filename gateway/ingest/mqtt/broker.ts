/**
 * The embedded MQTT broker (aedes) and its security and ingest hooks:
 *  - authenticate: username = device id, password checked against the registry's scrypt hash; an unknown
 *    device or a wrong password gets CONNACK 5 "not authorized" [MQTT-3.2.2-3]. Anonymous only in dev.
 *  - authorizePublish: the durable write happens here, because aedes sends the QoS 1 PUBACK right after
 *    this callback and before its `published` hook. A publish outside the device's own prefix is refused:
 *    MQTT 3.1.1 has no negative PUBACK, so the connection is closed [MQTT-3.3.5-2].
 *  - A payload that fails validation is quarantined and counted, then acknowledged: a device that got no
 *    ack would resend the same bad message forever.
 */

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { writeToStream } from 'mqtt-packet';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Campus } from '../../../shared/campus.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { QuarantineEntry } from '../../journal/index.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { PasswordVerifier } from '../../registry/index.ts';
import { decodeStatus, decodeTelemetry } from '../decode/index.ts';
import { guardConnection, type Refusal } from './packet-guard.ts';
import { maySubscribe, parseDeviceTopic } from './topics.ts';

// mqtt-packet (aedes's encoder) otherwise fills a cache of 65,536 two-byte Buffers for packet ids on its
// first write: about 6.5 MB of heap for a gateway that writes a few PUBACKs a second (bench/ memory).
writeToStream.cacheNumbers = false;

/** The oldest reading a backfill accepts: 2000-01-01 (anything older is a clock or unit error). */
export const BACKFILL_EARLIEST_TS = Date.UTC(2000, 0, 1);
export interface MqttOptions {
  host: string;
  port: number;
  allowAnonymous: boolean;
  maxPayloadBytes: number;
  /** Larger MQTT packets close the connection before they are buffered (see packet-guard.ts). */
  maxPacketBytes: number;
  maxFutureMs: number;
  retentionMs: number;
  tls: { enabled: boolean; port: number; certFile: string; keyFile: string };
  websocket: { enabled: boolean; port: number; path: string };
}

export interface MqttDeps {
  campus: Campus;
  pipeline: Pipeline;
  metrics: GatewayMetrics;
  logger: Logger;
  now: () => number;
}

type DeviceClient = Client & { ctDeviceId?: string };

export interface MqttIngest {
  broker: Aedes;
  /** Bound ports, after start (0 when the listener is off). */
  ports: { mqtt: number; mqtts: number; ws: number };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createMqttIngest(opts: MqttOptions, deps: MqttDeps): MqttIngest {
  const log = deps.logger.child({ component: 'mqtt' });
  const { campus, pipeline, metrics } = deps;
  const verifier = new PasswordVerifier();
  const broker = new Aedes({ id: 'campus-twin', concurrency: 1000 });
  const servers: { server: Server | HttpServer; port: number; key: 'mqtt' | 'mqtts' | 'ws' }[] = [];
  const ports = { mqtt: 0, mqtts: 0, ws: 0 };

  const quarantine = (
    deviceId: string | undefined,
    topic: string,
    code: string,
    message: string,
    payload: Uint8Array | undefined,
  ): QuarantineEntry => ({
    at: deps.now(),
    source: 'mqtt',
    deviceId,
    topic,
    code,
    message,
    payload,
  });

  broker.authenticate = (client, username, password, done) => {
    const c = client as DeviceClient;
    if (!username) {
      if (opts.allowAnonymous) return done(null, true);
      metrics.authFailures.inc({ reason: 'anonymous' });
      metrics.countRejected('mqtt', undefined, 'CT_ERR_AUTH');
      return done(null, false);
    }
    const device = campus.devices.get(username);
    if (!device?.passwordHash || !password) {
      metrics.authFailures.inc({ reason: device ? 'no_credentials' : 'unknown_device' });
      metrics.countRejected('mqtt', username, device ? 'CT_ERR_AUTH' : 'CT_ERR_UNKNOWN_DEVICE');
      log.warn(
        { deviceId: username, clientId: client.id },
        'refused connection: unknown device or no credentials',
      );
      return done(null, false);
    }
    verifier.verify(username, password.toString('utf8'), device.passwordHash).then(
      (ok) => {
        if (!ok) {
          metrics.authFailures.inc({ reason: 'bad_password' });
          metrics.countRejected('mqtt', username, 'CT_ERR_AUTH');
          log.warn({ deviceId: username, clientId: client.id }, 'refused connection: wrong password');
          const err = new Error('not authorized') as AuthenticateError;
          err.returnCode = 5;
          return done(err, false);
        }
        // [MQTT-3.1.4-2] a new connection with a connected client's id takes its session over; only the
        // same device may do that, or any device could knock another off the air with its client id.
        const holder = (broker as unknown as { clients: Record<string, DeviceClient | undefined> }).clients[
          client.id
        ];
        if (holder && !holder.closed && holder.ctDeviceId !== username) {
          metrics.authFailures.inc({ reason: 'client_id_taken' });
          metrics.countRejected('mqtt', username, 'CT_ERR_AUTH');
          log.warn(
            { deviceId: username, clientId: client.id, holder: holder.ctDeviceId },
            'refused connection: client id in use by another device',
          );
          const err = new Error('identifier rejected') as AuthenticateError;
          err.returnCode = 2;
          return done(err, false);
        }
        c.ctDeviceId = username;
        done(null, true);
      },
      (err: unknown) => {
        log.error({ err, deviceId: username }, 'password check failed');
        done(null, false);
      },
    );
  };

  broker.authorizeSubscribe = (client, sub, done) => {
    const deviceId = (client as DeviceClient | null)?.ctDeviceId;
    if (client && deviceId === undefined && opts.allowAnonymous) return done(null, sub);
    if (deviceId !== undefined && maySubscribe(deviceId, sub.topic)) return done(null, sub);
    metrics.authFailures.inc({ reason: 'subscribe_denied' });
    metrics.countRejected('mqtt', deviceId, 'CT_ERR_SUBSCRIBE_DENIED');
    done(null, null); // SUBACK 0x80 for this filter [MQTT-3.9.3-2]
  };

  // A SenML name may not speak for another device of the campus (decode/senml.ts); made once, not per publish.
  const isDevice = (id: string) => campus.devices.has(id);
  broker.authorizePublish = (client, packet, done) => {
    if (!client) return done(null); // will messages of vanished clients
    const deviceId = (client as DeviceClient).ctDeviceId;
    const topic = parseDeviceTopic(packet.topic);
    const anonymous = deviceId === undefined;
    if (!topic) {
      metrics.countRejected('mqtt', deviceId, 'CT_ERR_BAD_TOPIC');
      log.warn({ deviceId, topic: packet.topic }, 'refused publish: unknown topic');
      return done(new Error(`CT_ERR_BAD_TOPIC: ${packet.topic}`));
    }
    if (anonymous ? !campus.devices.has(topic.deviceId) : topic.deviceId !== deviceId) {
      metrics.countRejected('mqtt', deviceId ?? topic.deviceId, 'CT_ERR_TOPIC_DENIED');
      metrics.authFailures.inc({ reason: 'topic_denied' });
      log.warn({ deviceId, topic: packet.topic }, 'refused publish: not this device’s topic');
      return done(new Error(`CT_ERR_TOPIC_DENIED: ${packet.topic}`));
    }
    const device = campus.devices.get(topic.deviceId)!;
    const payload = packet.payload as Buffer;
    const now = deps.now();
    if (topic.kind === 'status') {
      const res = decodeStatus(payload, device.deviceId, now, opts.maxPayloadBytes, {
        maxFutureMs: opts.maxFutureMs,
        oldestAcceptedTs: now - opts.retentionMs,
      });
      if ('status' in res) return pipeline.recordStatus(res.status, done);
      metrics.countRejected('mqtt', device.deviceId, res.rejection.code);
      return pipeline.submit(
        [],
        [quarantine(device.deviceId, packet.topic, res.rejection.code, res.rejection.message, payload)],
        done,
      );
    }
    // Backfill takes data of any age since 2000 (a ts in seconds would still be refused as before 2000).
    const backfill = topic.kind === 'backfill';
    const { readings, rejections } = decodeTelemetry(payload, {
      device,
      now,
      maxFutureMs: opts.maxFutureMs,
      oldestAcceptedTs: backfill ? BACKFILL_EARLIEST_TS : now - opts.retentionMs,
      maxPayloadBytes: opts.maxPayloadBytes,
      source: backfill ? 'replay' : 'mqtt',
      isDevice,
    });
    let rejected: QuarantineEntry[] = [];
    if (rejections.length) {
      // One quarantine row per payload, naming every problem in it.
      const first = rejections[0]!;
      for (const r of rejections) metrics.countRejected('mqtt', device.deviceId, r.code);
      const message =
        rejections.length === 1 ? first.message : rejections.map((r) => `${r.code}: ${r.message}`).join('; ');
      rejected = [quarantine(device.deviceId, packet.topic, first.code, message.slice(0, 2000), payload)];
    }
    if (readings.length === 0 && rejected.length === 0) return done(null);
    // On a failed write aedes closes the connection without a PUBACK; the device resends after reconnecting.
    pipeline.submit(readings, rejected, done);
  };

  broker.on('clientError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'client error'),
  );
  broker.on('connectionError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'connection error'),
  );

  async function listen(
    server: Server | HttpServer,
    port: number,
    key: 'mqtt' | 'mqtts' | 'ws',
  ): Promise<void> {
    await new Promise<void>((resolve, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(port, opts.host, () => {
        server.off('error', rejectListen);
        resolve();
      });
    });
    const addr = server.address();
    ports[key] = typeof addr === 'object' && addr ? addr.port : port;
    servers.push({ server, port: ports[key], key });
    log.info({ port: ports[key], listener: key }, 'listening');
  }

  const onRefuse = (r: Refusal) => {
    metrics.countRejected('mqtt', undefined, r.code);
    if (r.code === 'CT_ERR_PAYLOAD_TOO_LARGE') metrics.authFailures.inc({ reason: 'packet_too_large' });
    log.warn(
      { code: r.code, reason: r.reason, maxPacketBytes: opts.maxPacketBytes },
      `closed a connection: ${r.reason}`,
    );
  };
  const handle = (conn: Duplex, req?: unknown) =>
    broker.handle(guardConnection(conn, opts.maxPacketBytes, onRefuse) as never, req as never);

  return {
    broker,
    ports,
    async start() {
      await broker.listen();
      await listen(createNetServer(handle), opts.port, 'mqtt');
      if (opts.tls.enabled) {
        const tls = createTlsServer(
          { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
          handle,
        );
        await listen(tls, opts.tls.port, 'mqtts');
      }
      if (opts.websocket.enabled) {
        const http = createHttpServer();
        const wss = new WebSocketServer({ server: http, path: opts.websocket.path });
        wss.on('connection', (ws, req) => handle(createWebSocketStream(ws), req));
        await listen(http, opts.websocket.port, 'ws');
      }
    },
    async stop() {
      // Close the broker first: it disconnects every client, which lets the listeners finish closing.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all(
        servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}
