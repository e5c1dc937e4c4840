/**
 * Rows to replay, from a file of readings (pure; the file is read by the caller):
 *  - JSONL: one object a line, `{"deviceId": "env-1", "ts": <epoch ms or ISO 8601>, "readings": {"co2": 612}}`
 *    (`deviceId` may be left out when a default device is given).
 *  - CSV: a header, a time column (`ts`, `time`, `timestamp` or `date`: epoch ms or a date/time, taken as
 *    UTC unless it says otherwise) and numeric columns, each a channel (header lower-cased); `columns`
 *    keeps only those named. A row with one field more than the header starts with a row id (R's
 *    write.csv, as in the UCI occupancy files): it is skipped.
 * A line that cannot be read is reported with its number and the file is refused as a whole (a replay
 * that silently skips rows would give a history with holes).
 */
import { CampusTwinError } from '../errors.ts';

export interface ReplayRow {
  deviceId: string;
  ts: number;
  readings: Record<string, number>;
}

export interface ParseOptions {
  /** For CSV files and JSONL lines without a deviceId. */
  device?: string;
  /** CSV: only these channels (lower case). */
  columns?: readonly string[];
}

function parseTime(raw: unknown, where: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string' && raw.trim() !== '') {
    const t = raw.trim();
    if (/^\d{10,}$/.test(t)) return Number(t);
    // "2015-02-04 17:51:00" has no zone: UTC, as the row's own clock.
    const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
    const ms = Date.parse(iso);
    if (Number.isFinite(ms)) return ms;
  }
  throw new CampusTwinError('CT_ERR_SCHEMA', `${where}: time ${JSON.stringify(raw)} is not a date`);
}

/** The objects of a JSONL text with their line numbers (blank lines skipped); a bad line throws. */
export function jsonLines(text: string): { where: string; value: Record<string, unknown> }[] {
  const out: { where: string; value: Record<string, unknown> }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new CampusTwinError('CT_ERR_NOT_JSON', `${where} is not JSON`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw new CampusTwinError('CT_ERR_SCHEMA', `${where}: expected an object`);
    out.push({ where, value: o as Record<string, unknown> });
  }
  return out;
}

export function parseJsonl(text: string, opts: ParseOptions = {}): ReplayRow[] {
  const rows: ReplayRow[] = [];
  for (const { where, value: r } of jsonLines(text)) {
    const deviceId = typeof r.deviceId === 'string' ? r.deviceId : opts.device;
    if (!deviceId) throw new CampusTwinError('CT_ERR_SCHEMA', `${where}: no deviceId (or give --device)`);
    const readings: Record<string, number> = {};
    if (typeof r.readings !== 'object' || r.readings === null || Array.isArray(r.readings))
      throw new CampusTwinError('CT_ERR_SCHEMA', `${where}: readings must be an object of numbers`);
    for (const [k, v] of Object.entries(r.readings)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new CampusTwinError('CT_ERR_SCHEMA', `${where}: readings.${k} is not a number`);
      readings[k] = v;
    }
    rows.push({ deviceId, ts: parseTime(r.ts, where), readings });
  }
  return rows;
}

const TIME_COLUMNS = ['ts', 'time', 'timestamp', 'date'];

function splitCsvLine(line: string): string[] {
  return line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
}

export function parseCsv(text: string, opts: ParseOptions = {}): ReplayRow[] {
  if (!opts.device) throw new CampusTwinError('CT_ERR_SCHEMA', 'a CSV file needs --device');
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const timeCol = header.findIndex((h) => TIME_COLUMNS.includes(h));
  if (timeCol < 0)
    throw new CampusTwinError('CT_ERR_SCHEMA', `line 1: no time column (one of ${TIME_COLUMNS.join(', ')})`);
  const wanted = opts.columns?.map((c) => c.toLowerCase());
  const unknown = wanted?.filter((c) => !header.includes(c)) ?? [];
  if (unknown.length)
    throw new CampusTwinError(
      'CT_ERR_SCHEMA',
      `line 1: no column ${unknown.join(', ')} in ${header.join(', ')}`,
    );
  const channels = header
    .map((h, i) => [h, i] as const)
    .filter(([h, i]) => i !== timeCol && (wanted ? wanted.includes(h) : true));
  const rows: ReplayRow[] = [];
  for (let n = 1; n < lines.length; n++) {
    if (lines[n]!.trim() === '') continue;
    const where = `line ${n + 1}`;
    let f = splitCsvLine(lines[n]!);
    if (f.length === header.length + 1) f = f.slice(1);
    if (f.length !== header.length)
      throw new CampusTwinError(
        'CT_ERR_SCHEMA',
        `${where}: ${f.length} fields, the header has ${header.length}`,
      );
    const readings: Record<string, number> = {};
    for (const [name, i] of channels) {
      if (f[i] === '') continue;
      const v = Number(f[i]);
      if (!Number.isFinite(v)) {
        if (wanted)
          throw new CampusTwinError(
            'CT_ERR_SCHEMA',
            `${where}: ${name} ${JSON.stringify(f[i])} is not a number`,
          );
        continue; // a text column nobody asked for
      }
      readings[name] = v;
    }
    rows.push({ deviceId: opts.device, ts: parseTime(f[timeCol], where), readings });
  }
  return rows;
}
