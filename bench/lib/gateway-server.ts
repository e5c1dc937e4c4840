/**
 * The life of a benchmark's gateway server process (bench/servers/gateway.ts, webhooks-gateway.ts): start
 * the real gateway with a silent logger, print {"event":"gateway:ready","ports":{…},"pid":N} for
 * spawnUntilReady, and stop it on SIGTERM/SIGINT or when stdin ends (the benchmark process went away).
 */
import { createGateway } from '../../gateway/app.ts';
import type { GatewayConfig } from '../../gateway/config/index.ts';
import { loadCampus } from '../../gateway/registry/index.ts';
import { createLogger } from '../../shared/logger.ts';

/** How long a stop may take before the process exits anyway (with 1). */
const STOP_GRACE_MS = 10_000;

export async function serveGateway(config: GatewayConfig, campusFile: string): Promise<void> {
  const gateway = createGateway(config, {
    campus: loadCampus(campusFile),
    logger: createLogger({ level: 'silent' }),
  });
  await gateway.start();
  process.stdout.write(
    `${JSON.stringify({ event: 'gateway:ready', ports: gateway.ports, pid: process.pid })}\n`,
  );

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`gateway stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
