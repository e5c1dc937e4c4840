/**
 * `npm run bench risk`: dropout risk on real outcomes. Converts the OULAD dev modules (AAA, BBB, CCC, EEE;
 * `BENCH_OULAD_DIR`, default ../shared/datasets/oulad-dev) into canonical history, imports it through the
 * product's importer into a temp store, trains at course day 28 (`BENCH_RISK_DAY`) on the 2013 and 2014B
 * presentations and measures on the 2014J ones (a later term: no student or week of the test courses is
 * seen in training). Figures: held-out ROC AUC for all students and for those still enrolled at day 28,
 * each against the "fewer clicks = more risk" baseline on the same rows; and whether training twice gives
 * the same model (determinism). Targets: ≥ 0.80 all, ≥ 0.75 still enrolled (public baselines ≈ 0.745).
 */
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
    } finally {
      await store.close();
    }
  } finally {
    removeDir(dir);
  }
}
