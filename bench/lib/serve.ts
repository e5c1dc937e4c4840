/**
 * The end of a benchmark server process's life, in one place: stop on SIGTERM/SIGINT or when stdin ends (the
 * benchmark process went away), exit 0 once stopped, 1 if stopping fails or takes longer than the grace.
 */

/** How long a stop may take before the process exits anyway (with 1). */
const STOP_GRACE_MS = 10_000;

export function stopOnSignalOrStdinEnd(name: string, stop: () => Promise<unknown>): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${name} stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
