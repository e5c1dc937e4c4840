/**
 * `campus-twin cloud import FILE.jsonl[.gz]`: loads a history of canonical learning/admin events and courses
 * into the cloud's store (the one its config names), with a progress bar on stderr and a JSON summary on
 * stdout: imported, duplicates, courses, rejected by code (with the first examples and their line numbers).
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const HELP = `Usage: campus-twin cloud import FILE.jsonl[.gz] [options]

Loads canonical learning and admin events (and course records) into the cloud store, deduplicated by
event id, so a campus can load last terms' history (docs: cloud/README.md "History import").

Options:
  -c, --config FILE     cloud settings (default: config/cloud.yaml)
      --data-dir DIR    the store at DIR/cloud.db (default: the config's store.file)
      --store URL       PostgreSQL at postgres://user:password@host:port/db instead (env CT_STORE__URL)
      --batch N         events per transaction (default 5000)
  -h, --help            show this help
`;

export async function runImport(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const file = positionals[0];
  const batchSize = Number(values.batch ?? 5000);
  if (!file || positionals.length > 1 || !Number.isInteger(batchSize) || batchSize < 1) {
    process.stderr.write(
      `campus-twin cloud import: give one FILE (and --batch a positive integer)\n\n${HELP}`,
    );
    return 2;
  }
  if (!existsSync(file)) {
    process.stderr.write(`campus-twin cloud import: ${file}: no such file\n`);
    return 2;
  }
  const { loadCliConfig, storeLabel } = await import('../config/index.ts');
  const { openConfiguredStore } = await import('../store/index.ts');
  const { importFile, progressLine } = await import('./import.ts');
  const config = loadCliConfig(values);
  const store = await openConfiguredStore(config);
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  try {
    const summary = await importFile(store, file, {
      batchSize,
      onProgress: (read, total, s) => {
        if (tty) process.stderr.write(`\r${progressLine(read, total, s)}`);
        else {
          const tenth = total === 0 ? 10 : Math.floor((read / total) * 10);
          if (tenth !== lastTenth) process.stderr.write(`${progressLine(read, total, s)}\n`);
          lastTenth = tenth;
        }
      },
    });
    // The final state, whatever the last progress line said.
    const size = statSync(file).size;
    process.stderr.write(`${tty ? '\r' : ''}${progressLine(size, size, summary)}\n`);
    process.stdout.write(
      `${JSON.stringify({ event: 'import:done', store: storeLabel(config), ...summary })}\n`,
    );
    const rejected = Object.values(summary.rejected).reduce((a, b) => a + b, 0);
    // Every line refused: say so with the exit code too.
    return summary.lines > 0 && rejected === summary.lines ? 3 : 0;
  } finally {
    await store.close();
  }
}
