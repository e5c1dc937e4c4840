/**
 * `npm run bench [name…]`: runs the named benchmarks (all of them without a name), one after another.
 * Every figure is one JSON line on stdout (see lib/report.ts); progress goes to stderr. Children and temp
 * dirs are cleaned up after each benchmark, on error, and on SIGINT/SIGTERM.
 */
import { cleanupAll } from './lib/children.ts';

const BENCHMARKS: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  ingest: () => import('./ingest.ts'),
  journal: () => import('./journal.ts'),
  memory: () => import('./memory.ts'),
  webhooks: () => import('./webhooks.ts'),
  modbus: () => import('./modbus.ts'),
  apply: () => import('./apply.ts'),
  'apply-pg': () => import('./apply-pg.ts'),
  hub: () => import('./hub.ts'),
  wire: () => import('./wire.ts'),
  drain: () => import('./drain.ts'),
  api: () => import('./api.ts'),
  risk: () => import('./risk.ts'),
  occupancy: () => import('./occupancy.ts'),
};

process.on('exit', cleanupAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`[bench] ${signal}: stopping children and removing temp dirs\n`);
    cleanupAll();
    process.exit(130);
  });
}

const requested = process.argv.slice(2);
const unknown = requested.filter((n) => !(n in BENCHMARKS));
if (unknown.length) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`,
  );
  process.exit(2);
}

let failed = 0;
for (const name of requested.length ? requested : Object.keys(BENCHMARKS)) {
  const started = Date.now();
  try {
    const mod = await BENCHMARKS[name]!();
    await mod.run();
  } catch (err) {
    failed++;
    process.stderr.write(
      `[bench:${name}] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  } finally {
    cleanupAll();
    process.stderr.write(`[bench:${name}] took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}
process.exitCode = failed ? 1 : 0;
