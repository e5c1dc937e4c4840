/**
 * `campus-twin hub`: a local Event Hubs-compatible AMQP 1.0 endpoint that the real @azure/event-hubs SDK
 * talks to (connection string with UseDevelopmentEmulator=true). Events are durable in one SQLite file
 * under dataDir before a send is settled, and are kept for the configured retention.
 */
import { join } from 'node:path';
import { createLogger, type Logger } from '../../shared/logger.ts';
import type { HubConfig } from './config.ts';
import { HubServer } from './server.ts';
import { HubStore } from './store.ts';

export { DEV_KEY, type HubConfig, hubConfigFrom, loadHubConfig } from './config.ts';
export { partitionForKey } from './partitions.ts';

export interface HubDeps {
  logger?: Logger;
  now?: () => number;
}

export interface Hub {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound port once started (useful with port 0). */
  readonly port: number;
  /**
   * `Endpoint=sb://host:port;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true` with the
   * first configured key; with `hubName`, `EntityPath=<hub>` too.
   */
  connectionString(hubName?: string): string;
}

export function createHub(config: HubConfig, deps: HubDeps = {}): Hub {
  const logger = (deps.logger ?? createLogger({ level: config.log.level })).child({ component: 'hub' });
  const now = deps.now ?? Date.now;
  let store: HubStore | undefined;
  let server: HubServer | undefined;
  let retention: NodeJS.Timeout | undefined;

  const runRetention = () => {
    if (!store) return;
    try {
      const deleted = store.retain(now(), config.retention.maxAgeMs, config.retention.maxBytesPerPartition);
      if (deleted) logger.info({ deleted }, 'retention deleted events');
    } catch (err) {
      logger.error({ err }, 'retention failed');
    }
  };

  return {
    get port() {
      return server?.port ?? 0;
    },
    async start() {
      if (server) throw new Error('hub already started');
      store = new HubStore(join(config.dataDir, 'hub.db'), {
        hubs: config.hubs,
        partitions: config.partitions,
        synchronous: config.synchronous,
        now,
      });
      runRetention();
      server = new HubServer({ config, store, logger, now });
      try {
        await server.start();
      } catch (err) {
        store.close();
        store = undefined;
        server = undefined;
        throw err;
      }
      retention = setInterval(runRetention, config.retention.intervalMs);
      retention.unref();
      logger.info({ port: server.port, hubs: config.hubs, partitions: config.partitions }, 'hub listening');
    },
    async stop() {
      if (retention) clearInterval(retention);
      retention = undefined;
      await server?.stop();
      store?.close();
      server = undefined;
      store = undefined;
    },
    connectionString(hubName?: string) {
      const key = config.keys[0]!;
      const host = `${config.publicHost}:${server?.port ?? config.port}`;
      // Namespace-level without a hub name (pass the hub to the SDK client); with one, EntityPath is set.
      return (
        `Endpoint=sb://${host};SharedAccessKeyName=${key.name};SharedAccessKey=${key.key};` +
        `${hubName ? `EntityPath=${hubName};` : ''}UseDevelopmentEmulator=true`
      );
    },
  };
}
