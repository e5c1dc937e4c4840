/**
 * `campus-twin cloud import` as a user runs it: a JSONL history (plain and gzipped) with events, a course,
 * a duplicate and bad lines, loaded into a cloud store; a second run imports nothing new.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteCloudStore } from '../cloud/store/sqlite.ts';
import { tempDir } from './helpers/gateway.ts';
import { CLI, REPO_ROOT, runCli } from './helpers/process.ts';

const T = 1_700_000_000_000;
const ev = (i: number, over: Record<string, unknown> = {}) => ({
  eventId: `imp-${i}`,
  source: 'import',
  type: 'resource.viewed',
  originalType: 'oucontent',
  ts: T + i * 60_000,
  receivedAt: T + i * 60_000,
  actorId: `p_${i % 3}`,
  courseId: 'AAA-2013J',
  objectId: `site-${i}`,
  count: 2,
  ...over,
});

describe('campus-twin cloud import', () => {
  const dir = tempDir('ct-import-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => runCli(['cloud', 'import', ...args], { CT_LOG__LEVEL: 'warn' });

  it('imports events and courses, counts duplicates and rejections by code, and is idempotent', async () => {
    const lines = [
      JSON.stringify({
        kind: 'course',
        courseId: 'AAA-2013J',
        startTs: T,
        endTs: T + 268 * 86_400_000,
        assessments: [{ assessmentId: '1752', kind: 'TMA', dueTs: T + 19 * 86_400_000, weight: 10 }],
      }),
      ...Array.from({ length: 12 }, (_, i) => JSON.stringify(ev(i))),
      JSON.stringify(ev(3)), // the same event id again
      '{"eventId": broken',
      JSON.stringify(ev(99, { type: 'teleported' })),
      '',
    ];
    const file = join(dir, 'history.jsonl');
    writeFileSync(file, lines.join('\n'));
    const dataDir = join(dir, 'data');
    const first = run(file, '--data-dir', dataDir, '--batch', '5');
    expect(first.status, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({
      event: 'import:done',
      lines: 16,
      imported: 12,
      duplicates: 1,
      courses: 1,
      rejected: { CT_ERR_NOT_JSON: 1, CT_ERR_SCHEMA: 1 },
    });
    expect(summary.examples.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [15, 'CT_ERR_NOT_JSON'],
      [16, 'CT_ERR_SCHEMA'],
    ]);
    expect(first.stderr).toMatch(/100%.*imported 12/);

    // The same history gzipped: nothing new.
    const gz = join(dir, 'history.jsonl.gz');
    writeFileSync(gz, gzipSync(lines.join('\n')));
    const again = JSON.parse(run(gz, '--data-dir', dataDir).stdout);
    expect([again.imported, again.duplicates]).toEqual([0, 13]);

    const store = new SqliteCloudStore({ file: join(dataDir, 'cloud.db') });
    try {
      expect(await store.courses()).toEqual([
        {
          courseId: 'AAA-2013J',
          name: null,
          startTs: T,
          endTs: T + 268 * 86_400_000,
          assessments: [{ assessmentId: '1752', kind: 'TMA', dueTs: T + 19 * 86_400_000, weight: 10 }],
        },
      ]);
      const c = await store.courseEngagement('AAA-2013J', T + 86_400_000, '', 10);
      // 12 events of count 2 over three students: 4 events each, 8 actions.
      expect(c.map((r) => [r.studentId, r.state.events])).toEqual([
        ['p_0', 8],
        ['p_1', 8],
        ['p_2', 8],
      ]);
    } finally {
      await store.close();
    }
  });

  it('exits 3 when every line is refused, and 2 without a file', () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, 'nope\n{"kind":"course"}\n');
    const r = run(bad, '--data-dir', join(dir, 'bad'));
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout).rejected).toEqual({ CT_ERR_NOT_JSON: 1, CT_ERR_SCHEMA: 1 });
    expect(run(join(dir, 'missing.jsonl')).status).toBe(2);
    expect(
      execFileSync(process.execPath, [CLI, 'cloud', 'import', '--help'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }),
    ).toContain('Usage: campus-twin cloud import');
  });
});
