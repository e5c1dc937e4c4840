import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
});
