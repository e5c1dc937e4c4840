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
