/**
 * CSV as the original design's clients read it (RFC 4180: comma-separated, CRLF-free `\n` lines, fields
 * quoted when they hold a comma, quote or newline, quotes doubled). Pure string helpers.
 */

export type CsvValue = string | number | null | undefined;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/** ISO 8601 UTC to the second, as the original design writes times (`2025-12-01T12:00:00Z`). */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
