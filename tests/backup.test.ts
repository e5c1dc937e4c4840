import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cloud } from '../cloud/app.ts';
import { aggregates, startTestCloud, storeTotals, TestProducer, toRawEvent } from './helpers/cloud.ts';
import { getJson, startTestGateway, type TestGateway, tempDir, waitFor } from './helpers/gateway.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { runCli } from './helpers/process.ts';
import { publishReadings } from './helpers/publish.ts';

function cli(args: string[]) {
  const r = runCli(args);
  return { status: r.status, out: r.stdout, err: r.stderr };
}

interface Status {
  readings: { accepted: Record<string, number> };
  journal: { rows: number; identity: { journalId: string } };
  outbox: { rows: number };
}

describe('backup and restore', () => {
  const dirs: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('backs up a running gateway and restores it into an empty data dir as the same journal', async () => {
    const devices = ['env-1', 'env-2', 'env-3', 'env-4'];
    const t: TestGateway = await startTestGateway();
    cleanups.push(() => t.stop());
    await publishReadings(t.mqttUrl, {
      devices,
      n: 200,
      start: Date.now() - 60_000,
      spacingMs: 100,
      readings: (i) => ({ co2: 400 + i }),
    });
    const before = await getJson<Status>(`${t.httpUrl}/api/status`);
    expect(before.journal.rows).toBe(200);

    // Backup while readings keep arriving.
    const out = join(dir('ct-bk-'), 'backup');
    const during = publishReadings(t.mqttUrl, {
      devices,
      n: 200,
      start: Date.now(),
      spacingMs: 100,
      readings: () => ({ co2: 999 }),
    });
    const backup = cli(['gateway', 'backup', '--data-dir', t.dataDir, '--out', out]);
    await during;
    expect(backup.err).toBe('');
    expect(backup.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'backup.json'), 'utf8')) as {
      journalId: string;
      counts: { readings: number; outbox: number };
      files: { name: string }[];
    };
    expect(manifest.journalId).toBe(before.journal.identity.journalId);
    // twin.json only once the gateway has checkpointed its twin (else the restored one rebuilds it).
    const names = manifest.files.map((f) => f.name);
    expect(names[0]).toBe('gateway.db');
    for (const n of names) expect(['gateway.db', 'twin.json']).toContain(n);
    // A consistent moment: everything from before, and from the second run some prefix (commits are whole).
    expect(manifest.counts.readings).toBeGreaterThanOrEqual(200);
    expect(manifest.counts.readings).toBeLessThanOrEqual(400);
    expect(backup.out).toContain(`${manifest.counts.readings} readings`);
    await t.stop({ keepData: true });

    // Never over a data dir that has data in it.
    const refused = cli(['gateway', 'restore', '--from', out, '--data-dir', t.dataDir]);
    expect(refused.status).toBe(1);
    expect(refused.err).toMatch(/CT_ERR_BACKUP|backup or restore refused: .* is not empty/);

    const restoredDir = join(dir('ct-rs-'), 'data');
    const restore = cli(['gateway', 'restore', '--from', out, '--data-dir', restoredDir]);
    expect(restore.status).toBe(0);
    expect(restore.out).toContain(`restored ${out} into ${restoredDir}`);
    const r = await startTestGateway({}, { dataDir: restoredDir });
    cleanups.push(() => r.stop());
    const after = await getJson<Status>(`${r.httpUrl}/api/status`);
    expect(after.journal.rows).toBe(manifest.counts.readings);
    // Everything queued is still queued; windows that were open at the backup close on start and add theirs.
    expect(after.outbox.rows).toBeGreaterThanOrEqual(manifest.counts.outbox);
    expect(after.journal.identity.journalId).toBe(manifest.journalId);
    const room = await getJson<{ latest: { co2?: { value: number } } }>(`${r.httpUrl}/api/rooms/r-101`);
    expect(room.latest.co2?.value).toBeGreaterThan(0);
    // And the original data dir is untouched by all this.
    expect(existsSync(join(t.dataDir, 'gateway.db'))).toBe(true);
  });

  it('backs up the cloud store while the cloud consumes; a cloud on the restored file has every batch', async () => {
    const hub: TestHub = await startTestHub({ partitions: 2 });
    const base = dir('ct-cbk-');
    const cloud: Cloud = await startTestCloud(hub, base);
    cleanups.push(async () => {
      await cloud.stop();
      await hub.stop();
    });
    const producer = new TestProducer(hub);
    await producer.send(
      Array.from({ length: 10 }, (_, i) =>
        toRawEvent({
          cls: 'aggregate',
          gatewayId: 'gw-b',
          batchId: `b-${i}`,
          items: aggregates(`env-${i}`, 6, 0),
        }),
      ),
    );
    await producer.close();
    await waitFor(async () => (await cloud.store.counts()).items.aggregate === 60, 10_000, 'all batches');
    const backupFile = join(base, 'cloud-backup.db');
    const b = cli(['cloud', 'backup', '--data-dir', base, '--out', backupFile]);
    expect(b.err).toBe('');
    expect(b.status).toBe(0);
    expect(storeTotals(backupFile)).toEqual(storeTotals(join(base, 'cloud.db')));
    expect(storeTotals(backupFile).batches).toBe(10);

    const target = dir('ct-crs-');
    const again = cli(['cloud', 'restore', '--from', backupFile, '--data-dir', base]);
    expect(again.status).toBe(1);
    expect(again.err).toMatch(/exists: restore only where there is no store yet/);
    const rs = cli(['cloud', 'restore', '--from', backupFile, '--data-dir', target]);
    expect(rs.status).toBe(0);
    const hub2 = await startTestHub();
    const restored = await startTestCloud(hub2, target);
    cleanups.push(async () => {
      await restored.stop();
      await hub2.stop();
    });
    expect((await restored.store.counts()).items.aggregate).toBe(60);
  });
});
