/**
 * `hub`: events per second sent with the real @azure/event-hubs SDK (EventHubProducerClient, createBatch /
 * tryAdd / sendBatch, one producer per partition, several sendBatch calls in flight) to
 *   - value: the campus-twin hub (`createHub`): CBS check, batch unpacking, group-committed SQLite
 *     (WAL, synchronous=FULL) before each transfer is accepted;
 *   - baseline: a bare rhea server that answers $cbs and accepts every transfer without looking at it or
 *     storing it (the protocol and SDK cost alone).
 * Both servers run in this process with the clients, on 127.0.0.1 port 0; rounds alternate
 * bare/hub/hub/bare so background noise hits both alike. ~256-byte JSON events, 200 events per batch.
 */
import type { Socket } from 'node:net';
import { EventHubProducerClient } from '@azure/event-hubs';
import rhea, { type EventContext } from 'rhea';
import { createHub, hubConfigFrom } from '../cloud/hub/index.ts';
import { createLogger } from '../shared/logger.ts';
import { removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round, sleep } from './lib/report.ts';

const PARTITIONS = 4;
const EVENTS_PER_BATCH = 200;
const IN_FLIGHT_PER_PRODUCER = 2;
const ROUND_MS = Number(process.env.BENCH_HUB_SECONDS ?? 5) * 1000;
const WARMUP_MS = 1000;
const HUB = 'campus-twin';
const KEY = { name: 'bench', key: 'bench-key' };
const RETRY = { maxRetries: 0, timeoutInMs: 30_000 };

function eventBody(i: number): Record<string, unknown> {
  return {
    gatewayId: 'gw-bench',
    batchId: `b-${i}`,
    readings: [
      { deviceId: `env-${i % 25}`, quantity: 'co2', value: 400 + (i % 800), ts: 1_795_766_400_000 + i },
    ],
    pad: 'x'.repeat(110),
  };
}

/** Bare AMQP endpoint: answers every put-token with 202, accepts every transfer, stores nothing. */
async function startBare(): Promise<{ port: number; stop: () => Promise<void> }> {
  const container = rhea.create_container({ id: 'bench-bare' });
  const replyLinks = new Map<string, rhea.Sender>();
  container.on('sender_open', (ctx: EventContext) => {
    const s = ctx.sender!;
    s.set_source({ address: String(s.source?.address ?? '') });
    // The SDK's reply_to is the reply link's name (and, for $management, its target address).
    replyLinks.set(s.name, s);
    if (s.target?.address) replyLinks.set(String(s.target.address), s);
  });
  container.on('receiver_open', (ctx: EventContext) => {
    const r = ctx.receiver!;
    r.set_target({ address: String(r.target?.address ?? '') });
    (r as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size =
      1024 * 1024;
  });
  container.on('message', (ctx: EventContext) => {
    if (ctx.receiver?.target?.address === '$cbs') {
      const msg = ctx.message as rhea.Message;
      replyLinks.get(String(msg.reply_to))?.send({
        correlation_id: msg.message_id as string,
        application_properties: { 'status-code': 202, 'status-description': 'Accepted' },
        body: undefined,
      });
    }
  });
  container.on('disconnected', () => {});
  container.on('error', () => {});
  const server = container.listen({ port: 0, host: '127.0.0.1' });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function measure(port: number, label: string): Promise<number> {
  const cs = `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${KEY.name};SharedAccessKey=${KEY.key};UseDevelopmentEmulator=true`;
  const producers = Array.from(
    { length: PARTITIONS },
    () => new EventHubProducerClient(cs, HUB, { retryOptions: RETRY }),
  );
  try {
    // Batches are built once per producer; the SDK encodes on each tryAdd, outside the timed loop.
    const batches = await Promise.all(
      producers.map(async (p, partition) => {
        const b = await p.createBatch({ partitionId: String(partition) });
        for (let i = 0; i < EVENTS_PER_BATCH; i++) {
          if (!b.tryAdd({ body: eventBody(i), properties: { schema: 'readings.v1' } }))
            throw new Error('batch full');
        }
        return b;
      }),
    );
    let sent = 0;
    let counting = false;
    let stop = false;
    const loops = producers.flatMap((p, i) =>
      Array.from({ length: IN_FLIGHT_PER_PRODUCER }, async () => {
        while (!stop) {
          await p.sendBatch(batches[i]!);
          if (counting) sent += EVENTS_PER_BATCH;
        }
      }),
    );
    await sleep(WARMUP_MS);
    counting = true;
    const t0 = performance.now();
    await sleep(ROUND_MS);
    const ms = performance.now() - t0;
    const counted = sent;
    counting = false;
    stop = true;
    await Promise.all(loops);
    const rate = counted / (ms / 1000);
    progress('hub', `${label}: ${Math.round(rate)} events/s`);
    return rate;
  } finally {
    await Promise.all(producers.map((p) => p.close()));
  }
}

export async function run(): Promise<void> {
  const dataDir = tempDir('ct-bench-hub-');
  const hub = createHub(
    hubConfigFrom({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      hubs: [HUB],
      partitions: PARTITIONS,
      keys: [KEY],
      synchronous: 'FULL',
      log: { level: 'silent' },
    }),
    { logger: createLogger({ level: 'silent' }) },
  );
  const bare = await startBare();
  await hub.start();
  try {
    const rounds: { bare: number[]; hub: number[] } = { bare: [], hub: [] };
    for (const which of ['bare', 'hub', 'hub', 'bare'] as const) {
      rounds[which].push(await measure(which === 'hub' ? hub.port : bare.port, which));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const value = mean(rounds.hub);
    const baseline = mean(rounds.bare);
    emit({
      name: 'hub',
      value: round(value, 0),
      unit: 'events/s',
      baseline: round(baseline, 0),
      ratio: round(value / baseline),
      meaning:
        'SDK sendBatch events/s into the hub (stored, synchronous=FULL, accepted after commit) ÷ into a bare rhea server that accepts without storing',
      rounds: { bare: rounds.bare.map((r) => Math.round(r)), hub: rounds.hub.map((r) => Math.round(r)) },
      eventsPerBatch: EVENTS_PER_BATCH,
      producers: PARTITIONS,
      inFlightPerProducer: IN_FLIGHT_PER_PRODUCER,
      roundMs: ROUND_MS,
      inProcess: 'clients and both servers share one Node process',
    });
  } finally {
    await hub.stop();
    await bare.stop();
    removeDir(dataDir);
  }
}
