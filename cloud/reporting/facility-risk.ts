/**
 * Facility risk: how much a room needs attention, 0–100, with its reasons in words. Pure. Four parts:
 *
 * - comfort (up to 30): minutes of comfort warn/alert in the period, full at 240 (4 h a day);
 * - sensors (up to 25): the share of device-minutes offline, full at 100 %;
 * - energy (up to 25): the period's energy against the room's own baseline — the same hours of the week in
 *   the previous weeks (mean) — nothing at or under baseline, full at 50 % over; no baseline, no points;
 * - work orders (up to 20): open work orders, 10 each (20 for an urgent or high one), at most 20.
 */

export const ENERGY_BASELINE_WEEKS = 4;
const WEEK_MS = 7 * 86_400_000;
const HOUR_MS = 3_600_000;

export interface EnergyWindow {
  windowStart: number;
  /** kWh used in the window (a register's rise, or power × time). */
  kwh: number;
}

/**
 * Energy in [from, to) and its baseline: for each hour of the period, the mean of the same hour 1…`weeks`
 * weeks earlier (only the weeks that have data), summed over the hours that have a baseline; `actualKwh`
 * counts those same hours, so the two compare like for like. Null baseline when no hour has one.
 */
export function energyAgainstBaseline(
  windows: readonly EnergyWindow[],
  from: number,
  to: number,
  weeks = ENERGY_BASELINE_WEEKS,
): { actualKwh: number; baselineKwh: number | null } {
  const byHour = new Map<number, number>();
  for (const w of windows) {
    const hour = Math.floor(w.windowStart / HOUR_MS) * HOUR_MS;
    byHour.set(hour, (byHour.get(hour) ?? 0) + w.kwh);
  }
  let actual = 0;
  let baseline = 0;
  let hours = 0;
  for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) {
    const past: number[] = [];
    for (let k = 1; k <= weeks; k++) {
      const v = byHour.get(h - k * WEEK_MS);
      if (v !== undefined) past.push(v);
    }
    if (past.length === 0) continue;
    hours++;
    baseline += past.reduce((a, b) => a + b, 0) / past.length;
    actual += byHour.get(h) ?? 0;
  }
  return { actualKwh: actual, baselineKwh: hours === 0 ? null : baseline };
}

export interface WorkOrder {
  workOrderId: string;
  priority: 'low' | 'normal' | 'high' | 'urgent' | null;
  openedTs: number;
}

/** Work orders opened and not closed by `at`, from a room's admin events in time order. */
export function openWorkOrders(
  events: readonly {
    type: string;
    ts: number;
    workOrderId: string | null;
    priority: WorkOrder['priority'];
  }[],
  at: number,
): WorkOrder[] {
  const open = new Map<string, WorkOrder>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    if (e.ts > at || e.workOrderId === null) continue;
    if (e.type === 'workorder.opened')
      open.set(e.workOrderId, { workOrderId: e.workOrderId, priority: e.priority, openedTs: e.ts });
    else if (e.type === 'workorder.closed') open.delete(e.workOrderId);
  }
  return [...open.values()].sort(
    (a, b) => a.openedTs - b.openedTs || (a.workOrderId < b.workOrderId ? -1 : 1),
  );
}

export interface FacilityRiskInputs {
  comfortViolationMinutes: number | null;
  deviceOfflineShare: number | null;
  energy: { actualKwh: number; baselineKwh: number | null } | null;
  workOrders: readonly WorkOrder[];
}

export interface FacilityRisk {
  score: number;
  parts: { comfort: number; sensors: number; energy: number; workOrders: number };
  reasons: string[];
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const r1 = (x: number) => Math.round(x * 10) / 10;

export function facilityRisk(i: FacilityRiskInputs): FacilityRisk {
  const reasons: string[] = [];
  const comfort = 30 * clamp01((i.comfortViolationMinutes ?? 0) / 240);
  if (comfort > 0) reasons.push(`comfort outside its band for ${i.comfortViolationMinutes} minutes`);
  const sensors = 25 * clamp01(i.deviceOfflineShare ?? 0);
  if (sensors > 0) reasons.push(`sensors offline ${r1(100 * (i.deviceOfflineShare ?? 0))} % of the time`);
  let energy = 0;
  if (i.energy && i.energy.baselineKwh !== null && i.energy.baselineKwh > 0) {
    const over = i.energy.actualKwh / i.energy.baselineKwh - 1;
    energy = 25 * clamp01(over / 0.5);
    if (energy > 0)
      reasons.push(
        `energy ${r1(i.energy.actualKwh)} kWh, ${r1(100 * over)} % over its usual ${r1(i.energy.baselineKwh)} kWh for these hours`,
      );
  }
  let orders = 0;
  for (const w of i.workOrders) orders += w.priority === 'urgent' || w.priority === 'high' ? 20 : 10;
  orders = Math.min(20, orders);
  if (i.workOrders.length > 0)
    reasons.push(
      `${i.workOrders.length} open work order${i.workOrders.length === 1 ? '' : 's'} (${i.workOrders.map((w) => `${w.workOrderId}${w.priority ? ` ${w.priority}` : ''}`).join(', ')})`,
    );
  const parts = { comfort: r1(comfort), sensors: r1(sensors), energy: r1(energy), workOrders: orders };
  return { score: Math.round(comfort + sensors + energy + orders), parts, reasons };
}

/** A room's facility risk over its period, from its analytics figures, energy history and work orders. */
export function roomFacilityRisk(
  p: { from: number; to: number; energyHistory?: readonly EnergyWindow[]; workOrders?: readonly WorkOrder[] },
  metrics: readonly { metric: string; value: number }[],
): FacilityRisk {
  const m = (name: string) => metrics.find((x) => x.metric === name)?.value ?? null;
  return facilityRisk({
    comfortViolationMinutes: m('comfort_violation_minutes'),
    deviceOfflineShare: m('device_offline_share'),
    energy:
      p.energyHistory && p.energyHistory.length > 0
        ? energyAgainstBaseline(p.energyHistory, p.from, p.to)
        : null,
    workOrders: p.workOrders ?? [],
  });
}
