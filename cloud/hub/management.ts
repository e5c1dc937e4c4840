/**
 * `$management` READ requests, as the SDK's ManagementClient sends them (application properties
 * operation=READ, type=com.microsoft:eventhub | com.microsoft:partition, name=<hub>, partition=<id>), and
 * the reply bodies with the field names and AMQP types the SDK reads. Pure apart from the store read.
 */
import rhea from 'rhea';
import { partitionIndex } from './partitions.ts';
import type { PartitionInfo } from './store.ts';

export interface ManagementRequest {
  operation: unknown;
  type: unknown;
  name: unknown;
  partition: unknown;
}

export interface ManagementView {
  /** Lower-case name → configured name. */
  hubs: ReadonlyMap<string, string>;
  partitions: number;
  createdMs(hub: string): number;
  partitionInfo(hub: string, partition: number): PartitionInfo;
  /** Has the connection a valid CBS grant for this entity path? */
  authorized(path: string): boolean;
}

export interface ManagementReply {
  status: number;
  description: string;
  condition?: string;
  body?: Record<string, unknown>;
}

/** A value rhea encodes as an AMQP long (sequence numbers are longs in Event Hubs). */
function long(n: number): { toRheaTyped: () => unknown } {
  return { toRheaTyped: () => rhea.types.wrap_long(n) };
}

export function handleManagement(req: ManagementRequest, view: ManagementView): ManagementReply {
  if (req.operation !== 'READ') {
    return {
      status: 501,
      condition: 'amqp:not-implemented',
      description: `unsupported operation ${String(req.operation)}`,
    };
  }
  if (typeof req.name !== 'string') {
    return { status: 400, condition: 'com.microsoft:argument-error', description: 'name is required' };
  }
  const hub = view.hubs.get(req.name.toLowerCase());
  if (!hub) {
    return {
      status: 404,
      condition: 'amqp:not-found',
      description: `The messaging entity '${req.name}' could not be found.`,
    };
  }
  if (!view.authorized(`${hub}/$management`)) {
    return {
      status: 401,
      condition: 'amqp:unauthorized-access',
      description: 'no valid token for $management',
    };
  }
  if (req.type === 'com.microsoft:eventhub') {
    return {
      status: 200,
      description: 'OK',
      body: {
        name: hub,
        type: 'com.microsoft:eventhub',
        created_at: new Date(view.createdMs(hub)),
        partition_count: view.partitions,
        partition_ids: Array.from({ length: view.partitions }, (_, i) => String(i)),
      },
    };
  }
  if (req.type === 'com.microsoft:partition') {
    const id =
      typeof req.partition === 'string' || typeof req.partition === 'number' ? String(req.partition) : '';
    const n = partitionIndex(id, view.partitions);
    if (n === undefined) {
      return {
        status: 400,
        condition: 'com.microsoft:argument-out-of-range',
        description: `The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and ${view.partitions - 1}. Partition: '${id}'`,
      };
    }
    const info = view.partitionInfo(hub, n);
    return {
      status: 200,
      description: 'OK',
      body: {
        name: hub,
        type: 'com.microsoft:partition',
        partition: String(n),
        begin_sequence_number: long(info.beginSequenceNumber),
        last_enqueued_sequence_number: long(info.lastSequenceNumber),
        last_enqueued_offset: String(info.lastOffset),
        last_enqueued_time_utc: new Date(info.lastEnqueuedMs),
        is_partition_empty: info.isEmpty,
      },
    };
  }
  return {
    status: 400,
    condition: 'com.microsoft:argument-error',
    description: `unknown type ${String(req.type)}`,
  };
}
