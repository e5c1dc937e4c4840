import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimConsumerId } from './identity.ts';

describe('consumer identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-identity-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'cloud.db');
  const alive = new Set<number>();
  const claim = (pid: number) => claimConsumerId(store, { host: 'box', pid, isAlive: (p) => alive.has(p) });

  it('gives live processes distinct slots, a restarted one its old slot, and frees a slot on release', () => {
    alive.add(100);
    alive.add(200);
    const a = claim(100);
    const b = claim(200);
    expect([a.id, b.id]).toEqual(['box-0', 'box-1']);
    // 100 crashes (no release); its replacement, pid 300, takes slot 0 again: the same owner id.
    alive.delete(100);
    alive.add(300);
    const c = claim(300);
    expect(c.id).toBe('box-0');
    expect(readFileSync(`${store}.consumer-0.pid`, 'utf8')).toBe('300');
    // A clean stop gives the slot back.
    b.release();
    expect(existsSync(`${store}.consumer-1.pid`)).toBe(false);
    expect(claim(400).id).toBe('box-1');
    // Releasing a slot someone else has since taken leaves it alone.
    a.release();
    expect(readFileSync(`${store}.consumer-0.pid`, 'utf8')).toBe('300');
  });

  it("leaves a dead holder's slot to the process already taking it over", () => {
    const other = join(dir, 'other.db');
    writeFileSync(`${other}.consumer-0.pid`, '999');
    mkdirSync(`${other}.consumer-0.pid.lock`);
    const id = claimConsumerId(other, { host: 'box', pid: 500, isAlive: (p) => p === 500 });
    expect(id.id).toBe('box-1');
    expect(readFileSync(`${other}.consumer-0.pid`, 'utf8')).toBe('999');
  });

  it('gives processes starting at the same moment distinct slots', async () => {
    const shared = join(dir, 'shared.db');
    const loader = new URL('../../shared/cli/register.mjs', import.meta.url).href;
    const module = new URL('./identity.ts', import.meta.url).href;
    const script = `const { claimConsumerId } = await import(${JSON.stringify(module)});
      const id = claimConsumerId(${JSON.stringify(shared)});
      process.stdout.write(id.id);
      setTimeout(() => id.release(), 1500);`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', loader, '--input-type=module', '-e', script]);
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    const ids = await Promise.all(Array.from({ length: 8 }, run));
    expect(new Set(ids).size).toBe(8);
    expect(ids.every((i) => /-\d+$/.test(i))).toBe(true);
  }, 30_000);
});
