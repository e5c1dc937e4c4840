/**
 * Gradient-boosted regression trees on the logistic loss (second-order, XGBoost-style gains), on quantile
 * bins of each feature. Pure and deterministic: bins are quantiles of the training rows, ties in the search
 * resolve to the first feature and bin, no sampling. Explanations are per-tree path contributions (Saabas):
 * each split credits its feature with the change in the node's value, so contributions add up to the score.
 */

export interface TreeNode {
  /** The node's value (log-odds step) — a leaf's output, or an internal node's for path contributions. */
  v: number;
  /** Split: feature j, rows with bin ≤ b go left. Absent on a leaf. */
  j?: number;
  b?: number;
  l?: TreeNode;
  r?: TreeNode;
}

export interface GbdtModel {
  base: number;
  learningRate: number;
  /** Per feature, the upper bin edges (a value's bin is the number of edges below it). */
  edges: number[][];
  trees: TreeNode[];
  /** Training means, for "typical" values in explanations. */
  means: number[];
  /** Total split gain per feature, normalised to sum to 1. */
  gains: number[];
}

export interface GbdtOptions {
  rounds?: number;
  depth?: number;
  learningRate?: number;
  lambda?: number;
  minLeaf?: number;
  bins?: number;
}

function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (x > edges[m]!) lo = m + 1;
    else hi = m;
  }
  return lo;
}

export function fitGbdt(x: readonly number[][], y: readonly (0 | 1)[], opts: GbdtOptions = {}): GbdtModel {
  const rounds = opts.rounds ?? 200;
  const depth = opts.depth ?? 3;
  const lr = opts.learningRate ?? 0.05;
  const lambda = opts.lambda ?? 1;
  const minLeaf = opts.minLeaf ?? 20;
  const nBins = opts.bins ?? 32;
  const n = x.length;
  const d = x[0]?.length ?? 0;
  if (n === 0 || n !== y.length) throw new Error('fitGbdt needs as many labels as rows, and some rows');
  const edges: number[][] = [];
  for (let j = 0; j < d; j++) {
    const v = x.map((r) => r[j]!).sort((a, b) => a - b);
    const e: number[] = [];
    for (let b = 1; b < nBins; b++) {
      const q = v[Math.floor((b * v.length) / nBins)]!;
      if (e.length === 0 || q > e[e.length - 1]!) e.push(q);
    }
    edges.push(e);
  }
  const xb = x.map((r) => r.map((v, j) => binOf(edges[j]!, v)));
  const pos = y.filter((v) => v === 1).length;
  const base = Math.log(Math.max(pos, 1) / Math.max(n - pos, 1));
  const f = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const gains = new Array<number>(d).fill(0);

  const build = (idx: number[], level: number): TreeNode => {
    let G = 0;
    let H = 0;
    for (const i of idx) {
      G += g[i]!;
      H += h[i]!;
    }
    const node: TreeNode = { v: -G / (H + lambda) };
    if (level === 0 || idx.length < 2 * minLeaf) return node;
    let best = 0;
    let bj = -1;
    let bb = -1;
    for (let j = 0; j < d; j++) {
      const nb = edges[j]!.length + 1;
      const gs = new Float64Array(nb);
      const hs = new Float64Array(nb);
      const cs = new Int32Array(nb);
      for (const i of idx) {
        const b = xb[i]![j]!;
        gs[b]! += g[i]!;
        hs[b]! += h[i]!;
        cs[b]!++;
      }
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += gs[b]!;
        hl += hs[b]!;
        cl += cs[b]!;
        if (cl < minLeaf || idx.length - cl < minLeaf) continue;
        const gr = G - gl;
        const hr = H - hl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - (G * G) / (H + lambda);
        if (gain > best + 1e-12) {
          best = gain;
          bj = j;
          bb = b;
        }
      }
    }
    if (bj < 0) return node;
    gains[bj]! += best;
    const left = idx.filter((i) => xb[i]![bj]! <= bb);
    const right = idx.filter((i) => xb[i]![bj]! > bb);
    return { ...node, j: bj, b: bb, l: build(left, level - 1), r: build(right, level - 1) };
  };

  const all = x.map((_, i) => i);
  const trees: TreeNode[] = [];
  for (let t = 0; t < rounds; t++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-f[i]!));
      g[i] = p - y[i]!;
      h[i] = Math.max(p * (1 - p), 1e-6);
    }
    const tree = build(all, depth);
    trees.push(tree);
    for (let i = 0; i < n; i++) f[i]! += lr * leafValue(tree, xb[i]!);
  }
  const total = gains.reduce((a, b) => a + b, 0) || 1;
  const means = new Array<number>(d).fill(0);
  for (const r of x) for (let j = 0; j < d; j++) means[j]! += r[j]! / n;
  return { base, learningRate: lr, edges, trees, means, gains: gains.map((v) => v / total) };
}

function leafValue(node: TreeNode, xb: readonly number[]): number {
  let n = node;
  while (n.j !== undefined) n = xb[n.j]! <= n.b! ? n.l! : n.r!;
  return n.v;
}

function bins(m: GbdtModel, x: readonly number[]): number[] {
  return x.map((v, j) => binOf(m.edges[j]!, v));
}

export function gbdtLogit(m: GbdtModel, x: readonly number[]): number {
  const xb = bins(m, x);
  let f = m.base;
  for (const t of m.trees) f += m.learningRate * leafValue(t, xb);
  return f;
}

export function gbdtPredict(m: GbdtModel, x: readonly number[]): number {
  return 1 / (1 + Math.exp(-gbdtLogit(m, x)));
}

/**
 * Per-feature log-odds contributions along each tree's path, against the trees' root values (the typical
 * row): the base, the roots and these add up to the logit.
 */
export function gbdtContributions(m: GbdtModel, x: readonly number[]): number[] {
  const xb = bins(m, x);
  const c = new Array<number>(m.edges.length).fill(0);
  for (const t of m.trees) {
    let n = t;
    while (n.j !== undefined) {
      const next = xb[n.j]! <= n.b! ? n.l! : n.r!;
      c[n.j]! += m.learningRate * (next.v - n.v);
      n = next;
    }
  }
  return c;
}

/** The log-odds of a row that takes no split's credit: the base plus every tree's root value. */
export function gbdtRootLogit(m: GbdtModel): number {
  return m.base + m.trees.reduce((s, t) => s + m.learningRate * t.v, 0);
}
