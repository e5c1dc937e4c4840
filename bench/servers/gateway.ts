/**
 * The ingest benchmark's measured server: the real gateway (createGateway: device auth, decode/validate,
 * group-committed journal with synchronous=FULL, twin, windows, status API with a bench staff login) on
 * 127.0.0.1 port 0, in its own process. Usage: gateway.ts <campus.yaml> <dataDir>. Prints {"event":"gateway:ready","ports":{...}}
 * and runs until SIGTERM/SIGINT or until its stdin ends (the benchmark process went away).
 */
import { gatewayConfigFrom } from '../../gateway/config/index.ts';
import { serveGateway } from '../lib/gateway-server.ts';
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
await serveGateway(config, campusFile);
