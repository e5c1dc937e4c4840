/**
 * `campus-twin cloud train-risk --cutoff-day 28[,56…]`: trains a dropout model per cut-off day on the store's
 * history (see train.ts), saves each with its held-out figures, prints them, and scores the students still
 * enrolled now (unless --no-score).
 */
import { parseArgs } from 'node:util';

const HELP = `Usage: campus-twin cloud train-risk [options]

Trains a dropout-risk model (L2 logistic regression) on the store's learning and admin events with known
outcomes (enrolment withdrawn vs completed), features as of day N of each course. The newest courses (by
start) are held out and the model is measured on them: ROC AUC (all, and students still enrolled at day N),
Brier score, reliability bins, the "fewer clicks = more risk" baseline. The model is saved (its id is a hash
of its content: the same data gives the same id) and students still enrolled are scored.

Options:
  -c, --config FILE        cloud settings (default: config/cloud.yaml)
      --data-dir DIR       the store at DIR/cloud.db (default: the config's store.file)
      --store URL          PostgreSQL at postgres://user:password@host:port/db instead (env CT_STORE__URL)
      --cutoff-day N[,M]   course day(s) the features are taken at (default 28)
      --holdout-from TIME  hold out courses starting at or after this ISO time (default: the latest start)
      --l2 X               L2 penalty on standardised weights (default 1)
      --no-score           train and save only
  -h, --help               show this help
`;

export async function runTrainRisk(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      'cutoff-day': { type: 'string' },
      'holdout-from': { type: 'string' },
      l2: { type: 'string' },
      'no-score': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const days = (values['cutoff-day'] ?? '28').split(',').map(Number);
  const l2 = Number(values.l2 ?? 1);
  const holdoutFromTs = values['holdout-from'] === undefined ? undefined : Date.parse(values['holdout-from']);
  if (
    days.some((d) => !Number.isInteger(d) || d < 1 || d > 400) ||
    !(l2 > 0) ||
    Number.isNaN(holdoutFromTs)
  ) {
    process.stderr.write(
      `campus-twin train-risk: --cutoff-day takes whole days 1…400, --l2 a positive number, --holdout-from an ISO time\n\n${HELP}`,
    );
    return 2;
  }
  const { loadCliConfig } = await import('../config/index.ts');
  const { openConfiguredStore } = await import('../store/index.ts');
  const { scoreCourses, trainRisk } = await import('./train.ts');
  const store = await openConfiguredStore(loadCliConfig(values));
  try {
    for (const cutoffDay of days) {
      const started = Date.now();
      const m = await trainRisk(store, {
        cutoffDay,
        l2,
        now: Date.now(),
        ...(holdoutFromTs !== undefined ? { holdoutFromTs } : {}),
      });
      await store.saveRiskModel(m);
      const h = m.holdout;
      process.stderr.write(
        `day ${cutoffDay}: model ${m.modelId} trained on ${m.training.rows} enrolments (${m.training.courses.length} courses), ` +
          `held out ${h.rows} (${h.courses.join(', ')})\n` +
          `  ROC AUC ${h.auc} (still enrolled at day ${cutoffDay}: ${h.aucStillEnrolled}, ${h.rowsStillEnrolled} students); ` +
          `baseline -clicks ${h.baselineAucNegClicks}; engagement score ${h.engagementAuc}; Brier ${h.brier}\n` +
          `  strongest features: ${m.importances
            .slice(0, 5)
            .map((i) => `${i.feature} ${i.weight > 0 ? '+' : ''}${i.weight}`)
            .join(', ')}\n`,
      );
      const { model: _m, engagement: _e, ...summary } = m;
      process.stdout.write(
        `${JSON.stringify({ event: 'risk:trained', seconds: (Date.now() - started) / 1000, ...summary })}\n`,
      );
    }
    if (!values['no-score']) {
      const r = await scoreCourses(store, Date.now());
      process.stdout.write(`${JSON.stringify({ event: 'risk:scored', ...r })}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`campus-twin train-risk: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
