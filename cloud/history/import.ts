/**
 * Loads a history file (records.ts format) into the store: events in batches of `batchSize` (one
 * transaction each, deduplicated by event id), courses as they come. Bad lines are counted by error code
 * and the first few kept with their line numbers, never fatal. Progress is reported in bytes read.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { StoredEvent } from '../consume/validate.ts';
import type { CloudStore } from '../store/types.ts';
import { parseRecord } from './records.ts';

export interface ImportSummary {
  file: string;
  lines: number;
  imported: number;
  duplicates: number;
  courses: number;
  rejected: Record<string, number>;
  /** The first rejections (line number, code, message), for inspection. */
  examples: { line: number; code: string; message: string }[];
  seconds: number;
}

export interface ImportOptions {
  batchSize?: number;
  /** Called after each batch with bytes read so far and the file's size. */
  onProgress?: (readBytes: number, totalBytes: number, summary: ImportSummary) => void;
  now?: () => number;
}

const MAX_EXAMPLES = 20;

export async function importFile(
  store: CloudStore,
  file: string,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const batchSize = opts.batchSize ?? 5000;
  const total = statSync(file).size;
  const raw = createReadStream(file);
  let readBytes = 0;
  raw.on('data', (chunk) => {
    readBytes += chunk.length;
  });
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const summary: ImportSummary = {
    file,
    lines: 0,
    imported: 0,
    duplicates: 0,
    courses: 0,
    rejected: {},
    examples: [],
    seconds: 0,
  };
  let batch: StoredEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const r = await store.importEvents(batch);
    summary.imported += r.inserted;
    summary.duplicates += r.duplicates;
    batch = [];
    opts.onProgress?.(readBytes, total, summary);
  };
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    summary.lines++;
    const rec = parseRecord(line);
    if (rec.kind === 'event') {
      batch.push(rec.event);
      if (batch.length >= batchSize) await flush();
    } else if (rec.kind === 'course') {
      await store.upsertCourses([rec.course]);
      summary.courses++;
    } else if (rec.kind === 'rejected') {
      summary.rejected[rec.code] = (summary.rejected[rec.code] ?? 0) + 1;
      if (summary.examples.length < MAX_EXAMPLES)
        summary.examples.push({ line: summary.lines, code: rec.code, message: rec.message.slice(0, 300) });
    }
  }
  await flush();
  summary.seconds = Math.round((now() - started) / 100) / 10;
  return summary;
}

/** A one-line progress bar for a terminal: `[#####.....]  52%  12.3/23.6 MB  imported 10,000`. */
export function progressLine(readBytes: number, totalBytes: number, s: ImportSummary, width = 30): string {
  const share = totalBytes === 0 ? 1 : Math.min(1, readBytes / totalBytes);
  const filled = Math.round(share * width);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  ${mb(readBytes)}/${mb(totalBytes)} MB  imported ${s.imported.toLocaleString('en')}  duplicates ${s.duplicates.toLocaleString('en')}  rejected ${rejected.toLocaleString('en')}`;
}
