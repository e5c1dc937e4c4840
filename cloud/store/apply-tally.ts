/**
 * The bookkeeping of one applyBatch call, shared by the stores: per-gateway deltas of the counters
 * (written as one upsert per gateway at the end of the transaction) and the call's ApplyResult. The stores
 * only run the statements and tell the tally what happened.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import { WIRE_CLASSES } from '../../shared/wire.ts';
import { itemTime, type ValidItem } from '../consume/validate.ts';
import { type ApplyResult, type ClassCounts, EMPTY_COUNTS } from './types.ts';

export interface GatewayDelta {
  at: number;
  /** The campus named by the gateway's latest event in the call that named one. */
  campusId: string | null;
  enqueuedAt: number;
  newestItemTs: number | null;
  batches: number;
  duplicateBatches: number;
  duplicateItems: number;
  quarantined: number;
  items: ClassCounts;
}

export class ApplyTally {
  readonly #now: number;
  readonly #deltas = new Map<string, GatewayDelta>();
  readonly #quarantined = new Map<ErrorCode, number>();
  #readings = 0;

  constructor(now: number) {
    this.#now = now;
  }

  /** The gateway's delta, its newest enqueue time moved up to `enqueuedAt` and its campus to `campusId`. */
  delta(gatewayId: string, enqueuedAt: number, campusId?: string): GatewayDelta {
    let d = this.#deltas.get(gatewayId);
    if (!d) {
      d = {
        at: this.#now,
        campusId: null,
        enqueuedAt,
        newestItemTs: null,
        batches: 0,
        duplicateBatches: 0,
        duplicateItems: 0,
        quarantined: 0,
        items: EMPTY_COUNTS(),
      };
      this.#deltas.set(gatewayId, d);
    }
    if (enqueuedAt > d.enqueuedAt) d.enqueuedAt = enqueuedAt;
    if (campusId !== undefined) d.campusId = campusId;
    return d;
  }

  quarantine(code: ErrorCode, gatewayId: string | null, enqueuedAt: number): void {
    this.#quarantined.set(code, (this.#quarantined.get(code) ?? 0) + 1);
    if (gatewayId !== null) this.delta(gatewayId, enqueuedAt).quarantined++;
  }

  applied(d: GatewayDelta, item: ValidItem): void {
    d.items[item.cls]++;
    if (item.cls === 'aggregate') this.#readings += item.value.count;
    const t = itemTime(item);
    if (d.newestItemTs === null || t > d.newestItemTs) d.newestItemTs = t;
  }

  /** Every gateway touched, in a stable order (ids sorted: concurrent writers lock rows alike). */
  deltas(): [string, GatewayDelta][] {
    return [...this.#deltas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The call's totals: the sums of the gateways' deltas. */
  result(): ApplyResult {
    const result: ApplyResult = {
      batchesApplied: 0,
      duplicateBatches: 0,
      itemsApplied: EMPTY_COUNTS(),
      duplicateItems: 0,
      quarantined: [...this.#quarantined].map(([code, count]) => ({ code, count })),
      readingsRepresented: this.#readings,
    };
    for (const d of this.#deltas.values()) {
      result.batchesApplied += d.batches;
      result.duplicateBatches += d.duplicateBatches;
      result.duplicateItems += d.duplicateItems;
      for (const cls of WIRE_CLASSES) result.itemsApplied[cls] += d.items[cls];
    }
    return result;
  }
}

/** The parameters of SQL.upsertGateway for one gateway's delta. */
export function gatewayParams(gatewayId: string, d: GatewayDelta) {
  return [
    gatewayId,
    d.at,
    d.enqueuedAt,
    d.newestItemTs,
    d.batches,
    d.duplicateBatches,
    d.duplicateItems,
    d.quarantined,
    d.items.alert,
    d.items.twin,
    d.items.event,
    d.items.aggregate,
    d.items.raw,
    d.campusId,
  ] as const;
}
