import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertOulad, parseCsvLine } from '../bench/oulad/convert.ts';
import { parseRecord } from '../cloud/history/records.ts';
import { tempDir } from './helpers/gateway.ts';
import { runCli } from './helpers/process.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/oulad-mini/', import.meta.url));

// Hand-computed: AAA-2013J starts 2013-10-01T00:00Z, BBB-2014B 2014-02-01T00:00Z.
const AAA = 1_380_585_600_000;
const BBB = 1_391_212_800_000;
const H12 = 43_200_000;

type Line = Record<string, unknown>;

describe('OULAD → history import', () => {
  const dir = tempDir('ct-oulad-');
  const out = join(dir, 'oulad.jsonl.gz');
  let text = '';
  let lines: Line[] = [];
  let summary: Awaited<ReturnType<typeof convertOulad>>;
  beforeAll(async () => {
    summary = await convertOulad({ dataDir: FIXTURE, outFile: out });
    text = gunzipSync(readFileSync(out)).toString('utf8');
    lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const of = (courseId: string, actorId: string) =>
    lines.filter((l) => l.courseId === courseId && l.actorId === actorId);

  it('parses quoted and unquoted CSV fields', () => {
    expect(parseCsvLine('"a","b ""c"", d","",e')).toEqual(['a', 'b "c", d', '', 'e']);
    expect(parseCsvLine('1752,100,18,0,')).toEqual(['1752', '100', '18', '0', '']);
  });

  it('summarises', () => {
    expect(summary).toEqual({
      courses: 2,
      students: 4,
      enrolments: 5,
      events: 22,
      byType: {
        'enrolment.created': 4,
        'enrolment.withdrawn': 2,
        'enrolment.completed': 3,
        'assessment.submitted': 4,
        'assessment.graded': 3,
        'resource.viewed': 6,
      },
      withdrawnWithoutDate: 1,
      skipped: { registrationNoDate: 1, submissionBanked: 1, gradeNoScore: 1, clicksBelowOne: 1 },
    });
    expect(lines).toHaveLength(2 + 22);
    const ids = lines.filter((l) => l.kind !== 'course').map((l) => l.eventId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes the courses first, with assessments and due dates', () => {
    expect(lines.slice(0, 2)).toEqual([
      {
        kind: 'course',
        courseId: 'AAA-2013J',
        name: 'AAA-2013J',
        startTs: AAA,
        endTs: 1_403_740_800_000, // + 268 days
        assessments: [
          { assessmentId: '1752', kind: 'TMA', dueTs: 1_382_227_200_000, weight: 10 }, // day 19
          { assessmentId: '1757', kind: 'Exam', weight: 100 }, // no date: no dueTs
        ],
      },
      {
        kind: 'course',
        courseId: 'BBB-2014B',
        name: 'BBB-2014B',
        startTs: BBB,
        endTs: 1_411_430_400_000, // + 234 days
        assessments: [{ assessmentId: '15010', kind: 'CMA', dueTs: BBB + 25 * 86_400_000, weight: 0 }],
      },
    ]);
    expect(lines.slice(2).some((l) => l.kind === 'course')).toBe(false);
  });

  it('maps a passing student: registration, result, submissions and grades, daily clicks', () => {
    const adm = (eventId: string, type: string, originalType: string, ts: number) => ({
      eventId,
      source: 'admin',
      type,
      originalType,
      ts,
      receivedAt: ts,
      actorId: 'p_100',
      courseId: 'AAA-2013J',
      roomId: null,
    });
    const lrn = (eventId: string, type: string, originalType: string, ts: number, extra: Line) => ({
      eventId,
      source: 'import',
      type,
      originalType,
      actorId: 'p_100',
      courseId: 'AAA-2013J',
      objectId: null,
      ts,
      receivedAt: ts,
      ...extra,
    });
    expect(of('AAA-2013J', 'p_100')).toEqual([
      adm('oulad:AAA-2013J:100:reg', 'enrolment.created', 'oulad.registration', 1_377_993_600_000), // day -30
      adm('oulad:AAA-2013J:100:result', 'enrolment.completed', 'oulad.final_result.Pass', 1_403_740_800_000),
      // TMA due day 19, submitted day 18 (midday); graded at max(18, 19) + 7 = day 26
      lrn(
        'oulad:AAA-2013J:100:sub:1752',
        'assessment.submitted',
        'oulad.assessment_submitted',
        1_382_184_000_000,
        {
          objectId: '1752',
        },
      ),
      lrn(
        'oulad:AAA-2013J:100:grade:1752',
        'assessment.graded',
        'oulad.assessment_score',
        1_382_875_200_000,
        {
          objectId: '1752',
          score: 78,
          maxScore: 100,
        },
      ),
      // exam without a due date, submitted day 241; graded day 248
      lrn(
        'oulad:AAA-2013J:100:sub:1757',
        'assessment.submitted',
        'oulad.assessment_submitted',
        1_401_451_200_000,
        {
          objectId: '1757',
        },
      ),
      lrn(
        'oulad:AAA-2013J:100:grade:1757',
        'assessment.graded',
        'oulad.assessment_score',
        1_402_056_000_000,
        {
          objectId: '1757',
          score: 65,
          maxScore: 100,
        },
      ),
      lrn('oulad:AAA-2013J:100:clicks:-5', 'resource.viewed', 'oulad.daily_clicks', 1_380_196_800_000, {
        count: 98,
      }),
      lrn('oulad:AAA-2013J:100:clicks:0', 'resource.viewed', 'oulad.daily_clicks', 1_380_628_800_000, {
        count: 49,
      }),
      lrn('oulad:AAA-2013J:100:clicks:1', 'resource.viewed', 'oulad.daily_clicks', 1_380_715_200_000, {
        count: 127,
      }),
    ]);
    // The same student's other presentation: registration and Distinction only.
    expect(of('BBB-2014B', 'p_100').map((l) => [l.eventId, l.type, l.originalType, l.ts])).toEqual([
      ['oulad:BBB-2014B:100:reg', 'enrolment.created', 'oulad.registration', BBB - 20 * 86_400_000],
      [
        'oulad:BBB-2014B:100:result',
        'enrolment.completed',
        'oulad.final_result.Distinction',
        1_411_430_400_000,
      ],
    ]);
  });

  it('maps withdrawals with and without a date, a Fail without registration date, banked and unscored work', () => {
    // Withdrawn with an unregistration date: withdrawn on that day, no result event; no grade without score;
    // the zero-click day is skipped.
    expect(of('AAA-2013J', 'p_200').map((l) => [l.eventId, l.type, l.originalType, l.ts])).toEqual([
      ['oulad:AAA-2013J:200:reg', 'enrolment.created', 'oulad.registration', AAA - 10 * 86_400_000],
      ['oulad:AAA-2013J:200:unreg', 'enrolment.withdrawn', 'oulad.unregistration', AAA + 40 * 86_400_000],
      [
        'oulad:AAA-2013J:200:sub:1752',
        'assessment.submitted',
        'oulad.assessment_submitted',
        AAA + 22 * 86_400_000 + H12,
      ],
      ['oulad:AAA-2013J:200:clicks:10', 'resource.viewed', 'oulad.daily_clicks', AAA + 10 * 86_400_000 + H12],
    ]);
    // Fail, no registration date, only a banked submission: the result alone.
    expect(of('AAA-2013J', 'p_300').map((l) => [l.eventId, l.type, l.originalType, l.ts])).toEqual([
      ['oulad:AAA-2013J:300:result', 'enrolment.completed', 'oulad.final_result.Fail', 1_403_740_800_000],
    ]);
    // Withdrawn without an unregistration date: withdrawn at the end of the presentation. Submitted day 30,
    // after the due day 25: graded day 37.
    expect(of('BBB-2014B', 'p_400')).toEqual([
      {
        eventId: 'oulad:BBB-2014B:400:reg',
        source: 'admin',
        type: 'enrolment.created',
        originalType: 'oulad.registration',
        ts: 1_390_780_800_000,
        receivedAt: 1_390_780_800_000,
        actorId: 'p_400',
        courseId: 'BBB-2014B',
        roomId: null,
      },
      {
        eventId: 'oulad:BBB-2014B:400:result',
        source: 'admin',
        type: 'enrolment.withdrawn',
        originalType: 'oulad.final_result.Withdrawn',
        ts: 1_411_430_400_000,
        receivedAt: 1_411_430_400_000,
        actorId: 'p_400',
        courseId: 'BBB-2014B',
        roomId: null,
      },
      expect.objectContaining({ eventId: 'oulad:BBB-2014B:400:sub:15010', ts: 1_393_848_000_000 }),
      expect.objectContaining({
        eventId: 'oulad:BBB-2014B:400:grade:15010',
        ts: 1_394_452_800_000,
        score: 55,
        maxScore: 100,
      }),
      expect.objectContaining({ eventId: 'oulad:BBB-2014B:400:clicks:-2', ts: 1_391_083_200_000, count: 7 }),
      expect.objectContaining({ eventId: 'oulad:BBB-2014B:400:clicks:20', ts: 1_392_984_000_000, count: 3 }),
    ]);
  });

  it('writes only lines the product parser accepts', () => {
    const raw = text.split('\n').filter((l) => l !== '');
    const kinds = raw.map((l) => parseRecord(l));
    const refused = kinds.flatMap((r, i) => (r.kind === 'rejected' ? [[i + 1, r.code, r.message]] : []));
    expect(refused).toEqual([]);
    expect(kinds.filter((r) => r.kind === 'course')).toHaveLength(2);
    expect(kinds.filter((r) => r.kind === 'event')).toHaveLength(22);
  });

  it('is imported in full by campus-twin cloud import', () => {
    const r = runCli(['cloud', 'import', out, '--data-dir', join(dir, 'data')], { CT_LOG__LEVEL: 'warn' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      event: 'import:done',
      lines: 24,
      imported: summary.events,
      duplicates: 0,
      courses: 2,
      rejected: {},
    });
  });

  it('keeps only the modules asked for', async () => {
    const s = await convertOulad({ dataDir: FIXTURE, outFile: join(dir, 'bbb.jsonl'), modules: ['BBB'] });
    expect([s.courses, s.students, s.enrolments, s.events, s.withdrawnWithoutDate]).toEqual([1, 2, 2, 8, 1]);
    const bbb = readFileSync(join(dir, 'bbb.jsonl'), 'utf8').trim().split('\n');
    expect(bbb.every((l) => (JSON.parse(l) as Line).courseId === 'BBB-2014B')).toBe(true);
  });
});
