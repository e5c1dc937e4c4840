/**
 * `campus-twin gateway check`: the data directory verified offline, without starting anything — the
 * journal opens read-only and passes SQLite's integrity check, carries its identity, and is the journal
 * `twin.json` records; what it holds (journal rows, outbox backlog, pending late windows). Returns lines to
 * print and whether all is well.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadCheckpoint, recordedJournal } from '../pipeline/twins.ts';
import { journalReadingCount } from './rows.ts';
import { OUTBOX_CLASSES, outboxItemCount } from './schema.ts';

export interface CheckResult {
  ok: boolean;
  lines: string[];
}

export function checkDataDir(dataDir: string, gatewayId?: string): CheckResult {
  const lines: string[] = [];
  let ok = true;
  const bad = (line: string) => {
    ok = false;
    lines.push(`FAIL  ${line}`);
  };
  const good = (line: string) => lines.push(`ok    ${line}`);
  const dbFile = join(dataDir, 'gateway.db');
  const twinFile = join(dataDir, 'twin.json');

  const loaded = loadCheckpoint(twinFile);
  const recorded = recordedJournal(loaded);
  if ('damaged' in loaded)
    bad(`${twinFile}: ${loaded.damaged} (the gateway moves it aside and rebuilds the twin at start)`);
  else if (!loaded.data) lines.push(`-     ${twinFile}: none (written at the first checkpoint)`);
  else if (recorded) good(`${twinFile}: records journal ${recorded.journalId}`);
  else lines.push(`-     ${twinFile}: no journal recorded (made before journal identities)`);

  if (!existsSync(dbFile) || statSync(dbFile).size === 0) {
    const what = existsSync(dbFile) ? 'empty' : 'missing';
    if (recorded) bad(`${dbFile}: ${what}, but ${twinFile} records journal ${recorded.journalId}`);
    else lines.push(`-     ${dbFile}: ${what} (a new journal is created at start)`);
    return { ok, lines };
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(dbFile, { readonly: true, fileMustExist: true });
    const integrity = db.pragma('quick_check', { simple: true });
    if (integrity !== 'ok') bad(`${dbFile}: integrity check says ${String(integrity)}`);
    else good(`${dbFile}: integrity ok (${(statSync(dbFile).size / 1048576).toFixed(1)} MiB)`);
    const meta = new Map(
      (db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [
        r.key,
        r.value,
      ]),
    );
    const journalId = meta.get('journal_id');
    if (!journalId) lines.push(`-     ${dbFile}: no identity yet (written at the next start)`);
    else {
      good(
        `${dbFile}: journal ${journalId} of gateway ${meta.get('gateway_id')}, created ${new Date(Number(meta.get('created_at'))).toISOString()}`,
      );
      if (gatewayId && meta.get('gateway_id') !== gatewayId)
        bad(`${dbFile}: belongs to gateway ${meta.get('gateway_id')}, the config says ${gatewayId}`);
      if (recorded && recorded.journalId !== journalId)
        bad(`${dbFile}: is journal ${journalId}, but ${twinFile} records ${recorded.journalId}`);
    }
    const n = (sql: string) => (db!.prepare(sql).get() as { n: number }).n;
    const backlog = OUTBOX_CLASSES.map((c) => `${c} ${outboxItemCount(db!, c)}`).join(', ');
    good(
      `journal rows ${journalReadingCount(db!)}; outbox ${backlog}; ` +
        `late windows pending ${n('SELECT count(*) AS n FROM late_windows')}`,
    );
  } catch (err) {
    bad(`${dbFile}: cannot be read (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    db?.close();
  }
  return { ok, lines };
}
