/**
 * The receiver's start position: the `apache.org:selector-filter:string` source filter the SDK sends on
 * attach, parsed into plain data. Pure.
 *
 * Forms the SDK sends (event-hubs 6, eventPosition.ts):
 *   x-opt-offset > '-1'            earliest       x-opt-offset > '@latest'   only events enqueued later
 *   x-opt-offset >|>= '<offset>'   after / from an offset
 *   x-opt-sequence-number >|>= '<n>'
 *   x-opt-enqueued-time > '<ms since epoch>'
 * `>=` is accepted for every field; quotes are optional around numbers.
 */

export type StartPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number; inclusive: boolean }
  | { kind: 'sequence'; sequenceNumber: number; inclusive: boolean }
  | { kind: 'enqueuedTime'; enqueuedMs: number; inclusive: boolean };

export type ParseResult = { ok: true; position: StartPosition } | { ok: false; error: string };

const SELECTOR =
  /^\s*(amqp\.annotation\.)?(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*(?:'([^']*)'|(-?\d+))\s*$/i;

/** Missing filter = earliest, as Event Hubs does. */
export function parseSelector(filter: string | undefined): ParseResult {
  if (filter === undefined || filter.trim() === '') return { ok: true, position: { kind: 'earliest' } };
  const m = SELECTOR.exec(filter);
  if (!m) return { ok: false, error: `unsupported selector filter: ${filter}` };
  const field = m[2]!.toLowerCase();
  const inclusive = m[3] === '>=';
  const raw = (m[4] ?? m[5] ?? '').trim();
  if (field === 'x-opt-offset') {
    if (raw === '@latest') return { ok: true, position: { kind: 'latest' } };
    if (raw === '-1') return { ok: true, position: { kind: 'earliest' } };
  }
  if (!/^-?\d+$/.test(raw)) return { ok: false, error: `${field}: '${raw}' is not an integer` };
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) return { ok: false, error: `${field}: '${raw}' is out of range` };
  switch (field) {
    case 'x-opt-offset':
      return { ok: true, position: { kind: 'offset', offset: n, inclusive } };
    case 'x-opt-sequence-number':
      return { ok: true, position: { kind: 'sequence', sequenceNumber: n, inclusive } };
    default:
      return { ok: true, position: { kind: 'enqueuedTime', enqueuedMs: n, inclusive } };
  }
}
