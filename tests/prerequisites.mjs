#!/usr/bin/env node
/**
 * The programs the test suite needs beyond `npm ci`, in one place. `npm test` runs `check` first and stops
 * at once, naming what is missing and the line that installs it; `.ci/run` installs `packages`.
 *
 *   node tests/prerequisites.mjs check      exit 1 with a message if anything is missing
 *   node tests/prerequisites.mjs packages   the Debian packages, one line (for apt-get install)
 *
 * Plain JavaScript with no dependencies, so it runs before anything is built or installed.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Debian python3 the Modbus tests run (its modules, not those of a python3 first on PATH). */
export const PYTHON = '/usr/bin/python3';
/** The Chromium the status-page test drives; `CHROMIUM_PATH` points it elsewhere. */
export const chromiumPath = (env = process.env) => env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Each need: what it is, the Debian packages that bring it, the tests that use it, and how to find it.
 * `command` is looked up on PATH; `file` is an absolute path; `python` is a list of modules to import.
 */
export const PREREQUISITES = [
  {
    what: 'mosquitto_pub',
    packages: ['mosquitto-clients'],
    usedBy: 'MQTT interop tests (tests/mqtt-*.test.ts)',
    command: 'mosquitto_pub',
  },
  {
    what: 'openssl',
    packages: ['openssl'],
    usedBy: 'MQTT over TLS (tests/mqtt-transports.test.ts)',
    command: 'openssl',
  },
  {
    what: 'socat',
    packages: ['socat'],
    usedBy: 'Modbus RTU over a virtual serial pair (tests/modbus-rtu.test.ts)',
    command: 'socat',
  },
  {
    what: 'pymodbus, pyserial and serial_asyncio for /usr/bin/python3',
    packages: ['python3-pymodbus', 'python3-serial', 'python3-serial-asyncio'],
    usedBy: 'Modbus peers (tests/modbus-*.test.ts)',
    python: ['pymodbus', 'serial', 'serial_asyncio'],
  },
  {
    what: 'systemd-analyze',
    packages: ['systemd'],
    usedBy: 'the systemd unit checked and scored (tests/deploy.test.ts)',
    command: 'systemd-analyze',
  },
  {
    what: 'shellcheck',
    packages: ['shellcheck'],
    usedBy: 'the Debian install script linted (tests/deploy.test.ts)',
    command: 'shellcheck',
  },
  {
    what: 'PostgreSQL server programs (initdb, pg_ctl, postgres)',
    packages: ['postgresql'],
    usedBy: 'the PostgreSQL cloud store, on a throwaway server of its own (cloud/store/postgres.test.ts)',
    postgres: true,
  },
  {
    what: 'Chromium',
    packages: ['chromium'],
    usedBy: 'the status page in a browser (tests/status-page-browser.test.ts)',
    file: 'chromium',
  },
];

/**
 * The directory of PostgreSQL's server programs: Debian keeps them off PATH, in /usr/lib/postgresql/<major>/bin
 * (the newest major installed wins); `PG_BINDIR` points elsewhere, else `initdb` on PATH.
 */
export function postgresBinDir(env = process.env) {
  if (env.PG_BINDIR) return isExecutable(join(env.PG_BINDIR, 'initdb')) ? env.PG_BINDIR : undefined;
  const root = '/usr/lib/postgresql';
  let majors = [];
  try {
    majors = readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
  } catch {}
  for (const major of majors) {
    const dir = join(root, major, 'bin');
    if (isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  const initdb = findOnPath('initdb', env);
  return initdb ? dirname(initdb) : undefined;
}

/** Every Debian package, in a stable order. */
export function debianPackages() {
  return [...new Set(PREREQUISITES.flatMap((p) => p.packages))].sort();
}

export function installLine() {
  return `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${debianPackages().join(' ')}`;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `env.PATH`, or undefined. */
export function findOnPath(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Why `need` is not met on this machine, or undefined when it is. */
function problem(need, env) {
  if (need.command) {
    return findOnPath(need.command, env) ? undefined : `\`${need.command}\` is not on PATH`;
  }
  if (need.postgres) {
    return postgresBinDir(env) ? undefined : 'no initdb in /usr/lib/postgresql/*/bin, PG_BINDIR or on PATH';
  }
  if (need.file) {
    const file = chromiumPath(env);
    return isExecutable(file) ? undefined : `${file} is missing (set CHROMIUM_PATH to use another Chromium)`;
  }
  if (!isExecutable(PYTHON)) return `${PYTHON} is missing`;
  const imports = need.python.map((m) => `import ${m}`).join('; ');
  const r = spawnSync(PYTHON, ['-c', imports], { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return undefined;
  const last = (r.stderr || r.error?.message || '').trim().split('\n').pop();
  return `${PYTHON} cannot load them (${last})`;
}

/** The unmet needs, each with the reason. */
export function missingPrerequisites(env = process.env) {
  const missing = [];
  for (const need of PREREQUISITES) {
    const why = problem(need, env);
    if (why !== undefined) missing.push({ ...need, why });
  }
  return missing;
}

export function missingReport(missing) {
  const lines = ['', 'npm test needs programs that are not installed on this machine:'];
  for (const m of missing) {
    lines.push(`  - ${m.what} (Debian: ${m.packages.join(', ')}): ${m.why}; used by ${m.usedBy}`);
  }
  lines.push('', 'Install every test prerequisite with:', `  ${installLine()}`, '');
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const command = process.argv[2] ?? 'check';
  if (command === 'packages') {
    console.log(debianPackages().join(' '));
  } else if (command === 'check') {
    const missing = missingPrerequisites();
    if (missing.length > 0) {
      console.error(missingReport(missing));
      process.exit(1);
    }
  } else {
    console.error(`usage: node tests/prerequisites.mjs [check|packages] (unknown command "${command}")`);
    process.exit(2);
  }
}
