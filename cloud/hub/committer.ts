/**
 * Group commit for sends: every transfer that arrived in one turn of the event loop is written in one
 * SQLite transaction (bounded by maxEvents), and only then accepted, so an accepted send is on disk.
 * A failed transaction rejects its transfers with amqp:internal-error; the sender may retry.
 */
import type { Delivery } from 'rhea';
import type { Logger } from '../../shared/logger.ts';
import { partitionRef } from './partitions.ts';
import type { HubStore, NewEvent } from './store.ts';

interface PendingSend {
  delivery: Delivery;
  events: NewEvent[];
}

export class GroupCommitter {
  #pending: PendingSend[] = [];
  #scheduled = false;

  constructor(
    private readonly store: HubStore,
    private readonly opts: {
      maxEvents: number;
      now: () => number;
      logger: Logger;
      /** Called once per partition that got events, after they were committed and accepted. */
      onCommitted: (hub: string, partition: number) => void;
    },
  ) {}

  push(delivery: Delivery, events: NewEvent[]): void {
    this.#pending.push({ delivery, events });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    while (this.#pending.length) {
      const group: PendingSend[] = [];
      let count = 0;
      while (
        this.#pending.length &&
        (count === 0 || count + this.#pending[0]!.events.length <= this.opts.maxEvents)
      ) {
        const p = this.#pending.shift()!;
        group.push(p);
        count += p.events.length;
      }
      try {
        this.store.append(
          group.flatMap((p) => p.events),
          this.opts.now(),
        );
      } catch (err) {
        this.opts.logger.error({ err, events: count }, 'store append failed');
        for (const p of group) {
          settle(p.delivery, {
            condition: 'amqp:internal-error',
            description: 'the hub could not store the events',
          });
        }
        continue;
      }
      for (const p of group) settle(p.delivery);
      const touched = new Map<string, NewEvent>();
      for (const p of group) for (const e of p.events) touched.set(partitionRef(e.hub, e.partition), e);
      for (const e of touched.values()) this.opts.onCommitted(e.hub, e.partition);
    }
  }
}

function settle(delivery: Delivery, error?: { condition: string; description: string }): void {
  try {
    if (error) delivery.reject(error);
    else delivery.accept();
  } catch {
    // The link or connection is gone: the sender will not hear the outcome (the events are stored).
  }
}
