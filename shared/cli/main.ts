/**
 * `campus-twin <command>`: the only place that reads argv, env and signals. Each command builds its app
 * from validated config and runs it until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { BACKUP_CLI_OPTIONS } from '../backup.ts';
import { ConfigError } from '../config.ts';
import { CampusTwinError } from '../errors.ts';
import { redactSecretsInText } from '../logger.ts';
import { untilSignal } from './signals.ts';

const HELP = `campus-twin — edge gateway and cloud service for a live digital twin of a campus

Usage: campus-twin <command> [options]

Commands:
  gateway         run the edge gateway (MQTT broker, journal, room twin, aggregates, status API)
  dev             hub + gateway + cloud + simulated campus in one process (what npm start runs)
  simulate        simulated MQTT sensors for the rooms of a campus registry
  replay          readings from a CSV or JSONL file through a gateway's MQTT ingest, with progress
  hub             local Event Hubs-compatible AMQP endpoint (the real @azure/event-hubs SDK connects to it)
  cloud           cloud service: exactly-once Event Hubs consumer, store and read API
  hash-password   print the scrypt hash of a device password for config/campus.yaml
  modbus          Modbus commissioning: "modbus probe" reads a device once and decodes it every way
  help            show this help, or "campus-twin <command> --help"

Every setting in config/gateway.yaml can be overridden by an environment variable:
CT_ + the key path in upper snake case, "__" between levels (CT_MQTT__PORT=0, CT_JOURNAL__RETENTION_MS=3600000).
`;

const GATEWAY_HELP = `Usage: campus-twin gateway [options]

Runs the edge gateway until SIGINT or SIGTERM.

Options:
  -c, --config FILE     gateway settings (default: config/gateway.yaml)
      --campus FILE     campus registry: buildings, rooms, devices (default: the config's campusFile)
      --data-dir DIR    where the journal, outbox and twin checkpoint live (default: ./data/gateway)
      --dev             development mode: anonymous MQTT devices allowed (the status page says so)
      --mqtt-port N     MQTT TCP port (0 = any free port; default 1883)
      --http-port N     status API / metrics port (0 = any free port; default 8080)
      --log-level L     fatal|error|warn|info|debug|trace|silent
      --new-journal     start a new journal although twin.json records another (after a lost or
                        damaged gateway.db that cannot be restored; the twin is rebuilt)
  -h, --help            show this help

Offline: campus-twin gateway check [--data-dir DIR] verifies the data dir (journal integrity and
identity, twin.json) without starting anything.
Backup: campus-twin gateway backup --out DIR [--data-dir DIR] copies the journal, outbox and twin while the
gateway runs; campus-twin gateway restore --from DIR [--data-dir DIR] puts it into an empty data dir.

Endpoints: GET /healthz, /api/status, /api/rooms, /api/rooms/{roomId}, /api/devices, /api/quarantine, /metrics
MQTT topics: devices/{deviceId}/telemetry (JSON or SenML), devices/{deviceId}/status
Uplink: set uplink.connectionString + uplink.hubName (or CT_UPLINK__CONNECTION_STRING, CT_UPLINK__HUB_NAME)
to forward to Azure Event Hubs or to a local \`campus-twin hub\`; without one the outbox keeps the backlog.
`;

const HASH_HELP = `Usage: campus-twin hash-password [--password P]

Prints scrypt$N$r$p$salt$hash for a device's passwordHash. Without --password, reads the password from stdin.
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `campus-twin gateway check`: the data dir verified offline; exit 1 when something is wrong. */
async function checkGateway(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' } },
  });
  const env = { ...process.env };
  if (values['data-dir']) env.CT_DATA_DIR = values['data-dir'];
  const { loadGatewayConfig } = await import('../../gateway/config/index.ts');
  const { checkDataDir } = await import('../../gateway/journal/check.ts');
  const configFile = values.config ?? (process.env.CT_CONFIG_FILE || 'config/gateway.yaml');
  const config = loadGatewayConfig(configFile, env);
  const result = checkDataDir(config.dataDir, config.gatewayId);
  process.stdout.write(
    `${result.lines.join('\n')}\n${result.ok ? 'data dir ok' : 'data dir has problems'}\n`,
  );
  return result.ok ? 0 : 1;
}

/**
 * `campus-twin gateway backup --out DIR` (while the gateway runs) and `campus-twin gateway restore --from DIR`
 * (into an empty data dir, before it starts); the data dir from --data-dir or the config.
 */
async function backupOrRestore(what: 'backup' | 'restore', argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: BACKUP_CLI_OPTIONS,
  });
  const env = { ...process.env };
  if (values['data-dir']) env.CT_DATA_DIR = values['data-dir'];
  const { loadGatewayConfig } = await import('../../gateway/config/index.ts');
  const { backupGateway, restoreGateway } = await import('../../gateway/journal/backup.ts');
  const config = loadGatewayConfig(
    values.config ?? (process.env.CT_CONFIG_FILE || 'config/gateway.yaml'),
    env,
  );
  const dir = what === 'backup' ? values.out : values.from;
  if (!dir) {
    process.stderr.write(
      `usage: campus-twin gateway ${what} ${what === 'backup' ? '--out' : '--from'} DIR [--data-dir DIR]\n`,
    );
    return 2;
  }
  const m =
    what === 'backup' ? await backupGateway(config.dataDir, dir) : restoreGateway(dir, config.dataDir);
  const c = m.counts;
  process.stdout.write(
    `${what === 'backup' ? `backed up ${config.dataDir} to ${dir}` : `restored ${dir} into ${config.dataDir}`}: ` +
      `journal ${m.journalId}, ${c.readings} readings, ${c.outbox} outbox items, ${c.events} events, ` +
      `files ${m.files.map((f) => f.name).join(', ')}\n`,
  );
  return 0;
}

async function runGateway(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      campus: { type: 'string' },
      'data-dir': { type: 'string' },
      dev: { type: 'boolean' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      'log-level': { type: 'string' },
      'new-journal': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(GATEWAY_HELP);
    return;
  }
  // Flags are the most specific source: they go in as environment overrides, validated like the rest.
  const env = { ...process.env };
  if (values.dev) {
    env.CT_DEV = 'true';
    env.CT_MQTT__ALLOW_ANONYMOUS ??= 'true';
  }
  if (values['data-dir']) env.CT_DATA_DIR = values['data-dir'];
  if (values.campus) env.CT_CAMPUS_FILE = values.campus;
  if (values['mqtt-port']) env.CT_MQTT__PORT = values['mqtt-port'];
  if (values['http-port']) env.CT_HTTP__PORT = values['http-port'];
  if (values['log-level']) env.CT_LOG__LEVEL = values['log-level'];
  const { createGateway } = await import('../../gateway/app.ts');
  const { loadGatewayConfig } = await import('../../gateway/config/index.ts');
  const { loadCampus } = await import('../../gateway/registry/index.ts');
  const { createLogger } = await import('../logger.ts');
  const configFile = values.config ?? (process.env.CT_CONFIG_FILE || 'config/gateway.yaml');
  const config = loadGatewayConfig(configFile, env);
  const logger = createLogger({ level: config.log.level });
  const campus = loadCampus(config.campusFile);
  const gateway = createGateway(config, {
    campus,
    logger,
    env: process.env,
    acceptNewJournal: values['new-journal'] ?? false,
  });
  await gateway.start();
  const { ports } = gateway;
  // One line a supervisor or test can parse.
  process.stdout.write(`${JSON.stringify({ event: 'gateway:ready', ports, gatewayId: config.gatewayId })}\n`);
  const host = config.http.host === '0.0.0.0' ? 'localhost' : config.http.host;
  process.stderr.write(
    `campus-twin gateway ${config.gatewayId}${config.dev ? ` (dev mode${config.mqtt.allowAnonymous ? ': anonymous devices allowed' : ''})` : ''}\n` +
      `  status page  ${config.http.tls.enabled ? 'https' : 'http'}://${host}:${ports.http}/\n  MQTT         mqtt://${host}:${ports.mqtt}` +
      `${ports.mqtts ? `  (TLS ${ports.mqtts})` : ''}${ports.ws ? `  (WebSocket ${ports.ws})` : ''}\n` +
      `  data         ${config.dataDir}\n` +
      `  uplink       ${gateway.uplink ? `Event Hubs ${uplinkTarget(config.uplink.connectionString, config.uplink.hubName)}` : 'not configured (the outbox keeps the backlog; set CT_UPLINK__CONNECTION_STRING)'}\n`,
  );
  await untilSignal();
  await gateway.stop();
}

/** Where the uplink sends, without the key: `sb://host[:port]/hub`. */
function uplinkTarget(connectionString: string, hubName: string): string {
  const endpoint = /Endpoint=([^;]+)/i.exec(connectionString)?.[1]?.replace(/\/$/, '') ?? '(from file)';
  const hub = hubName || /EntityPath=([^;]+)/i.exec(connectionString)?.[1] || '?';
  return `${endpoint}/${hub}`;
}

/**
 * Commands that live with their capability: each module exports `run(argv): Promise<number>` (exit code).
 * Add a command with one line here and one line in HELP.
 */
const COMMANDS: Record<string, () => Promise<{ run: (argv: string[]) => Promise<number> }>> = {
  simulate: () => import('../simulate/cli.ts'),
  dev: () => import('./dev.ts'),
  hub: () => import('../../cloud/hub/cli.ts'),
  cloud: () => import('../../cloud/cli.ts'),
  modbus: () => import('../../gateway/ingest/modbus/cli.ts'),
  replay: () => import('../replay/cli.ts'),
};

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const external = command ? COMMANDS[command] : undefined;
  if (external) return (await external()).run(rest);
  switch (command) {
    case 'gateway':
      if (rest[0] === 'check') return checkGateway(rest.slice(1));
      if (rest[0] === 'backup' || rest[0] === 'restore') return backupOrRestore(rest[0], rest.slice(1));
      await runGateway(rest);
      return 0;
    case 'hash-password': {
      const { values } = parseArgs({
        args: rest,
        options: { password: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help) {
        process.stdout.write(HASH_HELP);
        return 0;
      }
      const password = values.password ?? (await readStdin());
      if (!password) {
        process.stderr.write('empty password\n');
        return 2;
      }
      const { hashPassword } = await import('../../gateway/registry/passwords.ts');
      process.stdout.write(`${await hashPassword(password)}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${HELP}`);
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything the command started is stopped by now, so the process ends by itself. After a hub outage,
    // though, AMQP connections the Event Hubs SDK opened to the hub that came back outlive the clients'
    // close (open sockets with rhea's 30 s heartbeat timer; why, not found): a stopped service must not hang
    // on them, so it gets 2 s of grace.
    setTimeout(() => process.exit(), 2000).unref();
  },
  (err: unknown) => {
    // Connection strings carry keys: never echo one, whatever failed.
    const redact = redactSecretsInText;
    if (err instanceof ConfigError || err instanceof CampusTwinError)
      process.stderr.write(`campus-twin: ${redact(err.message)}\n`);
    else
      process.stderr.write(
        `campus-twin: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`,
      );
    process.exitCode = 1;
  },
);
