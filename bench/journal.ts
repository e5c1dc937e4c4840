/**
 * `journal`: journal appends per second through GatewayStore.commit (the gateway's group-commit
 * transaction: sensor-id lookup, INSERT OR IGNORE per reading, late/duplicate bookkeeping) against raw
 * better-sqlite3 inserts of the same rows into a plain table with the same columns and key (one prepared
 * INSERT, one transaction per batch). Both: 1,000-row batches, WAL, synchronous=FULL, the gateway's
 * wal_autocheckpoint, a fresh file each in one temp dir. Rounds alternate raw/store so background noise hits both alike.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GatewayStore } from '../gateway/journal/index.ts';
import type { Reading } from '../shared/events.ts';
import { unitOf } from '../shared/quantities.ts';
import { BENCH_CHANNELS } from './lib/campus.ts';
import { removeDir, tempDir } from './lib/children.ts';
import { emit, progress, round } from './lib/report.ts';

const BATCH_ROWS = 1_000;
/** Batches are generated this many at a time, outside the timed part (keeps memory flat). */
const CHUNK_BATCHES = 50;
const ROUND_BATCHES = 400;
const MAX_ROUNDS = 8;
const BUDGET_MS = Number(process.env.BENCH_JOURNAL_SECONDS ?? 20) * 1000;
const DEVICES = 25;

interface Batch {
  readings: Reading[];
  /** The raw table's sensor id of each reading (what the store looks up from device + channel). */
  sensors: Int32Array;
}

/**
 * `count` batches continuing at `row` (a global row counter per variant): 100 sensors, each reading a new
 * event time, timestamps near now so nothing is late.
 */
function makeBatches(startTs: number, row: number, count: number): Batch[] {
  const sensorsCount = DEVICES * BENCH_CHANNELS.length;
  const out: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const readings: Reading[] = new Array(BATCH_ROWS);
    const sensors = new Int32Array(BATCH_ROWS);
    for (let j = 0; j < BATCH_ROWS; j++, row++) {
      const sensor = row % sensorsCount;
      const channel = BENCH_CHANNELS[sensor % BENCH_CHANNELS.length]!;
      const ts = startTs + Math.floor(row / sensorsCount);
      readings[j] = {
        deviceId: `env-${Math.floor(sensor / BENCH_CHANNELS.length)}`,
        channel,
        roomId: 'b0-f0-r0',
        quantity: channel,
        unit: unitOf(channel),
        value: 20 + (row % 1000) / 100,
        ts,
        receivedAt: ts + 5,
        source: 'mqtt',
      };
      sensors[j] = sensor + 1;
    }
    out.push({ readings, sensors });
  }
  return out;
}

class RawJournal {
  readonly db: Database.Database;
  readonly #insert: Database.Statement<[number, number, number, number, number]>;
  readonly #tx: (batch: Batch) => void;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // The gateway's checkpoint interval too (gateway/journal/schema.ts), so the two differ only in code.
    this.db.pragma('wal_autocheckpoint = 4000');
    // Same columns and key as the gateway's readings table (gateway/journal/schema.ts).
    this.db.exec(`CREATE TABLE readings (
      ts INTEGER NOT NULL, sensor INTEGER NOT NULL, value REAL NOT NULL,
      received_at INTEGER NOT NULL, source INTEGER NOT NULL, PRIMARY KEY (ts, sensor)) WITHOUT ROWID`);
    this.#insert = this.db.prepare(
      'INSERT INTO readings (ts, sensor, value, received_at, source) VALUES (?, ?, ?, ?, ?)',
    );
    const insert = this.#insert;
    this.#tx = this.db.transaction((batch: Batch) => {
      const { readings, sensors } = batch;
      for (let j = 0; j < readings.length; j++) {
        const r = readings[j]!;
        insert.run(r.ts, sensors[j]!, r.value, r.receivedAt, 1);
      }
    });
  }

  commit(batch: Batch): void {
    this.#tx(batch);
  }
}

interface Variant {
  name: 'raw' | 'store';
  commit: (batch: Batch) => void;
  rows: number;
  ms: number;
  rounds: number[];
  close: () => void;
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-journal-');
  const variants: Variant[] = [];
  try {
    const raw = new RawJournal(join(dir, 'raw.db'));
    const store = new GatewayStore(join(dir, 'gateway.db'), {
      synchronous: 'FULL',
      quotaBytes: 1024 ** 3,
      windowMs: 60_000,
      forwardRaw: false,
      quarantineMaxRows: 10_000,
      quarantineMaxPayloadBytes: 1024,
    });
    const now = Date.now();
    variants.push(
      {
        name: 'raw',
        commit: (b) => raw.commit(b),
        rows: 0,
        ms: 0,
        rounds: [],
        close: () => raw.db.close(),
      },
      {
        name: 'store',
        commit: (b) => {
          const result = store.commit(b.readings, [], now);
          if (result.fresh.length !== b.readings.length) throw new Error('store: a reading was not fresh');
        },
        rows: 0,
        ms: 0,
        rounds: [],
        close: () => store.close(),
      },
    );
    const started = performance.now();
    const startTs = now - 30_000;
    for (let r = 0; r < MAX_ROUNDS; r++) {
      if (r >= 2 && performance.now() - started > BUDGET_MS) break;
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        let ms = 0;
        for (let c = 0; c < ROUND_BATCHES; c += CHUNK_BATCHES) {
          const batches = makeBatches(startTs, v.rows, CHUNK_BATCHES);
          const t0 = performance.now();
          for (const b of batches) v.commit(b);
          ms += performance.now() - t0;
          v.rows += CHUNK_BATCHES * BATCH_ROWS;
        }
        v.ms += ms;
        v.rounds.push(Math.round((ROUND_BATCHES * BATCH_ROWS) / (ms / 1000)));
      }
      progress(
        'journal',
        `round ${r + 1}`,
        Object.fromEntries(variants.map((v) => [v.name, v.rounds.at(-1)])),
      );
    }
    const [rawV, storeV] = variants as [Variant, Variant];
    const value = storeV.rows / (storeV.ms / 1000);
    const baseline = rawV.rows / (rawV.ms / 1000);
    const journalRows = store.journalStats(Date.now()).rows;
    emit({
      name: 'journal',
      value: round(value, 0),
      unit: 'rows/s',
      baseline: round(baseline, 0),
      ratio: round(value / baseline),
      target: '>= 0.5',
      meaning:
        'GatewayStore.commit rows/s ÷ raw prepared INSERTs of the same rows, same batch size and pragmas',
      rounds: { raw: rawV.rounds, store: storeV.rounds },
      batchRows: BATCH_ROWS,
      rowsPerVariant: storeV.rows,
      storeMsPerBatch: round(storeV.ms / (storeV.rows / BATCH_ROWS), 2),
      rawMsPerBatch: round(rawV.ms / (rawV.rows / BATCH_ROWS), 2),
      pragmas: 'journal_mode=WAL, synchronous=FULL, wal_autocheckpoint=4000 (both)',
      storeJournalRows: journalRows,
    });
  } finally {
    for (const v of variants) v.close();
    removeDir(dir);
  }
}
