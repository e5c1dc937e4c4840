/**
 * Energy counters only count up. A reading below the last accepted one is a wrong word order, a bad
 * frame or a meter fault, and is rejected (CT_ERR_IMPLAUSIBLE) — unless the lower value holds (never
 * falling further) for RESET_POLLS polls in a row: then the meter was reset or replaced, and the new value
 * is the counter's new base. Pure: the caller keeps the state per register (in memory, so the first value
 * after a restart is taken as it is).
 */

export interface CounterState {
  last: number;
  /** Lower readings seen in a row since the last accepted value. */
  lower?: { value: number; polls: number };
}

export const RESET_POLLS = 3;

export type CounterVerdict = { ok: true; reset: boolean } | { ok: false; detail: string };

/** Judges `value` against the register's state and updates the state with what was accepted. */
export function checkCounter(states: Map<string, CounterState>, name: string, value: number): CounterVerdict {
  const st = states.get(name);
  if (!st || value >= st.last) {
    states.set(name, { last: value });
    return { ok: true, reset: false };
  }
  const lower =
    st.lower && value >= st.lower.value ? { value, polls: st.lower.polls + 1 } : { value, polls: 1 };
  if (lower.polls >= RESET_POLLS) {
    states.set(name, { last: value });
    return { ok: true, reset: true };
  }
  st.lower = lower;
  return {
    ok: false,
    detail: `${name}: ${value} is below the counter's last value ${st.last} (a counter only counts up; held for ${RESET_POLLS} polls it is taken as a reset)`,
  };
}
