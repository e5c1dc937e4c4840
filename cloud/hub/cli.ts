/**
 * `campus-twin hub`: runs the local Event Hubs-compatible endpoint until SIGINT/SIGTERM. Prints one JSON
 * line on stdout (`{"event":"hub:ready","port":N,"connectionString":"…","hubs":[…]}`) for supervisors and
 * tests, and a human summary on stderr.
 */
import { parseArgs } from 'node:util';
import { untilSignal } from '../../shared/cli/signals.ts';
import { createLogger } from '../../shared/logger.ts';
import { DEV_KEY, loadHubConfig } from './config.ts';
import { createHub } from './index.ts';

const HELP = `Usage: campus-twin hub [options]

Runs a local Event Hubs-compatible AMQP 1.0 endpoint (for development, tests and single-site installs)
until SIGINT or SIGTERM. The real @azure/event-hubs SDK connects with the printed connection string.

Options:
  -c, --config FILE     hub settings (default: config/hub.yaml)
      --port N          AMQP port (0 = any free port; default 5672)
      --data-dir DIR    where events are stored (default: ./data/hub)
      --log-level L     fatal|error|warn|info|debug|trace|silent
  -h, --help            show this help

Every setting can be overridden by an environment variable: CT_HUB_ + the key path in upper snake case,
"__" between levels (CT_HUB_PORT=0, CT_HUB_PARTITIONS=8, CT_HUB_RETENTION__MAX_AGE_MS=3600000,
CT_HUB_KEYS='[{"name":"app","key":"…"}]').
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // Flags are the most specific source: they go in as environment overrides, validated like the rest.
  const env = { ...process.env };
  if (values.port !== undefined) env.CT_HUB_PORT = values.port;
  if (values['data-dir'] !== undefined) env.CT_HUB_DATA_DIR = values['data-dir'];
  if (values['log-level'] !== undefined) env.CT_HUB_LOG__LEVEL = values['log-level'];
  const file = values.config ?? (process.env.CT_HUB_CONFIG_FILE || 'config/hub.yaml');
  const config = loadHubConfig(file, env);
  // Logs go to stderr so stdout carries only the ready line.
  const logger = createLogger({ level: config.log.level, destination: process.stderr });
  const hub = createHub(config, { logger });
  await hub.start();
  const connectionString = hub.connectionString();
  process.stdout.write(
    `${JSON.stringify({ event: 'hub:ready', port: hub.port, connectionString, hubs: config.hubs })}\n`,
  );
  const devKey = config.keys.some((k) => k.key === DEV_KEY.key);
  process.stderr.write(
    `campus-twin hub on port ${hub.port} (hubs: ${config.hubs.join(', ')}; ${config.partitions} partitions)\n` +
      `  connection string  ${connectionString}\n` +
      `  data               ${config.dataDir}\n` +
      (devKey
        ? '  WARNING: using the well-known development key; set keys in config/hub.yaml for real use\n'
        : ''),
  );
  await untilSignal();
  await hub.stop();
  return 0;
}
