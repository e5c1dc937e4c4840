/**
 * Backup and restore of a gateway's data dir, while the gateway runs (backup) or before it starts
 * (restore): the journal and outbox (`gateway.db`, an online SQLite backup), the twin checkpoint
 * (`twin.json`, copied first so that it is never newer than the journal copy: at start the gateway replays
 * what the journal has beyond it), the dev pseudonym key when there is one, and `backup.json` saying what
 * was taken. A restore goes only into an empty data dir, checks the copy first, and keeps the journal's
 * identity, so the restored gateway starts as the same journal.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { backupSqlite, checkIntegrity, isEmptyDir } from '../../shared/backup.ts';
import { fsyncFile, syncDir, writeFileDurable } from '../../shared/durable-file.ts';
import { CampusTwinError } from '../../shared/errors.ts';
import { journaledEventCount } from './event-keys.ts';
import { journalReadingCount } from './rows.ts';
import { OUTBOX_CLASSES, outboxItemCount, readMeta } from './schema.ts';

/** The files of a data dir a backup takes, besides the journal. */
const SMALL_FILES = ['twin.json', 'pseudonym-dev.key'] as const;

export interface BackupManifest {
  kind: 'campus-twin gateway backup';
  createdAt: number;
  journalId: string | null;
  gatewayId: string | null;
  files: { name: string; bytes: number }[];
  /** Counted in the copy: what a restore must bring back. */
  counts: { readings: number; outbox: number; events: number };
}

function countsOf(
  file: string,
): BackupManifest['counts'] & { journalId: string | null; gatewayId: string | null } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const meta = (k: string) => readMeta(db, k) ?? null;
    // A file from before webhook request rows (a backup made by an older gateway, or a data dir it left)
    // is counted the way that gateway counted it, so its manifest still matches.
    return {
      readings: journalReadingCount(db),
      outbox: OUTBOX_CLASSES.reduce((sum, cls) => sum + outboxItemCount(db, cls), 0),
      events: journaledEventCount(db),
      journalId: meta('journal_id'),
      gatewayId: meta('gateway_id'),
    };
  } finally {
    db.close();
  }
}

/** Back up `dataDir` into `outDir` (new or empty). */
export async function backupGateway(
  dataDir: string,
  outDir: string,
  now = Date.now(),
): Promise<BackupManifest> {
  const journal = join(dataDir, 'gateway.db');
  if (!existsSync(journal))
    throw new CampusTwinError('CT_ERR_BACKUP', `${journal}: no journal to back up (is --data-dir right?)`);
  if (!isEmptyDir(outDir))
    throw new CampusTwinError('CT_ERR_BACKUP', `${outDir} is not empty: a backup goes into a new directory`);
  mkdirSync(outDir, { recursive: true });
  const files: BackupManifest['files'] = [];
  // The small files first: never newer than the journal copy.
  for (const name of SMALL_FILES) {
    const from = join(dataDir, name);
    if (!existsSync(from)) continue;
    copyFileSync(from, join(outDir, name));
    fsyncFile(join(outDir, name));
    files.push({ name, bytes: statSync(join(outDir, name)).size });
  }
  files.unshift({ name: 'gateway.db', bytes: await backupSqlite(journal, join(outDir, 'gateway.db')) });
  const { journalId, gatewayId, ...counts } = countsOf(join(outDir, 'gateway.db'));
  const manifest: BackupManifest = {
    kind: 'campus-twin gateway backup',
    createdAt: now,
    journalId,
    gatewayId,
    files,
    counts,
  };
  writeFileDurable(join(outDir, 'backup.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Restore a backup made by backupGateway into `dataDir` (new or empty); the gateway is not running. */
export function restoreGateway(backupDir: string, dataDir: string): BackupManifest {
  const manifestFile = join(backupDir, 'backup.json');
  if (!existsSync(manifestFile))
    throw new CampusTwinError('CT_ERR_BACKUP', `${manifestFile} is missing: not a gateway backup`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
  if (manifest.kind !== 'campus-twin gateway backup')
    throw new CampusTwinError('CT_ERR_BACKUP', `${manifestFile}: not a gateway backup`);
  if (!isEmptyDir(dataDir))
    throw new CampusTwinError(
      'CT_ERR_BACKUP',
      `${dataDir} is not empty: restore into a new or empty data dir (move the old one aside first)`,
    );
  const journal = join(backupDir, 'gateway.db');
  checkIntegrity(journal);
  const { journalId, gatewayId: _gatewayId, ...counts } = countsOf(journal);
  if (journalId !== manifest.journalId || JSON.stringify(counts) !== JSON.stringify(manifest.counts))
    throw new CampusTwinError('CT_ERR_BACKUP', `${journal} does not match ${manifestFile}`);
  mkdirSync(dataDir, { recursive: true });
  for (const { name } of manifest.files) {
    copyFileSync(join(backupDir, name), join(dataDir, name));
    fsyncFile(join(dataDir, name));
  }
  syncDir(dataDir);
  return manifest;
}
