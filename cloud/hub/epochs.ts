/**
 * Receiver ownership per (hub, consumer group, partition), as Event Hubs enforces it with the
 * `com.microsoft:epoch` link property (the SDK's ownerLevel). Pure.
 * - A receiver with epoch E evicts every receiver without an epoch or with an epoch ≤ E
 *   (the evicted links are detached with amqp:link:stolen).
 * - A receiver with epoch E is refused while one with a higher epoch is attached.
 * - A receiver without an epoch is refused while any epoch receiver is attached.
 */

export type EpochDecision = { accept: true; evict: number[] } | { accept: false; reason: string };

export function decideEpoch(
  existing: readonly (number | undefined)[],
  incoming: number | undefined,
): EpochDecision {
  const epochs = existing.filter((e): e is number => e !== undefined);
  const highest = epochs.length ? Math.max(...epochs) : undefined;
  if (incoming === undefined) {
    if (highest !== undefined) {
      return { accept: false, reason: `a receiver with epoch ${highest} owns this partition` };
    }
    return { accept: true, evict: [] };
  }
  if (highest !== undefined && highest > incoming) {
    return {
      accept: false,
      reason: `Receiver with epoch '${incoming}' refused: a receiver with higher epoch '${highest}' exists`,
    };
  }
  return { accept: true, evict: existing.map((_, i) => i) };
}
