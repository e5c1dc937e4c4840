/**
 * The dedupe index's storage (EventKeys): sorted runs of (key, request) pairs, written once and read by
 * seeks, as in a log-structured merge tree. A run is cut into chunks of CHUNK_KEYS pairs, each one BLOB row
 * of `event_key_runs` found by (run, first key); `event_key_run_info` has a row per run (its size, the
 * newest request it names). A flush of 131,072 keys is then ~2 MB written in order, where inserting them
 * one by one into a b-tree of random keys rewrote every page of it (and the WAL and checkpoint copied those
 * pages again): that had been a third of the webhook main thread's time. Runs are merged (EventKeys) so
 * that a lookup has few of them to seek.
 *
 * A chunk's BLOB is its n keys ascending, then their n requests, as float64 (exact for the 53-bit keys and
 * for any request seq) in the machine's byte order: little-endian on every platform the gateway ships for
 * (x86-64, ARM), which `KeyRuns` checks.
 */
import { endianness } from 'node:os';
import type Database from 'better-sqlite3';
import type { Db } from './schema.ts';

/** Pairs per chunk: 8 KB of BLOB, read whole by a seek. */
export const CHUNK_KEYS = 512;
/** Chunks read per query when a run is read in order (merges, the filter's rebuild). */
const CHUNKS_PER_READ = 16;

export const KEY_RUN_TABLES = `
  CREATE TABLE IF NOT EXISTS event_key_runs (
    run INTEGER NOT NULL,
    first_key INTEGER NOT NULL,
    n INTEGER NOT NULL,
    pairs BLOB NOT NULL,
    PRIMARY KEY (run, first_key)
  );
  CREATE TABLE IF NOT EXISTS event_key_run_info (
    run INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    max_request INTEGER NOT NULL
  );
`;

export interface RunInfo {
  run: number;
  size: number;
  /** The newest request row any of its pairs names: once it is pruned, so is the whole run. */
  maxRequest: number;
}

interface ChunkRow {
  first_key: number;
  n: number;
  pairs: Buffer;
}

/** A chunk's pairs: keys at [0, n), their requests at [n, 2n). */
function decode(blob: Uint8Array): Float64Array {
  const f = new Float64Array(blob.byteLength / 8);
  new Uint8Array(f.buffer).set(blob);
  return f;
}

/** Index of `key` among the chunk's n keys, or -1. */
function search(pairs: Float64Array, n: number, key: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = pairs[mid]!;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Writes one run in key order, a chunk at a time. */
export class RunWriter {
  readonly #runs: KeyRuns;
  readonly #run: number;
  readonly #chunk = new Float64Array(2 * CHUNK_KEYS);
  #n = 0;
  #size = 0;
  #maxRequest = 0;

  constructor(runs: KeyRuns, run: number) {
    this.#runs = runs;
    this.#run = run;
  }

  /** The next pair: its key above every key pushed before. */
  push(key: number, request: number): void {
    this.#chunk[this.#n] = key;
    this.#chunk[CHUNK_KEYS + this.#n] = request;
    this.#n++;
    this.#size++;
    if (request > this.#maxRequest) this.#maxRequest = request;
    if (this.#n === CHUNK_KEYS) this.#write();
  }

  #write(): void {
    const n = this.#n;
    const f = new Float64Array(2 * n);
    f.set(this.#chunk.subarray(0, n), 0);
    f.set(this.#chunk.subarray(CHUNK_KEYS, CHUNK_KEYS + n), n);
    this.#runs.insertChunk(this.#run, f[0]!, n, Buffer.from(f.buffer));
    this.#n = 0;
  }

  /** The run as written (its info row added), or undefined when it is empty (nothing written). */
  end(): RunInfo | undefined {
    if (this.#n > 0) this.#write();
    if (this.#size === 0) return undefined;
    const info = { run: this.#run, size: this.#size, maxRequest: this.#maxRequest };
    this.#runs.insertInfo(info);
    return info;
  }
}

/** Reads one run in key order, CHUNKS_PER_READ chunks per query. */
export class RunCursor {
  readonly #runs: KeyRuns;
  readonly #run: number;
  #rows: ChunkRow[] = [];
  #row = 0;
  #pairs: Float64Array = new Float64Array(0);
  #n = 0;
  #i = 0;
  #lastFirst = Number.NEGATIVE_INFINITY;
  #done = false;
  key = 0;
  request = 0;

  constructor(runs: KeyRuns, run: number) {
    this.#runs = runs;
    this.#run = run;
  }

  /** Moves to the next pair (`key`, `request`); false past the last one. */
  next(): boolean {
    while (this.#i >= this.#n) {
      if (this.#row >= this.#rows.length) {
        if (this.#done) return false;
        this.#rows = this.#runs.chunksAfter(this.#run, this.#lastFirst, CHUNKS_PER_READ);
        this.#row = 0;
        if (this.#rows.length < CHUNKS_PER_READ) this.#done = true;
        if (this.#rows.length === 0) return false;
      }
      const r = this.#rows[this.#row++]!;
      this.#lastFirst = r.first_key;
      this.#pairs = decode(r.pairs);
      this.#n = r.n;
      this.#i = 0;
    }
    this.key = this.#pairs[this.#i]!;
    this.request = this.#pairs[this.#n + this.#i]!;
    this.#i++;
    return true;
  }
}

export class KeyRuns {
  readonly #chunkAt: Database.Statement<[number, number], ChunkRow>;
  readonly #chunksAfter: Database.Statement<[number, number, number], ChunkRow>;
  readonly #insertChunk: Database.Statement<[number, number, number, Buffer]>;
  readonly #insertInfo: Database.Statement<[number, number, number]>;
  readonly #deleteChunks: Database.Statement<[number]>;
  readonly #deleteInfo: Database.Statement<[number]>;
  readonly #list: Database.Statement<[], RunInfo>;
  readonly #scan: Database.Statement<[number, number, number], ChunkRow & { run: number }>;

  constructor(db: Db) {
    if (endianness() !== 'LE') throw new Error('the event key runs are stored little-endian');
    this.#chunkAt = db.prepare(
      'SELECT first_key, n, pairs FROM event_key_runs WHERE run = ? AND first_key <= ? ORDER BY first_key DESC LIMIT 1',
    ) as Database.Statement<[number, number], ChunkRow>;
    this.#chunksAfter = db.prepare(
      'SELECT first_key, n, pairs FROM event_key_runs WHERE run = ? AND first_key > ? ORDER BY first_key LIMIT ?',
    ) as Database.Statement<[number, number, number], ChunkRow>;
    this.#insertChunk = db.prepare(
      'INSERT INTO event_key_runs (run, first_key, n, pairs) VALUES (?, ?, ?, ?)',
    );
    this.#insertInfo = db.prepare('INSERT INTO event_key_run_info (run, size, max_request) VALUES (?, ?, ?)');
    this.#deleteChunks = db.prepare('DELETE FROM event_key_runs WHERE run = ?');
    this.#deleteInfo = db.prepare('DELETE FROM event_key_run_info WHERE run = ?');
    this.#list = db.prepare(
      'SELECT run, size, max_request AS maxRequest FROM event_key_run_info ORDER BY run',
    ) as Database.Statement<[], RunInfo>;
    this.#scan = db.prepare(
      `SELECT run, first_key, n, pairs FROM event_key_runs WHERE (run, first_key) > (?, ?)
       ORDER BY run, first_key LIMIT ?`,
    ) as Database.Statement<[number, number, number], ChunkRow & { run: number }>;
  }

  /** The runs, oldest first. */
  list(): RunInfo[] {
    return this.#list.all();
  }

  writer(run: number): RunWriter {
    return new RunWriter(this, run);
  }

  cursor(run: number): RunCursor {
    return new RunCursor(this, run);
  }

  insertChunk(run: number, firstKey: number, n: number, pairs: Buffer): void {
    this.#insertChunk.run(run, firstKey, n, pairs);
  }

  insertInfo(info: RunInfo): void {
    this.#insertInfo.run(info.run, info.size, info.maxRequest);
  }

  chunksAfter(run: number, firstKey: number, limit: number): ChunkRow[] {
    return this.#chunksAfter.all(run, firstKey, limit);
  }

  delete(run: number): void {
    this.#deleteChunks.run(run);
    this.#deleteInfo.run(run);
  }

  /**
   * Looks `keys` (ascending) up in one run: `found(key, request)` for each one it holds. Keys next to each
   * other in one chunk cost one seek.
   */
  lookup(run: number, keys: readonly number[], found: (key: number, request: number) => void): void {
    let pairs: Float64Array | undefined;
    let n = 0;
    for (const key of keys) {
      if (!pairs || key > pairs[n - 1]!) {
        const row = this.#chunkAt.get(run, key);
        if (!row) continue;
        pairs = decode(row.pairs);
        n = row.n;
      }
      const i = search(pairs, n, key);
      if (i >= 0) found(key, pairs[n + i]!);
    }
  }

  /**
   * The next chunks of every run in (run, first key) order after (`run`, `firstKey`): what a filter build
   * reads a step at a time. Each as its pairs and where it is.
   */
  scan(
    run: number,
    firstKey: number,
    chunks: number,
  ): { run: number; firstKey: number; n: number; pairs: Float64Array }[] {
    return this.#scan
      .all(run, firstKey, chunks)
      .map((r) => ({ run: r.run, firstKey: r.first_key, n: r.n, pairs: decode(r.pairs) }));
  }
}

/**
 * Merges runs into one new run `into`, deleting them: a key in several keeps its newest request (the
 * others named rows since pruned: a key is only ever taken again once its row is gone), and a pair naming
 * a row at or below `prunedThrough` is left out. Returns the new run (undefined when nothing was left) and
 * how many pairs were left out.
 */
export function mergeRuns(
  runs: KeyRuns,
  sources: readonly RunInfo[],
  into: number,
  prunedThrough: number,
): { info: RunInfo | undefined; dropped: number } {
  const cursors = sources.map((s) => runs.cursor(s.run)).filter((c) => c.next());
  const writer = runs.writer(into);
  let dropped = 0;
  while (cursors.length > 0) {
    let key = Number.POSITIVE_INFINITY;
    for (const c of cursors) if (c.key < key) key = c.key;
    let request = -1;
    let copies = 0;
    for (let i = cursors.length - 1; i >= 0; i--) {
      const c = cursors[i]!;
      if (c.key !== key) continue;
      copies++;
      if (c.request > request) request = c.request;
      if (!c.next()) cursors.splice(i, 1);
    }
    dropped += copies - 1;
    if (request <= prunedThrough) dropped++;
    else writer.push(key, request);
  }
  for (const s of sources) runs.delete(s.run);
  return { info: writer.end(), dropped };
}
