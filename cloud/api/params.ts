/** Helpers every API route module shares: error replies from the one catalogue, and query parameter parsing. */
import type { FastifyReply } from 'fastify';
import { ERRORS, type ErrorCode, reject } from '../../shared/errors.ts';

/** An error reply `{error: {code, message}}` with the code's HTTP status. */
export function send(reply: FastifyReply, code: ErrorCode, detail?: string) {
  return reply.code(ERRORS[code].status).send({ error: reject(code, detail) });
}

/** A time as epoch ms or ISO 8601; undefined when absent, NaN when malformed. */
export function parseTime(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') return Number.NaN;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return Number.NaN;
  return Date.parse(v);
}

/** An integer query parameter in [min, max]: `dflt` when absent, undefined when malformed or out of range. */
export function intParam(v: string | undefined, dflt: number, min: number, max: number): number | undefined {
  const n = v === undefined || v === '' ? dflt : Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}
