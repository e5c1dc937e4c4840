/**
 * `campus-twin replay` (the real CLI in a child process) against a running gateway: the UCI office's
 * first 200 minutes with their 2015 times go through MQTT backfill with a progress bar and a summary, and
 * every reading is journaled; a JSONL file with an unregistered channel shows the refusal by code.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestGateway, type TestGateway, tempDir } from './helpers/gateway.ts';
import { CLI, REPO_ROOT } from './helpers/process.ts';
import { UCI_TRAINING_FILE } from './helpers/uci.ts';
import { HOOK_SECRET, webhookConfig } from './helpers/webhooks.ts';

function replay(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'replay', ...args], {
      cwd: REPO_ROOT,
      timeout: 20_000,
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status: signal ? -1 : status, out, err }));
  });
}

interface Status {
  readings: { accepted: Record<string, number> };
  journal: { rows: number };
}

describe('campus-twin replay', () => {
  let t: TestGateway;
  let dir: string;
  beforeAll(async () => {
    t = await startTestGateway(webhookConfig());
    dir = tempDir('ct-replay-');
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays the UCI file with its 2015 times through MQTT backfill: all journaled, summary and progress', async () => {
    const file = join(dir, 'uci-200.txt');
    writeFileSync(file, readFileSync(UCI_TRAINING_FILE, 'utf8').split('\n').slice(0, 201).join('\n'));
    const r = await replay([
      file,
      '--mqtt',
      t.mqttUrl,
      '--device',
      'env-1',
      '--columns',
      'temperature,humidity,light,co2',
      '--password-template',
      'pw-{id}',
      '--gateway-http',
      t.httpUrl,
    ]);
    expect(r.err).toMatch(/replay \[.*\] 100% \| 200\/200 acknowledged/);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.out) as Record<string, unknown>;
    expect(summary).toMatchObject({
      rows: 200,
      devices: 1,
      sent: 200,
      acknowledged: 200,
      failed: 0,
      topic: 'backfill',
      refusedByCode: {},
    });
    const status = await getJson<Status>(`${t.httpUrl}/api/status`);
    // Backfilled readings count under their source, replay.
    expect(status.readings.accepted.replay).toBe(800);
    expect(status.journal.rows).toBe(800);
  });

  it('shows refusals by code, and fails clearly on a wrong password or file', async () => {
    const file = join(dir, 'mixed.jsonl');
    const ts = Date.now() - 60_000;
    writeFileSync(
      file,
      `${JSON.stringify({ deviceId: 'env-2', ts, readings: { co2: 700 } })}\n${JSON.stringify({ deviceId: 'env-2', ts: ts + 1000, readings: { radon: 3 } })}\n`,
    );
    const r = await replay([
      file,
      '--mqtt',
      t.mqttUrl,
      '--password-template',
      'pw-{id}',
      '--gateway-http',
      t.httpUrl,
      '--live',
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      sent: 2,
      acknowledged: 2,
      topic: 'telemetry',
      refusedByCode: { CT_ERR_UNKNOWN_CHANNEL: 1 },
    });

    const wrong = await replay([file, '--mqtt', t.mqttUrl, '--password-template', 'nope-{id}']);
    expect(wrong.status).not.toBe(0);
    expect(wrong.err).toMatch(/Not authorized|not authorized/i);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"deviceId":"env-1","ts":1,"readings":{"co2":1}}\n{oops\n');
    const refused = await replay([bad, '--mqtt', t.mqttUrl]);
    expect(refused.status).not.toBe(0);
    expect(refused.err).toMatch(/line 2 is not JSON/);
  });

  it('posts learning events to the xAPI webhook, signed, in batches: accepted, then duplicates, refusals by code', async () => {
    const statement = (i: number) => ({
      id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      actor: { objectType: 'Agent', mbox: `mailto:student${i % 7}@example.edu` },
      verb: { id: 'http://adlnet.gov/expapi/verbs/completed', display: { 'en-US': 'completed' } },
      object: { objectType: 'Activity', id: `https://lms.example.edu/course/7/activity/${i % 11}` },
      timestamp: new Date(Date.UTC(2026, 10, 2, 9) + i * 60_000).toISOString(),
    });
    const file = join(dir, 'xapi.jsonl');
    writeFileSync(
      file,
      `${Array.from({ length: 250 }, (_, i) => JSON.stringify(statement(i))).join('\n')}\n`,
    );
    const args = [
      file,
      '--webhook',
      `${t.httpUrl}/webhooks/lms/xapi`,
      '--secret-env',
      'CT_TEST_HOOK',
      '--batch',
      '100',
    ];
    const env = { CT_TEST_HOOK: HOOK_SECRET };
    const first = await replay(args, env);
    expect(first.status).toBe(0);
    expect(first.err).toMatch(/100% \| 250\/250 events answered/);
    expect(JSON.parse(first.out)).toMatchObject({
      source: 'xapi',
      events: 250,
      requests: 3,
      accepted: 250,
      duplicates: 0,
      refusedByCode: {},
    });
    // The same file again: every event is recognised, nothing stored twice.
    expect(JSON.parse((await replay(args, env)).out)).toMatchObject({ accepted: 0, duplicates: 250 });
    // A batch with a broken statement is refused whole, with the gateway's code; the others go in.
    const mixed = join(dir, 'mixed-xapi.jsonl');
    const lines = Array.from({ length: 20 }, (_, i) => statement(1000 + i));
    (lines[15] as Record<string, unknown>).verb = { id: 'not an IRI' };
    writeFileSync(mixed, lines.map((l) => JSON.stringify(l)).join('\n'));
    const m = await replay(
      [mixed, '--webhook', `${t.httpUrl}/webhooks/lms/xapi`, '--secret-env', 'CT_TEST_HOOK', '--batch', '10'],
      env,
    );
    expect(m.status).toBe(1);
    expect(JSON.parse(m.out)).toMatchObject({ accepted: 10, refusedByCode: { CT_ERR_SCHEMA: 10 } });
    // The wrong secret: every request refused as unsigned.
    const wrong = await replay(args, { CT_TEST_HOOK: 'not-the-secret-0123456789' });
    expect(JSON.parse(wrong.out)).toMatchObject({ accepted: 0, refusedByCode: { CT_ERR_SIGNATURE: 250 } });
  });
});
