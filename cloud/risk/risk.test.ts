import { describe, expect, it } from 'vitest';
import { rng } from '../../shared/random.ts';
import { brier, reliabilityBins, rocAuc } from './evaluate.ts';
import { topFactors } from './explain.ts';
import {
  type Cohort,
  type CourseFrame,
  cohortOf,
  DAY_MS,
  FEATURES,
  featureVector,
  label,
  type RiskInputs,
  submissionCounts,
} from './features.ts';
import { fitGbdt, gbdtContributions, gbdtLogit, gbdtPredict, gbdtRootLogit } from './gbdt.ts';
import { contributions, fitLogistic, predict } from './logistic.ts';

describe('logistic regression', () => {
  it('recovers a known relationship and is deterministic', () => {
    const rand = rng(7);
    const x: number[][] = [];
    const y: (0 | 1)[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = rand() * 4 - 2;
      const b = rand() * 4 - 2;
      const p = 1 / (1 + Math.exp(-(0.5 + 2 * a - 1 * b)));
      x.push([a, b, 3]); // a constant column must not break the fit
      y.push(rand() < p ? 1 : 0);
    }
    const m = fitLogistic(x, y, 0.01);
    expect(m.converged).toBe(true);
    // Weights are on standardised features: divide by sd to get the raw slope (a and b have sd ≈ 1.15).
    expect(m.weights[0]! / m.sds[0]!).toBeCloseTo(2, 0);
    expect(m.weights[1]! / m.sds[1]!).toBeCloseTo(-1, 0);
    expect(m.weights[2]).toBeCloseTo(0, 9);
    expect(fitLogistic(x, y, 0.01)).toEqual(m);
    const auc = rocAuc(
      x.map((r) => predict(m, r)),
      y,
    );
    expect(auc).toBeGreaterThan(0.85);
    // Contributions and intercept add up to the logit.
    const r = x[0]!;
    const logit = m.intercept + contributions(m, r).reduce((s, c) => s + c, 0);
    expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(predict(m, r), 12);
  });

  it('shrinks weights as the penalty grows', () => {
    const x = [[0], [1], [2], [3], [4], [5]];
    const y: (0 | 1)[] = [0, 0, 1, 0, 1, 1];
    const light = fitLogistic(x, y, 0.01);
    const heavy = fitLogistic(x, y, 100);
    expect(Math.abs(heavy.weights[0]!)).toBeLessThan(Math.abs(light.weights[0]!));
  });
});

describe('evaluation', () => {
  it('computes AUC with ties, Brier and reliability bins', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([0.5, 0.5, 0.5], [0, 1, 1])).toBe(0.5);
    expect(rocAuc([0.2, 0.3], [1, 1])).toBeNaN();
    expect(brier([1, 0, 0.5], [1, 0, 1])).toBeCloseTo(0.25 / 3, 12);
    const bins = reliabilityBins([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1], 10);
    expect(bins[1]).toEqual({ from: 0.1, to: 0.2, count: 2, meanPredicted: 0.135, observedRate: 0.5 });
    expect(bins[9]).toMatchObject({ count: 1, observedRate: 1 });
    expect(bins[5]).toMatchObject({ count: 0, meanPredicted: null });
  });
});

const START = 1_700_000_000_000 - (1_700_000_000_000 % DAY_MS);
const frame: CourseFrame = {
  courseId: 'c',
  startTs: START,
  cutTs: START + 28 * DAY_MS,
  assessments: [
    { assessmentId: 'a1', dueTs: START + 19 * DAY_MS },
    { assessmentId: 'a2', dueTs: START + 25 * DAY_MS },
    { assessmentId: 'a3', dueTs: START + 26 * DAY_MS },
    { assessmentId: 'later', dueTs: START + 40 * DAY_MS },
  ],
};
const inputs = (over: Partial<RiskInputs> = {}): RiskInputs => ({
  studentId: 's',
  courseId: 'c',
  clicks: 99,
  clicksBeforeStart: 9,
  clicksSinceStart: 90,
  clicksLast7: 19,
  clicksPrev7: 9,
  activeDays: 11,
  activeDaysLast14: 6,
  lastActivityTs: START + 25 * DAY_MS + 5,
  distinctResources: 4,
  meanScore: 0.72,
  graded: 2,
  registeredTs: START - 30 * DAY_MS,
  submissions: new Map([
    ['a1', START + 19 * DAY_MS + 20 * 3_600_000], // the due day itself: on time
    ['a2', START + 27 * DAY_MS], // two days late
  ]),
  ...over,
});

/** A cohort whose medians are e − 1 actions (log1p = 1) everywhere. */
const COHORT: Cohort = { medianLogClicks: 1, medianLogLast7: 1, medianLogActiveDays: 1 };

describe('features', () => {
  it('judges submissions against due dates up to the cut-off', () => {
    expect(submissionCounts(frame, inputs().submissions)).toEqual({ onTime: 1, late: 1, missing: 1 });
  });

  it('builds the vector in FEATURES order, by hand', () => {
    const v = featureVector(frame, inputs(), COHORT);
    expect(v).toHaveLength(FEATURES.length);
    expect(v.map((x) => Math.round(x * 1000) / 1000)).toEqual([
      Math.round(Math.log(100) * 1000) / 1000,
      Math.round(Math.log(10) * 1000) / 1000,
      Math.round(Math.log(20) * 1000) / 1000,
      Math.round(Math.log(2) * 1000) / 1000,
      Math.round(Math.log(12) * 1000) / 1000,
      6,
      2, // last activity on day 25, cut-off day 28
      0,
      1,
      1,
      1,
      72,
      1,
      30,
      Math.round(Math.log(91) * 1000) / 1000,
      Math.round((Math.log(100) - 1) * 1000) / 1000,
      Math.round((Math.log(20) - 1) * 1000) / 1000,
      Math.round((Math.log(12) - 1) * 1000) / 1000,
    ]);
    // The cohort's medians: of log1p(clicks) over 0, 9 and 99 clicks, the middle one.
    const co = cohortOf([inputs({ clicks: 0 }), inputs({ clicks: 9 }), inputs({ clicks: 99 })]);
    expect(co.medianLogClicks).toBeCloseTo(Math.log(10), 12);
    const none = featureVector(
      frame,
      inputs({ lastActivityTs: null, clicks: 0, graded: 0, meanScore: null, registeredTs: null }),
      COHORT,
    );
    expect([none[6], none[7], none[11], none[12], none[13]]).toEqual([60, 1, 0, 0, 0]);
  });

  it('labels withdrawn as 1, completed as 0, and the latest outcome wins', () => {
    expect(label(undefined)).toBeNull();
    expect(label({ withdrawnTs: 5, completedTs: null })).toBe(1);
    expect(label({ withdrawnTs: null, completedTs: 5 })).toBe(0);
    expect(label({ withdrawnTs: 5, completedTs: 9 })).toBe(0);
    expect(label({ withdrawnTs: null, completedTs: null })).toBeNull();
  });
});

describe('explanations', () => {
  it('names the factors in the order and direction of their contributions', () => {
    const rand = rng(3);
    const x: number[][] = [];
    const y: (0 | 1)[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = featureVector(
        frame,
        inputs({
          clicks: Math.floor(rand() * 300),
          activeDays: Math.floor(rand() * 28),
          lastActivityTs: START + Math.floor(rand() * 28) * DAY_MS,
        }),
        COHORT,
      );
      x.push(v);
      y.push(rand() < 1 / (1 + Math.exp(v[0]! - 4 + 0.1 * v[6]!)) ? 1 : 0);
    }
    const m = fitLogistic(x, y);
    const quiet = featureVector(frame, inputs({ clicks: 2, activeDays: 1, lastActivityTs: START }), COHORT);
    const f = topFactors({ kind: 'logistic-l2', logistic: m }, quiet, 3);
    expect(f).toHaveLength(3);
    const c = contributions(m, quiet);
    for (const factor of f) {
      const j = FEATURES.findIndex((d) => d.name === factor.feature);
      expect(factor.direction).toBe(c[j]! > 0 ? 'raises' : 'lowers');
      expect(factor.text).toContain(FEATURES[j]!.label);
    }
    const sizes = f.map((x) => Math.abs(x.contribution));
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    // Few clicks is the strongest reason this student looks at risk.
    expect(f[0]).toMatchObject({ feature: 'log_clicks', direction: 'raises', value: 2 });
  });
});

describe('gradient-boosted trees', () => {
  it('learn an interaction a logistic model cannot, deterministically, and explain themselves exactly', () => {
    const rand = rng(11);
    const x: number[][] = [];
    const y: (0 | 1)[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = rand();
      const b = rand();
      x.push([a, b, rand()]);
      // Risky when exactly one of a, b is high (XOR): no single linear direction.
      y.push(rand() < (a > 0.5 !== b > 0.5 ? 0.85 : 0.15) ? 1 : 0);
    }
    const trees = fitGbdt(x, y, { rounds: 60, depth: 2 });
    const lr = fitLogistic(x, y, 1);
    const gAuc = rocAuc(
      x.map((r) => gbdtPredict(trees, r)),
      y,
    );
    const lAuc = rocAuc(
      x.map((r) => predict(lr, r)),
      y,
    );
    expect(gAuc).toBeGreaterThan(0.75); // the best possible here is 0.85
    expect(lAuc).toBeLessThan(0.6);
    expect(fitGbdt(x, y, { rounds: 60, depth: 2 })).toEqual(trees);
    // The noise feature earns little of the gain.
    expect(trees.gains[2]!).toBeLessThan(0.1);
    // Path contributions add up: root logit + contributions = logit.
    for (const r of x.slice(0, 20)) {
      const sum = gbdtContributions(trees, r).reduce((s, c) => s + c, 0);
      expect(gbdtRootLogit(trees) + sum).toBeCloseTo(gbdtLogit(trees, r), 9);
    }
    const f = topFactors(
      {
        kind: 'gbdt',
        gbdt: {
          ...trees,
          means: [
            0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
          ].slice(0, 3),
        },
      },
      [0.9, 0.1, 0.5],
      2,
    );
    const c = gbdtContributions(trees, [0.9, 0.1, 0.5]);
    expect(f.map((x) => x.direction)).toEqual(
      f.map((x) => (c[FEATURES.findIndex((d) => d.name === x.feature)]! > 0 ? 'raises' : 'lowers')),
    );
    expect(Math.abs(f[0]!.contribution)).toBeGreaterThanOrEqual(Math.abs(f[1]!.contribution));
  });
});
