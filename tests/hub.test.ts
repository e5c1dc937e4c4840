/**
 * The local hub against the REAL @azure/event-hubs SDK over real sockets (port 0): send/receive, management,
 * CBS key checks, size limits, start positions, epochs, persistence across restarts, checkpoints, retention.
 */

import { rmSync } from 'node:fs';
import {
  type CheckpointStore,
  EventHubConsumerClient,
  EventHubProducerClient,
  type EventPosition,
  earliestEventPosition,
  latestEventPosition,
  type PartitionContext,
  type PartitionOwnership,
  type ReceivedEventData,
} from '@azure/event-hubs';
import rhea from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub, hubConfigFrom } from '../cloud/hub/index.ts';
import { signSas } from '../cloud/hub/sas.ts';
import { createLogger } from '../shared/logger.ts';
import { settledWithin } from '../shared/within.ts';
import { tempDir, waitFor } from './helpers/gateway.ts';
import { FAST_RETRY, startTestHub, type TestHub } from './helpers/hub.ts';
import { startCli } from './helpers/process.ts';

type Closable = { close(): Promise<void> };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // A producer's close can wait on a hub the test killed (see the SIGKILL test): each cleanup 3 s at most.
  while (cleanups.length) await settledWithin(cleanups.pop()!(), 3_000);
});

async function hubForTest(opts: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  const hub = await startTestHub(opts);
  cleanups.push(() => hub.stop());
  return hub;
}

function track<T extends Closable>(c: T): T {
  cleanups.push(() => c.close());
  return c;
}

function producerFor(hub: TestHub, connectionString = hub.connectionString): EventHubProducerClient {
  return track(new EventHubProducerClient(connectionString, hub.hubName, { retryOptions: FAST_RETRY }));
}

function consumerFor(
  hub: TestHub,
  group = '$Default',
  checkpointStore?: CheckpointStore,
): EventHubConsumerClient {
  const opts = {
    retryOptions: FAST_RETRY,
    loadBalancingOptions: { strategy: 'greedy' as const, updateIntervalInMs: 200 },
  };
  return track(
    checkpointStore
      ? new EventHubConsumerClient(group, hub.connectionString, hub.hubName, checkpointStore, opts)
      : new EventHubConsumerClient(group, hub.connectionString, hub.hubName, opts),
  );
}

interface Subscription {
  events: ReceivedEventData[];
  errors: Error[];
  close(): Promise<void>;
}

/** Subscribes to one partition and collects what arrives (and any errors). */
function collect(
  consumer: EventHubConsumerClient,
  partitionId: string,
  startPosition: EventPosition,
  ownerLevel?: number,
  onBatch?: (ctx: PartitionContext) => void,
): Subscription {
  const events: ReceivedEventData[] = [];
  const errors: Error[] = [];
  const sub = consumer.subscribe(
    partitionId,
    {
      processEvents: async (batch, ctx) => {
        events.push(...batch);
        if (batch.length) onBatch?.(ctx);
      },
      processError: async (err) => {
        errors.push(err as Error);
      },
    },
    {
      startPosition,
      maxWaitTimeInSeconds: 1,
      trackLastEnqueuedEventProperties: onBatch !== undefined,
      ...(ownerLevel !== undefined ? { ownerLevel } : {}),
    },
  );
  cleanups.push(() => sub.close());
  return { events, errors, close: () => sub.close() };
}

/**
 * The SDK's error code (`err.code`). Retryable errors (UnauthorizedError is one: keys may be rotated) come
 * back as an AggregateError of every attempt's error once retries run out; then all attempts must agree.
 */
function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (e.code !== undefined) return String(e.code);
  const inner = Array.isArray(e.errors) && e.errors.length ? e.errors : e.cause ? [e.cause] : [];
  const codes = new Set(inner.map(codeOf));
  return codes.size === 1 ? [...codes][0]! : `mixed or none: ${[...codes].join(',')}`;
}

async function failureCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return codeOf(err);
  }
  throw new Error('expected the call to fail');
}

const bodies = (events: ReceivedEventData[]) => events.map((e) => e.body);
const seqs = (events: ReceivedEventData[]) => events.map((e) => e.sequenceNumber);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hub with the real SDK', () => {
  it('round-trips bodies and properties, keys map to one partition, management reports it', async () => {
    const hub = await hubForTest();
    const producer = producerFor(hub);
    const props = await producer.getEventHubProperties();
    expect(props.name).toBe(hub.hubName);
    expect(props.partitionIds).toEqual(['0', '1', '2', '3']);
    expect(props.createdOn).toBeInstanceOf(Date);
    expect(Math.abs(props.createdOn.getTime() - Date.now())).toBeLessThan(60_000);

    const batch = await producer.createBatch({ partitionKey: 'gw-library' });
    expect(batch.maxSizeInBytes).toBe(1024 * 1024);
    const sent = [
      {
        body: { room: 'b1-f0-r1', co2Ppm: 812.5, nested: [1, 'two', null] },
        properties: { schema: 'readings.v1', n: 3 },
      },
      { body: 'plain text', properties: { flag: true } },
      { body: Buffer.from([0, 1, 2, 254, 255]), contentType: 'application/octet-stream' },
    ];
    for (const e of sent) expect(batch.tryAdd(e)).toBe(true);
    await producer.sendBatch(batch);
    await producer.sendBatch([{ body: 'second batch' }], { partitionKey: 'gw-library' });

    const infos = await Promise.all(props.partitionIds.map((id) => producer.getPartitionProperties(id)));
    const used = infos.filter((i) => !i.isEmpty);
    expect(used).toHaveLength(1);
    const p = used[0]!;
    expect(p.eventHubName).toBe(hub.hubName);
    expect(p.beginningSequenceNumber).toBe(0);
    expect(p.lastEnqueuedSequenceNumber).toBe(3);
    expect(typeof p.lastEnqueuedOffset).toBe('string');
    expect(Number(p.lastEnqueuedOffset)).toBeGreaterThan(0);
    expect(Math.abs(p.lastEnqueuedOnUtc.getTime() - Date.now())).toBeLessThan(10_000);
    for (const i of infos.filter((x) => x.isEmpty)) expect(i.lastEnqueuedSequenceNumber).toBe(-1);

    const consumer = consumerFor(hub);
    let lastEnqueued: PartitionContext['lastEnqueuedEventProperties'] | undefined;
    const sub = collect(consumer, p.partitionId, earliestEventPosition, undefined, (ctx) => {
      lastEnqueued = { ...ctx.lastEnqueuedEventProperties };
    });
    await waitFor(() => sub.events.length >= 4, 10_000, 'four events');
    // trackLastEnqueuedEventProperties: the partition's newest event, as management reports it.
    expect(lastEnqueued).toMatchObject({ sequenceNumber: 3, offset: p.lastEnqueuedOffset });
    expect(lastEnqueued?.enqueuedOn).toEqual(p.lastEnqueuedOnUtc);
    expect(lastEnqueued?.retrievedOn).toBeInstanceOf(Date);
    expect(sub.errors).toEqual([]);
    expect(bodies(sub.events)).toEqual([sent[0]!.body, sent[1]!.body, sent[2]!.body, 'second batch']);
    expect(sub.events[0]!.properties).toEqual({ schema: 'readings.v1', n: 3 });
    expect(sub.events[1]!.properties).toEqual({ flag: true });
    expect(sub.events[2]!.contentType).toBe('application/octet-stream');
    expect(seqs(sub.events)).toEqual([0, 1, 2, 3]);
    expect(sub.events.every((e) => e.partitionKey === 'gw-library')).toBe(true);
    // Offsets are strings, increasing, and not the sequence numbers.
    const offsets = sub.events.map((e) => Number(e.offset));
    expect(offsets[0]).toBe(0);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(4);
    expect(String(sub.events[3]!.offset)).toBe(p.lastEnqueuedOffset);
    expect(sub.events[0]!.enqueuedTimeUtc).toBeInstanceOf(Date);

    expect(await failureCode(producer.getPartitionProperties('7'))).toBe('ArgumentOutOfRangeError');
  });

  it('spreads events without a key round robin and honours an explicit partition', async () => {
    const hub = await hubForTest();
    const producer = producerFor(hub);
    for (let i = 0; i < 8; i++) await producer.sendBatch([{ body: i }]);
    await producer.sendBatch([{ body: 'to-2a' }, { body: 'to-2b' }], { partitionId: '2' });
    const infos = await Promise.all(['0', '1', '2', '3'].map((id) => producer.getPartitionProperties(id)));
    expect(infos.map((i) => i.lastEnqueuedSequenceNumber)).toEqual([1, 1, 3, 1]);
  });

  it('refuses a wrong key with UnauthorizedError, and links without a token', async () => {
    const hub = await hubForTest();
    const bad = hub.connectionString.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=not-the-key');
    const producer = producerFor(hub, bad);
    expect(await failureCode(producer.getEventHubProperties())).toBe('UnauthorizedError');
    expect(await failureCode(producer.sendBatch([{ body: 'x' }]))).toBe('UnauthorizedError');
    const badName = hub.connectionString.replace(/SharedAccessKeyName=[^;]+/, 'SharedAccessKeyName=nobody');
    expect(await failureCode(producerFor(hub, badName).getEventHubProperties())).toBe('UnauthorizedError');
    // The right key still works on the same hub.
    expect((await producerFor(hub).getEventHubProperties()).name).toBe(hub.hubName);

    // A bare AMQP client that skips $cbs: the receiver link is refused.
    const container = rhea.create_container();
    const conn = container.connect({ host: '127.0.0.1', port: hub.port, reconnect: false });
    cleanups.push(async () => void conn.close());
    const refused = await new Promise<string | undefined>((resolve) => {
      const receiver = conn.open_receiver({
        source: { address: `${hub.hubName}/ConsumerGroups/$Default/Partitions/0` },
      });
      receiver.on('receiver_error', (ctx) =>
        resolve((ctx.receiver?.error as { condition?: string })?.condition),
      );
      setTimeout(() => resolve('timeout'), 5000);
    });
    expect(refused).toBe('amqp:unauthorized-access');
  });

  it('rejects a message over maxMessageBytes with MessageTooLargeError and carries on', async () => {
    const hub = await hubForTest({ maxMessageBytes: 4096 });
    const producer = producerFor(hub);
    const batch = await producer.createBatch();
    expect(batch.maxSizeInBytes).toBe(4096);
    expect(batch.tryAdd({ body: 'x'.repeat(5000) })).toBe(false);
    expect(await failureCode(producer.sendBatch([{ body: 'x'.repeat(5000) }], { partitionId: '0' }))).toBe(
      'MessageTooLargeError',
    );
    await producer.sendBatch([{ body: 'small' }], { partitionId: '0' });
    const info = await producer.getPartitionProperties('0');
    expect(info.lastEnqueuedSequenceNumber).toBe(0);
    const sub = collect(consumerFor(hub), '0', earliestEventPosition);
    await waitFor(() => sub.events.length >= 1, 10_000, 'the small event');
    expect(bodies(sub.events)).toEqual(['small']);
  });

  it('starts receivers at earliest, latest, a sequence number, an offset or an enqueued time', async () => {
    const hub = await hubForTest();
    const producer = producerFor(hub);
    await producer.sendBatch(
      [0, 1, 2, 3, 4].map((i) => ({ body: `e${i}` })),
      { partitionId: '0' },
    );
    await sleep(30);
    const cut = new Date();
    await sleep(30);
    await producer.sendBatch([{ body: 'e5' }, { body: 'e6' }], { partitionId: '0' });
    const consumer = consumerFor(hub);
    const all = collect(consumer, '0', earliestEventPosition);
    await waitFor(() => all.events.length >= 7, 10_000, 'all events');
    const offsetOf2 = String(all.events[2]!.offset);

    const cases: [EventPosition, number[]][] = [
      [{ sequenceNumber: 2, isInclusive: true }, [2, 3, 4, 5, 6]],
      [{ sequenceNumber: 2 }, [3, 4, 5, 6]],
      [{ offset: offsetOf2, isInclusive: true }, [2, 3, 4, 5, 6]],
      [{ offset: offsetOf2 }, [3, 4, 5, 6]],
      [{ enqueuedOn: cut }, [5, 6]],
    ];
    const subs = cases.map(([pos]) => collect(consumerFor(hub), '0', pos));
    const latest = collect(consumerFor(hub), '0', latestEventPosition);
    for (const [i, [, want]] of cases.entries()) {
      await waitFor(() => subs[i]!.events.length >= want.length, 10_000, `case ${i}`);
    }
    // latest: nothing old; then exactly what is sent after it attached.
    await sleep(1500);
    expect(latest.events).toEqual([]);
    await producer.sendBatch([{ body: 'e7' }], { partitionId: '0' });
    await waitFor(() => latest.events.length >= 1, 10_000, 'the new event');
    await sleep(300);
    for (const [i, [, want]] of cases.entries()) {
      expect(seqs(subs[i]!.events).slice(0, want.length)).toEqual(want);
    }
    expect(seqs(latest.events)).toEqual([7]);
    expect(bodies(latest.events)).toEqual(['e7']);
  });

  it('sends a receiver no more events than its link credit', async () => {
    const hub = await hubForTest();
    const producer = producerFor(hub);
    await producer.sendBatch(
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
      { partitionId: '2' },
    );
    // A bare AMQP client: put-token on $cbs, then a receiver with no automatic credit.
    const container = rhea.create_container();
    const conn = container.connect({ host: '127.0.0.1', port: hub.port, reconnect: false });
    cleanups.push(async () => void conn.close());
    const audience = `sb://localhost:${hub.port}/${hub.hubName}`;
    const token = signSas(
      'RootManageSharedAccessKey',
      'campus-twin-dev-key-not-secret',
      audience,
      Math.floor(Date.now() / 1000) + 600,
    );
    const status = await new Promise<unknown>((resolve) => {
      const replies = conn.open_receiver({ source: { address: '$cbs' }, name: 'cbs-reply' });
      replies.on('message', (ctx) => resolve(ctx.message?.application_properties?.['status-code']));
      const requests = conn.open_sender({ target: { address: '$cbs' } });
      requests.once('sendable', () => {
        requests.send({
          message_id: 'put-1',
          reply_to: 'cbs-reply',
          body: token,
          application_properties: {
            operation: 'put-token',
            name: audience,
            type: 'servicebus.windows.net:sastoken',
          },
        });
      });
    });
    expect(status).toBe(202);
    const got: number[] = [];
    const receiver = conn.open_receiver({
      source: { address: `${hub.hubName}/ConsumerGroups/$Default/Partitions/2` },
      credit_window: 0,
      autoaccept: true,
    });
    receiver.on('message', (ctx) => {
      got.push(ctx.message?.message_annotations?.['x-opt-sequence-number'] as number);
    });
    await new Promise((r) => receiver.once('receiver_open', r));
    receiver.add_credit(3);
    await waitFor(() => got.length >= 3, 5000, 'three events');
    await sleep(500);
    expect(got).toEqual([0, 1, 2]);
    receiver.add_credit(4);
    await waitFor(() => got.length >= 7, 5000, 'seven events');
    await sleep(500);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('scopes receivers to configured consumer groups; an unknown group is not found', async () => {
    const hub = await hubForTest({ consumerGroups: ['reporting'] });
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 'hello' }], { partitionId: '1' });
    const ok = collect(consumerFor(hub, 'Reporting'), '1', earliestEventPosition);
    const bad = collect(consumerFor(hub, 'no-such-group'), '1', earliestEventPosition);
    await waitFor(() => ok.events.length >= 1, 10_000, 'reporting group event');
    await waitFor(() => bad.errors.length >= 1, 10_000, 'unknown group error');
    expect(bodies(ok.events)).toEqual(['hello']);
    expect(bad.events).toEqual([]);
    expect(bad.errors[0]).toMatchObject({ code: 'MessagingEntityNotFoundError' });
  });

  it('a higher epoch steals the partition; a lower one is refused; other groups are unaffected', async () => {
    const hub = await hubForTest({ consumerGroups: ['reporting'] });
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 'before' }], { partitionId: '0' });
    const first = collect(consumerFor(hub), '0', earliestEventPosition, 1);
    await waitFor(() => first.events.length >= 1, 10_000, 'first receiver event');
    const otherGroup = collect(consumerFor(hub, 'reporting'), '0', earliestEventPosition, 9);
    const second = collect(consumerFor(hub), '0', earliestEventPosition, 2);
    await waitFor(() => first.errors.length >= 1, 10_000, 'first receiver stolen');
    expect(first.errors[0]).toMatchObject({ code: 'ReceiverDisconnectedError' });
    await waitFor(() => second.events.length >= 1, 10_000, 'second receiver event');
    const lower = collect(consumerFor(hub), '0', earliestEventPosition, 1);
    await waitFor(() => lower.errors.length >= 1, 10_000, 'lower epoch refused');
    expect(lower.errors[0]).toMatchObject({ code: 'ReceiverDisconnectedError' });
    await producer.sendBatch([{ body: 'after' }], { partitionId: '0' });
    await waitFor(() => second.events.length >= 2, 10_000, 'owner gets the new event');
    expect(bodies(second.events)).toEqual(['before', 'after']);
    await waitFor(() => otherGroup.events.length >= 2, 10_000, 'the other group gets both');
    expect(otherGroup.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(lower.events).toEqual([]);
  });

  it('keeps events, counters and offsets across a restart', async () => {
    const hub = await hubForTest();
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 'a' }, { body: 'b' }], { partitionId: '3' });
    const before = await producer.getPartitionProperties('3');
    const created = (await producer.getEventHubProperties()).createdOn;
    await producer.close();
    await hub.restart!();
    const after = producerFor(hub);
    expect(await after.getPartitionProperties('3')).toEqual(before);
    expect((await after.getEventHubProperties()).createdOn).toEqual(created);
    await after.sendBatch([{ body: 'c' }], { partitionId: '3' });
    const sub = collect(consumerFor(hub), '3', earliestEventPosition);
    await waitFor(() => sub.events.length >= 3, 10_000, 'three events');
    expect(bodies(sub.events)).toEqual(['a', 'b', 'c']);
    expect(seqs(sub.events)).toEqual([0, 1, 2]);
    expect(Number(sub.events[2]!.offset)).toBeGreaterThan(Number(before.lastEnqueuedOffset));
  });

  it('resumes a consumer from its checkpoint after the hub restarts', async () => {
    const hub = await hubForTest({ partitions: 1 });
    const store = new MemoryCheckpointStore();
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const seen1: unknown[] = [];
    const c1 = consumerFor(hub, '$Default', store);
    const s1 = c1.subscribe(
      {
        processEvents: async (events, ctx) => {
          seen1.push(...bodies(events));
          if (events.length) await ctx.updateCheckpoint(events[events.length - 1]!);
        },
        processError: async () => {},
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    await waitFor(() => store.checkpoints.get('0')?.sequenceNumber === 2, 15_000, 'checkpoint at seq 2');
    await s1.close();
    await c1.close();
    await producer.close();
    expect(seen1).toEqual([1, 2, 3]);

    await hub.restart!();
    const p2 = producerFor(hub);
    await p2.sendBatch([{ body: 4 }, { body: 5 }]);
    const seen2: ReceivedEventData[] = [];
    const c2 = consumerFor(hub, '$Default', store);
    const s2 = c2.subscribe(
      {
        processEvents: async (events) => {
          seen2.push(...events);
        },
        processError: async () => {},
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    cleanups.push(() => s2.close());
    await waitFor(() => seen2.length >= 2, 15_000, 'events after the checkpoint');
    await sleep(300);
    expect(bodies(seen2)).toEqual([4, 5]);
    expect(seqs(seen2)).toEqual([3, 4]);
  });
});

describe('campus-twin hub (CLI)', () => {
  it('prints a ready line with a connection string the SDK uses, and stops on SIGTERM', async () => {
    const dataDir = tempDir('ct-hub-cli-');
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const cli = await startCli(
      ['hub', '--port', '0', '--data-dir', dataDir],
      { CT_HUB_PARTITIONS: '2' },
      'hub:ready',
    );
    cleanups.push(async () => void (await cli.kill()));
    const ready = cli.ready as unknown as { port: number; connectionString: string; hubs: string[] };
    expect(ready.port).toBeGreaterThan(0);
    expect(ready.connectionString).toBe(
      `Endpoint=sb://localhost:${ready.port};SharedAccessKeyName=RootManageSharedAccessKey;` +
        'SharedAccessKey=campus-twin-dev-key-not-secret;UseDevelopmentEmulator=true',
    );
    const producer = track(
      new EventHubProducerClient(ready.connectionString, ready.hubs[0]!, { retryOptions: FAST_RETRY }),
    );
    expect((await producer.getEventHubProperties()).partitionIds).toEqual(['0', '1']);
    await producer.sendBatch([{ body: 'via cli' }], { partitionId: '1' });
    expect((await producer.getPartitionProperties('1')).lastEnqueuedSequenceNumber).toBe(0);
    await producer.close();
    expect(await cli.kill('SIGTERM')).toBe(0);
    expect(cli.stderr()).toContain('well-known development key');
  });
  it('keeps every acknowledged send through a SIGKILL', async () => {
    // Each wait bounded and named: a hang says where (once, in CI, this test ran into vitest's 60 s).
    const step = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      });
      return Promise.race([p, late]).finally(() => clearTimeout(timer));
    };
    const dataDir = tempDir('ct-hub-kill-');
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startCli(
      ['hub', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
      {},
      'hub:ready',
    );
    cleanups.push(async () => void (await first.kill('SIGKILL')));
    const cs1 = (first.ready as unknown as { connectionString: string }).connectionString;
    const producer = track(new EventHubProducerClient(cs1, 'campus-twin', { retryOptions: FAST_RETRY }));
    let acknowledged = 0;
    const abort = new AbortController();
    const sending = (async () => {
      for (let i = 0; ; i++) {
        try {
          await producer.sendBatch(
            Array.from({ length: 50 }, (_, j) => ({ body: { i, j } })),
            { partitionId: String(i % 2), abortSignal: abort.signal },
          );
          acknowledged += 50;
        } catch {
          return;
        }
      }
    })();
    await waitFor(() => acknowledged >= 1000, 15_000, 'a thousand acknowledged events');
    await step(first.kill('SIGKILL'), 10_000, 'the hub to exit after SIGKILL');
    // No ack can arrive after the kill; aborting ends the send in flight without waiting for its timeout.
    abort.abort();
    await step(sending, 15_000, 'the send loop to end after the kill');
    // The SDK's close can wait on the killed hub for good (once in a full run): not what this test is about,
    // so it gets 3 s and no more (the gateway's uplink bounds it too, CLOSE_WAIT_MS).
    await settledWithin(producer.close(), 3_000);

    const second = await startCli(
      ['hub', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
      {},
      'hub:ready',
    );
    cleanups.push(async () => void (await second.kill()));
    const cs2 = (second.ready as unknown as { connectionString: string }).connectionString;
    const after = track(new EventHubProducerClient(cs2, 'campus-twin', { retryOptions: FAST_RETRY }));
    const infos = await step(
      Promise.all(['0', '1', '2', '3'].map((id) => after.getPartitionProperties(id))),
      15_000,
      'the restarted hub to answer partition properties',
    );
    const stored = infos.reduce((n, i) => n + i.lastEnqueuedSequenceNumber + 1, 0);
    // Everything acknowledged is there; at most the batches in flight at the kill are extra.
    expect(stored).toBeGreaterThanOrEqual(acknowledged);
    expect(stored).toBeLessThanOrEqual(acknowledged + 50);
    expect(stored % 50).toBe(0);
  });
});

describe('hub with a clock of its own', () => {
  async function retentionHub(retention: Record<string, number>, now: () => number): Promise<TestHub> {
    return clockHub({ retention: { intervalMs: 50, ...retention } }, now);
  }

  async function clockHub(overrides: Record<string, unknown>, now: () => number): Promise<TestHub> {
    const dataDir = tempDir('ct-hub-ret-');
    const hub: Hub = createHub(
      hubConfigFrom({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        partitions: 1,
        log: { level: 'silent' },
        ...overrides,
      }),
      { logger: createLogger({ level: 'silent' }), now },
    );
    await hub.start();
    const t: TestHub = {
      connectionString: hub.connectionString(),
      hubName: 'campus-twin',
      port: hub.port,
      dataDir,
      stop: () => hub.stop(),
    };
    cleanups.push(async () => {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    return t;
  }

  it('detaches links whose token expired without renewal', async () => {
    let offsetMs = 0;
    const hub = await clockHub({ tokenCheckIntervalMs: 50 }, () => Date.now() + offsetMs);
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 'in time' }], { partitionId: '0' });
    const sub = collect(consumerFor(hub), '0', earliestEventPosition);
    await waitFor(() => sub.events.length >= 1, 10_000, 'the first event');
    // The SDK's tokens live 1 h and are renewed after 45 min of real time; jump the hub's clock past that.
    offsetMs = 2 * 3600_000;
    await waitFor(() => sub.errors.length >= 1, 10_000, 'receiver detached');
    expect(codeOf(sub.errors[0])).toBe('UnauthorizedError');
    expect(await failureCode(producer.sendBatch([{ body: 'too late' }], { partitionId: '0' }))).toBe(
      'UnauthorizedError',
    );
  });

  it('deletes the oldest events beyond the size limit', async () => {
    const hub = await retentionHub({ maxBytesPerPartition: 2000 }, Date.now);
    const producer = producerFor(hub);
    for (let i = 0; i < 10; i++) await producer.sendBatch([{ body: `${i}`.padEnd(300, '.') }]);
    const info = await waitFor(
      async () => {
        const p = await producer.getPartitionProperties('0');
        return p.beginningSequenceNumber > 0 ? p : undefined;
      },
      5000,
      'retention by size',
    );
    expect(info.lastEnqueuedSequenceNumber).toBe(9);
    const sub = collect(consumerFor(hub), '0', earliestEventPosition);
    await waitFor(() => sub.events.length >= 10 - info.beginningSequenceNumber, 10_000, 'retained events');
    expect(sub.events[0]!.sequenceNumber).toBe(info.beginningSequenceNumber);
    // ~330 bytes per stored event: at most 2000 bytes are left.
    expect(sub.events.length).toBeLessThanOrEqual(6);
    expect(sub.events.length).toBeGreaterThanOrEqual(4);
  });

  it('deletes events older than maxAgeMs', async () => {
    let offsetMs = 0;
    const hub = await retentionHub({ maxAgeMs: 60_000 }, () => Date.now() + offsetMs);
    const producer = producerFor(hub);
    await producer.sendBatch([{ body: 'old-1' }, { body: 'old-2' }]);
    offsetMs = 45_000;
    await producer.sendBatch([{ body: 'young' }]);
    offsetMs = 90_000;
    const info = await waitFor(
      async () => {
        const p = await producer.getPartitionProperties('0');
        return p.beginningSequenceNumber === 2 ? p : undefined;
      },
      5000,
      'retention by age',
    );
    expect(info.isEmpty).toBe(false);
    offsetMs = 200_000;
    const empty = await waitFor(
      async () => {
        const p = await producer.getPartitionProperties('0');
        return p.isEmpty ? p : undefined;
      },
      5000,
      'all expired',
    );
    expect(empty.beginningSequenceNumber).toBe(3);
    expect(empty.lastEnqueuedSequenceNumber).toBe(2);
  });
});

/** Checkpoints and ownership in memory, shared by two consumer clients (as a blob store would be). */
class MemoryCheckpointStore implements CheckpointStore {
  readonly checkpoints = new Map<string, { sequenceNumber: number; offset: string }>();
  readonly #ownership = new Map<string, PartitionOwnership>();
  #etag = 0;
  async listOwnership(): Promise<PartitionOwnership[]> {
    return [...this.#ownership.values()];
  }
  async claimOwnership(claims: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    return claims.map((c) => {
      const owned = { ...c, etag: String(++this.#etag), lastModifiedTimeInMs: Date.now() };
      this.#ownership.set(c.partitionId, owned);
      return owned;
    });
  }
  async updateCheckpoint(c: { partitionId: string; sequenceNumber: number; offset: string }): Promise<void> {
    this.checkpoints.set(c.partitionId, { sequenceNumber: c.sequenceNumber, offset: c.offset });
  }
  async listCheckpoints(fullyQualifiedNamespace: string, eventHubName: string, consumerGroup: string) {
    return [...this.checkpoints].map(([partitionId, c]) => ({
      fullyQualifiedNamespace,
      eventHubName,
      consumerGroup,
      partitionId,
      ...c,
    }));
  }
}
