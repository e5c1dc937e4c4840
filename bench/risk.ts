/**
 * `npm run bench risk`: dropout risk on real outcomes. Converts the OULAD dev modules (AAA, BBB, CCC, EEE;
 * `BENCH_OULAD_DIR`, default ../shared/datasets/oulad-dev) into canonical history, imports it through the
 * product's importer into a temp store, trains at course day 28 (`BENCH_RISK_DAY`) on the 2013 and 2014B
 * presentations and measures on the 2014J ones (a later term: no student or week of the test courses is
 * seen in training). Figures: held-out ROC AUC for all students and for those still enrolled at day 28,
 * each against the "fewer clicks = more risk" baseline on the same rows; and whether training twice gives
 * the same model (determinism). Targets: ≥ 0.80 all, ≥ 0.75 still enrolled (public baselines ≈ 0.745).
 * Where Debian's scikit-learn is installed, `oulad/reference.py` reports what an independent, stronger
 * learner reaches on the same split (with more features, and with demographics the product may not use):
 * the product's figures are printed against it.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { importFile } from '../cloud/history/import.ts';
import { trainRisk } from '../cloud/risk/train.ts';
import { SqliteCloudStore } from '../cloud/store/sqlite.ts';
import { REPO_ROOT, removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round } from './lib/report.ts';
import { convertOulad } from './oulad/convert.ts';

const HOLDOUT_FROM = Date.UTC(2014, 9, 1); // the 2014J presentations start on 1 October 2014

export async function run(): Promise<void> {
  const dataDir = resolve(
    process.env.BENCH_OULAD_DIR ?? join(REPO_ROOT, '..', 'shared', 'datasets', 'oulad-dev'),
  );
  const cutoffDay = Number(process.env.BENCH_RISK_DAY ?? 28);
  const dir = tempDir('ct-bench-risk-');
  try {
    const file = join(dir, 'oulad.jsonl.gz');
    let t = Date.now();
    const converted = await convertOulad({ dataDir, outFile: file });
    progress('risk', 'converted', {
      seconds: (Date.now() - t) / 1000,
      events: converted.events,
      enrolments: converted.enrolments,
    });
    const store = new SqliteCloudStore({ file: join(dir, 'cloud.db') });
    try {
      t = Date.now();
      const imported = await importFile(store, file, { batchSize: 10_000 });
      progress('risk', 'imported', {
        seconds: (Date.now() - t) / 1000,
        imported: imported.imported,
        rejected: imported.rejected,
      });
      t = Date.now();
      const m = await trainRisk(store, { cutoffDay, now: Date.now(), holdoutFromTs: HOLDOUT_FROM });
      const trainSeconds = (Date.now() - t) / 1000;
      const again = await trainRisk(store, { cutoffDay, now: Date.now() + 1, holdoutFromTs: HOLDOUT_FROM });
      const h = m.holdout;
      const context = {
        cutoffDay,
        modelId: m.modelId,
        deterministic: again.modelId === m.modelId,
        trainCourses: m.training.courses,
        trainRows: m.training.rows,
        holdoutCourses: h.courses,
        kind: m.kind,
        selection: m.selection,
        logisticAuc: h.logisticAuc,
        brier: h.brier,
        engagementScoreAuc: h.engagementAuc,
        trainSeconds,
        topFeatures: m.importances.slice(0, 6),
      };
      emit({
        name: 'risk-auc-all',
        value: h.auc ?? Number.NaN,
        unit: 'ROC AUC',
        baseline: h.baselineAucNegClicks ?? Number.NaN,
        ratio: round((h.auc ?? 0) / (h.baselineAucNegClicks ?? 1)),
        target: '>= 0.80',
        meaning: `held-out ROC AUC at course day ${cutoffDay}, all ${h.rows} students (${h.positives} withdrew); baseline = -clicks on the same rows`,
        ...context,
      });
      emit({
        name: 'risk-auc-still-enrolled',
        value: h.aucStillEnrolled ?? Number.NaN,
        unit: 'ROC AUC',
        baseline: h.baselineAucNegClicksStillEnrolled ?? Number.NaN,
        ratio: round((h.aucStillEnrolled ?? 0) / (h.baselineAucNegClicksStillEnrolled ?? 1)),
        target: '>= 0.75',
        meaning: `held-out ROC AUC at day ${cutoffDay} for the ${h.rowsStillEnrolled} students not withdrawn by then; baseline = -clicks on the same rows`,
        modelId: m.modelId,
      });
      const ref = reference(dataDir, cutoffDay);
      if (ref) {
        for (const [which, ours] of [
          ['auc', h.auc],
          ['aucStillEnrolled', h.aucStillEnrolled],
        ] as const) {
          emit({
            name: `risk-${which === 'auc' ? 'auc-all' : 'auc-still-enrolled'}-vs-reference`,
            value: ours ?? Number.NaN,
            unit: 'ROC AUC',
            baseline: ref.wider[which],
            ratio: round((ours ?? 0) / ref.wider[which]),
            meaning:
              'ours against scikit-learn HistGradientBoosting on a wider feature set (weekly activity, scores per assessment type), same split, straight from the CSV files',
            referenceProductFeatures: ref.product[which],
            referenceWithDemographics: ref.demographic[which],
          });
        }
      }
    } finally {
      await store.close();
    }
  } finally {
    removeDir(dir);
  }
}

interface ReferenceAuc {
  auc: number;
  aucStillEnrolled: number;
}

/** The scikit-learn reference's figures, or undefined (with a note) when Python or sklearn is missing. */
function reference(
  dataDir: string,
  cutoffDay: number,
): { product: ReferenceAuc; wider: ReferenceAuc; demographic: ReferenceAuc } | undefined {
  const script = join(REPO_ROOT, 'bench', 'oulad', 'reference.py');
  const r = spawnSync('/usr/bin/python3', [script, dataDir, String(cutoffDay)], { encoding: 'utf8' });
  if (r.status !== 0) {
    progress('risk', 'no scikit-learn reference (apt-get install python3-sklearn python3-pandas)', {
      error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').pop(),
    });
    return undefined;
  }
  return JSON.parse(r.stdout);
}
