/**
 * Canonical quantities, their units and the physical range a sensor can plausibly report. A value outside
 * its range is rejected at the edge (CT_ERR_OUT_OF_RANGE), never forwarded.
 */
export const QUANTITIES = {
  temperature: { unit: '°C', min: -50, max: 100 },
  humidity: { unit: '%RH', min: 0, max: 100 },
  co2: { unit: 'ppm', min: 0, max: 40_000 },
  light: { unit: 'lx', min: 0, max: 200_000 },
  motion: { unit: 'bool', min: 0, max: 1 },
  occupancy_count: { unit: 'count', min: 0, max: 10_000 },
  power: { unit: 'kW', min: -100_000, max: 100_000 },
  energy: { unit: 'kWh', min: 0, max: 1e12 },
  voltage: { unit: 'V', min: 0, max: 100_000 },
  current: { unit: 'A', min: -100_000, max: 100_000 },
} as const;

export type Quantity = keyof typeof QUANTITIES;

export const QUANTITY_NAMES = Object.keys(QUANTITIES) as Quantity[];

export function isQuantity(name: string): name is Quantity {
  return Object.hasOwn(QUANTITIES, name);
}

export function unitOf(q: Quantity): string {
  return QUANTITIES[q].unit;
}

export function inPhysicalRange(q: Quantity, value: number): boolean {
  const r = QUANTITIES[q];
  return value >= r.min && value <= r.max;
}
