import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from './packet-guard.ts';

/** An MQTT PUBLISH fixed header announcing `bodyBytes` of variable header + payload. */
function header(bodyBytes: number): Buffer {
  const len: number[] = [];
  let x = bodyBytes;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    len.push(b);
  } while (x > 0);
  return Buffer.from([0x32, ...len]);
}

const frame = (bodyBytes: number) => Buffer.concat([header(bodyBytes), Buffer.alloc(bodyBytes, 7)]);

describe('PacketSizeGuard', () => {
  it('lets packets up to the limit through, however the stream is chunked', () => {
    const stream = Buffer.concat([frame(10), frame(0), frame(1000), frame(200_000), frame(3)]);
    for (const size of [1, 2, 3, 7, 64, 4096, stream.length]) {
      const g = new PacketSizeGuard(200_000);
      let ok = true;
      for (let i = 0; i < stream.length; i += size) ok &&= g.feed(stream.subarray(i, i + size));
      expect(ok, `chunks of ${size}`).toBe(true);
    }
  });

  it('stops at the header of a packet over the limit, before its body arrives', () => {
    const g = new PacketSizeGuard(1000);
    expect(g.feed(frame(500))).toBe(true);
    expect(g.feed(header(200 * 1024 * 1024))).toBe(false); // the 5-byte header announcing 200 MB
  });

  it('refuses a Remaining Length longer than four bytes [MQTT-2.2.3]', () => {
    const g = new PacketSizeGuard(Number.MAX_SAFE_INTEGER);
    expect(g.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });
});
