/**
 * The AMQP 1.0 side of the hub (rhea): accepts connections (SASL ANONYMOUS, then CBS), routes links by
 * address, group-commits sends to the store before settling them, and feeds receivers within their link
 * credit. Addresses (Event Hubs conventions):
 *   $cbs                                    put-token requests (replies on the link whose target is reply_to)
 *   $management                             READ eventhub / partition
 *   <hub> | <hub>/Partitions/<n>            senders
 *   <hub>/ConsumerGroups/<cg>/Partitions/<n> receivers (selector filter, epoch)
 */
import type { Server, Socket } from 'node:net';
import rhea, {
  type ContainerOptions,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';
import type { Logger } from '../../shared/logger.ts';
import { unpack } from './codec.ts';
import { GroupCommitter } from './committer.ts';
import type { HubConfig } from './config.ts';
import { Consumers } from './consumers.ts';
import { parseSelector } from './filters.ts';
import { partitionForKey, partitionIndex, RoundRobin } from './partitions.ts';
import { Requests } from './requests.ts';
import type { HubStore } from './store.ts';

const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const EPOCH_PROPERTY = 'com.microsoft:epoch';
const RUNTIME_METRIC = 'com.microsoft:enable-receiver-runtime-metric';

export interface HubServerDeps {
  config: HubConfig;
  store: HubStore;
  logger: Logger;
  now: () => number;
}

interface LinkTarget {
  hub: string;
  partition: number | undefined;
}

type AmqpError = { condition: string; description: string };

function unwrapValue(v: unknown): unknown {
  // Described or typed values from rhea's decoder carry the payload in `.value`.
  let x = v;
  while (x && typeof x === 'object' && 'value' in x && !Buffer.isBuffer(x))
    x = (x as { value: unknown }).value;
  return x;
}

export class HubServer {
  readonly #config: HubConfig;
  readonly #store: HubStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #hubs: Map<string, string>;
  readonly #groups: Set<string>;
  readonly #roundRobin = new Map<string, RoundRobin>();
  readonly #requests: Requests;
  readonly #consumers: Consumers;
  readonly #committer: GroupCommitter;
  readonly #sockets = new Set<Socket>();
  /** Open sender/receiver links to entities, with the entity path their token must keep covering. */
  readonly #entityLinks = new Map<Sender | Receiver, string>();
  /** Where a client sender's transfers go, resolved once on attach rather than on every transfer. */
  readonly #sendTargets = new WeakMap<Receiver, LinkTarget>();
  #tokenSweep: NodeJS.Timeout | undefined;
  #server: Server | undefined;
  #port = 0;

  constructor(deps: HubServerDeps) {
    this.#config = deps.config;
    this.#store = deps.store;
    this.#log = deps.logger;
    this.#now = deps.now;
    this.#hubs = new Map(deps.config.hubs.map((h) => [h.toLowerCase(), h]));
    this.#groups = new Set(['$default', ...deps.config.consumerGroups.map((g) => g.toLowerCase())]);
    this.#consumers = new Consumers(deps.store, deps.now);
    this.#requests = new Requests({
      keys: deps.config.keys,
      hubs: this.#hubs,
      partitions: deps.config.partitions,
      store: deps.store,
      now: deps.now,
      logger: deps.logger,
    });
    this.#committer = new GroupCommitter(deps.store, {
      maxEvents: deps.config.groupCommitMaxEvents,
      now: deps.now,
      logger: deps.logger,
      onCommitted: (hub, partition) => this.#guard(() => this.#consumers.feedPartition(hub, partition)),
    });
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<number> {
    // autoaccept off for every link (links inherit container options): a send is accepted after its commit.
    const options: ContainerOptions & { autoaccept: boolean } = { id: 'campus-twin-hub', autoaccept: false };
    const container = rhea.create_container(options);
    container.on('connection_open', (ctx: EventContext) => {
      this.#log.debug({ remote: ctx.connection.container_id }, 'connection open');
    });
    container.on('sender_open', (ctx: EventContext) => this.#guard(() => this.#onSenderOpen(ctx)));
    container.on('receiver_open', (ctx: EventContext) => this.#guard(() => this.#onReceiverOpen(ctx)));
    container.on('message', (ctx: EventContext) => this.#guard(() => this.#onMessage(ctx)));
    container.on('sendable', (ctx: EventContext) => {
      const c = ctx.sender ? this.#consumers.byLink(ctx.sender) : undefined;
      if (c) this.#guard(() => this.#consumers.feed(c));
    });
    const dropLink = (ctx: EventContext) => {
      if (ctx.receiver) this.#entityLinks.delete(ctx.receiver);
      if (ctx.sender) {
        this.#entityLinks.delete(ctx.sender);
        const c = this.#consumers.byLink(ctx.sender);
        if (c) this.#consumers.remove(c);
      }
    };
    for (const event of ['sender_close', 'sender_error', 'receiver_close', 'receiver_error']) {
      container.on(event, dropLink);
    }
    container.on('settled', () => {});
    const dropConnection = (ctx: EventContext) => {
      this.#consumers.dropConnection(ctx.connection);
      for (const link of this.#entityLinks.keys()) {
        if (link.connection === ctx.connection) this.#entityLinks.delete(link);
      }
    };
    container.on('connection_close', dropConnection);
    container.on('connection_error', dropConnection);
    container.on('disconnected', dropConnection);
    container.on('error', (err: unknown) => this.#log.warn({ err }, 'amqp error'));
    const server = container.listen({ port: this.#config.port, host: this.#config.host });
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : this.#config.port;
    this.#tokenSweep = setInterval(
      () => this.#guard(() => this.#sweepTokens()),
      this.#config.tokenCheckIntervalMs,
    );
    this.#tokenSweep.unref();
    return this.#port;
  }

  /** Detaches links whose token expired without a renewal (the SDK renews well before expiry). */
  #sweepTokens(): void {
    for (const [link, path] of this.#entityLinks) {
      if (!link.is_open()) {
        this.#entityLinks.delete(link);
        continue;
      }
      if (this.#requests.authorized(link.connection, path)) continue;
      this.#entityLinks.delete(link);
      const c = link.is_sender() ? this.#consumers.byLink(link as Sender) : undefined;
      if (c) this.#consumers.remove(c);
      this.#log.warn({ path }, 'token expired: link detached');
      link.close({ condition: 'amqp:unauthorized-access', description: `the token for ${path} has expired` });
    }
  }

  async stop(): Promise<void> {
    if (this.#tokenSweep) clearInterval(this.#tokenSweep);
    this.#tokenSweep = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.#sockets) s.destroy();
      await closed;
    }
    this.#consumers.clear();
    // Whatever arrived before the stop is still written (its sender just never hears the accept).
    this.#committer.flush();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'hub handler failed');
    }
  }

  #refuse(link: Sender | Receiver, error: AmqpError): void {
    this.#log.debug({ link: link.name, ...error }, 'link refused');
    link.close(error);
  }

  /** Refuses a link to `address` unless its connection holds a valid token (CBS put-token) for it. */
  #refuseUnauthorized(link: Sender | Receiver, address: string): boolean {
    if (this.#requests.authorized(link.connection, address)) return false;
    this.#refuse(link, {
      condition: 'amqp:unauthorized-access',
      description: `no valid token for ${address}`,
    });
    return true;
  }

  // ---- client receivers (our senders) ----

  #onSenderOpen(ctx: EventContext): void {
    const link = ctx.sender!;
    const address = String(link.source?.address ?? '');
    const m = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i.exec(address);
    if (!m) {
      // A reply link for $cbs / $management: replies are routed to it by the request's reply_to.
      const target = link.target?.address;
      this.#requests.addReplyLink(link, target ? String(target) : undefined);
      link.set_source({ address });
      if (target) link.set_target({ address: String(target) });
      return;
    }
    const [, hubName, groupName, partitionId] = m as unknown as [string, string, string, string];
    link.set_source({ address });
    const hub = this.#hubs.get(hubName.toLowerCase());
    if (!hub) {
      this.#refuse(link, {
        condition: 'amqp:not-found',
        description: `The messaging entity '${hubName}' could not be found.`,
      });
      return;
    }
    const group = groupName.toLowerCase();
    if (!this.#groups.has(group)) {
      this.#refuse(link, {
        condition: 'amqp:not-found',
        description: `The messaging entity '${hub}/ConsumerGroups/${groupName}' could not be found.`,
      });
      return;
    }
    const partition = this.#partition(partitionId);
    if (typeof partition !== 'number') {
      this.#refuse(link, partition);
      return;
    }
    if (this.#refuseUnauthorized(link, address)) return;
    const filters = (link.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    const rawFilter = filters ? unwrapValue(filters[SELECTOR_FILTER]) : undefined;
    const parsed = parseSelector(typeof rawFilter === 'string' ? rawFilter : undefined);
    if (!parsed.ok) {
      this.#refuse(link, { condition: 'amqp:invalid-field', description: parsed.error });
      return;
    }
    const rawEpoch = unwrapValue(link.properties?.[EPOCH_PROPERTY]);
    const epoch =
      typeof rawEpoch === 'number' ? rawEpoch : typeof rawEpoch === 'bigint' ? Number(rawEpoch) : undefined;
    const cursor = this.#store.firstSequenceNumber(hub, partition, parsed.position);
    const capabilities = ([] as unknown[]).concat(link.desired_capabilities ?? []).map(unwrapValue);
    const runtimeMetric = capabilities.includes(RUNTIME_METRIC);
    const refused = this.#consumers.attach({ link, hub, group, partition, epoch, cursor, runtimeMetric });
    if (refused) {
      this.#refuse(link, { condition: 'amqp:link:stolen', description: refused });
      return;
    }
    this.#entityLinks.set(link, address);
    this.#log.debug({ hub, group, partition, epoch, cursor }, 'receiver attached');
  }

  // ---- client senders (our receivers) ----

  #onReceiverOpen(ctx: EventContext): void {
    const link = ctx.receiver!;
    const address = String(link.target?.address ?? '');
    link.set_target({ address });
    if (address === '$cbs' || address === '$management') return;
    const target = this.#parseSendTarget(address);
    if ('condition' in target) {
      this.#refuse(link, target);
      return;
    }
    this.#sendTargets.set(link, target);
    if (this.#refuseUnauthorized(link, address)) return;
    // The SDK sizes its batches by this (createBatch's maxSizeInBytes); larger transfers are rejected.
    (link as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size =
      this.#config.maxMessageBytes;
    this.#entityLinks.set(link, address);
  }

  #parseSendTarget(address: string): LinkTarget | AmqpError {
    const m = /^([^/]+)(?:\/Partitions\/([^/]+))?$/i.exec(address);
    const hub = m ? this.#hubs.get(m[1]!.toLowerCase()) : undefined;
    if (!m || !hub) {
      return {
        condition: 'amqp:not-found',
        description: `The messaging entity '${address}' could not be found.`,
      };
    }
    if (m[2] === undefined) return { hub, partition: undefined };
    const partition = this.#partition(m[2]);
    return typeof partition === 'number' ? { hub, partition } : partition;
  }

  #partition(id: string): number | AmqpError {
    return (
      partitionIndex(id, this.#config.partitions) ?? {
        condition: 'com.microsoft:argument-out-of-range',
        description: `partition '${id}' is not between 0 and ${this.#config.partitions - 1}`,
      }
    );
  }

  #onMessage(ctx: EventContext): void {
    const link = ctx.receiver!;
    const delivery = ctx.delivery!;
    const address = String(link.target?.address ?? '');
    if (address === '$cbs') {
      this.#requests.onCbs(ctx.connection, ctx.message as Message, delivery);
      return;
    }
    if (address === '$management') {
      this.#requests.onManagement(ctx.connection, ctx.message as Message, delivery);
      return;
    }
    const target = this.#sendTargets.get(link) ?? this.#parseSendTarget(address);
    if ('condition' in target) {
      delivery.reject(target);
      return;
    }
    const format = (ctx as unknown as { format?: number }).format ?? 0;
    const bytes = Buffer.isBuffer(ctx.message) ? ctx.message : rhea.message.encode(ctx.message as Message);
    if (bytes.length > this.#config.maxMessageBytes) {
      this.#log.debug({ bytes: bytes.length }, 'message too large');
      delivery.reject({
        condition: 'amqp:link:message-size-exceeded',
        description: `The received message (${bytes.length} bytes) exceeds the limit (${this.#config.maxMessageBytes} bytes) currently allowed on the link.`,
      });
      return;
    }
    let unpacked: ReturnType<typeof unpack>;
    try {
      unpacked = unpack(bytes, format);
    } catch (err) {
      delivery.reject({ condition: 'amqp:decode-error', description: (err as Error).message });
      return;
    }
    if (!unpacked.events.length) {
      delivery.accept();
      return;
    }
    // A batch goes to one partition, as in Event Hubs: the link's, else the key's, else round robin.
    const partition =
      target.partition ??
      (unpacked.partitionKey !== undefined
        ? partitionForKey(unpacked.partitionKey, this.#config.partitions)
        : this.#nextRoundRobin(target.hub));
    const events = unpacked.events.map((body) => ({
      hub: target.hub,
      partition,
      body,
      partitionKey: unpacked.partitionKey ?? null,
    }));
    this.#committer.push(delivery, events);
  }

  #nextRoundRobin(hub: string): number {
    let rr = this.#roundRobin.get(hub);
    if (!rr) {
      rr = new RoundRobin(this.#config.partitions);
      this.#roundRobin.set(hub, rr);
    }
    return rr.next();
  }
}
