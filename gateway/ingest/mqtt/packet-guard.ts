/**
 * Reads an MQTT connection's bytes before aedes does and closes the connection on a packet that is too
 * large or malformed, with a code to count it by. Two jobs:
 *
 *  - Size. aedes (through mqtt-packet) accumulates a packet until it is complete, up to the protocol's
 *    256 MB [MQTT-2.2.3]: one client could make a small box run out of memory. The guard follows the
 *    framing — fixed header byte, Remaining Length as a variable byte integer of at most 4 bytes, then the
 *    body — across chunk boundaries, and says stop as soon as a header announces a packet over the limit
 *    (`CT_ERR_PAYLOAD_TOO_LARGE`).
 *  - Form, per MQTT 3.1.1 and 5.0 where mqtt-packet is lenient (`CT_ERR_MQTT_MALFORMED`, or
 *    `CT_ERR_BAD_TOPIC` for a wildcard in a PUBLISH topic): a reserved packet type; fixed-header flags other
 *    than the ones each type requires (§2.2.2); PUBLISH with QoS 3 or DUP on QoS 0 (§3.3.1); a topic length
 *    that runs past the packet, an empty topic (3.1.1), `+`/`#` in a topic name (§3.3.2-2), packet id 0 on
 *    QoS 1/2 (§2.3.1-1); PINGREQ with a body (§3.12); a CONNECT whose client id is not well-formed UTF-8 or
 *    holds U+0000 (§1.5.3). A Remaining Length of more than four bytes is malformed too.
 *
 * Only the first bytes of a PUBLISH (topic and packet id) and of a CONNECT are kept to check; the rest of
 * a body is counted past, never buffered.
 */
import type { Duplex } from 'node:stream';

export type RefusalCode = 'CT_ERR_PAYLOAD_TOO_LARGE' | 'CT_ERR_MQTT_MALFORMED' | 'CT_ERR_BAD_TOPIC';

export interface Refusal {
  code: RefusalCode;
  reason: string;
}

/** PUBLISH topics longer than this are not checked for wildcards (the gateway's own topics are short). */
const TOPIC_CHECK_BYTES = 1024;
/** CONNECT bodies are checked within their first bytes (protocol name, flags, properties, client id). */
const CONNECT_CHECK_BYTES = 8192;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const PUBLISH = 3;
const CONNECT = 1;
const PINGREQ = 12;
/** Types whose fixed-header flags must be 0b0010; every other non-PUBLISH type needs 0. */
const FLAGS_TWO = new Set([6, 8, 10]);

export class PacketGuard {
  readonly #maxBytes: number;
  /** 0: expecting a fixed header byte; 1: reading Remaining Length; 2: in the body. */
  #state: 0 | 1 | 2 = 0;
  #type = 0;
  #flags = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #bodyLeft = 0;
  /** The first bytes of the body being checked, and how many of them to keep. */
  #head: Uint8Array = new Uint8Array(0);
  #headWanted = 0;
  #headHave = 0;
  #checked = false;
  /** From the CONNECT: 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
  #level = 4;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Account for the next bytes of the stream; a Refusal once a packet is too large or malformed. */
  feed(chunk: Uint8Array): Refusal | undefined {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === 2) {
        const take = Math.min(this.#bodyLeft, n - i);
        if (this.#headHave < this.#headWanted) {
          const keep = Math.min(take, this.#headWanted - this.#headHave);
          this.#head.set(chunk.subarray(i, i + keep), this.#headHave);
          this.#headHave += keep;
        }
        this.#bodyLeft -= take;
        i += take;
        if (!this.#checked && (this.#headHave === this.#headWanted || this.#bodyLeft === 0)) {
          this.#checked = true;
          const bad = this.#checkBody();
          if (bad) return bad;
        }
        if (this.#bodyLeft === 0) this.#state = 0;
      } else if (this.#state === 0) {
        const b = chunk[i++]!;
        this.#type = b >> 4;
        this.#flags = b & 0x0f;
        this.#state = 1;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        this.#length += (b & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes++;
        if (b & 0x80) {
          // [MQTT-2.2.3] at most four bytes
          if (this.#lengthBytes >= 4) return malformed('Remaining Length longer than four bytes');
          if (this.#length > this.#maxBytes) return tooLarge(this.#length, this.#maxBytes);
          continue;
        }
        if (this.#length > this.#maxBytes) return tooLarge(this.#length, this.#maxBytes);
        const bad = this.#checkFixedHeader();
        if (bad) return bad;
        if (this.#length === 0) {
          this.#state = 0;
          continue;
        }
        this.#bodyLeft = this.#length;
        this.#headWanted =
          this.#type === PUBLISH
            ? Math.min(this.#length, 2 + TOPIC_CHECK_BYTES + 2)
            : this.#type === CONNECT
              ? Math.min(this.#length, CONNECT_CHECK_BYTES)
              : 0;
        if (this.#head.length < this.#headWanted) this.#head = new Uint8Array(this.#headWanted);
        this.#headHave = 0;
        this.#checked = this.#headWanted === 0;
        this.#state = 2;
      }
    }
    return undefined;
  }

  #checkFixedHeader(): Refusal | undefined {
    const t = this.#type;
    const f = this.#flags;
    if (t === 0) return malformed('reserved packet type 0');
    if (t === PUBLISH) {
      const qos = (f >> 1) & 3;
      if (qos === 3) return malformed('PUBLISH with QoS 3');
      if (qos === 0 && f & 0x08) return malformed('PUBLISH with DUP set on QoS 0');
      // Topic length (2 bytes), and a packet id (2 bytes) on QoS 1/2, must fit.
      if (this.#length < 2 + (qos > 0 ? 2 : 0)) return malformed('PUBLISH too short for its topic');
      return undefined;
    }
    if (t === 15 && this.#level < 5) return malformed('AUTH packet outside MQTT 5');
    const want = FLAGS_TWO.has(t) ? 2 : 0;
    if (f !== want) return malformed(`packet type ${t} with fixed-header flags ${f} (must be ${want})`);
    if (t === PINGREQ && this.#length !== 0) return malformed('PINGREQ with a body');
    return undefined;
  }

  #checkBody(): Refusal | undefined {
    const h = this.#head.subarray(0, this.#headHave);
    if (this.#type === PUBLISH) return this.#checkPublish(h);
    if (this.#type === CONNECT) return this.#checkConnect(h);
    return undefined;
  }

  #checkPublish(h: Uint8Array): Refusal | undefined {
    const qos = (this.#flags >> 1) & 3;
    const topicLen = (h[0]! << 8) | h[1]!;
    if (2 + topicLen + (qos > 0 ? 2 : 0) > this.#length)
      return malformed(`PUBLISH topic length ${topicLen} runs past the packet`);
    if (topicLen === 0 && this.#level < 5) return malformed('PUBLISH with an empty topic');
    if (h.length >= 2 + topicLen) {
      const topic = h.subarray(2, 2 + topicLen);
      if (topic.includes(0x2b) || topic.includes(0x23))
        return { code: 'CT_ERR_BAD_TOPIC', reason: 'PUBLISH to a topic with a wildcard' };
      if (qos > 0 && h.length >= 2 + topicLen + 2) {
        const id = (h[2 + topicLen]! << 8) | h[3 + topicLen]!;
        if (id === 0) return malformed(`PUBLISH QoS ${qos} with packet id 0`);
      }
    }
    return undefined;
  }

  #checkConnect(h: Uint8Array): Refusal | undefined {
    let p = 0;
    const need = (k: number) => p + k <= h.length;
    if (!need(2)) return undefined;
    const nameLen = (h[p]! << 8) | h[p + 1]!;
    p += 2 + nameLen;
    if (!need(4)) return undefined;
    this.#level = h[p]!;
    p += 4; // level, connect flags, keep alive
    if (this.#level === 5) {
      // Properties: a variable byte integer length, then the properties.
      let len = 0;
      let mult = 1;
      for (let k = 0; k < 4; k++) {
        if (!need(1)) return undefined;
        const b = h[p++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if (!(b & 0x80)) break;
      }
      p += len;
    }
    if (!need(2)) return undefined;
    const idLen = (h[p]! << 8) | h[p + 1]!;
    p += 2;
    if (!need(idLen)) return undefined;
    const id = h.subarray(p, p + idLen);
    try {
      const text = UTF8.decode(id);
      if (text.includes('\u0000')) return malformed('CONNECT client id holds U+0000');
    } catch {
      return malformed('CONNECT client id is not well-formed UTF-8');
    }
    return undefined;
  }
}

function malformed(reason: string): Refusal {
  return { code: 'CT_ERR_MQTT_MALFORMED', reason };
}

function tooLarge(length: number, max: number): Refusal {
  return { code: 'CT_ERR_PAYLOAD_TOO_LARGE', reason: `packet of ${length} bytes over the ${max}-byte limit` };
}

/**
 * Put the guard on a connection's read path. aedes consumes a connection only through `read()` on
 * 'readable', so wrapping `read` sees every byte it will parse, with no extra stream in between.
 */
export function guardConnection<T extends Duplex>(
  conn: T,
  maxPacketBytes: number,
  onRefuse: (refusal: Refusal) => void,
): T {
  const guard = new PacketGuard(maxPacketBytes);
  const read = conn.read.bind(conn);
  conn.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (chunk instanceof Uint8Array) {
      const refusal = guard.feed(chunk);
      if (refusal) {
        onRefuse(refusal);
        conn.destroy();
        return null;
      }
    }
    return chunk;
  };
  return conn;
}
