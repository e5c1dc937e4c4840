/**
 * The consumer's identity in partition ownership. A random id per start makes a restarted cloud wait out
 * its own dead predecessor's ownership (60 s by default) before it may read again. Instead each process
 * takes the first free slot `<host>-<n>` next to its store file (a pid file per slot; a slot whose pid is
 * gone is free again), so a cloud restarted after a crash comes back as the same owner and carries on at
 * once, while two live processes on one store still get distinct ids. `eventHub.consumerId` overrides it.
 */
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface ConsumerIdentity {
  id: string;
  /** Gives the slot back (on a clean stop). */
  release(): void;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function claimConsumerId(
  storeFile: string,
  opts: { host?: string; pid?: number; isAlive?: (pid: number) => boolean; maxSlots?: number } = {},
): ConsumerIdentity {
  const host = (opts.host ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_') || 'cloud';
  const pid = opts.pid ?? process.pid;
  const isAlive = opts.isAlive ?? alive;
  // Beside the store file, whether or not the store made it (a PostgreSQL store makes no file).
  mkdirSync(dirname(storeFile), { recursive: true });
  for (let n = 0; n < (opts.maxSlots ?? 64); n++) {
    const file = `${storeFile}.consumer-${n}.pid`;
    if (!takeSlot(file, pid, isAlive)) continue;
    return {
      id: `${host}-${n}`,
      release: () => {
        try {
          if (Number(readFileSync(file, 'utf8').trim()) === pid) unlinkSync(file);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new Error(`no free consumer slot next to ${storeFile} (64 live processes?)`);
}

/**
 * Whether `pid` now holds the slot `file`. The pid file appears whole or not at all (written aside, then
 * hard-linked into place), so a process starting at the same moment never reads it empty and takes it for
 * a dead one's. A dead holder's slot is taken over under a lock directory, so of two processes restarting
 * at once only one gets it; the other goes on to the next slot.
 */
function takeSlot(file: string, pid: number, isAlive: (pid: number) => boolean): boolean {
  const tmp = `${file}.${pid}.tmp`;
  writeFileSync(tmp, String(pid));
  try {
    try {
      linkSync(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = () => Number(readFileSync(file, 'utf8').trim());
    const current = holder();
    if (current === pid) return true;
    if (isAlive(current)) return false;
    const lock = `${file}.lock`;
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false; // another process is taking it
      throw err;
    }
    try {
      // Left behind by a process that is gone (a crash): the slot, and its partitions, are ours, unless
      // another process took it over before we held the lock.
      const now = holder();
      if (now !== pid && isAlive(now)) return false;
      renameSync(tmp, file);
      return true;
    } finally {
      rmdirSync(lock);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}
