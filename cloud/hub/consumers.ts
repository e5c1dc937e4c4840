/**
 * The receivers attached to the hub, by (hub, partition), and feeding them: stored events go out in order,
 * annotated, only while the link has credit (the SDK grants credit itself; credit_window 0 on its side).
 * Ownership between receivers of one consumer group follows epochs.ts.
 */
import type { Connection, Sender } from 'rhea';
import { annotate, runtimeSection } from './codec.ts';
import { decideEpoch } from './epochs.ts';
import { partitionRef } from './partitions.ts';
import type { HubStore } from './store.ts';

/** Events read from the store per query when feeding a receiver. */
const READ_CHUNK = 256;

export interface Consumer {
  link: Sender;
  hub: string;
  /** Lower case. */
  group: string;
  partition: number;
  epoch: number | undefined;
  /** Next sequence number to send. */
  cursor: number;
  /** The receiver asked for com.microsoft:enable-receiver-runtime-metric (trackLastEnqueuedEventProperties). */
  runtimeMetric: boolean;
  closed: boolean;
}

export class Consumers {
  readonly #byPartition = new Map<string, Set<Consumer>>();
  readonly #byLink = new WeakMap<Sender, Consumer>();

  constructor(
    private readonly store: HubStore,
    private readonly now: () => number,
  ) {}

  /**
   * Registers a receiver unless a higher epoch owns its partition in its group (then returns why).
   * Receivers it displaces are detached with amqp:link:stolen.
   */
  attach(c: Omit<Consumer, 'closed'>): string | undefined {
    const k = partitionRef(c.hub, c.partition);
    const peers = [...(this.#byPartition.get(k) ?? [])].filter((p) => p.group === c.group);
    const decision = decideEpoch(
      peers.map((p) => p.epoch),
      c.epoch,
    );
    if (!decision.accept) return decision.reason;
    for (const i of decision.evict) {
      const loser = peers[i]!;
      this.remove(loser);
      loser.link.close({
        condition: 'amqp:link:stolen',
        description: `New receiver with higher epoch of '${c.epoch}' is created hence current receiver with epoch '${loser.epoch ?? 'none'}' is getting disconnected.`,
      });
    }
    const consumer: Consumer = { ...c, closed: false };
    let set = this.#byPartition.get(k);
    if (!set) {
      set = new Set();
      this.#byPartition.set(k, set);
    }
    set.add(consumer);
    this.#byLink.set(c.link, consumer);
    this.feed(consumer);
    return undefined;
  }

  byLink(link: Sender): Consumer | undefined {
    return this.#byLink.get(link);
  }

  remove(c: Consumer): void {
    c.closed = true;
    this.#byPartition.get(partitionRef(c.hub, c.partition))?.delete(c);
  }

  dropConnection(conn: Connection): void {
    for (const set of this.#byPartition.values()) {
      for (const c of set) if (c.link.connection === conn) this.remove(c);
    }
  }

  clear(): void {
    for (const set of this.#byPartition.values()) for (const c of set) c.closed = true;
    this.#byPartition.clear();
  }

  /** New events in a partition: feed every receiver of it. */
  feedPartition(hub: string, partition: number): void {
    for (const c of this.#byPartition.get(partitionRef(hub, partition)) ?? []) this.feed(c);
  }

  /** Sends stored events to a receiver while it has credit. */
  feed(c: Consumer): void {
    while (!c.closed && c.link.sendable() && c.cursor < this.store.nextSequenceNumber(c.hub, c.partition)) {
      const credit = (c.link as unknown as { credit: number }).credit;
      const events = this.store.read(c.hub, c.partition, c.cursor, Math.max(1, Math.min(credit, READ_CHUNK)));
      if (!events.length) break;
      const runtime = c.runtimeMetric ? this.#runtime(c) : undefined;
      for (const e of events) {
        if (!c.link.sendable()) return;
        c.link.send(annotate(e.body, e, runtime), undefined, 0);
        c.cursor = e.sequenceNumber + 1;
      }
    }
  }

  /** The runtime-metric delivery annotations, encoded once for a chunk of events. */
  #runtime(c: Consumer): Buffer {
    const info = this.store.info(c.hub, c.partition);
    return runtimeSection({
      lastSequenceNumber: info.lastSequenceNumber,
      lastOffset: info.lastOffset,
      lastEnqueuedMs: info.lastEnqueuedMs,
      retrievalMs: this.now(),
    });
  }
}
