/**
 * A score's reasons in words: the features that moved this student's log-odds most, away from a typical
 * student's, ordered by how much, each saying whether it raised or lowered the risk. Pure; consistent with
 * the model by construction (logistic: weight × standardised value; trees: path contributions).
 */

import { displayValue, FEATURES } from './features.ts';
import { contributionsOf, type DropoutModel, typicalOf } from './model.ts';

export interface Factor {
  feature: string;
  value: number;
  typical: number;
  /** Change in log-odds against a typical student. */
  contribution: number;
  direction: 'raises' | 'lowers';
  text: string;
}

export function topFactors(model: DropoutModel, x: readonly number[], k = 3): Factor[] {
  const c = contributionsOf(model, x);
  const means = typicalOf(model);
  return c
    .map((contribution, j) => ({ j, contribution }))
    .filter((f) => f.contribution !== 0)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.j - b.j)
    .slice(0, k)
    .map(({ j, contribution }) => {
      const def = FEATURES[j]!;
      const value = displayValue(def.name, x[j]!);
      const typical = displayValue(def.name, means[j]!);
      const direction = contribution > 0 ? 'raises' : 'lowers';
      return {
        feature: def.name,
        value,
        typical,
        contribution: Math.round(contribution * 1000) / 1000,
        direction,
        text: `${def.label}: ${value} ${def.unit} (typical ${typical}) ${direction} the risk`,
      };
    });
}
