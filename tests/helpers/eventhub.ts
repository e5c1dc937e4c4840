/** Read back what reached a hub through the real SDK, decoded with the wire format. */
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from '@azure/event-hubs';
import { type DecodeResult, decodeBatch } from '../../shared/wire.ts';
import { FAST_RETRY } from './hub.ts';

export interface ReceivedBatch {
  partitionId: string;
  sequenceNumber: number;
  bodyBytes: number;
  properties: Record<string, unknown>;
  decoded: DecodeResult;
}

/** Every event currently in the hub (all partitions, from the start), decoded. */
export async function readAllEvents(connectionString: string, hubName: string): Promise<ReceivedBatch[]> {
  const client = new EventHubConsumerClient('$Default', connectionString, hubName, {
    retryOptions: FAST_RETRY,
  });
  try {
    const out: ReceivedBatch[] = [];
    for (const partitionId of await client.getPartitionIds()) {
      const props = await client.getPartitionProperties(partitionId);
      if (props.isEmpty) continue;
      const last = props.lastEnqueuedSequenceNumber;
      await new Promise<void>((resolve, reject) => {
        let done = false;
        const sub = client.subscribe(
          partitionId,
          {
            processEvents: async (events: ReceivedEventData[]) => {
              for (const e of events) {
                const body = e.body as Buffer;
                out.push({
                  partitionId,
                  sequenceNumber: e.sequenceNumber,
                  bodyBytes: body.length,
                  properties: e.properties ?? {},
                  decoded: decodeBatch(e.properties, body),
                });
                if (e.sequenceNumber >= last && !done) {
                  done = true;
                  sub.close().then(resolve, reject);
                }
              }
            },
            processError: async (err) => {
              if (!done) {
                done = true;
                await sub.close();
                reject(err);
              }
            },
          },
          {
            startPosition: earliestEventPosition,
            maxBatchSize: 500,
            maxWaitTimeInSeconds: 1,
            skipParsingBodyAsJson: true,
          },
        );
      });
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Sum of aggregate counts over the decoded events, and the distinct item ids seen. */
export function aggregateTotals(batches: readonly ReceivedBatch[]): {
  count: number;
  ids: Set<string>;
  items: number;
} {
  let count = 0;
  let items = 0;
  const ids = new Set<string>();
  for (const b of batches) {
    if (!b.decoded.ok || b.decoded.header.cls !== 'aggregate') continue;
    for (const it of b.decoded.items) {
      items++;
      if (ids.has(it.id)) continue;
      ids.add(it.id);
      count += it.body.count as number;
    }
  }
  return { count, ids, items };
}
