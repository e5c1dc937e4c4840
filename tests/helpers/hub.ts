/**
 * Start a real campus-twin hub (Event Hubs-compatible AMQP server) in this process on port 0, with its
 * data in a fresh temp directory and silent logs. Talk to it with the real @azure/event-hubs SDK:
 *   const hub = await startTestHub();
 *   const producer = new EventHubProducerClient(hub.connectionString, hub.hubName, { retryOptions: FAST_RETRY });
 * Stop it in afterEach/afterAll. `restart()` stops and starts it on the same port and data (persistence).
 */
import { rmSync } from 'node:fs';
import { createHub, type Hub, hubConfigFrom } from '../../cloud/hub/index.ts';
import { createLogger } from '../../shared/logger.ts';
import { tempDir } from './gateway.ts';

export interface TestHubOptions {
  dataDir?: string;
  partitions?: number;
  maxMessageBytes?: number;
  consumerGroups?: string[];
}

export interface TestHub {
  /** Namespace-level: pass `hubName` to the SDK client as the event hub name. */
  connectionString: string;
  hubName: string;
  port: number;
  dataDir: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Stop and start again on the same port and data directory. */
  restart?(): Promise<void>;
}

export const TEST_HUB_NAME = 'campus-twin';

/** Short retries so a failing test fails in seconds, not minutes (the SDK default is minutes). */
export const FAST_RETRY = { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 5000 } as const;

export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = opts.dataDir ?? tempDir('ct-hub-');
  const make = (port: number): Hub =>
    createHub(
      hubConfigFrom({
        host: '127.0.0.1',
        // The connection string names the address the hub listens on (no localhost → ::1 surprises).
        publicHost: '127.0.0.1',
        port,
        dataDir,
        hubs: [TEST_HUB_NAME],
        partitions: opts.partitions ?? 4,
        consumerGroups: opts.consumerGroups ?? [],
        ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
        log: { level: 'silent' },
      }),
      { logger: createLogger({ level: 'silent' }) },
    );
  let hub = make(0);
  await hub.start();
  const port = hub.port;
  let running = true;
  const result: TestHub = {
    connectionString: hub.connectionString(),
    hubName: TEST_HUB_NAME,
    port,
    dataDir,
    async stop({ keepData = false } = {}) {
      if (running) await hub.stop();
      running = false;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      if (running) await hub.stop();
      running = false;
      hub = make(port);
      await hub.start();
      running = true;
    },
  };
  return result;
}

/** Gateway config for a fast uplink to `hub` in tests: 1 s windows, short lingers and backoff. */
export function uplinkConfig(hub: TestHub, extra: Record<string, unknown> = {}) {
  return {
    gatewayId: 'gw-uplink',
    aggregate: { windowMs: 1000, allowedLatenessMs: 200 },
    uplink: {
      connectionString: hub.connectionString,
      hubName: hub.hubName,
      lingerMs: { alert: 0, twin: 100, event: 100, aggregate: 100, raw: 100 },
      backoff: { baseMs: 100, maxMs: 500 },
      sendTimeoutMs: 5000,
      ...extra,
    },
  };
}
