/** Start a real gateway in this process on port 0 with its data in a fresh temp directory. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createGateway, type Gateway } from '../../gateway/app.ts';
import { gatewayConfigFrom } from '../../gateway/config/index.ts';
import { hashPassword } from '../../gateway/registry/index.ts';
import type { Campus } from '../../shared/campus.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { testCampus, testCampusData } from './campus.ts';

export const STAFF = { username: 'facilities', password: 'staff-pw' };
export const STAFF_AUTH = `Basic ${Buffer.from(`${STAFF.username}:${STAFF.password}`).toString('base64')}`;
let staffHash: Promise<string> | undefined;
export function staffEntry(): Promise<{ username: string; passwordHash: string }> {
  staffHash ??= hashPassword(STAFF.password, 1024, 8, 1);
  return staffHash.then((passwordHash) => ({ username: STAFF.username, passwordHash }));
}

export interface TestGateway {
  gw: Gateway;
  mqttUrl: string;
  httpUrl: string;
  dataDir: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export function tempDir(prefix = 'ct-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Twin config for tests: every day and hour is a usual one (one occupancy prior at any time). */
export const ALWAYS_USUAL = { usualDays: [0, 1, 2, 3, 4, 5, 6], usualHours: '00:00-24:00' };

export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  opts: {
    campus?: Campus;
    dataDir?: string;
    now?: () => number;
    logger?: Logger;
    acceptNewJournal?: boolean;
  } = {},
): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = gatewayConfigFrom({
    gatewayId: 'gw-test',
    dataDir,
    mqtt: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0, staff: [await staffEntry()] },
    log: { level: 'silent' },
    // Every hour a usual one, so the occupancy prior does not depend on when the tests run.
    twin: ALWAYS_USUAL,
    ...overrides,
  });
  const campus = opts.campus ?? (await testCampus());
  const gw = createGateway(config, {
    campus,
    logger: opts.logger ?? createLogger({ level: 'silent' }),
    ...(opts.acceptNewJournal ? { acceptNewJournal: true } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  await gw.start();
  return {
    gw,
    dataDir,
    mqttUrl: `mqtt://127.0.0.1:${gw.ports.mqtt}`,
    httpUrl: `http://127.0.0.1:${gw.ports.http}`,
    async stop({ keepData = false } = {}) {
      await gw.stop();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: STAFF_AUTH } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Poll `fn` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * Files for running the real CLI (`campus-twin gateway --config <file>`) in a child process: the test
 * campus and a gateway config on port 0 with its data under `dir/data`; `settings` are merged on top.
 */
export async function writeCliGatewayConfig(dir: string, settings: Record<string, unknown>): Promise<string> {
  const campusFile = join(dir, 'campus.yaml');
  writeFileSync(campusFile, stringify(await testCampusData()));
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(
    configFile,
    stringify({
      dataDir: join(dir, 'data'),
      campusFile,
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0, staff: [await staffEntry()] },
      log: { level: 'warn' },
      ...settings,
    }),
  );
  return configFile;
}
