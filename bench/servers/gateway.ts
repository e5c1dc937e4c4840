/**
 * The ingest benchmark's measured server: the real gateway (createGateway: device auth, decode/validate,
 * group-committed journal with synchronous=FULL, twin, windows, status API with a bench staff login) on
 * 127.0.0.1 port 0, in its own process. Usage: gateway.ts <campus.yaml> <dataDir>. Prints {"event":"gateway:ready","ports":{...}}
 * and runs until SIGTERM/SIGINT or until its stdin ends (the benchmark process went away).
 */
import { createGateway } from '../../gateway/app.ts';
import { gatewayConfigFrom } from '../../gateway/config/index.ts';
import { loadCampus } from '../../gateway/registry/index.ts';
import { createLogger } from '../../shared/logger.ts';
import { benchStaffConfig } from '../lib/status.ts';

const [campusFile, dataDir] = process.argv.slice(2);
if (!campusFile || !dataDir) {
  process.stderr.write('usage: gateway.ts <campus.yaml> <dataDir>\n');
  process.exit(2);
}
const config = gatewayConfigFrom({
  gatewayId: 'gw-bench',
  dataDir,
  mqtt: { host: '127.0.0.1', port: 0 },
  http: { host: '127.0.0.1', port: 0, staff: await benchStaffConfig() },
  journal: { synchronous: 'FULL' },
  log: { level: 'silent' },
});
const gateway = createGateway(config, {
  campus: loadCampus(campusFile),
  logger: createLogger({ level: 'silent' }),
});
await gateway.start();
process.stdout.write(
  `${JSON.stringify({ event: 'gateway:ready', ports: gateway.ports, pid: process.pid })}\n`,
);

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 10_000).unref();
  gateway.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`gateway stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
