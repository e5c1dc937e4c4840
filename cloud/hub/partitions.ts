/**
 * Which partition an event goes to. Pure: the same key always maps to the same partition for a given
 * partition count, across restarts and processes.
 *
 * Hash: 32-bit FNV-1a over the key's UTF-8 bytes, modulo the partition count. This is NOT the hash Azure
 * Event Hubs uses, so a key may land on a different partition id here than in Azure; only stability and a
 * fair spread matter (Event Hubs documents no contract on which partition a key maps to).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export function partitionForKey(partitionKey: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1)
    throw new RangeError('partitionCount must be ≥ 1');
  return fnv1a32(partitionKey) % partitionCount;
}

/** A partition id as a client writes it ('0'…'n-1') → its index; undefined when not one of ours. */
export function partitionIndex(id: string, partitionCount: number): number | undefined {
  const n = /^\d+$/.test(id) ? Number(id) : -1;
  return n >= 0 && n < partitionCount ? n : undefined;
}

/** Map key for a (hub, partition) pair; hub names are case-insensitive. */
export const partitionRef = (hub: string, partition: number): string =>
  `${hub.toLowerCase()}\u0000${partition}`;

/** Round robin for events without a key and without a partition: one counter per hub. */
export class RoundRobin {
  #next = 0;
  constructor(readonly partitionCount: number) {}
  next(): number {
    const p = this.#next;
    this.#next = (this.#next + 1) % this.partitionCount;
    return p;
  }
}
