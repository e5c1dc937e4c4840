/** Reading another process's resident memory and CPU time from /proc (Linux only, like the gateway's box). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** VmRSS of `pid` in MB (1 MB = 2^20 bytes), or undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** User + system CPU seconds in a /proc `stat` file, or undefined when it cannot be read. */
function statCpuSeconds(file: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/** User + system CPU seconds consumed so far by `pid` (all its threads), or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds so far of each thread of `pid` (thread id → seconds; the main thread's id is `pid`). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (s !== undefined) out.set(Number(tid), s);
  }
  return out;
}

/**
 * What each thread of `pid` used between two `threadCpuSeconds` readings (a thread started in between
 * counts from zero): the main thread, the busiest other thread (in the gateway, the webhook map thread)
 * and all the others together (V8's GC helpers, libuv's pool).
 */
export function threadCpuSplit(
  pid: number,
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): { main: number; busiestOther: number; others: number } {
  let main = 0;
  let busiestOther = 0;
  let others = 0;
  for (const [tid, s] of after) {
    const used = s - (before.get(tid) ?? 0);
    if (tid === pid) main = used;
    else {
      others += used;
      busiestOther = Math.max(busiestOther, used);
    }
  }
  return { main, busiestOther, others: others - busiestOther };
}

export interface RssBreakdown {
  /** VmRSS = anon + file + shmem, in MB. */
  rssMb: number;
  /** Heap, stacks, malloc arenas: what the process allocated. */
  anonMb: number;
  /** Mapped files: the node binary, shared libraries, native addons. */
  fileMb: number;
  /** Shared memory, e.g. SQLite's WAL index (-shm). */
  shmemMb: number;
}

/** VmRSS and its parts (RssAnon, RssFile, RssShmem) of `pid` in MB, or undefined when it is gone. */
export function rssBreakdown(pid: number): RssBreakdown | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    rssMb: kb('VmRSS') / 1024,
    anonMb: kb('RssAnon') / 1024,
    fileMb: kb('RssFile') / 1024,
    shmemMb: kb('RssShmem') / 1024,
  };
}

/** CPU seconds of this process (user + system). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
