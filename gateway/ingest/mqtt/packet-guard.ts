/**
 * Refuses MQTT packets above a size before they are buffered. aedes (through mqtt-packet) accumulates a
 * packet until it is complete, up to the protocol's 256 MB [MQTT-2.2.3]: one client could make a small box
 * run out of memory. The guard follows the framing — fixed header byte, Remaining Length as a variable byte
 * integer of at most 4 bytes, then the body — across chunk boundaries, and says stop as soon as a header
 * announces a packet over the limit.
 */
import type { Duplex } from 'node:stream';

export class PacketSizeGuard {
  readonly #maxBytes: number;
  /** 0: expecting a fixed header byte; 1: reading Remaining Length; 2: skipping the body. */
  #state: 0 | 1 | 2 = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #bodyLeft = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Account for the next bytes of the stream; false once a packet is too large or malformed. */
  feed(chunk: Uint8Array): boolean {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === 2) {
        const take = Math.min(this.#bodyLeft, n - i);
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) this.#state = 0;
      } else if (this.#state === 0) {
        i++; // control packet type and flags
        this.#state = 1;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        this.#length += (b & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes++;
        if (this.#length > this.#maxBytes) return false;
        if (b & 0x80) {
          if (this.#lengthBytes >= 4) return false; // [MQTT-2.2.3] at most four bytes
        } else if (this.#length === 0) {
          this.#state = 0;
        } else {
          this.#bodyLeft = this.#length;
          this.#state = 2;
        }
      }
    }
    return true;
  }
}

/**
 * Put the guard on a connection's read path. aedes consumes a connection only through `read()` on
 * 'readable', so wrapping `read` sees every byte it will parse, with no extra stream in between.
 */
export function guardConnection<T extends Duplex>(
  conn: T,
  maxPacketBytes: number,
  onOversize: () => void,
): T {
  const guard = new PacketSizeGuard(maxPacketBytes);
  const read = conn.read.bind(conn);
  conn.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (chunk instanceof Uint8Array && !guard.feed(chunk)) {
      onOversize();
      conn.destroy();
      return null;
    }
    return chunk;
  };
  return conn;
}
