/**
 * What every source mapper shares: the mapping context (pseudonymiser, receive time, what to keep), the
 * result type (canonical events, or one rejection naming the JSON path of the bad field) and small pure
 * helpers for paths, times, IRIs and content-derived ids.
 */
import { createHash } from 'node:crypto';
import { type ErrorCode, type Rejection, reject } from '../../../shared/errors.ts';
import type { AdminEvent, LearningEvent } from '../../../shared/events.ts';

export type CanonicalEvent = LearningEvent | AdminEvent;

export interface MapContext {
  /** Keyed pseudonym of a student identifier (see pseudonym.ts). */
  pseudonym: (identifier: string) => string;
  receivedAt: number;
  keepNames: boolean;
  keepEmails: boolean;
}

export interface MapRejection extends Rejection {
  /** JSON path of the bad field, e.g. `data[2].actor` or `[0].verb.id`; '' for the whole body. */
  path: string;
  /** The rule broken where a standard names one, e.g. `caliper-action` (see caliper-rules.ts). */
  rule?: string;
}

export type MapResult =
  | { ok: true; events: CanonicalEvent[]; ignored: number }
  | { ok: false; rejection: MapRejection };

export type Mapper = (body: unknown, ctx: MapContext) => MapResult;

/** Thrown inside a mapper to abort with a path; caught by `runMapper`. */
export class MapError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    readonly code: ErrorCode = 'CT_ERR_SCHEMA',
    readonly rule?: string,
  ) {
    super(`${path || '(body)'}: ${detail}`);
  }
}

export function runMapper(fn: () => { events: CanonicalEvent[]; ignored: number }): MapResult {
  try {
    const { events, ignored } = fn();
    return { ok: true, events, ignored };
  } catch (err) {
    if (!(err instanceof MapError)) throw err;
    const rejection: MapRejection = { ...reject(err.code, err.message), path: err.path };
    if (err.rule) rejection.rule = err.rule;
    return { ok: false, rejection };
  }
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The events of a body that holds one event, an array of them, or `{events: […]}` (Moodle and admin), each
 * with its JSON path. An empty list is an error; a lone event's path is '' (the body).
 */
export function eventsIn(body: unknown): { event: unknown; path: string }[] {
  let list: unknown[];
  let base = '';
  if (Array.isArray(body)) list = body;
  else if (isObject(body) && Array.isArray(body.events)) {
    list = body.events;
    base = 'events';
  } else return [{ event: body, path: '' }];
  if (list.length === 0) throw new MapError(base, 'expected at least one event');
  return list.map((event, i) => ({ event, path: join(base, i) }));
}

export function obj(v: unknown, path: string): Json {
  if (v === undefined || v === null) throw new MapError(path, 'required');
  if (!isObject(v)) throw new MapError(path, 'expected an object');
  return v;
}

export function str(v: unknown, path: string, max = 2048): string {
  if (v === undefined || v === null) throw new MapError(path, 'required');
  if (typeof v !== 'string' || v.length === 0) throw new MapError(path, 'expected a non-empty string');
  if (v.length > max) throw new MapError(path, `longer than ${max} characters`);
  return v;
}

/** A number, or a numeric string (Canvas sends some scores as strings). */
export function optNum(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new MapError(path, 'expected a finite number');
  return n;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** Whether a string is an IRI: a scheme and no whitespace (RFC 3987 in the small). */
export function isIri(s: string): boolean {
  return SCHEME.test(s);
}

/** An IRI: a scheme and no whitespace (RFC 3987 in the small; what xAPI and Caliper ids must be). */
export function iri(v: unknown, path: string): string {
  const s = str(v, path);
  if (!isIri(s)) throw new MapError(path, 'expected an IRI (scheme:…)');
  return s;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Digits of `s` from `from` to `to` as a number, or NaN when any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The UTC form senders nearly always use, `YYYY-MM-DDTHH:MM:SSZ` or `…SS.sssZ`, read without a regex or
 * Date.parse (a fifth of the cost); NaN for anything else, which the general path then reads. Gives what
 * Date.parse gives (which also rolls an April 31 over into May).
 */
function utcTime(s: string): number {
  const n = s.length;
  if ((n !== 20 && n !== 24) || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':')
    return Number.NaN;
  if (s[16] !== ':' || s[n - 1] !== 'Z' || (n === 24 && s[19] !== '.')) return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  const second = digits(s, 17, 19);
  const ms = n === 24 ? digits(s, 20, 23) : 0;
  // Years below 1000 (Date.UTC reads 0–99 as 1900–1999), hour 24 and the like: the general path.
  if (!(year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= 31)) return Number.NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59 && ms >= 0)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** ISO 8601 date-time → epoch ms (the form Caliper, xAPI and Canvas use). */
export function isoTime(v: unknown, path: string): number {
  const s = str(v, path, 64);
  const utc = utcTime(s);
  const t = !Number.isNaN(utc) ? utc : ISO_DATE_TIME.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isFinite(t) || t < 0) throw new MapError(path, 'expected an ISO 8601 date-time');
  return t;
}

export function optIsoTime(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : isoTime(v, path);
}

/** JSON with sorted keys: the same content always hashes the same. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** An id for sources whose events carry none: a resend of the same event gets the same id. */
export function contentId(prefix: string, v: unknown): string {
  return `${prefix}:sha256:${createHash('sha256').update(stableJson(v)).digest('hex').slice(0, 32)}`;
}

const MAX_EVENT_ID = 512;

export function eventIdOf(v: unknown, path: string): string {
  return str(v, path, MAX_EVENT_ID);
}

const EMAIL = /[^\s@/:]+@[^\s@/]+\.[^\s@/]+/;

/**
 * An object id as it may go to the uplink: kept readable unless it embeds a student identifier (the
 * actor's id or last path segment, a `/users/<id>` path, an email), in which case it is pseudonymised too.
 */
export function safeObjectId(
  id: string | null,
  personIds: readonly string[],
  pseudonym: (s: string) => string,
): string | null {
  if (id === null) return null;
  if ((id.includes('@') && EMAIL.test(id)) || USERS_PATH.test(id)) return pseudonym(id);
  for (const p of personIds) {
    if (!p) continue;
    if (id.includes(p)) return pseudonym(id);
    const seg = lastSegment(p);
    if (seg && seg.length >= 3 && containsSegment(id, seg)) return pseudonym(id);
  }
  return id;
}

const USERS_PATH = /\/users?\/[^/?#]+/i;

/** `seg` appears in `id` as a whole path, URN or query segment. */
function containsSegment(id: string, seg: string): boolean {
  for (let i = id.indexOf(seg); i !== -1; i = id.indexOf(seg, i + 1)) {
    const before = id[i - 1];
    const after = id[i + seg.length];
    if (
      (before === '/' || before === ':' || before === '=') &&
      (after === undefined || '/?#&'.includes(after))
    ) {
      return true;
    }
  }
  return false;
}

function lastSegment(iriText: string): string | undefined {
  const end = iriText.endsWith('/') ? iriText.length - 1 : iriText.length;
  const start = Math.max(iriText.lastIndexOf('/', end - 1), iriText.lastIndexOf(':', end - 1)) + 1;
  const seg = iriText.slice(start, end);
  return start > 0 && seg && !/[?#]/.test(seg) ? seg : undefined;
}

/** The last segment of a type or action IRI (`http://…/action#Viewed` → `Viewed`). */
export function localName(s: string): string {
  // A loop over the code units: twice as fast as two lastIndexOf calls on these short strings, and a
  // Caliper event asks for a dozen.
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c === 0x23 || c === 0x2f) return s.slice(i + 1);
  }
  return s;
}
