/**
 * Child processes and temp dirs a benchmark owns. Everything spawned or created here is registered, and
 * `cleanupAll` (called after each benchmark, on error, on SIGINT/SIGTERM and at exit) kills the children
 * by pid and removes the dirs, so a failed run leaves no broker listening and no journal behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export interface ReadyChild<T> {
  readonly pid: number;
  readonly child: ChildProcess;
  /** The parsed JSON line that said the child is ready. */
  readonly ready: T;
  /** The last lines the child wrote to stderr (for error messages). */
  stderrTail(): string;
  /** True once the child has exited (for any reason). */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Which stdout JSON line means "ready". */
  isReady: (line: Record<string, unknown>) => boolean;
  label: string;
}

/**
 * Node flags for a server child: with BENCH_CPU_PROF_DIR set, each server writes a V8 CPU profile there
 * when it exits (open it in Chrome DevTools, or summarise it with `npx tsx bench/profile-top.ts FILE`);
 * BENCH_SERVER_NODE_FLAGS adds flags (space-separated) for what-if runs, e.g. "--optimize-for-size".
 */
export function nodeFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  const extra = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return [...(dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), ...extra];
}

/**
 * Runs a script in a plain `node` process, so `pid` is the process itself: TypeScript through the project's
 * own loader (what `campus-twin` runs with), JavaScript (e.g. an esbuild bundle, for what-if comparisons) as
 * it is.
 */
export function spawnTs<T>(file: string, args: string[], opts: SpawnOptions): Promise<ReadyChild<T>> {
  const loader = file.endsWith('.ts') ? ['--import', './shared/cli/register.mjs'] : [];
  return spawnUntilReady(process.execPath, [...nodeFlags(), ...loader, file, ...args], opts);
}

export function spawnUntilReady<T>(
  command: string,
  args: string[],
  opts: SpawnOptions,
): Promise<ReadyChild<T>> {
  // stdin is a pipe that our servers watch: if this process dies, their stdin ends and they exit.
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let exitedFlag = false;
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitedFlag = true;
      children.delete(child);
      resolve(code);
    });
  });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  });
  const stderrTail = () => tail.join('\n');

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${opts.label}: not ready after ${opts.readyTimeoutMs ?? 60_000} ms\n${stderrTail()}`),
      );
    }, opts.readyTimeoutMs ?? 60_000);
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${opts.label}: exited (${code}) before it was ready\n${stderrTail()}`));
    };
    void exitPromise.then(onEarlyExit);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || !opts.isReady(parsed as Record<string, unknown>))
        return;
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        child,
        ready: parsed as T,
        stderrTail,
        exited: () => exitedFlag,
        async stop(graceMs = 10_000) {
          if (exitedFlag) return exitPromise;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const code = await exitPromise;
          clearTimeout(killer);
          return code;
        },
      });
    });
  });
}

/** Kill every child still running (by pid) and remove every temp dir. Safe to call more than once. */
export function cleanupAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
