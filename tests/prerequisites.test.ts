/**
 * The prerequisite check that `npm test` runs first: with one program removed from PATH, `npm test` itself
 * stops within seconds, names what is missing and prints the line that installs it.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  debianPackages,
  findOnPath,
  installLine,
  missingPrerequisites,
  PREREQUISITES,
} from './prerequisites.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A directory holding links to `names` (found on this PATH), to serve as a whole PATH. */
function binDir(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ct-prereq-'));
  dirs.push(dir);
  for (const name of names) {
    const found = findOnPath(name);
    if (found === undefined) throw new Error(`${name} is not on this PATH`);
    symlinkSync(realpathSync(found), join(dir, name));
  }
  return dir;
}

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs `npm test` with `env`; the whole process group is killed after `timeoutMs`. */
function npmTest(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['test'], {
      cwd: REPO,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('test prerequisites', () => {
  it('lists the same Debian packages .ci/run installs (it asks this module)', () => {
    const ci = readFileSync(join(REPO, '.ci/run'), 'utf8');
    expect(ci).toContain('tests/prerequisites.mjs packages');
    expect(debianPackages()).toEqual(expect.arrayContaining(['mosquitto-clients', 'chromium', 'socat']));
    expect(installLine()).toContain(
      `apt-get install -y --no-install-recommends ${debianPackages().join(' ')}`,
    );
  });

  it('finds a command only when it is an executable on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-prereq-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    expect(findOnPath('tool', { PATH: dir })).toBeUndefined();
    chmodSync(join(dir, 'tool'), 0o755);
    expect(findOnPath('tool', { PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'tool'));
    expect(findOnPath('tool', { PATH: '' })).toBeUndefined();
  });

  it('names each missing need with its package and reason', () => {
    const commands = PREREQUISITES.flatMap((p) => (p.command ? [p.command] : []));
    const missing = missingPrerequisites({ PATH: '/nonexistent', CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(missing.map((m) => m.what)).toEqual(expect.arrayContaining([...commands, 'Chromium']));
    const chromium = missing.find((m) => m.what === 'Chromium');
    expect(chromium?.packages).toEqual(['chromium']);
    expect(chromium?.why).toContain('/nonexistent/chromium');
  });

  it('makes npm test stop within seconds, with the install line, when mosquitto_pub is not on PATH', async () => {
    // A PATH with everything `npm test` and the check need (npm runs scripts with sh), except mosquitto_pub.
    const others = PREREQUISITES.flatMap((p) =>
      p.command && p.command !== 'mosquitto_pub' ? [p.command] : [],
    );
    const path = binDir(['sh', 'node', 'npm', ...others]);
    const { npm_config_user_agent: _a, npm_lifecycle_event: _b, ...base } = process.env;
    const run = await npmTest({ ...base, PATH: path }, 60_000);
    expect(run.code, run.output).toBe(1);
    expect(run.ms).toBeLessThan(30_000);
    expect(run.output).toContain('mosquitto_pub (Debian: mosquitto-clients)');
    expect(run.output).toContain(installLine());
    expect(run.output).not.toContain('`socat` is not on PATH');
    // The suite itself never started.
    expect(run.output).not.toMatch(/Test Files/);
  });
});
