/**
 * The UCI Occupancy Detection training file (Candanedo & Feldheim 2016), copied in
 * tests/fixtures/uci-occupancy/ (see its README): one office, one row a minute, February 2015.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const UCI_TRAINING_FILE = path.resolve(repoRoot, 'tests/fixtures/uci-occupancy/datatraining.txt');

export interface UciRow {
  /** The row's own time (UTC epoch ms). */
  ts: number;
  temperature: number;
  humidity: number;
  light: number;
  co2: number;
  occupied: boolean;
}

/** The header names 7 columns but each row has 8: a quoted row id comes first. */
export function loadUciRows(file = UCI_TRAINING_FILE): UciRow[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).slice(1);
  const rows: UciRow[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const f = line.split(',').map((x) => x.replace(/^"|"$/g, ''));
    if (f.length !== 8) throw new Error(`unexpected row: ${line}`);
    const num = (i: number) => Number(f[i]);
    rows.push({
      ts: Date.parse(`${f[1]!.replace(' ', 'T')}Z`),
      temperature: num(2),
      humidity: num(3),
      light: num(4),
      co2: num(5),
      occupied: num(7) === 1,
    });
  }
  return rows;
}
