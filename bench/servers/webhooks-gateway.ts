/**
 * The webhooks benchmark's measured server: the real gateway (createGateway) with the Caliper webhook
 * enabled (HMAC, synchronous=FULL journal, pseudonymised events into the outbox) on 127.0.0.1 port 0, in
 * its own process. Usage: webhooks-gateway.ts <dataDir> <hookSecret>. Prints {"event":"gateway:ready",…}
 * and runs until SIGTERM/SIGINT or until its stdin ends.
 */
import { gatewayConfigFrom } from '../../gateway/config/index.ts';
import { serveGateway } from '../lib/gateway-server.ts';

const [dataDir, hookSecret] = process.argv.slice(2);
if (!dataDir || !hookSecret) {
  process.stderr.write('usage: webhooks-gateway.ts <dataDir> <hookSecret>\n');
  process.exit(2);
}
const config = gatewayConfigFrom({
  gatewayId: 'gw-bench-webhooks',
  dataDir,
  mqtt: { host: '127.0.0.1', port: 0 },
  http: { host: '127.0.0.1', port: 0 },
  journal: { synchronous: 'FULL' },
  log: { level: 'silent' },
  webhooks: {
    sources: {
      caliper: {
        enabled: true,
        auth: 'hmac',
        secret: hookSecret,
        maxBodyBytes: 4 * 1024 * 1024,
        rateLimit: { requestsPerSec: 1_000_000, burst: 1_000_000 },
      },
    },
    pseudonym: { secret: 'bench-campus-secret-0123456789' },
  },
});
await serveGateway(config, 'config/campus.yaml');
