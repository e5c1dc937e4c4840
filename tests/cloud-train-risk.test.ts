import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { campus } from '../cloud/risk/synthetic.ts';
import { tempDir } from './helpers/gateway.ts';
import { runCli } from './helpers/process.ts';

describe('campus-twin cloud train-risk', () => {
  const dir = tempDir('ct-train-risk-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(['cloud', ...args]);

  it('trains on imported history, prints held-out AUC, and gives the same model when run again', () => {
    const { events, courses } = campus(11, (r) => r());
    const file = join(dir, 'history.jsonl');
    writeFileSync(
      file,
      [
        ...courses.map((c) => JSON.stringify({ kind: 'course', ...c, name: c.courseId })),
        ...events.map((e) => e.json),
      ].join('\n'),
    );
    const dataDir = join(dir, 'data');
    const imported = cli('import', file, '--data-dir', dataDir);
    expect(imported.status, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: events.length, courses: 3, rejected: {} });

    const train = () => {
      const r = cli('train-risk', '--data-dir', dataDir, '--cutoff-day', '28', '--no-score');
      expect(r.status, r.stderr).toBe(0);
      return { out: JSON.parse(r.stdout.trim().split('\n')[0]!), err: r.stderr };
    };
    const first = train();
    expect(first.err).toMatch(
      /day 28: model [0-9a-f]{16} trained on 300 enrolments \(2 courses\), held out 150 \(C-2\)/,
    );
    expect(first.err).toMatch(/ROC AUC 0\.\d+ \(still enrolled at day 28: 0\.\d+/);
    expect(first.out).toMatchObject({
      event: 'risk:trained',
      cutoffDay: 28,
      holdout: { courses: ['C-2'], rows: 150 },
    });
    expect(first.out.holdout.auc).toBeGreaterThan(0.7);
    const second = train();
    expect(second.out.modelId).toBe(first.out.modelId);
    expect(second.out.importances).toEqual(first.out.importances);
    expect(second.out.holdout).toEqual(first.out.holdout);

    // Nothing to learn from: a clear error, exit 1.
    const empty = cli('train-risk', '--data-dir', join(dir, 'empty'), '--no-score');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('no (student, course) with a known outcome');
    expect(cli('train-risk', '--cutoff-day', 'soon').status).toBe(2);
  });
});
