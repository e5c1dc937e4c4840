/**
 * deploy/ as a Debian edge box gets it: the systemd unit passes `systemd-analyze verify` and scores "OK"
 * or better in `systemd-analyze security` (offline), its command line starts the real CLI, and the install
 * script passes shellcheck and answers --help and a wrong option without touching the machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const UNIT = 'deploy/campus-twin-gateway.service';
const INSTALL = 'deploy/install-debian.sh';

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/ for a Debian edge box', () => {
  it('has a systemd unit that verifies cleanly', () => {
    const r = run('systemd-analyze', ['verify', UNIT]);
    expect(r.out.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('hardens the unit: exposure at most 2.0 of 10 in systemd-analyze security', () => {
    const r = run('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT]);
    const m = /Overall exposure level for campus-twin-gateway\.service: (\d+\.\d)/.exec(r.out);
    expect(m, r.out.slice(-500)).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
    const unit = readFileSync(UNIT, 'utf8');
    // What must hold whatever the score: no privileges, a read-only system, the data dir writable.
    for (const line of [
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/campus-twin',
      'CapabilityBoundingSet=',
      'Environment=MALLOC_ARENA_MAX=2',
      'LimitNOFILE=65536',
    ])
      expect(unit).toContain(`\n${line}\n`);
  });

  it("runs the unit's command line: the launcher with its flags starts the gateway CLI", () => {
    const exec = /^ExecStart=(.+)$/m.exec(readFileSync(UNIT, 'utf8'))![1]!.split(' ');
    expect(exec.slice(0, 4)).toEqual([
      '/usr/bin/node',
      '--max-semi-space-size=4',
      'shared/cli/campus-twin.mjs',
      'gateway',
    ]);
    const r = run(exec[0]!, [...exec.slice(1, 4), '--help']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^Usage: campus-twin gateway/);
  });

  it('has an install script that passes shellcheck and refuses what it does not know', () => {
    const lint = run('shellcheck', [INSTALL]);
    expect(lint.out).toBe('');
    expect(lint.status).toBe(0);
    const help = run('bash', [INSTALL, '--help']);
    expect(help.status).toBe(0);
    expect(help.out).toMatch(/Install the campus-twin gateway as a systemd service on a Debian 12 edge box/);
    const wrong = run('bash', [INSTALL, '--frobnicate']);
    expect(wrong.status).toBe(2);
    expect(wrong.out).toMatch(/unknown option: --frobnicate/);
  });
});
