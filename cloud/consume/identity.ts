/**
 * The consumer's identity in partition ownership. A random id per start makes a restarted cloud wait out
 * its own dead predecessor's ownership (60 s by default) before it may read again. Instead each process
 * takes the first free slot `<host>-<n>` next to its store file (a pid file per slot; a slot whose pid is
 * gone is free again), so a cloud restarted after a crash comes back as the same owner and carries on at
 * once, while two live processes on one store still get distinct ids. `eventHub.consumerId` overrides it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
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
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(pid));
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder !== pid && isAlive(holder)) continue;
      // Left behind by a process that is gone (a crash): the slot, and its partitions, are ours.
      writeFileSync(file, String(pid));
    }
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
