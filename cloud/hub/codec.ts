/**
 * AMQP 1.0 message bytes (OASIS AMQP 1.0 §3.2): split an encoded message into its sections, unpack the
 * SDK's batch envelope, and re-annotate a stored event for delivery without re-encoding its properties or
 * body, so consumers decode exactly what the producer encoded.
 *
 * Section descriptors (§3.2): 0x70 header, 0x71 delivery-annotations, 0x72 message-annotations,
 * 0x73 properties, 0x74 application-properties, 0x75 data, 0x76 amqp-sequence, 0x77 amqp-value, 0x78 footer.
 * Event Hubs batch format 0x80013700: an envelope message whose data sections each hold one encoded message.
 */
import rhea, { type Typed } from 'rhea';

const { types } = rhea;

/** The parts of rhea's (untyped at runtime export) Reader/Writer we use. */
interface Reader {
  position: number;
  read(): Typed;
  remaining(): number;
}
interface Writer {
  write(o: Typed): void;
  toBuffer(): Buffer;
}
const codec = types as unknown as {
  Reader: new (buffer: Buffer) => Reader;
  Writer: new () => Writer;
  Map32: (items: Typed[]) => Typed;
};

export const BATCH_FORMAT = 0x80013700;
const HEADER = 0x70;
const DELIVERY_ANNOTATIONS = 0x71;
const MESSAGE_ANNOTATIONS = 0x72;
const DATA = 0x75;

interface Section {
  code: number;
  start: number;
  end: number;
  value: Typed;
}

/** rhea's Typed, as far as we read it: a value plus, for described values, a descriptor. */
interface DescribedTyped {
  value: unknown;
  descriptor?: { value: unknown };
}

function sectionCode(descriptor: unknown): number {
  const v = (descriptor as { value?: unknown } | undefined)?.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const names: Record<string, number> = {
      'amqp:header:list': 0x70,
      'amqp:delivery-annotations:map': 0x71,
      'amqp:message-annotations:map': 0x72,
      'amqp:properties:list': 0x73,
      'amqp:application-properties:map': 0x74,
      'amqp:data:binary': 0x75,
      'amqp:amqp-sequence:list': 0x76,
      'amqp:amqp-value:*': 0x77,
      'amqp:footer:map': 0x78,
    };
    return names[v] ?? -1;
  }
  return -1;
}

/** Throws on bytes that are not a sequence of described sections. */
export function splitSections(bytes: Buffer): Section[] {
  const reader = new codec.Reader(bytes);
  const out: Section[] = [];
  while (reader.remaining() > 0) {
    const start = reader.position;
    const value = reader.read();
    const code = sectionCode((value as unknown as DescribedTyped).descriptor);
    if (code < 0) throw new Error(`not an AMQP message section at byte ${start}`);
    out.push({ code, start, end: reader.position, value });
  }
  return out;
}

/** Message annotations of an encoded message as [symbol, Typed value] pairs. */
function annotationPairs(section: Section | undefined): [string, Typed][] {
  if (!section) return [];
  const items = (section.value as unknown as DescribedTyped).value as DescribedTyped[] | undefined;
  if (!Array.isArray(items)) return [];
  const pairs: [string, Typed][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) {
    pairs.push([String(items[i]!.value), items[i + 1] as unknown as Typed]);
  }
  return pairs;
}

export interface Unpacked {
  /** One encoded AMQP message per event. */
  events: Buffer[];
  partitionKey: string | undefined;
}

/**
 * A batch envelope → its events; any other message is one event. The envelope's x-opt-partition-key
 * (the SDK copies the first event's) wins over the events' own.
 */
export function unpack(bytes: Buffer, format: number): Unpacked {
  const sections = splitSections(bytes);
  const partitionKeyPair = annotationPairs(sections.find((s) => s.code === MESSAGE_ANNOTATIONS)).find(
    ([k]) => k === 'x-opt-partition-key',
  );
  const keyValue = (partitionKeyPair?.[1] as unknown as DescribedTyped | undefined)?.value;
  const partitionKey = typeof keyValue === 'string' ? keyValue : undefined;
  if (format !== BATCH_FORMAT) return { events: [bytes], partitionKey };
  const events: Buffer[] = [];
  for (const s of sections) {
    if (s.code !== DATA) continue;
    const inner = (s.value as unknown as DescribedTyped).value;
    if (!Buffer.isBuffer(inner)) throw new Error('batch data section is not binary');
    events.push(inner);
  }
  return { events, partitionKey };
}

export interface Annotations {
  sequenceNumber: number;
  offset: number;
  enqueuedMs: number;
  partitionKey: string | null;
}

/** Partition state sent to receivers that asked for com.microsoft:enable-receiver-runtime-metric. */
export interface RuntimeInfo {
  lastSequenceNumber: number;
  lastOffset: number;
  lastEnqueuedMs: number;
  retrievalMs: number;
}

const OURS = new Set(['x-opt-sequence-number', 'x-opt-offset', 'x-opt-enqueued-time', 'x-opt-partition-key']);

/**
 * The stored event with the broker annotations set (x-opt-sequence-number long, x-opt-offset string,
 * x-opt-enqueued-time timestamp, x-opt-partition-key string); the producer's other annotations are kept.
 * Every other section is copied byte for byte, in the order §3.2 requires. `runtime` is a section from
 * runtimeSection(), encoded once per read rather than once per event.
 */
export function annotate(stored: Buffer, a: Annotations, runtime?: Buffer): Buffer {
  const sections = splitSections(stored);
  const items: Typed[] = [];
  for (const [k, v] of annotationPairs(sections.find((s) => s.code === MESSAGE_ANNOTATIONS))) {
    if (!OURS.has(k)) items.push(types.wrap_symbol(k), v);
  }
  items.push(types.wrap_symbol('x-opt-sequence-number'), types.wrap_long(a.sequenceNumber));
  items.push(types.wrap_symbol('x-opt-offset'), types.wrap_string(String(a.offset)));
  items.push(types.wrap_symbol('x-opt-enqueued-time'), types.wrap_timestamp(a.enqueuedMs));
  if (a.partitionKey !== null) {
    items.push(types.wrap_symbol('x-opt-partition-key'), types.wrap_string(a.partitionKey));
  }
  const writer = new codec.Writer();
  const map = codec.Map32(items);
  writer.write(types.described(types.wrap_ulong(MESSAGE_ANNOTATIONS), map));
  const annotations = writer.toBuffer();
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  for (const s of sections) {
    // Our runtime info replaces any delivery annotations the producer's hop carried.
    if (s.code === MESSAGE_ANNOTATIONS || (runtime && s.code === DELIVERY_ANNOTATIONS)) continue;
    (s.code === HEADER || s.code === DELIVERY_ANNOTATIONS ? head : tail).push(
      stored.subarray(s.start, s.end),
    );
  }
  if (runtime) head.push(runtime);
  return Buffer.concat([...head, annotations, ...tail]);
}

/** Delivery annotations the SDK reads for trackLastEnqueuedEventProperties (eventData.ts). */
export function runtimeSection(r: RuntimeInfo): Buffer {
  const items: Typed[] = [
    types.wrap_symbol('last_enqueued_sequence_number'),
    types.wrap_long(r.lastSequenceNumber),
    types.wrap_symbol('last_enqueued_offset'),
    types.wrap_string(String(r.lastOffset)),
    types.wrap_symbol('last_enqueued_time_utc'),
    types.wrap_timestamp(r.lastEnqueuedMs),
    types.wrap_symbol('runtime_info_retrieval_time_utc'),
    types.wrap_timestamp(r.retrievalMs),
  ];
  const writer = new codec.Writer();
  writer.write(types.described(types.wrap_ulong(DELIVERY_ANNOTATIONS), codec.Map32(items)));
  return writer.toBuffer();
}
