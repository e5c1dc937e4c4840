/** A Reading for unit tests: env-1's CO2 in room r-101 unless `over` says otherwise (unit follows quantity). */
import type { Reading } from '../../shared/events.ts';
import { type Quantity, unitOf } from '../../shared/quantities.ts';

export function testReading(ts: number, value: number, over: Partial<Reading> = {}): Reading {
  const quantity: Quantity = over.quantity ?? 'co2';
  return {
    deviceId: 'env-1',
    channel: quantity,
    roomId: 'r-101',
    quantity,
    value,
    unit: unitOf(quantity),
    ts,
    receivedAt: ts,
    source: 'mqtt',
    ...over,
  };
}
