/** How good a probability model is on held-out rows: ROC AUC, Brier score, reliability bins. Pure. */

/** ROC AUC (Mann–Whitney; tied scores count half). NaN when one class is absent. */
export function rocAuc(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const idx = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  let pos = 0;
  let neg = 0;
  for (const [, l] of idx) l === 1 ? pos++ : neg++;
  if (pos === 0 || neg === 0) return Number.NaN;
  // Sum of positive ranks, average rank for ties.
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && idx[j]![0] === idx[i]![0]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (idx[k]![1] === 1) rankSum += avgRank;
    i = j;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function brier(probs: readonly number[], labels: readonly (0 | 1)[]): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) s += (probs[i]! - labels[i]!) ** 2;
  return probs.length === 0 ? Number.NaN : s / probs.length;
}

export interface ReliabilityBin {
  from: number;
  to: number;
  count: number;
  meanPredicted: number | null;
  observedRate: number | null;
}

/** Predicted vs observed rate in `n` equal-width probability bins. */
export function reliabilityBins(
  probs: readonly number[],
  labels: readonly (0 | 1)[],
  n = 10,
): ReliabilityBin[] {
  const bins = Array.from({ length: n }, (_, i) => ({ from: i / n, to: (i + 1) / n, count: 0, p: 0, y: 0 }));
  probs.forEach((p, i) => {
    const b = bins[Math.min(n - 1, Math.floor(p * n))]!;
    b.count++;
    b.p += p;
    b.y += labels[i]!;
  });
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
  return bins.map((b) => ({
    from: b.from,
    to: b.to,
    count: b.count,
    meanPredicted: b.count ? r4(b.p / b.count) : null,
    observedRate: b.count ? r4(b.y / b.count) : null,
  }));
}
