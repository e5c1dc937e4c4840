/**
 * Converts the Open University Learning Analytics Dataset (OULAD; Kuzilek, Hlosta & Zdrahal 2017, Scientific
 * Data 4:170171, CC BY 4.0, attribution to the Open University) — or the subset in
 * `../shared/datasets/oulad-dev/` — into the history file `campus-twin cloud import` reads (cloud/README.md
 * "History import", cloud/history/records.ts): JSON Lines, gzipped when the output name ends in `.gz`.
 *
 *   npx tsx bench/oulad/convert.ts [--data ../shared/datasets/oulad-dev] [--out /tmp/oulad.jsonl.gz]
 *                                  [--modules AAA,BBB]
 *
 * prints the summary (ConvertSummary) as JSON on stdout.
 *
 * Mapping
 * - Course: one per courses.csv row, id `${code_module}-${code_presentation}` (`AAA-2013J`), name = id.
 *   OULAD gives days relative to the presentation's start but not the start itself: `YYYYB` starts
 *   1 February YYYY, `YYYYJ` 1 October YYYY (00:00 UTC). endTs = start + module_presentation_length days.
 *   Assessments from assessments.csv: assessmentId = id_assessment, kind = assessment_type (TMA, CMA, Exam),
 *   dueTs = start + date days (absent when date is empty, as for most exams), weight. All course lines come
 *   first in the output.
 * - Times: day d of a course is start + d days. Activity (learning events) at midday UTC of that day
 *   (start + d days + 12 h); admin events at 00:00 of that day. receivedAt = ts everywhere.
 * - Students: actorId `p_${id_student}`.
 * - studentRegistration + studentInfo (admin events, source 'admin', roomId null):
 *   - `enrolment.created` (originalType `oulad.registration`) at date_registration (none when empty);
 *   - `enrolment.withdrawn` (`oulad.unregistration`) at date_unregistration when present;
 *   - final_result Pass / Distinction / Fail: `enrolment.completed` (`oulad.final_result.${result}`) at endTs;
 *   - final_result Withdrawn without an unregistration date: `enrolment.withdrawn`
 *     (`oulad.final_result.Withdrawn`) at endTs — counted in summary.withdrawnWithoutDate.
 * - studentVle_daily_clicks (one row per student and day): one `resource.viewed` learning event (source
 *   'import', originalType `oulad.daily_clicks`, objectId null) with count = sum_click at midday of the day;
 *   rows with sum_click < 1 are skipped. Streamed, never held in memory as rows.
 * - studentAssessment: banked rows (is_banked = 1, a result carried over from an earlier presentation) are
 *   skipped. Otherwise `assessment.submitted` (originalType `oulad.assessment_submitted`) at midday of
 *   date_submitted, objectId = id_assessment; when a score is present also `assessment.graded`
 *   (`oulad.assessment_score`; score, maxScore 100, same objectId). OULAD has no grading date:
 *   we ASSUME marking takes a week after the later of submission and due date, i.e. midday of
 *   max(date_submitted, due day — or date_submitted when the assessment has no due date) + 7 days.
 *   The course comes from the assessment's row in assessments.csv.
 * - eventIds: `oulad:${courseId}:${id_student}:` + `reg` | `unreg` | `result` | `clicks:${day}` |
 *   `sub:${id_assessment}` | `grade:${id_assessment}` — deterministic, so a re-import is all duplicates.
 *
 * Order: courses, then per enrolment its admin events, then submissions/grades, then the daily clicks in the
 * clicks file's order: events are not globally sorted by time (the importer takes them in any order,
 * deduplicating by eventId).
 *
 * summary.skipped counts what was left out, by reason: registrationNoDate (no enrolment.created),
 * submissionBanked, gradeNoScore (submitted but no assessment.graded), clicksBelowOne, and for malformed or
 * inconsistent input badCourse, assessmentUnknownCourse, registrationUnknownCourse, registrationDuplicate,
 * enrolmentWithoutResult, resultUnknown, resultWithoutRegistration (still mapped), submissionUnknownAssessment,
 * submissionNoDate, submissionDuplicate, clicksBadRow, clicksDuplicateDay, clicksWithoutEnrolment,
 * clicksOverMillion (above the importer's limit for count).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';

export interface ConvertSummary {
  courses: number;
  students: number;
  enrolments: number;
  events: number;
  byType: Record<string, number>;
  withdrawnWithoutDate: number;
  skipped: Record<string, number>;
}

export interface ConvertOptions {
  dataDir: string;
  outFile: string;
  /** Only these code_module values (default: all). */
  modules?: string[];
}

const DAY = 86_400_000;
const MIDDAY = 12 * 3_600_000;

// ---------------------------------------------------------------------------------------------- CSV

/**
 * One CSV line into fields: comma-separated, fields optionally in double quotes with `""` for a quote inside.
 * No embedded newlines (none of the OULAD files have them). Headers and values may be quoted or not.
 */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          // unterminated quote: take the rest as the value
          field += line.slice(i);
          i = n;
          break;
        }
        field += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34) {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // anything between the closing quote and the next comma is kept (lenient)
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? n : comma;
      field += line.slice(i, end);
      out.push(field);
      if (comma < 0) return out;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

type Row = Record<string, string>;

/** Maps a line to a row keyed by the header, trimming a BOM and a trailing \r. */
function rowMaker(headerLine: string): (line: string) => Row {
  const header = parseCsvLine(headerLine.replace(/^\uFEFF/, '').replace(/\r$/, '')).map((h) => h.trim());
  return (line) => {
    const fields = parseCsvLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    const row: Row = {};
    for (let k = 0; k < header.length; k++) row[header[k]!] = (fields[k] ?? '').trim();
    return row;
  };
}

/** A small table read whole. */
async function readTable(file: string): Promise<Row[]> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const first = lines.shift();
  if (first === undefined) return [];
  const make = rowMaker(first);
  return lines.filter((l) => l.trim() !== '').map(make);
}

/** A large table, row by row (gunzipped when the name ends in .gz). */
async function* streamTable(file: string): AsyncGenerator<Row> {
  const raw = createReadStream(file);
  const input: Readable = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let make: ((line: string) => Row) | undefined;
  for await (const line of lines) {
    if (!make) {
      make = rowMaker(line);
      continue;
    }
    if (line.trim() === '') continue;
    yield make(line);
  }
}

// ---------------------------------------------------------------------------------------------- mapping

/** Epoch ms of day 0 of a presentation (`2013J` → 1 Oct 2013, `2014B` → 1 Feb 2014), or undefined. */
export function presentationStart(codePresentation: string): number | undefined {
  const m = /^(\d{4})([BJ])$/.exec(codePresentation);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), m[2] === 'B' ? 1 : 9, 1);
}

/** An integer day (may be negative), or undefined for an empty or malformed value. */
function intOrUndef(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === '?') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

function numOrUndef(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === '?') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

interface Course {
  id: string;
  start: number;
  end: number;
}

interface Assessment {
  course: Course;
  /** due day, relative to the course start */
  due: number | undefined;
}

const RESULTS_COMPLETED = new Set(['Pass', 'Distinction', 'Fail']);

export async function convertOulad(opts: ConvertOptions): Promise<ConvertSummary> {
  const dir = opts.dataDir;
  const wanted = opts.modules && opts.modules.length > 0 ? new Set(opts.modules) : undefined;
  const keep = (codeModule: string) => !wanted || wanted.has(codeModule);

  const summary: ConvertSummary = {
    courses: 0,
    students: 0,
    enrolments: 0,
    events: 0,
    byType: {},
    withdrawnWithoutDate: 0,
    skipped: {},
  };
  const skip = (reason: string) => {
    summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
  };
  const counted = (type: string) => {
    summary.events++;
    summary.byType[type] = (summary.byType[type] ?? 0) + 1;
  };

  // The small tables, whole.
  const [courseRows, assessmentRows, infoRows, regRows] = await Promise.all([
    readTable(resolve(dir, 'courses.csv')),
    readTable(resolve(dir, 'assessments.csv')),
    readTable(resolve(dir, 'studentInfo.csv')),
    readTable(resolve(dir, 'studentRegistration.csv')),
  ]);

  const courses = new Map<string, Course>();
  const courseLines: string[] = [];
  const courseAssessments = new Map<string, Record<string, unknown>[]>();
  for (const r of courseRows) {
    if (!keep(r.code_module ?? '')) continue;
    const id = `${r.code_module}-${r.code_presentation}`;
    const start = presentationStart(r.code_presentation ?? '');
    const length = intOrUndef(r.module_presentation_length);
    if (start === undefined || length === undefined || length < 0) {
      skip('badCourse');
      continue;
    }
    courses.set(id, { id, start, end: start + length * DAY });
    courseAssessments.set(id, []);
  }

  const assessments = new Map<string, Assessment>();
  for (const r of assessmentRows) {
    if (!keep(r.code_module ?? '')) continue;
    const course = courses.get(`${r.code_module}-${r.code_presentation}`);
    const assessmentId = r.id_assessment ?? '';
    if (!course || assessmentId === '') {
      skip('assessmentUnknownCourse');
      continue;
    }
    const due = intOrUndef(r.date);
    const weight = numOrUndef(r.weight);
    const a: Record<string, unknown> = { assessmentId, kind: r.assessment_type || undefined };
    if (due !== undefined) a.dueTs = course.start + due * DAY;
    if (weight !== undefined && weight >= 0) a.weight = weight;
    courseAssessments.get(course.id)!.push(a);
    assessments.set(assessmentId, { course, due });
  }
  for (const c of courses.values()) {
    courseLines.push(
      JSON.stringify({
        kind: 'course',
        courseId: c.id,
        name: c.id,
        startTs: c.start,
        endTs: c.end,
        assessments: courseAssessments.get(c.id),
      }),
    );
  }
  summary.courses = courses.size;

  // Enrolments: registration rows joined with studentInfo's final_result.
  const results = new Map<string, string>();
  for (const r of infoRows) {
    if (!keep(r.code_module ?? '')) continue;
    results.set(`${r.code_module}-${r.code_presentation}:${r.id_student}`, r.final_result ?? '');
  }
  const students = new Set<string>();
  const enrolments = new Set<string>();

  const admin = (
    eventId: string,
    type: string,
    originalType: string,
    ts: number,
    student: string,
    c: Course,
  ) => {
    counted(type);
    return JSON.stringify({
      eventId,
      source: 'admin',
      type,
      originalType,
      ts,
      receivedAt: ts,
      actorId: `p_${student}`,
      courseId: c.id,
      roomId: null,
    });
  };
  const learning = (
    eventId: string,
    type: string,
    originalType: string,
    ts: number,
    student: string,
    c: Course,
    objectId: string | null,
    extra?: Record<string, number>,
  ) => {
    counted(type);
    return JSON.stringify({
      eventId,
      source: 'import',
      type,
      originalType,
      actorId: `p_${student}`,
      courseId: c.id,
      objectId,
      ts,
      receivedAt: ts,
      ...extra,
    });
  };

  function* enrolmentLines(): Generator<string> {
    const seen = new Set<string>();
    for (const r of regRows) {
      if (!keep(r.code_module ?? '')) continue;
      const key = `${r.code_module}-${r.code_presentation}:${r.id_student}`;
      const c = courses.get(`${r.code_module}-${r.code_presentation}`);
      const student = r.id_student ?? '';
      if (!c || student === '') {
        skip('registrationUnknownCourse');
        continue;
      }
      if (seen.has(key)) {
        skip('registrationDuplicate');
        continue;
      }
      seen.add(key);
      students.add(student);
      enrolments.add(key);
      const base = `oulad:${c.id}:${student}`;
      const reg = intOrUndef(r.date_registration);
      if (reg !== undefined)
        yield admin(
          `${base}:reg`,
          'enrolment.created',
          'oulad.registration',
          c.start + reg * DAY,
          student,
          c,
        );
      else skip('registrationNoDate');
      const unreg = intOrUndef(r.date_unregistration);
      if (unreg !== undefined)
        yield admin(
          `${base}:unreg`,
          'enrolment.withdrawn',
          'oulad.unregistration',
          c.start + unreg * DAY,
          student,
          c,
        );
      const result = results.get(key);
      if (result === undefined) skip('enrolmentWithoutResult');
      else if (RESULTS_COMPLETED.has(result))
        yield admin(
          `${base}:result`,
          'enrolment.completed',
          `oulad.final_result.${result}`,
          c.end,
          student,
          c,
        );
      else if (result === 'Withdrawn') {
        if (unreg === undefined) {
          summary.withdrawnWithoutDate++;
          yield admin(
            `${base}:result`,
            'enrolment.withdrawn',
            'oulad.final_result.Withdrawn',
            c.end,
            student,
            c,
          );
        }
      } else skip('resultUnknown');
    }
    // studentInfo rows without a registration row still make an enrolment (result only).
    for (const [key, result] of results) {
      if (seen.has(key)) continue;
      skip('resultWithoutRegistration');
      const sep = key.lastIndexOf(':');
      const c = courses.get(key.slice(0, sep));
      const student = key.slice(sep + 1);
      if (!c || student === '') continue;
      students.add(student);
      enrolments.add(key);
      if (RESULTS_COMPLETED.has(result))
        yield admin(
          `oulad:${c.id}:${student}:result`,
          'enrolment.completed',
          `oulad.final_result.${result}`,
          c.end,
          student,
          c,
        );
      else if (result === 'Withdrawn') {
        summary.withdrawnWithoutDate++;
        yield admin(
          `oulad:${c.id}:${student}:result`,
          'enrolment.withdrawn',
          'oulad.final_result.Withdrawn',
          c.end,
          student,
          c,
        );
      }
    }
  }

  async function* assessmentLines(): AsyncGenerator<string> {
    const seen = new Set<string>();
    for await (const r of streamTable(resolve(dir, 'studentAssessment.csv'))) {
      const assessmentId = r.id_assessment ?? '';
      const a = assessments.get(assessmentId);
      if (!a) {
        // filtered out by --modules, or an assessment assessments.csv does not know
        if (!wanted) skip('submissionUnknownAssessment');
        continue;
      }
      if (r.is_banked === '1') {
        skip('submissionBanked');
        continue;
      }
      const student = r.id_student ?? '';
      const day = intOrUndef(r.date_submitted);
      if (student === '' || day === undefined) {
        skip('submissionNoDate');
        continue;
      }
      const base = `oulad:${a.course.id}:${student}`;
      if (seen.has(`${base}:${assessmentId}`)) {
        skip('submissionDuplicate');
        continue;
      }
      seen.add(`${base}:${assessmentId}`);
      const c = a.course;
      yield learning(
        `${base}:sub:${assessmentId}`,
        'assessment.submitted',
        'oulad.assessment_submitted',
        c.start + day * DAY + MIDDAY,
        student,
        c,
        assessmentId,
      );
      const score = numOrUndef(r.score);
      if (score === undefined) {
        skip('gradeNoScore');
        continue;
      }
      const gradedDay = Math.max(day, a.due ?? day) + 7;
      yield learning(
        `${base}:grade:${assessmentId}`,
        'assessment.graded',
        'oulad.assessment_score',
        c.start + gradedDay * DAY + MIDDAY,
        student,
        c,
        assessmentId,
        { score, maxScore: 100 },
      );
    }
  }

  async function* clickLines(): AsyncGenerator<string> {
    // Days already seen per enrolment (numbers, not rows): guards the eventId's uniqueness.
    const days = new Map<string, Set<number>>();
    for await (const r of streamTable(resolve(dir, 'studentVle_daily_clicks.csv.gz'))) {
      if (!keep(r.code_module ?? '')) continue;
      const c = courses.get(`${r.code_module}-${r.code_presentation}`);
      const student = r.id_student ?? '';
      const day = intOrUndef(r.date);
      if (!c || student === '' || day === undefined) {
        skip('clicksBadRow');
        continue;
      }
      const clicks = intOrUndef(r.sum_click);
      if (clicks === undefined || clicks < 1) {
        skip('clicksBelowOne');
        continue;
      }
      const key = `${c.id}:${student}`;
      let set = days.get(key);
      if (!set) {
        set = new Set();
        days.set(key, set);
      }
      if (set.has(day)) {
        skip('clicksDuplicateDay');
        continue;
      }
      set.add(day);
      if (!enrolments.has(key)) {
        skip('clicksWithoutEnrolment');
        continue;
      }
      if (clicks > 1_000_000) {
        skip('clicksOverMillion'); // above the importer's limit for count
        continue;
      }
      yield learning(
        `oulad:${key}:clicks:${day}`,
        'resource.viewed',
        'oulad.daily_clicks',
        c.start + day * DAY + MIDDAY,
        student,
        c,
        null,
        { count: clicks },
      );
    }
  }

  async function* lines(): AsyncGenerator<string> {
    // Batch lines into ~64 KiB chunks: one stream write per line is needlessly slow.
    let buf = '';
    const sources: (Iterable<string> | AsyncIterable<string>)[] = [
      courseLines,
      enrolmentLines(),
      assessmentLines(),
      clickLines(),
    ];
    for (const source of sources) {
      for await (const line of source) {
        buf += `${line}\n`;
        if (buf.length >= 65_536) {
          yield buf;
          buf = '';
        }
      }
    }
    if (buf) yield buf;
  }

  const out = createWriteStream(opts.outFile);
  if (opts.outFile.endsWith('.gz')) {
    const gz: Transform = createGzip();
    await pipeline(Readable.from(lines()), gz, out);
  } else {
    await pipeline(Readable.from(lines()), out);
  }
  summary.students = students.size;
  summary.enrolments = enrolments.size;
  return summary;
}

// ---------------------------------------------------------------------------------------------- CLI

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'Usage: npx tsx bench/oulad/convert.ts [--data DIR] [--out FILE.jsonl[.gz]] [--modules AAA,BBB]\n',
    );
    return;
  }
  const dataDir = resolve(arg(argv, '--data') ?? '../shared/datasets/oulad-dev');
  const outFile = resolve(arg(argv, '--out') ?? '/tmp/oulad.jsonl.gz');
  const modules = arg(argv, '--modules')
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const t0 = performance.now();
  const summary = await convertOulad({ dataDir, outFile, ...(modules ? { modules } : {}) });
  process.stderr.write(`oulad: wrote ${outFile} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`oulad: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
