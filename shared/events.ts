/**
 * The canonical event model (DESIGN.md "Canonical events"). Gateway, cloud, simulator and tests all speak
 * these types; nothing else crosses a module boundary.
 */
import type { Quantity } from './quantities.ts';

export type ReadingSource = 'mqtt' | 'modbus' | 'webhook' | 'replay';

/** One measured value. Identified by (deviceId, channel, ts). Times are epoch milliseconds. */
export interface Reading {
  deviceId: string;
  channel: string;
  roomId: string;
  quantity: Quantity;
  value: number;
  unit: string;
  /** Event time: the device's timestamp, or the receive time when the device sent none. */
  ts: number;
  receivedAt: number;
  source: ReadingSource;
}

/** Per sensor and event-time window. A late correction is a one-window delta to merge into a closed one. */
export interface Aggregate {
  deviceId: string;
  channel: string;
  roomId: string;
  quantity: Quantity;
  unit: string;
  windowStart: number;
  windowMs: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  mean: number;
  first: number;
  firstTs: number;
  last: number;
  lastTs: number;
  /** true when this item carries readings that arrived after its window had closed. */
  late: boolean;
}

export type ComfortLevel = 'ok' | 'warn' | 'alert';
export type DeviceHealth = 'online' | 'stale' | 'offline';

export type TwinChangeKind = 'occupancy' | 'comfort' | 'health';

/** A room's state changed in a way someone would act on; carries the new summary. */
export interface TwinChange {
  roomId: string;
  ts: number;
  kind: TwinChangeKind;
  /** For health changes, the device concerned. */
  deviceId?: string;
  from: string;
  to: string;
  reasons: string[];
  /** Occupancy changes: P(occupied) (null without evidence) and the evidence it rests on. */
  probability?: number | null;
  basis?: string;
}

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  alertId: string;
  ts: number;
  severity: AlertSeverity;
  code: string;
  roomId?: string;
  deviceId?: string;
  message: string;
}

/** Device housekeeping from devices/{id}/status. */
export interface DeviceStatus {
  deviceId: string;
  ts: number;
  batteryPct?: number;
  rssiDbm?: number;
  faults: string[];
}

/**
 * Canonical learning event types: a small set that analytics reads directly. Anything valid that maps to
 * none of them is kept as `other`, with the source's own type in `originalType`.
 */
export const LEARNING_EVENT_TYPES = [
  'session.login',
  'session.logout',
  'resource.viewed',
  'media.played',
  'assignment.submitted',
  'assessment.started',
  'assessment.submitted',
  'assessment.graded',
  'forum.posted',
  'tool.launched',
  'tool.used',
  'activity.completed',
  'other',
] as const;
export type LearningEventType = (typeof LEARNING_EVENT_TYPES)[number];
/** `import`: loaded from a history file (`campus-twin cloud import`), not received live. */
export type LearningSource = 'caliper' | 'xapi' | 'canvas' | 'moodle' | 'import';

/**
 * One learner action from the LMS (Caliper 1.1/1.2, xAPI 1.0.3, Canvas Live Events, Moodle). Student
 * identifiers are keyed pseudonyms (`p_…`) made on the gateway; course ids stay readable. Times are epoch ms.
 */
export interface LearningEvent {
  eventId: string;
  source: LearningSource;
  type: LearningEventType;
  /** The source's own type (Caliper `Type.Action`, xAPI verb IRI, Canvas event_name, Moodle eventname). */
  originalType: string;
  /** Pseudonym of the learner the event is about; null for system events without a user. */
  actorId: string | null;
  courseId: string | null;
  objectId: string | null;
  ts: number;
  receivedAt: number;
  score?: number;
  maxScore?: number;
  /**
   * How many actions this event stands for (default 1): a summary such as a day's page views in an imported
   * history. Activity counts weigh an event by it.
   */
  count?: number;
  /** Only with webhooks.pseudonym.keepNames / keepEmails (off by default). */
  actorName?: string;
  actorEmail?: string;
}

export const ADMIN_EVENT_TYPES = [
  'enrolment.created',
  'enrolment.withdrawn',
  'enrolment.completed',
  'room.booked',
  'room.released',
  'workorder.opened',
  'workorder.closed',
  'other',
] as const;
export type AdminEventType = (typeof ADMIN_EVENT_TYPES)[number];

/** From admin systems (student records, timetabling, maintenance) through POST /webhooks/admin. */
export interface AdminEvent {
  eventId: string;
  source: 'admin';
  type: AdminEventType;
  originalType: string;
  ts: number;
  receivedAt: number;
  /** Pseudonym of the student (enrolments). */
  actorId: string | null;
  courseId: string | null;
  roomId: string | null;
  bookingId?: string;
  workOrderId?: string;
  startTs?: number;
  endTs?: number;
  priority?: 'low' | 'normal' | 'high' | 'urgent';
  actorName?: string;
  actorEmail?: string;
}
