/**
 * The life of a benchmark's gateway server process (bench/servers/gateway.ts, webhooks-gateway.ts): start
 * the real gateway with a silent logger, print {"event":"gateway:ready","ports":{…},"pid":N} for
 * spawnUntilReady, and stop it on SIGTERM/SIGINT or when stdin ends (the benchmark process went away).
 */
import { createGateway } from '../../gateway/app.ts';
import type { GatewayConfig } from '../../gateway/config/index.ts';
import { loadCampus } from '../../gateway/registry/index.ts';
import { createLogger } from '../../shared/logger.ts';
import { stopOnSignalOrStdinEnd } from './serve.ts';

export async function serveGateway(config: GatewayConfig, campusFile: string): Promise<void> {
  const gateway = createGateway(config, {
    campus: loadCampus(campusFile),
    logger: createLogger({ level: 'silent' }),
  });
  await gateway.start();
  process.stdout.write(
    `${JSON.stringify({ event: 'gateway:ready', ports: gateway.ports, pid: process.pid })}\n`,
  );

  stopOnSignalOrStdinEnd('gateway', () => gateway.stop());
}
