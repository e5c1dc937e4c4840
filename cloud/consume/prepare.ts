/**
 * One received Event Hubs event → what the store applies: a decoded batch of validated items (plus the
 * items that failed validation), or a whole-event rejection. Pure: size check, decodeBatch
 * (shared/wire.ts), per-item validation.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import { type BatchHeader, decodeBatch } from '../../shared/wire.ts';
import { type ItemRejection, isRejection, type ValidItem, validateItem } from './validate.ts';

/** Where an event sits in its partition: what a checkpoint records. */
export interface EventPosition {
  sequenceNumber: number;
  offset: string;
  enqueuedTimeMs: number;
}

export interface IncomingEvent extends EventPosition {
  properties: Record<string, unknown> | undefined;
  body: unknown;
}

export type PreparedEvent =
  | {
      ok: true;
      position: EventPosition;
      header: BatchHeader;
      items: ValidItem[];
      invalid: ItemRejection[];
    }
  | {
      ok: false;
      position: EventPosition;
      code: ErrorCode;
      reason: string;
      header: Partial<BatchHeader>;
      /** The offending body: base64 of its first bytes (binary) or its JSON text. */
      body: string;
    };

export interface PrepareOptions {
  maxEventBytes: number;
  maxBodyBytes: number;
}

function bodySample(body: unknown, maxBytes: number): string {
  if (body instanceof Uint8Array) return Buffer.from(body.subarray(0, maxBytes)).toString('base64');
  let text: string;
  try {
    text = JSON.stringify(body) ?? String(body);
  } catch {
    text = String(body);
  }
  return text.slice(0, maxBytes);
}

function sizeOf(body: unknown): number {
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === 'string') return Buffer.byteLength(body);
  return 0;
}

export function prepareEvent(event: IncomingEvent, opts: PrepareOptions): PreparedEvent {
  const position: EventPosition = {
    sequenceNumber: event.sequenceNumber,
    offset: event.offset,
    enqueuedTimeMs: event.enqueuedTimeMs,
  };
  const size = sizeOf(event.body);
  if (size > opts.maxEventBytes) {
    const p = event.properties ?? {};
    const header: Partial<BatchHeader> = {};
    if (typeof p.gatewayId === 'string') header.gatewayId = p.gatewayId;
    if (typeof p.batchId === 'string') header.batchId = p.batchId;
    return {
      ok: false,
      position,
      code: 'CT_ERR_PAYLOAD_TOO_LARGE',
      reason: `event body of ${size} bytes exceeds eventHub.maxEventBytes ${opts.maxEventBytes}`,
      header,
      body: bodySample(event.body, opts.maxBodyBytes),
    };
  }
  const decoded = decodeBatch(event.properties, event.body);
  if (!decoded.ok)
    return {
      ok: false,
      position,
      code: decoded.code,
      reason: decoded.reason,
      header: decoded.header ?? {},
      body: bodySample(event.body, opts.maxBodyBytes),
    };
  const items: ValidItem[] = [];
  const invalid: ItemRejection[] = [];
  for (const it of decoded.items) {
    const v = validateItem(decoded.header.cls, it);
    if (isRejection(v)) invalid.push({ ...v, body: v.body.slice(0, opts.maxBodyBytes) });
    else items.push(v);
  }
  return { ok: true, position, header: decoded.header, items, invalid };
}
