/**
 * Which byte/word order a device's multi-register numbers are really in, judged from one read: each order
 * is scored by how many of the values decode plausibly in it (checkPlausible: finite, not a denormal or
 * 1e30 float, inside the register's range). Used by the probe (to name the likely order) and by the poller
 * (a map whose order looks wrong on the first poll is flagged and its values are not journalled). Pure.
 */
import { checkPlausible, decodeRegister } from './decode.ts';
import { ORDERS, type Order, type RegisterSpec } from './registers.ts';

export interface OrderScore {
  order: Order;
  plausible: number;
  total: number;
}

/** A value as read: its spec and its raw words (absent when it could not be read). */
export interface ReadValue {
  spec: RegisterSpec;
  words: readonly number[] | undefined;
}

/** Whether a register's order matters: a number of two or more registers. */
export function isMultiWord(spec: RegisterSpec): boolean {
  return spec.count >= 2 && spec.type !== 'string' && spec.type !== 'bit' && spec.type !== 'bool';
}

/** The order most of a map's multi-register numbers are declared in (ABCD when there are none). */
export function declaredOrder(specs: readonly RegisterSpec[]): Order {
  const own = new Map<Order, number>();
  for (const spec of specs) if (isMultiWord(spec)) own.set(spec.order, (own.get(spec.order) ?? 0) + 1);
  return [...own].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'ABCD';
}

/** Every order scored; best first; ties keep the declared order first, then ABCD, CDAB, BADC, DCBA. */
export function scoreOrders(values: readonly ReadValue[], declared: Order): OrderScore[] {
  const scores = ORDERS.map((order) => ({ order, plausible: 0, total: 0 }));
  for (const { spec, words } of values) {
    if (!words || !isMultiWord(spec)) continue;
    for (const s of scores) {
      const d = decodeRegister({ ...spec, order: s.order }, words, spec.address);
      s.total++;
      if (!checkPlausible(d)) s.plausible++;
    }
  }
  return scores.sort(
    (a, b) =>
      b.plausible - a.plausible ||
      Number(b.order === declared) - Number(a.order === declared) ||
      ORDERS.indexOf(a.order) - ORDERS.indexOf(b.order),
  );
}

export interface OrderSuspicion {
  declared: OrderScore;
  likely: OrderScore;
}

/**
 * The declared order looks wrong: at most half of the values read plausibly in it while another order
 * reads more of them plausibly. A device that sends garbage in every order is not flagged here (its values
 * are rejected one by one as implausible).
 */
export function suspectOrder(values: readonly ReadValue[], declared: Order): OrderSuspicion | undefined {
  const scores = scoreOrders(values, declared);
  const likely = scores[0];
  const own = scores.find((s) => s.order === declared);
  if (!likely || !own || own.total === 0 || likely.order === declared) return undefined;
  if (own.plausible * 2 > own.total || likely.plausible <= own.plausible) return undefined;
  return { declared: own, likely };
}
