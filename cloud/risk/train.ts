/**
 * Training and scoring over the store. `trainRisk` builds one row per (student, course) with a known
 * outcome, features as of the course's day N, holds out the newest courses (by start), fits the model on the
 * rest and measures it on the held-out ones; `scoreCourses` scores every student still enrolled now, with the
 * model trained nearest to the course's current day, and keeps the top factors with each score.
 */
import { createHash } from 'node:crypto';
import type { CloudStore, RiskModelRecord, RiskScoreRow } from '../store/types.ts';
import { brier, reliabilityBins, rocAuc } from './evaluate.ts';
import { topFactors } from './explain.ts';
import { type CourseFrame, cohortOf, DAY_MS, FEATURES, featureVector, label } from './features.ts';
import { fitGbdt } from './gbdt.ts';
import { fitLogistic, predict } from './logistic.ts';
import { type DropoutModel, probability } from './model.ts';

export interface TrainOptions {
  cutoffDay: number;
  /** Courses starting at or after this are held out (default: the latest start among the courses). */
  holdoutFromTs?: number;
  l2?: number;
  now: number;
}

interface Row {
  courseId: string;
  /** The course's start: which side of the hold-out the row falls on. */
  startTs: number;
  studentId: string;
  x: number[];
  y: 0 | 1;
  engagementScore: number;
  clicks: number;
  stillEnrolled: boolean;
}

/** Every course with a start (the catalogue's, else its first event) and its assessments' due dates. */
async function courseFrames(store: CloudStore): Promise<Omit<CourseFrame, 'cutTs'>[]> {
  const catalogue = new Map((await store.courses()).map((c) => [c.courseId, c]));
  return (await store.eventCourses())
    .map(({ courseId, firstTs }) => {
      const c = catalogue.get(courseId);
      return {
        courseId,
        startTs: c?.startTs ?? firstTs,
        assessments: (c?.assessments ?? []).flatMap((a) =>
          a.dueTs === null ? [] : [{ assessmentId: a.assessmentId, dueTs: a.dueTs }],
        ),
      };
    })
    .sort((a, b) => a.startTs - b.startTs || (a.courseId < b.courseId ? -1 : 1));
}

async function engagementScores(
  store: CloudStore,
  courseId: string,
  cutTs: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let after = '';
  for (;;) {
    const page = await store.courseEngagement(courseId, cutTs, after, 5000);
    for (const r of page) out.set(r.studentId, r.state.engagementScore);
    if (page.length < 5000) return out;
    after = page[page.length - 1]!.studentId;
  }
}

async function labelledRows(store: CloudStore, cutoffDay: number, now: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of await courseFrames(store)) {
    const frame: CourseFrame = { ...c, cutTs: c.startTs + cutoffDay * DAY_MS };
    if (frame.cutTs > now) continue;
    const outcomes = await store.riskOutcomes(c.courseId);
    const engagement = await engagementScores(store, c.courseId, frame.cutTs);
    const all = await store.riskInputs(c.courseId, c.startTs, frame.cutTs);
    const cohort = cohortOf(all);
    for (const inputs of all) {
      const o = outcomes.get(inputs.studentId);
      const y = label(o);
      if (y === null) continue;
      rows.push({
        courseId: c.courseId,
        startTs: c.startTs,
        studentId: inputs.studentId,
        x: featureVector(frame, inputs, cohort),
        y,
        engagementScore: engagement.get(inputs.studentId) ?? 0,
        clicks: inputs.clicks,
        stillEnrolled: o?.withdrawnTs == null || o.withdrawnTs > frame.cutTs,
      });
    }
  }
  return rows;
}

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);

export async function trainRisk(store: CloudStore, opts: TrainOptions): Promise<RiskModelRecord> {
  const l2 = opts.l2 ?? 1;
  const rows = await labelledRows(store, opts.cutoffDay, opts.now);
  if (rows.length === 0)
    throw new Error(`no (student, course) with a known outcome whose day ${opts.cutoffDay} has passed`);
  const holdoutFrom = opts.holdoutFromTs ?? rows.reduce((m, r) => Math.max(m, r.startTs), 0);
  const train = rows.filter((r) => r.startTs < holdoutFrom);
  const test = rows.filter((r) => r.startTs >= holdoutFrom);
  if (train.length === 0 || test.length === 0)
    throw new Error(
      'need courses on both sides of the hold-out start: import more than one term, or set --holdout-from',
    );
  const { model, selection } = chooseModel(train, l2);
  const floor =
    model.kind === 'logistic-l2'
      ? model.logistic
      : fitLogistic(
          train.map((r) => r.x),
          train.map((r) => r.y),
          l2,
        );
  const engagement = fitLogistic(
    train.map((r) => [r.engagementScore]),
    train.map((r) => r.y),
    l2,
  );
  const probs = test.map((r) => probability(model, r.x));
  const ys = test.map((r) => r.y);
  const still = test.flatMap((r, i) => (r.stillEnrolled ? [i] : []));
  const courses = (side: Row[]) => [...new Set(side.map((r) => r.courseId))].sort();

  const body = {
    kind: model.kind,
    cutoffDay: opts.cutoffDay,
    features: FEATURES.map((f) => f.name),
    model,
    selection,
    engagement,
    training: {
      courses: courses(train),
      rows: train.length,
      positives: train.filter((r) => r.y === 1).length,
      fromTs: train.reduce((m, r) => Math.min(m, r.startTs), Number.POSITIVE_INFINITY),
      toTs: train.reduce((m, r) => Math.max(m, r.startTs), 0),
    },
    holdout: {
      courses: courses(test),
      rows: test.length,
      positives: test.filter((r) => r.y === 1).length,
      auc: r4(rocAuc(probs, ys)),
      rowsStillEnrolled: still.length,
      aucStillEnrolled: r4(
        rocAuc(
          still.map((i) => probs[i]!),
          still.map((i) => ys[i]!),
        ),
      ),
      brier: r4(brier(probs, ys)),
      bins: reliabilityBins(probs, ys, 10),
      baselineAucNegClicks: r4(
        rocAuc(
          test.map((r) => -r.clicks),
          ys,
        ),
      ),
      baselineAucNegClicksStillEnrolled: r4(
        rocAuc(
          still.map((i) => -test[i]!.clicks),
          still.map((i) => ys[i]!),
        ),
      ),
      engagementAuc: r4(
        rocAuc(
          test.map((r) => predict(engagement, [r.engagementScore])),
          ys,
        ),
      ),
      logisticAuc: r4(
        rocAuc(
          test.map((r) => predict(floor, r.x)),
          ys,
        ),
      ),
    },
    importances: importancesOf(model),
  };
  const modelId = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { modelId, createdAt: opts.now, ...body };
}

/** Logistic weights (standardised) or tree gain shares, largest first. */
function importancesOf(m: DropoutModel): { feature: string; weight: number }[] {
  const w = m.kind === 'gbdt' ? m.gbdt.gains : m.logistic.weights;
  return w
    .map((v, j) => ({ feature: FEATURES[j]!.name, weight: Math.round(v * 10_000) / 10_000 }))
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight) || (a.feature < b.feature ? -1 : 1));
}

/**
 * Logistic regression is the floor; boosted trees replace it only when they rank unseen courses better:
 * leave-one-course-out over the training courses (each course predicted by models fitted on the others),
 * pooled ROC AUC compared. The held-out courses play no part in the choice.
 */
function chooseModel(
  train: readonly Row[],
  l2: number,
): { model: DropoutModel; selection: RiskModelRecord['selection'] } {
  const fitKind = (rows: readonly Row[], kind: DropoutModel['kind']): DropoutModel => {
    const x = rows.map((r) => r.x);
    const y = rows.map((r) => r.y);
    return kind === 'gbdt' ? { kind, gbdt: fitGbdt(x, y) } : { kind, logistic: fitLogistic(x, y, l2) };
  };
  const courses = [...new Set(train.map((r) => r.courseId))].sort();
  const ys: (0 | 1)[] = [];
  const lrScores: number[] = [];
  const gbScores: number[] = [];
  if (courses.length >= 2) {
    for (const c of courses) {
      const rest = train.filter((r) => r.courseId !== c);
      const held = train.filter((r) => r.courseId === c);
      if (!rest.some((r) => r.y === 1) || !rest.some((r) => r.y === 0)) continue;
      const lr = fitKind(rest, 'logistic-l2');
      const gb = fitKind(rest, 'gbdt');
      for (const r of held) {
        ys.push(r.y);
        lrScores.push(probability(lr, r.x));
        gbScores.push(probability(gb, r.x));
      }
    }
  }
  const logisticAuc = r4(rocAuc(lrScores, ys));
  const gbdtAuc = r4(rocAuc(gbScores, ys));
  const kind = gbdtAuc !== null && logisticAuc !== null && gbdtAuc > logisticAuc ? 'gbdt' : 'logistic-l2';
  return { model: fitKind(train, kind), selection: { validationCourses: courses, logisticAuc, gbdtAuc } };
}

/** The model trained nearest below the course's day (else the earliest one); the newest of equals. */
export function modelFor(models: readonly RiskModelRecord[], courseDay: number): RiskModelRecord | undefined {
  if (models.length === 0) return undefined;
  const eligible = models.filter((m) => m.cutoffDay <= courseDay);
  const minDay = Math.min(...models.map((m) => m.cutoffDay));
  const pool = eligible.length > 0 ? eligible : models.filter((m) => m.cutoffDay === minDay);
  return [...pool].sort(
    (a, b) => b.cutoffDay - a.cutoffDay || b.createdAt - a.createdAt || (a.modelId < b.modelId ? -1 : 1),
  )[0];
}

/** Scores every student still enrolled now in every course that has started; returns how many. */
export async function scoreCourses(
  store: CloudStore,
  now: number,
): Promise<{ courses: number; scores: number }> {
  const models = await store.riskModels();
  if (models.length === 0) return { courses: 0, scores: 0 };
  let courses = 0;
  let scores = 0;
  for (const c of await courseFrames(store)) {
    if (c.startTs > now) continue;
    const courseDay = Math.floor((now - c.startTs) / DAY_MS);
    const m = modelFor(models, courseDay);
    if (!m) continue;
    const frame: CourseFrame = { ...c, cutTs: now };
    const outcomes = await store.riskOutcomes(c.courseId);
    const rows: RiskScoreRow[] = [];
    const all = await store.riskInputs(c.courseId, c.startTs, now);
    const cohort = cohortOf(all);
    for (const inputs of all) {
      const o = outcomes.get(inputs.studentId);
      // Already withdrawn or completed: nothing left to predict.
      if ((o?.withdrawnTs ?? Infinity) <= now || (o?.completedTs ?? Infinity) <= now) continue;
      const x = featureVector(frame, inputs, cohort);
      rows.push({
        courseId: c.courseId,
        studentId: inputs.studentId,
        modelId: m.modelId,
        probability: Math.round(probability(m.model, x) * 10_000) / 10_000,
        courseDay,
        factors: topFactors(m.model, x, 3),
        computedAt: now,
      });
    }
    await store.replaceRiskScores(c.courseId, rows);
    courses++;
    scores += rows.length;
  }
  return { courses, scores };
}

/** P(dropout) for the original design's `{"engagement_score": n}`. */
export function engagementProbability(m: RiskModelRecord, engagementScore: number): number {
  return predict(m.engagement, [engagementScore]);
}
