/** Helpers every API route module shares: error replies from the one catalogue, and query parameter parsing. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, reject } from '../../shared/errors.ts';
import { campusLabel } from '../reporting/rooms.ts';
import type { Ambiguous } from '../store/types.ts';

/** An error reply `{error: {code, message}}` with the code's HTTP status. */
export function send(reply: FastifyReply, code: ErrorCode, detail?: string) {
  return reply.code(ERRORS[code].status).send({ error: reject(code, detail) });
}

/**
 * 409 for a sensor or room id that several campuses have, asked for without ?campus= ('' is the campus of
 * gateways that name none). `name` is what was asked for, e.g. "room B1-101".
 */
export function sendAmbiguous(reply: FastifyReply, name: string, a: Ambiguous) {
  const campuses = a.campuses.map(campusLabel).join(', ');
  return send(reply, 'CT_ERR_AMBIGUOUS', `${name} is on campuses ${campuses}; name one with ?campus=`);
}

/** `name` and, when the request named one, its campus: "room B1-101 on campus north". */
export function onCampus(name: string, campusId: string | undefined): string {
  return campusId === undefined ? name : `${name} on campus ${campusId}`;
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

const DAY_MS = 86_400_000;

/** `from`/`to` query parameters: `to` defaults to now, `from` to a day before `to`; a message when bad. */
export function timeRange(
  q: { from?: string; to?: string },
  now: number,
): { from: number; to: number } | { error: string } {
  const to = parseTime(q.to) ?? now;
  const from = parseTime(q.from) ?? to - DAY_MS;
  if (!Number.isFinite(from) || !Number.isFinite(to))
    return { error: 'from and to must be epoch milliseconds or ISO 8601 times' };
  if (from > to) return { error: 'from is after to' };
  return { from, to };
}

type Negotiable = FastifyRequest<{ Querystring: { format?: string } }>;

/** JSON when asked for (`?format=json`, or an Accept naming application/json before text/csv); else CSV. */
export function wantsJson(req: Negotiable): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'csv') return false;
  const accept = req.headers.accept ?? '';
  const json = accept.indexOf('application/json');
  const csv = accept.indexOf('text/csv');
  return json >= 0 && (csv < 0 || json < csv);
}

/** CSV when asked for (`?format=csv`, or an Accept starting with text/csv); else JSON. */
export function wantsCsv(req: Negotiable): boolean {
  if (req.query.format === 'csv') return true;
  if (req.query.format === 'json') return false;
  return (req.headers.accept ?? '').startsWith('text/csv');
}
