import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger', () => {
  it('redacts secrets wherever they sit in a logged object, and tags component children', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ destination, level: 'info' }).child({ component: 'mqtt' });
    log.info(
      {
        password: 'p1',
        device: { password: 'p2', passwordHash: 'scrypt$x' },
        uplink: { connectionString: 'Endpoint=sb://x;SharedAccessKey=k' },
        headers: { authorization: 'Basic abc' },
        deviceId: 'env-1',
      },
      'hello',
    );
    const out = lines.join('');
    for (const secret of ['p1', 'p2', 'scrypt$x', 'SharedAccessKey=k', 'Basic abc'])
      expect(out).not.toContain(secret);
    const entry = JSON.parse(out) as Record<string, unknown>;
    expect(entry).toMatchObject({
      component: 'mqtt',
      deviceId: 'env-1',
      password: '[redacted]',
      msg: 'hello',
    });
  });
});
