/**
 * What went wrong with a Modbus request, as data: exception responses by code (Modbus Application
 * Protocol V1.1b3 §7), timeouts, CRC/framing errors, disconnects and failed connects. Each fault has a
 * counter label, an error code from the catalogue and a retry policy. Pure.
 */
import type { ErrorCode } from '../../../shared/errors.ts';

export type Fault =
  | { kind: 'exception'; code: number }
  | { kind: 'timeout' }
  | { kind: 'crc' }
  | { kind: 'bad_response' }
  | { kind: 'disconnect' }
  | { kind: 'connect_failed' };

/** §7 exception codes the issue names, plus 05/06 which devices send while busy. */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** An exception code as the spec writes it: `02`, `0B`. */
function hex2(code: number): string {
  return code.toString(16).padStart(2, '0').toUpperCase();
}

/** The counter label: `exception_02`, `timeout`, `crc`… */
export function faultLabel(f: Fault): string {
  return f.kind === 'exception' ? `exception_${hex2(f.code)}` : f.kind;
}

export function faultCode(f: Fault): ErrorCode {
  switch (f.kind) {
    case 'exception':
      return 'CT_ERR_MODBUS_EXCEPTION';
    case 'timeout':
      return 'CT_ERR_MODBUS_TIMEOUT';
    case 'crc':
    case 'bad_response':
      return 'CT_ERR_MODBUS_FRAME';
    case 'disconnect':
    case 'connect_failed':
      return 'CT_ERR_MODBUS_UNREACHABLE';
  }
}

export function faultMessage(f: Fault, detail?: string): string {
  const base =
    f.kind === 'exception'
      ? `exception ${hex2(f.code)} (${EXCEPTION_NAMES[f.code] ?? 'unknown'})`
      : f.kind.replace('_', ' ');
  return detail ? `${base}: ${detail}` : base;
}

/**
 * Worth repeating at once: a lost or mangled frame or a dropped connection may well go through on the next
 * try, and a busy device asks for exactly that. A definite answer (illegal address…) will not change, and a
 * device that refused the connection is left to the backoff.
 */
export function isRetriable(f: Fault): boolean {
  if (f.kind === 'exception') return f.code === 5 || f.code === 6 || f.code === 11;
  return f.kind !== 'connect_failed';
}

/** Classifies an error from modbus-serial (or our own bus) into a Fault. */
export function classify(err: unknown): Fault {
  const e = (err ?? {}) as { modbusCode?: unknown; errno?: unknown; message?: unknown; ctFault?: Fault };
  if (e.ctFault) return e.ctFault;
  if (typeof e.modbusCode === 'number') return { kind: 'exception', code: e.modbusCode };
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.errno === 'ETIMEDOUT' || /timed out/i.test(message)) return { kind: 'timeout' };
  if (/CRC/i.test(message)) return { kind: 'crc' };
  if (/length error|Unexpected data/i.test(message)) return { kind: 'bad_response' };
  if (/Port Not Open|EPIPE|ECONNRESET|closed/i.test(message)) return { kind: 'disconnect' };
  return { kind: 'connect_failed' };
}

/** An Error carrying its fault, for the bus to reject with. */
export class FaultError extends Error {
  /** What happened, without the fault's own name (which `message` starts with). */
  readonly detail: string;
  constructor(
    readonly ctFault: Fault,
    detail?: string,
  ) {
    super(faultMessage(ctFault, detail));
    this.name = 'FaultError';
    this.detail = detail ?? '';
  }
}

/** The detail of an error for a message that will be prefixed with its fault. */
export function errorDetail(err: unknown): string {
  if (err instanceof FaultError) return err.detail;
  return err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
}
