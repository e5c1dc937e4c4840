/** Run the real `campus-twin` CLI as a child process (for crash tests) and wait for its ready line. */
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../shared/cli/campus-twin.mjs', import.meta.url));

/** A running CLI: its stderr so far, and a kill that resolves with the exit code. */
export interface SpawnedCli {
  child: ChildProcess;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface CliProcess extends SpawnedCli {
  ready: Record<string, unknown> & { ports: Record<string, number> };
}

/** Runs a one-shot CLI command to its end (60 s at most), stdout and stderr collected. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

/** Starts the CLI (stdout piped for the caller, stderr collected) without waiting for anything. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return {
    child,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

export async function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  readyEvent = 'gateway:ready',
  timeoutMs = 30_000,
): Promise<CliProcess> {
  const cli = spawnCli(args, env);
  const { child } = cli;
  const ready = await new Promise<CliProcess['ready']>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${readyEvent} within ${timeoutMs} ms; stderr: ${cli.stderr()}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (!line.includes(readyEvent)) continue;
        try {
          const msg = JSON.parse(line) as CliProcess['ready'];
          if (msg.event === readyEvent) {
            clearTimeout(timer);
            resolve(msg);
          }
        } catch {
          // a log line that mentions the event: keep reading
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${readyEvent}; stderr: ${cli.stderr()}`));
    });
  });
  return { ...cli, ready };
}
