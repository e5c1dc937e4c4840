import { describe, expect, it } from 'vitest';
import { parseRecord } from './records.ts';

const event = {
  eventId: 'e1',
  source: 'import',
  type: 'resource.viewed',
  originalType: 'oucontent',
  ts: 1_700_000_000_000,
  receivedAt: 1_700_000_000_000,
  actorId: 'p_1',
  courseId: 'AAA-2013J',
  objectId: 'site-1',
  count: 12,
};

describe('history records', () => {
  it('reads a canonical event with its reporting columns and count', () => {
    const r = parseRecord(JSON.stringify(event));
    expect(r).toMatchObject({
      kind: 'event',
      event: {
        eventId: 'e1',
        source: 'import',
        actorId: 'p_1',
        courseId: 'AAA-2013J',
        count: 12,
        score: null,
      },
    });
    const one = parseRecord(JSON.stringify({ ...event, count: undefined }));
    expect(one.kind === 'event' && one.event.count).toBe(1);
  });

  it('reads a course with its assessments', () => {
    const r = parseRecord(
      JSON.stringify({
        kind: 'course',
        courseId: 'AAA-2013J',
        startTs: 10,
        endTs: 20,
        assessments: [{ assessmentId: 'a1', kind: 'TMA', dueTs: 15, weight: 10 }, { assessmentId: 'x' }],
      }),
    );
    expect(r).toEqual({
      kind: 'course',
      course: {
        courseId: 'AAA-2013J',
        name: null,
        startTs: 10,
        endTs: 20,
        assessments: [
          { assessmentId: 'a1', kind: 'TMA', dueTs: 15, weight: 10 },
          { assessmentId: 'x', kind: null, dueTs: null, weight: null },
        ],
      },
    });
  });

  it('refuses bad lines with a code and a message naming the field', () => {
    expect(parseRecord('{not json')).toMatchObject({ kind: 'rejected', code: 'CT_ERR_NOT_JSON' });
    expect(parseRecord('[1,2]')).toMatchObject({ kind: 'rejected', code: 'CT_ERR_SCHEMA' });
    const badType = parseRecord(JSON.stringify({ ...event, type: 'teleported' }));
    expect(badType).toMatchObject({ kind: 'rejected', code: 'CT_ERR_SCHEMA' });
    expect(badType.kind === 'rejected' && badType.message).toContain('type');
    expect(parseRecord(JSON.stringify({ ...event, count: 0 }))).toMatchObject({ kind: 'rejected' });
    const badCourse = parseRecord(JSON.stringify({ kind: 'course', courseId: 'c', startTs: 10, endTs: 5 }));
    expect(badCourse).toMatchObject({ kind: 'rejected', code: 'CT_ERR_SCHEMA' });
    expect(badCourse.kind === 'rejected' && badCourse.message).toContain('endTs is before startTs');
    expect(parseRecord('   ')).toEqual({ kind: 'blank' });
  });
});
