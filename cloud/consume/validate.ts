/**
 * Per-class validation of decoded wire items (the cloud trusts nothing a gateway sends). Pure: an item
 * either becomes a typed record the store can apply, or a rejection the consumer quarantines.
 * Learning and admin events are checked for what the store keys and orders by (eventId, ts, type, source);
 * their canonical body is stored as it came (fields that were null on the wire are absent).
 */
import { z } from 'zod';
import {
  ADMIN_EVENT_TYPES,
  type Aggregate,
  type Alert,
  LEARNING_EVENT_TYPES,
  type Reading,
  type TwinChange,
} from '../../shared/events.ts';
import { QUANTITY_NAMES } from '../../shared/quantities.ts';
import type { WireClass, WireItem } from '../../shared/wire.ts';

const id = z.string().min(1).max(512);
const ms = z.number().int().nonnegative();
const finite = z.number().finite();
const quantity = z.enum(QUANTITY_NAMES as [string, ...string[]]);

const aggregateSchema = z
  .object({
    deviceId: id,
    channel: id,
    roomId: z.string().max(512),
    quantity,
    unit: z.string().max(64),
    windowStart: ms,
    windowMs: z.number().int().positive(),
    count: z.number().int().positive(),
    min: finite,
    max: finite,
    sum: finite,
    mean: finite,
    first: finite,
    firstTs: ms,
    last: finite,
    lastTs: ms,
    late: z.boolean().default(false),
  })
  .refine((a) => a.min <= a.max && a.firstTs <= a.lastTs, { message: 'min ≤ max and firstTs ≤ lastTs' });

const twinSchema = z.object({
  roomId: id,
  ts: ms,
  kind: z.enum(['occupancy', 'comfort', 'health']),
  deviceId: id.optional(),
  from: z.string().max(256),
  to: z.string().max(256),
  reasons: z.array(z.string().max(1024)).max(64).default([]),
  probability: z.number().min(0).max(1).nullable().optional(),
  basis: z.string().max(64).optional(),
});

const alertSchema = z.object({
  alertId: id,
  ts: ms,
  severity: z.enum(['info', 'warning', 'critical']),
  code: z.string().min(1).max(128),
  roomId: id.optional(),
  deviceId: id.optional(),
  message: z.string().max(4096),
});

// Learning and admin events share the class; their canonical type sets both end in 'other', so a source's
// new verb arrives as 'other' rather than as a type the cloud has never heard of.
const eventSchema = z.looseObject({
  eventId: id,
  ts: ms,
  type: z.enum([...LEARNING_EVENT_TYPES, ...ADMIN_EVENT_TYPES.filter((t) => t !== 'other')]),
  source: z.enum(['caliper', 'xapi', 'canvas', 'moodle', 'import', 'admin']),
  count: z.number().int().positive().max(1_000_000).optional(),
});

const rawSchema = z.object({
  deviceId: id,
  channel: id,
  roomId: z.string().max(512),
  quantity,
  value: finite,
  unit: z.string().max(64),
  ts: ms,
  receivedAt: ms,
  source: z.enum(['mqtt', 'modbus', 'webhook', 'replay']),
});

export interface StoredEvent {
  eventId: string;
  ts: number;
  type: string;
  source: string;
  /** What reporting groups and filters by (null when the event has none). */
  actorId: string | null;
  courseId: string | null;
  objectId: string | null;
  roomId: string | null;
  score: number | null;
  maxScore: number | null;
  /** Actions the event stands for (1 unless a summary). */
  count: number;
  /** The canonical body, as JSON text. */
  json: string;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, 512) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The reporting columns of a canonical learning/admin event body (already checked by eventSchema). */
export function eventColumns(body: Record<string, unknown>): Omit<StoredEvent, 'json'> {
  return {
    eventId: String(body.eventId),
    ts: Number(body.ts),
    type: String(body.type),
    source: String(body.source),
    actorId: text(body.actorId),
    courseId: text(body.courseId),
    objectId: text(body.objectId),
    roomId: text(body.roomId),
    score: num(body.score),
    maxScore: num(body.maxScore),
    count:
      typeof body.count === 'number' && Number.isSafeInteger(body.count) && body.count > 0 ? body.count : 1,
  };
}

/** A validated item: its wire id, class and typed record. */
export type ValidItem =
  | { id: string; cls: 'aggregate'; value: Aggregate }
  | { id: string; cls: 'twin'; value: TwinChange }
  | { id: string; cls: 'alert'; value: Alert }
  | { id: string; cls: 'event'; value: StoredEvent }
  | { id: string; cls: 'raw'; value: Reading };

export interface ItemRejection {
  id: string;
  reason: string;
  /** The item as it came, JSON (the store truncates it). */
  body: string;
}

function describe(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The event time an item carries (what a gateway's lag is measured against). */
export function itemTime(item: ValidItem): number {
  return item.cls === 'aggregate' ? item.value.lastTs : item.value.ts;
}

const QUANTITY_SET: ReadonlySet<string> = new Set(QUANTITY_NAMES);
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isFin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;

/**
 * The hot path (aggregates are most of the traffic): a hand-written check that accepts only what
 * aggregateSchema accepts. Whatever it does not accept goes through the schema, which decides and names
 * the field — so this can only be stricter, never looser.
 */
function fastAggregate(b: Record<string, unknown>): Aggregate | undefined {
  const late = b.late === undefined ? false : b.late;
  if (
    typeof late === 'boolean' &&
    isId(b.deviceId) &&
    isId(b.channel) &&
    typeof b.roomId === 'string' &&
    b.roomId.length <= 512 &&
    typeof b.quantity === 'string' &&
    QUANTITY_SET.has(b.quantity) &&
    typeof b.unit === 'string' &&
    b.unit.length <= 64 &&
    isMs(b.windowStart) &&
    isMs(b.windowMs) &&
    b.windowMs > 0 &&
    isMs(b.count) &&
    b.count > 0 &&
    isFin(b.min) &&
    isFin(b.max) &&
    isFin(b.sum) &&
    isFin(b.mean) &&
    isFin(b.first) &&
    isFin(b.last) &&
    isMs(b.firstTs) &&
    isMs(b.lastTs) &&
    b.min <= b.max &&
    b.firstTs <= b.lastTs
  ) {
    // The decoded body is ours: fill the default in place instead of copying 17 fields per item.
    b.late = late;
    return b as unknown as Aggregate;
  }
  return undefined;
}

function rejection(item: WireItem, err: z.ZodError): ItemRejection {
  return { id: item.id, reason: `item ${item.id}: ${describe(err)}`, body: JSON.stringify(item.body) };
}

export function validateItem(cls: WireClass, item: WireItem): ValidItem | ItemRejection {
  // No closures in here: this runs per item, and a closure per call is measurable on the hot path.
  switch (cls) {
    case 'aggregate': {
      const fast = fastAggregate(item.body);
      if (fast) return { id: item.id, cls, value: fast };
      const r = aggregateSchema.safeParse(item.body);
      return r.success ? { id: item.id, cls, value: r.data as Aggregate } : rejection(item, r.error);
    }
    case 'twin': {
      const r = twinSchema.safeParse(item.body);
      return r.success ? { id: item.id, cls, value: r.data as TwinChange } : rejection(item, r.error);
    }
    case 'alert': {
      const r = alertSchema.safeParse(item.body);
      return r.success ? { id: item.id, cls, value: r.data as Alert } : rejection(item, r.error);
    }
    case 'event': {
      const r = eventSchema.safeParse(item.body);
      if (!r.success) return rejection(item, r.error);
      return { id: item.id, cls, value: { ...eventColumns(r.data), json: JSON.stringify(item.body) } };
    }
    case 'raw': {
      const r = rawSchema.safeParse(item.body);
      return r.success ? { id: item.id, cls, value: r.data as Reading } : rejection(item, r.error);
    }
  }
}

export function isRejection(v: ValidItem | ItemRejection): v is ItemRejection {
  return 'reason' in v;
}
