/**
 * Issue 9 item 4, acceptance: "A 100,000-row snapshot streams without the cloud's RSS growing by more than
 * 50 MB." A store is filled in this process (as `cloud import` fills it) with one learning event for each of 100,000 (student, course)
 * pairs (25,000 pseudonyms × 4 courses), the real `campus-twin cloud` serves it as a child process, builds
 * the snapshot on demand (POST /api/snapshots), and GET /api/snapshots/{id} is read as CSV and as JSON while
 * the child's VmRSS is sampled every 50 ms. The body is consumed as a stream here (counted and checked,
 * never held whole), so only the cloud's own buffering shows in the figure.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventColumns, type StoredEvent } from '../cloud/consume/validate.ts';
import { SqliteCloudStore } from '../cloud/store/sqlite.ts';
import { tempDir } from './helpers/gateway.ts';
import { type CliProcess, startCli } from './helpers/process.ts';

const STUDENTS = 25_000;
const COURSES = 4;
const ROWS = STUDENTS * COURSES;
/** Events per import transaction. */
const BATCH = 20_000;
const MB = 1024 * 1024;
/** The acceptance budget: RSS growth while a snapshot streams. */
const MAX_GROWTH = 50 * MB;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TOKEN = 'snapshot-memory-test-token-0123456789';
/** What shared/cli/campus-twin.mjs's shebang and deploy/ give the process (as bench/memory.ts). */
const SHIPPED_NODE_OPTIONS = '--max-semi-space-size=4';
const CSV_HEADER = 'snapshot_id,student_id,course_id,facility_id,snapshot_ts,state';

/** A process's resident set in bytes (VmRSS from /proc), undefined once it is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; keeps only the count and the peak. */
function rssSampler(pid: number, everyMs = 50) {
  let peak = 0;
  let samples = 0;
  let stopped = false;
  const sample = () => {
    const rss = rssOf(pid);
    if (rss === undefined) return;
    samples++;
    if (rss > peak) peak = rss;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    /** Stops sampling (once) and returns the figures. */
    stop() {
      if (!stopped) {
        clearInterval(timer);
        sample();
        stopped = true;
      }
      return { peak, samples };
    },
  };
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);

/** Fills `file` with one Caliper resource.viewed per (student, course), through the history importer's store call. */
async function fillStore(file: string, now: number): Promise<number> {
  const store = new SqliteCloudStore({ file });
  let applied = 0;
  try {
    let batch: StoredEvent[] = [];
    for (let s = 1; s <= STUDENTS; s++) {
      const actorId = `p_${String(s).padStart(6, '0')}`;
      for (let c = 0; c < COURSES; c++) {
        const eventId = `ev-${s}-${c}`;
        const ts = now - ((s * 7 + c * 3) % 28) * DAY - HOUR;
        const body = {
          eventId,
          source: 'caliper',
          type: 'resource.viewed',
          originalType: 'ViewEvent.Viewed',
          ts,
          receivedAt: ts + 2_000,
          actorId,
          courseId: `course-${c + 1}`,
          objectId: `https://example.edu/etexts/${(s + c) % 200}.epub`,
        };
        batch.push({ ...eventColumns(body), json: JSON.stringify(body) });
        if (batch.length === BATCH) {
          applied += (await store.importEvents(batch)).inserted;
          batch = [];
        }
      }
    }
    if (batch.length) applied += (await store.importEvents(batch)).inserted;
  } finally {
    await store.close();
  }
  return applied;
}

interface Streamed {
  status: number;
  contentType: string;
  bytes: number;
  ms: number;
  baseline: number;
  peak: number;
  samples: number;
}

/**
 * GETs `url` while sampling `pid`'s RSS, handing each chunk to `onChunk` (which must not keep them).
 * The baseline is the RSS just before the request, after a 1 s settle.
 */
async function streamWhileSampling(
  pid: number,
  url: string,
  headers: Record<string, string>,
  onChunk: (chunk: Uint8Array) => void,
): Promise<Streamed> {
  await sleep(1000);
  for (let i = 0; i < 3; i++) {
    rssOf(pid);
    await sleep(100);
  }
  const baseline = rssOf(pid)!;
  const sampler = rssSampler(pid);
  const started = performance.now();
  let bytes = 0;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        onChunk(value);
      }
    }
  } finally {
    sampler.stop();
  }
  const { peak, samples } = sampler.stop();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    bytes,
    ms: performance.now() - started,
    baseline,
    peak: Math.max(peak, baseline),
    samples,
  };
}

function report(label: string, r: Streamed, extra = ''): void {
  console.log(
    `[snapshot-memory] ${label}: baseline ${mb(r.baseline)} MB, peak ${mb(r.peak)} MB, growth ` +
      `${mb(r.peak - r.baseline)} MB (budget ${mb(MAX_GROWTH)} MB), ${r.bytes} bytes (${mb(r.bytes)} MB) ` +
      `in ${Math.round(r.ms)} ms, ${r.samples} RSS samples${extra}`,
  );
}

describe('cloud snapshot memory: a 100,000-row snapshot streams within 50 MB of RSS growth', () => {
  const dir = tempDir('ct-snapshot-mem-');
  const dataDir = join(dir, 'data');
  let cloud: CliProcess | undefined;
  let base = '';
  let pid = 0;
  let snapshotId = '';

  beforeAll(async () => {
    const now = Date.now();
    const fillStarted = performance.now();
    const applied = await fillStore(join(dataDir, 'cloud.db'), now);
    const fillMs = performance.now() - fillStarted;
    expect(applied).toBe(ROWS);
    console.log(`[snapshot-memory] filled ${applied} learning events in ${Math.round(fillMs)} ms`);
    cloud = await startCli(
      ['cloud', '--data-dir', dataDir, '--http-port', '0', '--log-level', 'warn'],
      {
        CT_API__HOST: '127.0.0.1',
        CT_API__TOKENS: JSON.stringify([TOKEN]),
        CT_REPORTING__SNAPSHOT_CRON: '',
        CT_EVENT_HUB__CONNECTION_STRING: '',
        // The flags the cloud ships with (the launcher's shebang, deploy/Dockerfile): startCli runs
        // `node campus-twin.mjs`, which does not read the shebang.
        NODE_OPTIONS: SHIPPED_NODE_OPTIONS,
      },
      'cloud:ready',
    );
    base = `http://127.0.0.1:${cloud.ready.port as number}`;
    pid = cloud.child.pid!;
    console.log(`[snapshot-memory] cloud ready (pid ${pid}), RSS ${mb(rssOf(pid) ?? 0)} MB`);
  }, 60_000);

  afterAll(async () => {
    await cloud?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the snapshot on demand: 201 with 100,000 enrolments', async () => {
    const before = rssOf(pid)!;
    const sampler = rssSampler(pid);
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${base}/api/snapshots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    } finally {
      sampler.stop();
    }
    const { peak, samples } = sampler.stop();
    const ms = performance.now() - started;
    const body = (await res.json()) as { snapshotId: string; enrolments: number; rooms: number };
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ enrolments: ROWS, rooms: 0 });
    snapshotId = body.snapshotId;
    console.log(
      `[snapshot-memory] build ${snapshotId}: ${body.enrolments} enrolments in ${Math.round(ms)} ms; RSS ` +
        `before ${mb(before)} MB, peak ${mb(Math.max(peak, before))} MB (+${mb(Math.max(peak, before) - before)} MB), ` +
        `${samples} samples`,
    );
  }, 60_000);

  it('streams it as CSV: header + 100,000 rows, RSS growth < 50 MB', async () => {
    expect(snapshotId).not.toBe('');
    let lines = 0;
    let head = '';
    let headDone = false;
    let last = 0;
    const r = await streamWhileSampling(
      pid,
      `${base}/api/snapshots/${encodeURIComponent(snapshotId)}`,
      {},
      (chunk) => {
        const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (!headDone) {
          const nl = buf.indexOf(10);
          head += buf.subarray(0, nl < 0 ? buf.length : nl).toString('latin1');
          headDone = nl >= 0 || head.length > 4096;
        }
        for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
        last = buf[buf.length - 1]!;
      },
    );
    report('CSV', r, `, ${lines} lines`);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/csv/);
    expect(head).toBe(CSV_HEADER);
    expect(last).toBe(10);
    expect(lines).toBe(ROWS + 1);
    expect(r.samples).toBeGreaterThan(1);
    expect(r.peak - r.baseline).toBeLessThan(MAX_GROWTH);
  }, 60_000);

  it('streams it as JSON: {snapshot, rows} with 100,000 parseable rows, RSS growth < 50 MB', async () => {
    expect(snapshotId).not.toBe('');
    const decoder = new TextDecoder();
    const ROWS_OPEN = ',"rows":[';
    const SEP = '},{"seq":';
    let pending = '';
    let header: { snapshot: { snapshotId: string; enrolments: number } } | undefined;
    let rows = 0;
    let nextSeq = 0;
    const parseRow = (text: string) => {
      const row = JSON.parse(text) as { seq: number; studentId: string; courseId: string; state: object };
      if (row.seq !== nextSeq) throw new Error(`row ${rows}: seq ${row.seq}, want ${nextSeq}`);
      if (!/^p_\d{6}$/.test(row.studentId) || typeof row.state !== 'object')
        throw new Error(`row ${rows}: ${text.slice(0, 200)}`);
      nextSeq++;
      rows++;
    };
    const r = await streamWhileSampling(
      pid,
      `${base}/api/snapshots/${encodeURIComponent(snapshotId)}`,
      { accept: 'application/json' },
      (chunk) => {
        pending += decoder.decode(chunk, { stream: true });
        if (!header) {
          const open = pending.indexOf(ROWS_OPEN);
          if (open < 0) {
            if (pending.length > 64 * 1024) throw new Error('no "rows" in the first 64 KiB');
            return;
          }
          if (!pending.startsWith('{"snapshot":')) throw new Error(`starts ${pending.slice(0, 40)}`);
          header = JSON.parse(`${pending.slice(0, open)}}`) as typeof header;
          pending = pending.slice(open + ROWS_OPEN.length);
        }
        // Every complete row: from `{"seq":` to the `}` before the next `,{"seq":`.
        let pos = 0;
        for (let i = pending.indexOf(SEP, pos); i >= 0; i = pending.indexOf(SEP, pos)) {
          parseRow(pending.slice(pos, i + 1));
          pos = i + 2;
        }
        pending = pending.slice(pos);
      },
    );
    pending += decoder.decode();
    const ended = pending.endsWith(']}');
    if (ended && pending.length > 2) parseRow(pending.slice(0, -2));
    report('JSON', r, `, ${rows} rows`);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(header?.snapshot).toMatchObject({ snapshotId, enrolments: ROWS });
    expect(ended).toBe(true);
    expect(rows).toBe(ROWS);
    expect(r.samples).toBeGreaterThan(1);
    expect(r.peak - r.baseline).toBeLessThan(MAX_GROWTH);
  }, 60_000);
});
