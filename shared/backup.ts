/**
 * Online backups of the SQLite files (gateway journal + outbox, cloud store) while their service runs:
 * SQLite's backup API copies a consistent snapshot page by page through a separate read-only connection
 * (WAL lets the writer go on meanwhile), into a temp file that is checked (`PRAGMA integrity_check`),
 * fsynced and renamed into place. Restores only ever go into an empty place, never over live data.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { fsyncFile, syncDir } from './durable-file.ts';
import { CampusTwinError } from './errors.ts';

/** Copy the SQLite database `src` to `dest` (which must not exist) as of one moment; returns its size. */
export async function backupSqlite(src: string, dest: string): Promise<number> {
  if (!existsSync(src)) throw new CampusTwinError('CT_ERR_BACKUP', `${src}: no such database to back up`);
  if (existsSync(dest))
    throw new CampusTwinError('CT_ERR_BACKUP', `${dest} exists: a backup never overwrites`);
  const tmp = `${dest}.partial`;
  rmSync(tmp, { force: true });
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    await db.backup(tmp);
  } finally {
    db.close();
  }
  checkIntegrity(tmp);
  fsyncFile(tmp);
  renameSync(tmp, dest);
  syncDir(dirname(dest));
  return statSync(dest).size;
}

/** Throws CT_ERR_BACKUP unless SQLite finds the file whole. */
export function checkIntegrity(file: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length)
      throw new CampusTwinError('CT_ERR_BACKUP', `${file} is damaged: ${problems.slice(0, 3).join('; ')}`);
  } finally {
    db.close();
  }
}

/** A directory that is absent or empty (a restore target). */
export function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** The options of every `backup`/`restore` command (gateway and cloud), for parseArgs. */
export const BACKUP_CLI_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
} as const;
