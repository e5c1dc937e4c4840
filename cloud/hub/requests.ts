/**
 * Request/response over AMQP for `$cbs` (put-token) and `$management` (READ): per-connection CBS grants,
 * and replies sent on the link the client named in `reply_to` (the SDK names its reply link after it),
 * with `correlation_id` = the request's `message_id` and `status-code` / `status-description`
 * (+ `error-condition`) application properties, as Event Hubs answers.
 */
import type { Connection, Delivery, Message, Sender } from 'rhea';
import type { Logger } from '../../shared/logger.ts';
import { type Grant, isAuthorized, putToken } from './cbs.ts';
import { handleManagement } from './management.ts';
import type { SasKey } from './sas.ts';
import type { HubStore } from './store.ts';

interface ConnState {
  grants: Grant[];
  /** Reply links by link name and by target address. */
  replyLinks: Map<string, Sender>;
}

export interface RequestsOptions {
  keys: readonly SasKey[];
  /** Lower-case name → configured name. */
  hubs: ReadonlyMap<string, string>;
  partitions: number;
  store: HubStore;
  now: () => number;
  logger: Logger;
}

export class Requests {
  readonly #conns = new WeakMap<Connection, ConnState>();

  constructor(private readonly opts: RequestsOptions) {}

  #state(conn: Connection): ConnState {
    let s = this.#conns.get(conn);
    if (!s) {
      s = { grants: [], replyLinks: new Map() };
      this.#conns.set(conn, s);
    }
    return s;
  }

  authorized(conn: Connection, path: string): boolean {
    return isAuthorized(this.#state(conn).grants, path, this.opts.now());
  }

  addReplyLink(link: Sender, targetAddress: string | undefined): void {
    const state = this.#state(link.connection);
    state.replyLinks.set(link.name, link);
    if (targetAddress) state.replyLinks.set(targetAddress, link);
  }

  onCbs(conn: Connection, msg: Message, delivery: Delivery): void {
    const props = (msg.application_properties ?? {}) as Record<string, unknown>;
    const reply = putToken(
      { operation: props.operation, name: props.name, type: props.type, token: msg.body },
      this.opts.keys,
      this.opts.now(),
    );
    if (reply.grant) {
      // The SDK renews every token well before expiry: keep one grant per audience, not one per renewal.
      const { grant } = reply;
      const state = this.#state(conn);
      state.grants = [...state.grants.filter((g) => g.path !== grant.path), grant];
    }
    // Refusals are worth an operator's attention (wrong or rotated key, clock skew); the token is never logged.
    const level = reply.grant ? 'debug' : 'warn';
    this.opts.logger[level](
      { audience: props.name, status: reply.status, reason: reply.description },
      'cbs put-token',
    );
    delivery.accept();
    this.#reply(conn, msg, reply.status, reply.description, reply.condition);
  }

  onManagement(conn: Connection, msg: Message, delivery: Delivery): void {
    const props = (msg.application_properties ?? {}) as Record<string, unknown>;
    const { store } = this.opts;
    const reply = handleManagement(
      { operation: props.operation, type: props.type, name: props.name, partition: props.partition },
      {
        hubs: this.opts.hubs,
        partitions: this.opts.partitions,
        createdMs: (hub) => store.createdMs(hub),
        partitionInfo: (hub, p) => store.info(hub, p),
        authorized: (path) => this.authorized(conn, path),
      },
    );
    delivery.accept();
    this.#reply(conn, msg, reply.status, reply.description, reply.condition, reply.body);
  }

  #reply(
    conn: Connection,
    request: Message,
    status: number,
    description: string,
    condition?: string,
    body?: unknown,
  ): void {
    const replyTo = request.reply_to ? String(request.reply_to) : '';
    const link = this.#state(conn).replyLinks.get(replyTo);
    if (!link) {
      this.opts.logger.warn({ replyTo }, 'no reply link for request');
      return;
    }
    const props: Record<string, unknown> = { 'status-code': status, 'status-description': description };
    if (condition) props['error-condition'] = condition;
    link.send({
      correlation_id: request.message_id,
      to: replyTo,
      application_properties: props,
      ...(body !== undefined ? { body } : {}),
    } as Message);
  }
}
