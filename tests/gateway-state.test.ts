/**
 * A gateway that survives damage to its own state (issue "A gateway that survives its box", item 3): a
 * damaged twin.json is moved aside, reported and the twin rebuilt from the journal; an emptied, swapped or
 * malformed journal refuses start with a message naming the file and what to do, unless `--new-journal`
 * says to start afresh; `campus-twin gateway check` says the same offline.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { CampusTwinError } from '../shared/errors.ts';
import { testPassword } from './helpers/campus.ts';
import { getJson, startTestGateway, type TestGateway, tempDir } from './helpers/gateway.ts';
import { CLI, REPO_ROOT } from './helpers/process.ts';

const run = promisify(execFile);
const dirs: string[] = [];
const running: TestGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop({ keepData: true });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, opts: { acceptNewJournal?: boolean; gatewayId?: string } = {}) {
  const gw = await startTestGateway(opts.gatewayId ? { gatewayId: opts.gatewayId } : {}, {
    dataDir,
    ...(opts.acceptNewJournal ? { acceptNewJournal: true } : {}),
  });
  running.push(gw);
  return gw;
}

async function stop(gw: TestGateway) {
  running.splice(running.indexOf(gw), 1);
  await gw.stop({ keepData: true });
}

/** A gateway that journaled a CO2 reading for r-101 and checkpointed on stop. */
async function usedDataDir(): Promise<string> {
  const dir = tempDir('ct-state-');
  dirs.push(dir);
  const gw = await start(dir);
  const client = await mqtt.connectAsync(gw.mqttUrl, {
    clientId: 'env-1-state',
    username: 'env-1',
    password: testPassword('env-1'),
    reconnectPeriod: 0,
  });
  await client.publishAsync('devices/env-1/telemetry', JSON.stringify({ readings: { co2: 1234 } }), {
    qos: 1,
  });
  await client.endAsync();
  await stop(gw);
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<CampusTwinError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CampusTwinError) return err;
    throw err;
  }
  throw new Error('expected the start to be refused');
}

async function check(dataDir: string) {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'gateway', 'check', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env: { ...process.env, CT_GATEWAY_ID: 'gw-test' },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('gateway state that heals or refuses', () => {
  it('writes twin.json whole (no temp files left) recording its journal', async () => {
    const dir = await usedDataDir();
    const twin = JSON.parse(readFileSync(join(dir, 'twin.json'), 'utf8')) as {
      journal: { journalId: string };
    };
    expect(twin.journal.journalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const ok = await check(dir);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(`records journal ${twin.journal.journalId}`);
    expect(ok.stdout).toMatch(/integrity ok/);
  });

  it('moves a damaged twin.json aside, reports it and rebuilds the twin from the journal', async () => {
    const dir = await usedDataDir();
    writeFileSync(join(dir, 'twin.json'), '{"savedAt": 17, "rooms": {"r-1'); // torn by a power cut
    const offline = await check(dir);
    expect(offline.code).toBe(1);
    expect(offline.stdout).toMatch(/FAIL .*twin\.json: not JSON .*moves it aside/);
    const gw = await start(dir);
    const status = await getJson<{ conditions: { code: string; severity: string; message: string }[] }>(
      `${gw.httpUrl}/api/status`,
    );
    expect(status.conditions).toEqual([
      expect.objectContaining({ code: 'CT_ERR_STATE_DAMAGED', severity: 'warning' }),
    ]);
    expect(status.conditions[0]!.message).toMatch(
      /twin\.json was not JSON .*moved to .*twin\.json\.damaged-/,
    );
    expect(readdirSync(dir).some((f) => f.startsWith('twin.json.damaged-'))).toBe(true);
    const room = await getJson<{ latest: { co2?: { value: number } } }>(`${gw.httpUrl}/api/rooms/r-101`);
    expect(room.latest.co2?.value).toBe(1234);
    // A warning, not an outage.
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });

  it('refuses an emptied journal, naming the file and the way on, unless told to start a new one', async () => {
    const dir = await usedDataDir();
    const db = join(dir, 'gateway.db');
    truncateSync(db, 0);
    for (const f of ['gateway.db-wal', 'gateway.db-shm']) rmSync(join(dir, f), { force: true });
    const err = await refusal(start(dir));
    expect(err.code).toBe('CT_ERR_JOURNAL_IDENTITY');
    expect(err.message).toContain(`${db} is empty, but ${join(dir, 'twin.json')} records journal`);
    expect(err.message).toMatch(/restore .*from a backup.*--new-journal/);
    const offline = await check(dir);
    expect(offline.code).toBe(1);
    expect(offline.stdout).toMatch(/FAIL .*gateway\.db: empty, but .*twin\.json records journal/);
    // Told to: a new journal, the old twin state kept aside.
    const gw = await start(dir, { acceptNewJournal: true });
    expect(readdirSync(dir).some((f) => f.startsWith('twin.json.previous-journal-'))).toBe(true);
    const status = await getJson<{ journal: { identity: { journalId: string } } }>(
      `${gw.httpUrl}/api/status`,
    );
    await stop(gw);
    const twin = JSON.parse(readFileSync(join(dir, 'twin.json'), 'utf8')) as {
      journal: { journalId: string };
    };
    expect(twin.journal.journalId).toBe(status.journal.identity.journalId);
    // …and from then on it is this gateway's journal.
    await stop(await start(dir));
  });

  it("refuses another gateway's journal and a swapped one", async () => {
    const mine = await usedDataDir();
    const other = tempDir('ct-state-other-');
    dirs.push(other);
    await stop(await start(other, { gatewayId: 'gw-elsewhere' }));
    // Another gateway's journal under this gateway's id.
    const foreign = await refusal(start(other));
    expect(foreign.message).toMatch(/is the journal of gateway gw-elsewhere, not of gw-test/);
    // This gateway's twin.json with some other journal of the same gateway id.
    const swapped = tempDir('ct-state-swapped-');
    dirs.push(swapped);
    await stop(await start(swapped));
    copyFileSync(join(swapped, 'gateway.db'), join(mine, 'gateway.db'));
    for (const f of ['gateway.db-wal', 'gateway.db-shm']) rmSync(join(mine, f), { force: true });
    const err = await refusal(start(mine));
    expect(err.message).toMatch(/records journal .*: the journal was swapped or recreated/);
  });

  it('refuses a malformed journal with the file and a next step', async () => {
    const dir = await usedDataDir();
    const db = join(dir, 'gateway.db');
    writeFileSync(db, Buffer.alloc(8192, 0x5a)); // not a database at all
    for (const f of ['gateway.db-wal', 'gateway.db-shm']) rmSync(join(dir, f), { force: true });
    const err = await refusal(start(dir));
    expect(err.code).toBe('CT_ERR_JOURNAL_IDENTITY');
    expect(err.message).toMatch(new RegExp(`${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be read`));
    expect(err.message).toMatch(/campus-twin gateway check/);
    expect(existsSync(db)).toBe(true); // left as it was, for the backup or the check
  });
});

describe('health that tells the truth', () => {
  it('answers /healthz 503 with the reason while the journal cannot write, and 200 again once it can', async () => {
    const dir = tempDir('ct-state-full-');
    dirs.push(dir);
    const gw = await start(dir);
    const db = gw.gw.pipeline.store.db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const client = await mqtt.connectAsync(gw.mqttUrl, {
      clientId: 'env-1-full',
      username: 'env-1',
      password: testPassword('env-1'),
      reconnectPeriod: 0,
    });
    client.on('error', () => {});
    // Publish until the journal refuses: the gateway closes the connection without a PUBACK.
    const base = Date.now() - 60_000;
    let refused = false;
    for (let i = 0; i < 2000 && !refused; i++) {
      const readings = { co2: 400 + i, temperature: 20, humidity: 40, light: 100 };
      const acked = await Promise.race([
        client
          .publishAsync('devices/env-1/telemetry', JSON.stringify({ ts: base + i, readings }), { qos: 1 })
          .then(
            () => true,
            () => false,
          ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
      ]);
      if (!acked || !client.connected) refused = true;
    }
    expect(refused).toBe(true);
    client.end(true);
    const sick = await fetch(`${gw.httpUrl}/healthz`);
    expect(sick.status).toBe(503);
    const body = (await sick.json()) as { conditions: { code: string; message: string }[] };
    expect(body.conditions[0]).toMatchObject({ code: 'CT_ERR_JOURNAL_UNAVAILABLE' });
    expect(body.conditions[0]!.message).toMatch(/database or disk is full/);
    // Room again: the next acknowledged write clears it, without a restart.
    db.pragma('max_page_count = 1073741823');
    const again = await mqtt.connectAsync(gw.mqttUrl, {
      clientId: 'env-1-again',
      username: 'env-1',
      password: testPassword('env-1'),
      reconnectPeriod: 0,
    });
    await again.publishAsync('devices/env-1/telemetry', JSON.stringify({ readings: { co2: 999 } }), {
      qos: 1,
    });
    await again.endAsync();
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });
});
