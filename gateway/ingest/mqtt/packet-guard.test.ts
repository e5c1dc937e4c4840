import { describe, expect, it } from 'vitest';
import { PacketGuard } from './packet-guard.ts';

/** Remaining Length as MQTT encodes it (variable byte integer). */
function varint(n: number): number[] {
  const out: number[] = [];
  let x = n;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out.push(b);
  } while (x > 0);
  return out;
}

const packet = (first: number, body: Buffer | number[]) => {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from([first, ...varint(b.length)]), b]);
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
/** PUBLISH QoS 0 to `t` with `payloadBytes` of payload. */
const publish = (payloadBytes: number, t = 'devices/d/telemetry') =>
  packet(0x30, Buffer.concat([str(t), Buffer.alloc(payloadBytes, 7)]));
const publishQos1 = (id: number, t = 'devices/d/telemetry') =>
  packet(0x32, Buffer.concat([str(t), Buffer.from([id >> 8, id & 0xff]), Buffer.from('{}')]));
const connect = (clientId: Buffer, level = 4) =>
  packet(
    0x10,
    Buffer.concat([
      str('MQTT'),
      Buffer.from([level, 0x02, 0x00, 0x3c]),
      level === 5 ? Buffer.from([0]) : Buffer.alloc(0),
      str(clientId),
    ]),
  );

function feedAll(g: PacketGuard, stream: Buffer, chunk = stream.length) {
  for (let i = 0; i < stream.length; i += chunk) {
    const r = g.feed(stream.subarray(i, i + chunk));
    if (r) return r;
  }
  return undefined;
}

describe('PacketGuard: size', () => {
  it('lets packets up to the limit through, however the stream is chunked', () => {
    const stream = Buffer.concat([
      connect(Buffer.from('env-1')),
      publish(10),
      packet(0xc0, []),
      publish(1000),
      publish(199_000),
      publishQos1(7),
    ]);
    for (const size of [1, 2, 3, 7, 64, 4096, stream.length]) {
      expect(feedAll(new PacketGuard(200_000), stream, size), `chunks of ${size}`).toBeUndefined();
    }
  });

  it('stops at the header of a packet over the limit, before its body arrives', () => {
    const g = new PacketGuard(1000);
    expect(g.feed(publish(500))).toBeUndefined();
    // the 5-byte header announcing 200 MB
    expect(g.feed(Buffer.from([0x30, ...varint(200 * 1024 * 1024)]))).toMatchObject({
      code: 'CT_ERR_PAYLOAD_TOO_LARGE',
    });
  });

  it('refuses a Remaining Length longer than four bytes as malformed [MQTT-2.2.3]', () => {
    const g = new PacketGuard(Number.MAX_SAFE_INTEGER);
    expect(g.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatchObject({
      code: 'CT_ERR_MQTT_MALFORMED',
      reason: 'Remaining Length longer than four bytes',
    });
  });
});

describe('PacketGuard: form (MQTT 3.1.1 / 5.0)', () => {
  const refused = (stream: Buffer) => feedAll(new PacketGuard(1_000_000), stream, 3);

  it.each([
    [
      'a PUBLISH whose topic length runs past the packet',
      packet(0x30, [0x00, 0x40, 0x61, 0x62]),
      /runs past/,
    ],
    ['PINGREQ with a body', packet(0xc0, [1, 2, 3]), /PINGREQ with a body/],
    ['QoS 1 with packet id 0', publishQos1(0), /packet id 0/],
    ['PUBLISH with QoS 3', packet(0x36, [...str('a/b'), 0, 1]), /QoS 3/],
    ['DUP on QoS 0', packet(0x38, [...str('a/b')]), /DUP/],
    ['reserved packet type 0', packet(0x00, []), /reserved/],
    ['SUBSCRIBE with flags 0', packet(0x80, [0, 1, ...str('a/#'), 0]), /flags 0 \(must be 2\)/],
    ['an empty topic in 3.1.1', packet(0x30, [0, 0, 0x7b, 0x7d]), /empty topic/],
    ['a non-UTF-8 client id', connect(Buffer.from([0x65, 0xff, 0xfe])), /not well-formed UTF-8/],
    ['a client id holding U+0000', connect(Buffer.from('a\u0000b')), /U\+0000/],
  ])('closes on %s (CT_ERR_MQTT_MALFORMED)', (_what, stream, reason) => {
    const first = Buffer.concat([connect(Buffer.from('ok-client')), stream]);
    const r = stream[0] === 0x10 ? refused(stream) : refused(first);
    expect(r?.code).toBe('CT_ERR_MQTT_MALFORMED');
    expect(r?.reason).toMatch(reason);
  });

  it('counts a PUBLISH to a wildcard topic as a bad topic', () => {
    expect(refused(publish(4, 'devices/+/telemetry'))).toMatchObject({ code: 'CT_ERR_BAD_TOPIC' });
    expect(refused(publish(4, 'devices/#'))).toMatchObject({ code: 'CT_ERR_BAD_TOPIC' });
  });

  it('reads an MQTT 5 CONNECT past its properties, and allows an empty topic there (topic alias)', () => {
    expect(refused(connect(Buffer.from([0xc3, 0x28]), 5))).toMatchObject({ reason: /UTF-8/ });
    expect(refused(Buffer.concat([connect(Buffer.from('v5'), 5), packet(0x30, [0, 0, 1])]))).toBeUndefined();
  });
});
