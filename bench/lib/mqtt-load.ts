/**
 * MQTT load generation with mqtt.js: connecting many device clients, and a closed-loop QoS 1 publisher
 * with its own flow control (a fixed number of publishes in flight per client, counted by their PUBACK
 * callbacks), which is what makes the result a throughput figure for the server rather than for a queue
 * in the client.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { cpuSeconds, ownCpuSeconds } from './proc.ts';
import { sleep } from './report.ts';

export interface DeviceLogin {
  deviceId: string;
  /** Omitted: connect without credentials. */
  password?: string;
}

/** What went wrong on the connections after they were up; the benchmark prints it. */
export interface ConnectionHealth {
  /** 'close' events before we ended the client ourselves. */
  unexpectedCloses: number;
  errors: number;
  /** First few distinct error messages. */
  errorSamples: string[];
}

export interface Fleet {
  clients: MqttClient[];
  health: ConnectionHealth;
  /** Ends every client (forcefully: in-flight publishes are dropped) and waits for the sockets to close. */
  end(): Promise<void>;
}

function sample(health: ConnectionHealth, message: string): void {
  if (health.errorSamples.length < 5 && !health.errorSamples.includes(message))
    health.errorSamples.push(message);
}

/** Connects one client per device (MQTT 3.1.1, clean session, no reconnect), `concurrency` at a time. */
export async function connectFleet(
  url: string,
  devices: readonly DeviceLogin[],
  opts: { concurrency: number; keepaliveS?: number },
): Promise<Fleet> {
  const health: ConnectionHealth = { unexpectedCloses: 0, errors: 0, errorSamples: [] };
  const clients: MqttClient[] = new Array(devices.length);
  let ending = false;
  let next = 0;
  const connectOne = (device: DeviceLogin): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const client = mqtt.connect(url, {
        clientId: `bench-${device.deviceId}`,
        ...(device.password === undefined ? {} : { username: device.deviceId, password: device.password }),
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
        keepalive: opts.keepaliveS ?? 60,
      });
      const onError = (err: Error) => {
        client.end(true);
        reject(new Error(`connect ${device.deviceId}: ${err.message}`));
      };
      client.once('error', onError);
      client.once('connect', () => {
        client.off('error', onError);
        client.on('error', (err) => {
          health.errors++;
          sample(health, err.message);
        });
        client.on('close', () => {
          if (!ending) health.unexpectedCloses++;
        });
        resolve(client);
      });
    });
  const worker = async () => {
    while (next < devices.length) {
      const i = next++;
      clients[i] = await connectOne(devices[i]!);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, devices.length) }, worker));
  } catch (err) {
    ending = true;
    for (const c of clients) c?.end(true);
    throw err;
  }
  return {
    clients,
    health,
    async end() {
      ending = true;
      await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))));
    },
  };
}

export interface ClosedLoopOptions {
  fleet: Fleet;
  /** Topic of each client (same order as fleet.clients). */
  topics: readonly string[];
  inflightPerClient: number;
  /** The payload of publish number `seq` of client `client`. */
  payload: (client: number, seq: number) => string;
  /** First `seq` of each client (default 0): lets rounds continue where the previous one stopped. */
  startSeq?: readonly number[];
  warmupMs: number;
  measureMs: number;
  /** How long to wait for outstanding PUBACKs after the measurement before calling them lost. */
  drainTimeoutMs: number;
  /** Server process, for its CPU use during the measurement. */
  serverPid: number;
}

export interface ClosedLoopResult {
  /** PUBACKs received per second during the measurement window. */
  ackedPerSecond: number;
  ackedInWindow: number;
  windowSeconds: number;
  /** Everything sent and acknowledged over the whole run (warm-up and drain included). */
  sent: number;
  acked: number;
  /** Publishes whose callback reported an error (e.g. the connection closed under them). */
  publishErrors: number;
  /** Still without a PUBACK after the drain timeout. */
  unacked: number;
  /** CPU use during the window, in % of one core. */
  serverCpuPct: number;
  loadgenCpuPct: number;
  /** Next unused `seq` of each client. */
  nextSeq: number[];
}

export async function runClosedLoop(opts: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { clients } = opts.fleet;
  let running = true;
  let acked = 0;
  let sent = 0;
  let publishErrors = 0;
  let inflightTotal = 0;
  const nextSeq = clients.map((_, i) => opts.startSeq?.[i] ?? 0);
  const pumps = clients.map((client, i) => {
    const topic = opts.topics[i]!;
    let inflight = 0;
    const onAck = (err?: Error) => {
      inflight--;
      inflightTotal--;
      if (err) {
        publishErrors++;
        sample(opts.fleet.health, `publish: ${err.message}`);
      } else acked++;
      if (running) pump();
    };
    const pump = () => {
      while (running && inflight < opts.inflightPerClient && !client.disconnected) {
        inflight++;
        inflightTotal++;
        sent++;
        const seq = nextSeq[i]!;
        nextSeq[i] = seq + 1;
        client.publish(topic, opts.payload(i, seq), { qos: 1 }, onAck);
      }
    };
    return pump;
  });
  for (const pump of pumps) pump();

  await sleep(opts.warmupMs);
  const startAcked = acked;
  const startAt = performance.now();
  const startServerCpu = cpuSeconds(opts.serverPid) ?? 0;
  const startOwnCpu = ownCpuSeconds();
  await sleep(opts.measureMs);
  const endAcked = acked;
  const endAt = performance.now();
  const endServerCpu = cpuSeconds(opts.serverPid) ?? 0;
  const endOwnCpu = ownCpuSeconds();
  running = false;

  const drainUntil = Date.now() + opts.drainTimeoutMs;
  while (inflightTotal > 0 && Date.now() < drainUntil) await sleep(20);

  const windowSeconds = (endAt - startAt) / 1000;
  return {
    ackedPerSecond: (endAcked - startAcked) / windowSeconds,
    ackedInWindow: endAcked - startAcked,
    windowSeconds,
    sent,
    acked,
    publishErrors,
    unacked: inflightTotal,
    serverCpuPct: (100 * (endServerCpu - startServerCpu)) / windowSeconds,
    loadgenCpuPct: (100 * (endOwnCpu - startOwnCpu)) / windowSeconds,
    nextSeq,
  };
}
