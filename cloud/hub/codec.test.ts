import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { annotate, BATCH_FORMAT, splitSections, unpack } from './codec.ts';

const { message } = rhea;

function envelope(events: Buffer[], partitionKey?: string): Buffer {
  return message.encode({
    ...(partitionKey ? { message_annotations: { 'x-opt-partition-key': partitionKey } } : {}),
    body: message.data_sections(events),
  });
}

describe('codec', () => {
  const e1 = message.encode({
    application_properties: { schema: 'v1', n: 2 },
    message_annotations: { 'x-opt-partition-key': 'gw-1', custom: 'kept' },
    body: message.data_section(Buffer.from('{"a":1}')),
  });
  const e2 = message.encode({ body: 'amqp value body' });

  it('unpacks a batch envelope into its encoded events, with the envelope partition key', () => {
    const out = unpack(envelope([e1, e2], 'gw-1'), BATCH_FORMAT);
    expect(out.partitionKey).toBe('gw-1');
    expect(out.events.map((b) => b.equals(e1) || b.equals(e2))).toEqual([true, true]);
    expect(out.events[0]!.equals(e1)).toBe(true);
  });

  it('treats a plain message as one event', () => {
    expect(unpack(e2, 0)).toEqual({ events: [e2], partitionKey: undefined });
  });

  it('sets broker annotations, keeps the producer annotation and copies other sections byte for byte', () => {
    const out = annotate(e1, {
      sequenceNumber: 5_000_000_000,
      offset: 1234,
      enqueuedMs: 1_795_766_400_000,
      partitionKey: 'gw-1',
    });
    const decoded = message.decode(out);
    expect(decoded.message_annotations).toMatchObject({
      'x-opt-sequence-number': 5_000_000_000,
      'x-opt-offset': '1234',
      'x-opt-partition-key': 'gw-1',
      custom: 'kept',
    });
    expect((decoded.message_annotations as Record<string, unknown>)['x-opt-enqueued-time']).toEqual(
      new Date(1_795_766_400_000),
    );
    expect(decoded.application_properties).toEqual({ schema: 'v1', n: 2 });
    const codes = splitSections(out).map((s) => s.code);
    // rhea always encodes header and properties; annotations go between them (§3.2 order).
    expect(codes).toEqual([0x70, 0x72, 0x73, 0x74, 0x75]);
    const inBody = splitSections(e1).find((s) => s.code === 0x75)!;
    const outBody = splitSections(out).find((s) => s.code === 0x75)!;
    expect(out.subarray(outBody.start, outBody.end).equals(e1.subarray(inBody.start, inBody.end))).toBe(true);
  });

  it('adds annotations to a message that had none, after its header', () => {
    const withHeader = message.encode({ durable: true, body: 'x' });
    const out = annotate(withHeader, { sequenceNumber: 0, offset: 0, enqueuedMs: 0, partitionKey: null });
    expect(splitSections(out).map((s) => s.code)).toEqual([0x70, 0x72, 0x73, 0x77]);
    const decoded = message.decode(out);
    expect(decoded.body).toBe('x');
    expect(decoded.message_annotations).not.toHaveProperty('x-opt-partition-key');
  });

  it('throws on bytes that are not message sections', () => {
    expect(() => splitSections(Buffer.from([0x41]))).toThrow();
  });
});
