/**
 * L2-regularised logistic regression, fitted by Newton's method (IRLS) on standardised features. Pure and
 * deterministic: the same rows in the same order give the same coefficients bit for bit (no random
 * initialisation, no shuffling). Small dense linear algebra only — the feature count is ~15.
 */

export interface LogisticModel {
  /** Per feature: the mean and standard deviation used to standardise it (sd 1 for a constant feature). */
  means: number[];
  sds: number[];
  /** Coefficients on standardised features, and the intercept. */
  weights: number[];
  intercept: number;
  /** The penalty used and how the fit ended. */
  l2: number;
  iterations: number;
  converged: boolean;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A x = b for a symmetric positive-definite A (Cholesky); A and b are not modified. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const l = a.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i]![j]!;
      for (let k = 0; k < j; k++) sum -= l[i]![k]! * l[j]![k]!;
      if (i === j) l[i]![i] = Math.sqrt(Math.max(sum, 1e-12));
      else l[i]![j] = sum / l[j]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i]![k]! * y[k]!;
    y[i] = sum / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k]![i]! * x[k]!;
    x[i] = sum / l[i]![i]!;
  }
  return x;
}

export function standardiser(rows: readonly number[][]): { means: number[]; sds: number[] } {
  const d = rows[0]?.length ?? 0;
  const means = new Array<number>(d).fill(0);
  const sds = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) means[j]! += r[j]! / rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) sds[j]! += (r[j]! - means[j]!) ** 2 / rows.length;
  for (let j = 0; j < d; j++) sds[j] = Math.sqrt(sds[j]!) || 1;
  return { means, sds };
}

/**
 * Fits P(y = 1 | x). `l2` is the penalty on the (standardised) weights, not on the intercept; with a few
 * thousand rows, 1 is a light touch. Stops when no weight moves by more than 1e-8, or after 100 steps.
 */
export function fitLogistic(x: readonly number[][], y: readonly (0 | 1)[], l2 = 1): LogisticModel {
  if (x.length === 0 || x.length !== y.length)
    throw new Error('fitLogistic needs as many labels as rows, and some rows');
  const { means, sds } = standardiser(x);
  const d = means.length;
  const z = x.map((r) => [1, ...r.map((v, j) => (v - means[j]!) / sds[j]!)]);
  let beta = new Array<number>(d + 1).fill(0);
  let iterations = 0;
  let converged = false;
  for (; iterations < 100 && !converged; iterations++) {
    const grad = new Array<number>(d + 1).fill(0);
    const hess = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < z.length; i++) {
      const row = z[i]!;
      let eta = 0;
      for (let j = 0; j <= d; j++) eta += beta[j]! * row[j]!;
      const p = sigmoid(eta);
      const w = Math.max(p * (1 - p), 1e-10);
      const r = y[i]! - p;
      for (let j = 0; j <= d; j++) {
        grad[j]! += r * row[j]!;
        const wj = w * row[j]!;
        for (let k = 0; k <= j; k++) hess[j]![k]! += wj * row[k]!;
      }
    }
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) hess[k]![j] = hess[j]![k]!;
    for (let j = 1; j <= d; j++) {
      grad[j]! -= l2 * beta[j]!;
      hess[j]![j]! += l2;
    }
    const step = solve(hess, grad);
    beta = beta.map((b, j) => b + step[j]!);
    converged = step.every((s) => Math.abs(s) < 1e-8);
  }
  return { means, sds, weights: beta.slice(1), intercept: beta[0]!, l2, iterations, converged };
}

/** Each feature's share of the log-odds for `x`: weight × standardised value (their sum + intercept = logit). */
export function contributions(m: LogisticModel, x: readonly number[]): number[] {
  return m.weights.map((w, j) => (w * (x[j]! - m.means[j]!)) / m.sds[j]!);
}

export function predict(m: LogisticModel, x: readonly number[]): number {
  return sigmoid(m.intercept + contributions(m, x).reduce((a, b) => a + b, 0));
}
