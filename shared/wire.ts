/**
 * The uplink's wire format: what one Event Hubs event carries between the gateway's outbox and the cloud.
 * One event = many items of one class, gzip-compressed, columnar JSON inside. Pure: no I/O.
 *
 * Application properties (all strings except itemCount):
 *   schema          `campus-twin.<class>.v<version>`  (e.g. campus-twin.aggregate.v1)
 *   gatewayId       the sending gateway (also the partition key)
 *   campusId        optional: the campus the gateway serves (its campus file's `campus.id`); gateways before
 *                   it was sent leave it out
 *   batchId         stable id of this batch: persisted with its membership before the first send, so a
 *                   resend after a crash carries the same id and the same items
 *   itemCount       number of items in the body
 *   contentEncoding `gzip`
 * Body (before gzip): `{"cols":[field…],"rows":[[id, value…]…]}`. `cols` is the union of the items'
 * field names; a field an item lacks is `null` in its row and absent after decoding (canonical events
 * never carry null). An id of `null` means "the canonical id derived from the item" (see deriveItemId):
 * aggregates, the bulk of the traffic, do not repeat their key on the wire.
 * Columnar rows matter: the field names are sent once per event instead of once per item, and gzip finds
 * the repeats between neighbouring rows (rows are sorted by id by the encoder's caller).
 */
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';

const gzipAsync = promisify(gzip);

import { CAMPUS_ID } from './campus.ts';
import type { Aggregate } from './events.ts';

export const WIRE_CLASSES = ['alert', 'twin', 'event', 'aggregate', 'raw'] as const;
export type WireClass = (typeof WIRE_CLASSES)[number];
export const WIRE_VERSION = 1;

/** What a decoded body may grow to: a 1 MiB event of small rows stays far below; a zip bomb does not. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

export interface WireItem {
  /** Stable item id: the cloud applies each id at most once. */
  id: string;
  body: Record<string, unknown>;
}

export interface BatchHeader {
  cls: WireClass;
  version: number;
  gatewayId: string;
  /** Absent from the events of gateways that did not send it. */
  campusId?: string;
  batchId: string;
  itemCount: number;
}

export type WireProperties = {
  schema: string;
  gatewayId: string;
  campusId?: string;
  batchId: string;
  itemCount: number;
  contentEncoding: 'gzip';
};

export type WireErrorCode = 'CT_ERR_WIRE_PROPERTIES' | 'CT_ERR_WIRE_ENCODING' | 'CT_ERR_WIRE_SCHEMA';

export type DecodeResult =
  | { ok: true; header: BatchHeader; items: WireItem[] }
  | { ok: false; code: WireErrorCode; reason: string; header?: Partial<BatchHeader> };

export function schemaName(cls: WireClass, version = WIRE_VERSION): string {
  return `campus-twin.${cls}.v${version}`;
}

export function parseSchemaName(schema: string): { cls: WireClass; version: number } | undefined {
  const m = /^campus-twin\.([a-z]+)\.v(\d+)$/.exec(schema);
  if (!m || !(WIRE_CLASSES as readonly string[]).includes(m[1]!)) return undefined;
  return { cls: m[1] as WireClass, version: Number(m[2]) };
}

/** Stable identity of a window's aggregate, the same however often it is rebuilt. */
export function aggregateItemId(
  a: Pick<Aggregate, 'late' | 'deviceId' | 'channel' | 'firstTs' | 'windowStart' | 'windowMs'>,
): string {
  return a.late
    ? `late:${a.deviceId}:${a.channel}:${a.firstTs}`
    : `agg:${a.deviceId}:${a.channel}:${a.windowStart}:${a.windowMs}`;
}

/** The id an item gets when the wire carries none; undefined for classes whose ids are not derivable. */
export function deriveItemId(cls: WireClass, body: Record<string, unknown>): string | undefined {
  if (cls !== 'aggregate') return undefined;
  const { deviceId, channel, firstTs, windowStart, windowMs, late } = body;
  if (typeof deviceId !== 'string' || typeof channel !== 'string') return undefined;
  if (typeof windowStart !== 'number' || typeof windowMs !== 'number' || typeof firstTs !== 'number')
    return undefined;
  return aggregateItemId({ deviceId, channel, firstTs, windowStart, windowMs, late: late === true });
}

function columnsOf(items: readonly WireItem[]): { cols: string[]; index: Map<string, number> } {
  const cols: string[] = [];
  const index = new Map<string, number>();
  for (const it of items)
    for (const k of Object.keys(it.body))
      if (!index.has(k)) {
        index.set(k, cols.length);
        cols.push(k);
      }
  return { cols, index };
}

function rowOf(cls: WireClass, it: WireItem, width: number, index: Map<string, number>): unknown[] {
  const row: unknown[] = new Array(width + 1).fill(null);
  row[0] = deriveItemId(cls, it.body) === it.id ? null : it.id;
  for (const [k, v] of Object.entries(it.body)) row[index.get(k)! + 1] = v ?? null;
  return row;
}

/** Columnar JSON of the items, uncompressed (the uplink measures and splits on the gzip of this). */
export function encodeItems(cls: WireClass, items: readonly WireItem[]): string {
  const { cols, index } = columnsOf(items);
  return JSON.stringify({ cols, rows: items.map((it) => rowOf(cls, it, cols.length, index)) });
}

export interface EncodeOptions {
  /** gzip level (default 6). */
  level?: number;
  /** The campus the sending gateway serves (none: the property is left out). */
  campusId?: string | undefined;
}

function propertiesOf(
  cls: WireClass,
  gatewayId: string,
  batchId: string,
  itemCount: number,
  campusId: string | undefined,
): WireProperties {
  const p: WireProperties = {
    schema: schemaName(cls),
    gatewayId,
    batchId,
    itemCount,
    contentEncoding: 'gzip',
  };
  if (campusId !== undefined) p.campusId = campusId;
  return p;
}

export function encodeBatch(
  cls: WireClass,
  gatewayId: string,
  batchId: string,
  items: readonly WireItem[],
  opts: EncodeOptions = {},
): { body: Buffer; properties: WireProperties } {
  return {
    body: gzipSync(encodeItems(cls, items), { level: opts.level ?? 6 }),
    properties: propertiesOf(cls, gatewayId, batchId, items.length, opts.campusId),
  };
}

/**
 * encodeBatch for a busy process: the JSON is built in slices with a turn of the event loop between them
 * and the compression runs on libuv's thread pool, so packing a large event never stalls the caller's
 * loop for long (the gateway acknowledges MQTT publishes on that loop). Same bytes as encodeBatch.
 */
export async function encodeBatchAsync(
  cls: WireClass,
  gatewayId: string,
  batchId: string,
  items: readonly WireItem[],
  opts: EncodeOptions & { sliceItems?: number } = {},
): Promise<{ body: Buffer; properties: WireProperties }> {
  const sliceItems = opts.sliceItems ?? 1_000;
  const { cols, index } = columnsOf(items);
  const parts: string[] = [];
  for (let i = 0; i < items.length; i += sliceItems) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const slice = items.slice(i, i + sliceItems).map((it) => rowOf(cls, it, cols.length, index));
    parts.push(JSON.stringify(slice).slice(1, -1));
  }
  const text = `{"cols":${JSON.stringify(cols)},"rows":[${parts.filter((p) => p.length > 0).join(',')}]}`;
  return {
    body: await gzipAsync(text, { level: opts.level ?? 6 }),
    properties: propertiesOf(cls, gatewayId, batchId, items.length, opts.campusId),
  };
}

/** Parse an event back into items; never throws (a bad event is a value the consumer quarantines). */
export function decodeBatch(properties: Record<string, unknown> | undefined, body: unknown): DecodeResult {
  const p = properties ?? {};
  const schema = typeof p.schema === 'string' ? parseSchemaName(p.schema) : undefined;
  const partial: Partial<BatchHeader> = {};
  if (typeof p.gatewayId === 'string') partial.gatewayId = p.gatewayId;
  if (typeof p.batchId === 'string') partial.batchId = p.batchId;
  if (typeof p.campusId === 'string') partial.campusId = p.campusId;
  if (!schema)
    return {
      ok: false,
      code: 'CT_ERR_WIRE_SCHEMA',
      reason: `unknown schema ${String(p.schema)}`,
      header: partial,
    };
  partial.cls = schema.cls;
  partial.version = schema.version;
  if (schema.version !== WIRE_VERSION)
    return {
      ok: false,
      code: 'CT_ERR_WIRE_SCHEMA',
      reason: `unsupported version ${schema.version}`,
      header: partial,
    };
  const itemCount = typeof p.itemCount === 'number' ? p.itemCount : Number(p.itemCount);
  if (!partial.gatewayId || !partial.batchId || !Number.isInteger(itemCount) || itemCount < 0)
    return {
      ok: false,
      code: 'CT_ERR_WIRE_PROPERTIES',
      reason: 'gatewayId, batchId and a non-negative integer itemCount are required',
      header: partial,
    };
  if (p.campusId !== undefined && (typeof p.campusId !== 'string' || !CAMPUS_ID.test(p.campusId)))
    return {
      ok: false,
      code: 'CT_ERR_WIRE_PROPERTIES',
      reason: `campusId ${JSON.stringify(p.campusId).slice(0, 80)} is not 1-128 letters, digits, . _ -`,
      header: partial,
    };
  if (p.contentEncoding !== 'gzip')
    return {
      ok: false,
      code: 'CT_ERR_WIRE_PROPERTIES',
      reason: `contentEncoding ${String(p.contentEncoding)} is not gzip`,
      header: partial,
    };
  if (!(body instanceof Uint8Array))
    return { ok: false, code: 'CT_ERR_WIRE_ENCODING', reason: 'body is not binary', header: partial };
  let doc: unknown;
  try {
    doc = JSON.parse(gunzipSync(body, { maxOutputLength: MAX_DECODED_BYTES }).toString('utf8'));
  } catch (err) {
    return {
      ok: false,
      code: 'CT_ERR_WIRE_ENCODING',
      reason: `not gzip JSON: ${(err as Error).message}`,
      header: partial,
    };
  }
  const header: BatchHeader = { ...(partial as BatchHeader), itemCount };
  const items = rowsToItems(schema.cls, doc);
  if (typeof items === 'string') return { ok: false, code: 'CT_ERR_WIRE_SCHEMA', reason: items, header };
  if (items.length !== itemCount)
    return {
      ok: false,
      code: 'CT_ERR_WIRE_SCHEMA',
      reason: `itemCount ${itemCount} but body has ${items.length} rows`,
      header,
    };
  return { ok: true, header, items };
}

function rowsToItems(cls: WireClass, doc: unknown): WireItem[] | string {
  if (typeof doc !== 'object' || doc === null) return 'body is not an object';
  const { cols, rows } = doc as { cols?: unknown; rows?: unknown };
  if (!Array.isArray(cols) || !cols.every((c) => typeof c === 'string')) return 'cols must be strings';
  if (!Array.isArray(rows)) return 'rows must be an array';
  const items: WireItem[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as unknown;
    if (!Array.isArray(row) || row.length !== cols.length + 1) return `rows[${i}] has the wrong length`;
    const body: Record<string, unknown> = {};
    for (let c = 0; c < cols.length; c++) if (row[c + 1] !== null) body[cols[c] as string] = row[c + 1];
    const id = row[0] === null ? deriveItemId(cls, body) : row[0];
    if (typeof id !== 'string' || id.length === 0) return `rows[${i}] has no item id`;
    items.push({ id, body });
  }
  return items;
}
