/** A dropout model of either kind, behind one face: probability, per-feature contributions, typical values. */
import { type GbdtModel, gbdtContributions, gbdtPredict } from './gbdt.ts';
import { contributions, type LogisticModel, predict } from './logistic.ts';

export type DropoutModel =
  | { kind: 'logistic-l2'; logistic: LogisticModel }
  | { kind: 'gbdt'; gbdt: GbdtModel };

export function probability(m: DropoutModel, x: readonly number[]): number {
  return m.kind === 'gbdt' ? gbdtPredict(m.gbdt, x) : predict(m.logistic, x);
}

/** Each feature's push on the log-odds for `x`, against a typical row. */
export function contributionsOf(m: DropoutModel, x: readonly number[]): number[] {
  return m.kind === 'gbdt' ? gbdtContributions(m.gbdt, x) : contributions(m.logistic, x);
}

/** The training means: what "typical" means in an explanation. */
export function typicalOf(m: DropoutModel): number[] {
  return m.kind === 'gbdt' ? m.gbdt.means : m.logistic.means;
}
