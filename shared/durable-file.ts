/**
 * Small state files written so that a power cut leaves either the old file or the new one, never an
 * empty or torn one: the bytes go to a temp file beside it, which is fsynced, renamed over the target, and
 * then the directory is fsynced so the rename itself is on disk. Reading tells a damaged file (empty,
 * truncated, not JSON) apart from a missing one, so the caller can move it aside and rebuild.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CampusTwinError } from './errors.ts';

/** Writes `data` to `file` atomically and durably (temp file, fsync, rename, fsync of the directory). */
export function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  syncDir(dirname(file));
}

/** fsync a file that is already written (a copy, a backup). */
export function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory, so that renames and new entries in it are on disk (where the filesystem allows). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A state file that exists but cannot be read as what it should be. */
export class DamagedFileError extends CampusTwinError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super('CT_ERR_STATE_DAMAGED', `${file}: ${reason}`);
    this.name = 'DamagedFileError';
  }
}

/** The file's JSON, or null when it does not exist; a damaged file throws DamagedFileError. */
export function readJsonFile<T>(file: string, check?: (v: unknown) => v is T): T | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (text.trim() === '') throw new DamagedFileError(file, 'empty (a write cut short?)');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DamagedFileError(file, `not JSON (${(err as Error).message})`);
  }
  if (check && !check(value)) throw new DamagedFileError(file, 'not the expected shape');
  return value as T;
}

/** A lowdb adapter over readJsonFile / writeFileDurable. */
export class DurableJsonFile<T> {
  readonly file: string;
  readonly #check: ((v: unknown) => v is T) | undefined;
  constructor(file: string, check?: (v: unknown) => v is T) {
    this.file = file;
    this.#check = check;
  }
  async read(): Promise<T | null> {
    return readJsonFile(this.file, this.#check);
  }
  async write(data: T): Promise<void> {
    writeFileDurable(this.file, JSON.stringify(data));
  }
}
