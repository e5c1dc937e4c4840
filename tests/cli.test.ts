/** The CLI as an operator meets it: help texts, a bad config failing fast with the field, password hashing. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../gateway/registry/index.ts';
import { tempDir } from './helpers/gateway.ts';
import { CLI, REPO_ROOT } from './helpers/process.ts';

const run = promisify(execFile);

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('campus-twin CLI', () => {
  it('describes its commands and every gateway option', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/gateway/);
    expect(top.stdout).toMatch(/hash-password/);
    const gw = await cli(['gateway', '--help']);
    for (const flag of [
      '--config',
      '--campus',
      '--data-dir',
      '--dev',
      '--mqtt-port',
      '--http-port',
      '--log-level',
    ]) {
      expect(gw.stdout).toContain(flag);
    }
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command: frobnicate/);
  });

  it('fails fast on a bad config file, naming the file and the field', async () => {
    const dir = tempDir('ct-cli-');
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, 'mqtt:\n  port: "eighteen"\n');
    const res = await cli(['gateway', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file}: mqtt.port:`);
    const env = await cli(['gateway', '--config', 'config/gateway.yaml'], { CT_AGGREGATE__WINDOW_MS: '-5' });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/environment: aggregate\.windowMs/);
    const campus = join(dir, 'campus.yaml');
    writeFileSync(campus, 'campus: { id: c }\ndevices:\n  - { id: d1, roomId: nowhere, kind: env }\n');
    const bad = await cli([
      'gateway',
      '--config',
      'config/gateway.yaml',
      '--campus',
      campus,
      '--data-dir',
      join(dir, 'data'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${campus}: devices.0.roomId: `);
  });

  it('hashes a password into a registry entry that verifies', async () => {
    const res = await cli(['hash-password', '--password', 'correct horse']);
    expect(res.code).toBe(0);
    const hash = res.stdout.trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
  });

  it('refuses an uplink with no event hub name, naming the field and never echoing the key', async () => {
    const dir = tempDir();
    const res = await cli(['gateway', '--data-dir', dir, '--mqtt-port', '0', '--http-port', '0'], {
      CT_UPLINK__CONNECTION_STRING:
        'Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=TOP-SECRET-KEY;UseDevelopmentEmulator=true',
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('uplink.hubName');
    expect(res.stderr).not.toContain('TOP-SECRET-KEY');
  });
});
