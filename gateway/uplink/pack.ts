/**
 * Packing outbox rows into one Event Hubs event, pure: the oldest rows that fit under the byte limit once
 * compressed, encoded with shared/wire.ts. Rows are sorted by id inside the event so that gzip sees the
 * same sensor's neighbouring windows side by side.
 */
import { encodeBatchAsync, type WireItem, type WireProperties } from '../../shared/wire.ts';
import type { OutboxRow } from '../journal/outbox.ts';
import type { OutboxClass } from '../journal/schema.ts';

export interface PackedEvent {
  seqs: number[];
  body: Buffer;
  properties: WireProperties;
}

/**
 * Each row's wire items: the row itself, or, for a webhook request row (its body a JSON array of events),
 * each event under its own id, as if each had been a row. Parsing is the bulk of the work: a slice at a
 * time, letting the event loop in between.
 */
async function parseRows(rows: readonly OutboxRow[]): Promise<WireItem[][]> {
  const items: WireItem[][] = [];
  let parsed = 0;
  for (const r of rows) {
    if (parsed >= 1_000) {
      parsed = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const body = JSON.parse(r.body) as Record<string, unknown> | Record<string, unknown>[];
    items.push(
      Array.isArray(body) ? body.map((e) => ({ id: String(e.eventId), body: e })) : [{ id: r.itemId, body }],
    );
    parsed += r.items;
  }
  return items;
}

/** Who sends the batch, and its id. */
export interface BatchOrigin {
  gatewayId: string;
  campusId: string;
  batchId: string;
}

async function encode(
  cls: OutboxClass,
  rows: readonly OutboxRow[],
  items: readonly WireItem[][],
  origin: BatchOrigin,
): Promise<PackedEvent> {
  const sorted = items.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { gatewayId, batchId, campusId } = origin;
  const { body, properties } = await encodeBatchAsync(cls, gatewayId, batchId, sorted, { campusId });
  return { seqs: rows.map((r) => r.seq), body, properties };
}

/**
 * The longest prefix of `rows` whose compressed event is at most `maxBodyBytes` (at least one row: a
 * single row over the limit comes back over the limit, for the caller to deal with). Compression ratio
 * is steady within a class, so the first retry usually lands: shrink by the overshoot plus 10 %.
 */
export async function packRows(
  cls: OutboxClass,
  rows: readonly OutboxRow[],
  origin: BatchOrigin,
  maxBodyBytes = Number.POSITIVE_INFINITY,
): Promise<PackedEvent> {
  const items = await parseRows(rows);
  let n = rows.length;
  for (;;) {
    const packed = await encode(cls, rows.slice(0, n), items.slice(0, n), origin);
    if (packed.body.length <= maxBodyBytes || n === 1) return packed;
    n = Math.max(1, Math.min(n - 1, Math.floor((n * maxBodyBytes * 0.9) / packed.body.length)));
  }
}
