/**
 * `campus-twin cloud`: loads config/cloud.yaml (+ env, + flags), runs createCloud until SIGINT/SIGTERM,
 * then closes the subscription and the store. Prints one JSON ready line on stdout for supervisors and
 * tests, and a banner for people on stderr.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKUP_CLI_OPTIONS } from '../shared/backup.ts';
import { untilSignal } from '../shared/cli/signals.ts';

const HELP = `Usage: campus-twin cloud [options]
       campus-twin cloud token [--scopes reports:read,admin] [--subject NAME] [--ttl SECONDS]
       campus-twin cloud import FILE.jsonl[.gz]   (history of learning/admin events and courses)
       campus-twin cloud train-risk --cutoff-day 28   (dropout model on real outcomes)
       campus-twin cloud backup --out FILE   (the store, consistent, while the cloud runs)
       campus-twin cloud restore --from FILE   (into a store path that does not exist yet)

Runs the cloud service — Event Hubs consumer (exactly-once apply into the store) and the read API —
until SIGINT or SIGTERM.

Options:
  -c, --config FILE             cloud settings (default: config/cloud.yaml)
      --data-dir DIR            store the database at DIR/cloud.db (default: ./data/cloud)
      --store URL               use PostgreSQL at postgres://user:password@host:port/db instead (env
                                CT_STORE__URL; the tables are created or migrated at start)
      --http-port N             API port (0 = any free port; default 8000)
      --connection-string CS    Event Hubs connection string (or CT_EVENT_HUB__CONNECTION_STRING)
      --dev                     development mode: the API is open without a token
      --log-level L             fatal|error|warn|info|debug|trace|silent
  -h, --help                    show this help

Endpoints: GET /healthz, /api/gateways, /api/rooms/{roomId},
  /api/sensors/{deviceId}/{channel}/aggregates?from=&to=, /api/quarantine, /metrics,
  POST/GET /api/snapshots, GET /api/snapshots/{id} (CSV; JSON with Accept: application/json),
  GET /snapshots/{id} (the original design's path)
Every setting can be overridden by CT_ + its key path (CT_API__PORT=0, CT_EVENT_HUB__HUB_NAME=campus-twin).
`;

const TOKEN_HELP = `Usage: campus-twin cloud token [options]

Mints an HS256 JWT for the cloud API, signed with api.jwt.hs256Secret (from the config file or
CT_API__JWT__HS256_SECRET), and prints it on stdout. For development and scripts; production tokens come
from your identity provider (api.jwt.jwksUrl).

Options:
  -c, --config FILE     cloud settings (default: config/cloud.yaml)
      --scopes LIST     comma-separated: reports:read, risk:read, admin (default: reports:read)
      --subject NAME    the token's sub claim (default: dev)
      --ttl SECONDS     lifetime (default: 3600)
  -h, --help            show this help
`;

async function runToken(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      scopes: { type: 'string' },
      subject: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(TOKEN_HELP);
    return 0;
  }
  const { loadCliConfig } = await import('./config/index.ts');
  const { mintDevToken, SCOPES } = await import('./api/auth.ts');
  const config = loadCliConfig(values);
  const { hs256Secret, audience, issuer } = config.api.jwt;
  if (!hs256Secret) {
    process.stderr.write(
      'campus-twin cloud token: api.jwt.hs256Secret is not set (CT_API__JWT__HS256_SECRET)\n',
    );
    return 2;
  }
  const scopes = (values.scopes ?? 'reports:read').split(',').map((x) => x.trim());
  const unknown = scopes.filter((x) => !(SCOPES as readonly string[]).includes(x));
  const ttl = Number(values.ttl ?? 3600);
  if (unknown.length > 0 || !Number.isInteger(ttl) || ttl <= 0) {
    process.stderr.write(
      `campus-twin cloud token: ${unknown.length ? `unknown scope(s) ${unknown.join(', ')} (known: ${SCOPES.join(', ')})` : '--ttl must be a positive whole number of seconds'}\n`,
    );
    return 2;
  }
  const token = await mintDevToken({
    secret: hs256Secret,
    subject: values.subject ?? 'dev',
    scopes: scopes as (typeof SCOPES)[number][],
    audience,
    ...(issuer ? { issuer } : {}),
    expiresInSec: ttl,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

/** The store (--data-dir or the config's store.file) backed up online, or restored where none exists. */
async function backupOrRestore(what: 'backup' | 'restore', argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: BACKUP_CLI_OPTIONS,
  });
  const file = what === 'backup' ? values.out : values.from;
  if (!file) {
    process.stderr.write(
      `usage: campus-twin cloud ${what} ${what === 'backup' ? '--out' : '--from'} FILE [--data-dir DIR]\n`,
    );
    return 2;
  }
  const { loadCliConfig, storeLabel } = await import('./config/index.ts');
  const { backupSqlite } = await import('../shared/backup.ts');
  const config = loadCliConfig(values);
  if (config.store.url) {
    process.stderr.write(
      `the store is ${storeLabel(config)}: back it up with the database's own tools (pg_dump, or the managed server's backups)\n`,
    );
    return 2;
  }
  const store = config.store.file;
  if (what === 'restore' && existsSync(store)) {
    process.stderr.write(`${store} exists: restore only where there is no store yet (move it aside first)\n`);
    return 1;
  }
  if (what === 'restore') mkdirSync(dirname(store), { recursive: true });
  const bytes = what === 'backup' ? await backupSqlite(store, file) : await backupSqlite(file, store);
  process.stdout.write(
    `${what === 'backup' ? `backed up ${store} to ${file}` : `restored ${file} to ${store}`} (${bytes} bytes)\n`,
  );
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'token') return runToken(argv.slice(1));
  if (argv[0] === 'import') return (await import('./history/cli.ts')).runImport(argv.slice(1));
  if (argv[0] === 'train-risk') return (await import('./risk/cli.ts')).runTrainRisk(argv.slice(1));
  if (argv[0] === 'backup' || argv[0] === 'restore') return backupOrRestore(argv[0], argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      'http-port': { type: 'string' },
      'connection-string': { type: 'string' },
      dev: { type: 'boolean' },
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
  if (values.dev) env.CT_DEV = 'true';
  if (values['http-port']) env.CT_API__PORT = values['http-port'];
  if (values['connection-string']) env.CT_EVENT_HUB__CONNECTION_STRING = values['connection-string'];
  if (values['log-level']) env.CT_LOG__LEVEL = values['log-level'];
  const { loadCliConfig, hubNameOf, storeLabel } = await import('./config/index.ts');
  const { createCloud } = await import('./app.ts');
  const { createLogger } = await import('../shared/logger.ts');
  const config = loadCliConfig(values, env);
  // Logs go to stderr: stdout carries only the ready line.
  const logger = createLogger({ level: config.log.level, destination: process.stderr });
  const cloud = createCloud(config, { logger });
  await cloud.start();
  process.stdout.write(
    `${JSON.stringify({ event: 'cloud:ready', port: cloud.port, ports: { http: cloud.port }, consuming: cloud.consuming })}\n`,
  );
  const host = config.api.host === '0.0.0.0' ? 'localhost' : config.api.host;
  process.stderr.write(
    `campus-twin cloud${config.dev ? ' (dev mode: API open without a token)' : ''}\n` +
      `  API          http://${host}:${cloud.port}/api/gateways\n` +
      `  event hub    ${config.eventHub.connectionString ? `${hubNameOf(config)} (${config.eventHub.consumerGroup})` : 'none: not consuming'}\n` +
      `  store        ${storeLabel(config)}\n`,
  );
  await untilSignal();
  await cloud.stop();
  return 0;
}
