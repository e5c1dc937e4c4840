/**
 * How a benchmark hands back a figure: one JSON line on stdout per figure, always against a baseline
 * measured in the same run (the machine is shared and noisy, so absolute numbers are not comparable
 * between runs, ratios are). Progress and diagnostics go to stderr so stdout stays machine-readable.
 */

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  [context: string]: unknown;
}

export function emit(figure: Figure): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

export function progress(bench: string, message: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
  process.stderr.write(`[bench:${bench}] ${message}${extra}\n`);
}

/** Rounds to `digits` significant decimals, for readable output (never used before a division). */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
