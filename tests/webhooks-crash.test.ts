/**
 * "202 only after the events are journaled", the hard way: the real `campus-twin gateway` process (secrets
 * from a file and from an environment variable named in the config) takes signed xAPI posts from 8
 * concurrent senders and is killed with SIGKILL mid-stream. Every event answered 202 must be in the events
 * table and the outbox afterwards; after a restart a resend of them is a duplicate, not a second copy.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { signBody } from '../gateway/ingest/webhooks/index.ts';
import { journaledEventCount } from '../gateway/journal/event-keys.ts';
import { tempDir, writeCliGatewayConfig } from './helpers/gateway.ts';
import { type CliProcess, startCli } from './helpers/process.ts';
import { journalEvents } from './helpers/webhooks.ts';

const dir = tempDir('ct-webhook-crash-');
let gw: CliProcess | undefined;
afterAll(async () => {
  await gw?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = 'crash-test-hook-secret';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const statement = (n: number) =>
  JSON.stringify({
    id: id(n),
    actor: { mbox: `mailto:student${n % 40}@uni.example` },
    verb: { id: 'http://adlnet.gov/expapi/verbs/experienced' },
    object: { id: `https://lms.uni.example/course/CS101/page/${n % 9}` },
    timestamp: new Date(Date.UTC(2026, 10, 27, 9) + n).toISOString(),
  });

async function send(port: number, n: number): Promise<number> {
  const body = statement(n);
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/lms/xapi`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-ct-timestamp': String(ts),
      'x-ct-signature': `sha256=${signBody(Buffer.from(SECRET), ts, body)}`,
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

it('every event answered 202 survives a kill -9; a resend after restart is a duplicate', async () => {
  const campusSecretFile = join(dir, 'campus-secret');
  writeFileSync(campusSecretFile, 'crash-test-campus-secret-0123456789\n');
  const configFile = await writeCliGatewayConfig(dir, {
    gatewayId: 'gw-webhook-crash',
    webhooks: {
      sources: {
        xapi: {
          enabled: true,
          secretEnv: 'CT_TEST_XAPI_SECRET',
          rateLimit: { requestsPerSec: 100_000, burst: 100_000 },
        },
      },
      pseudonym: { secretFile: campusSecretFile },
    },
  });
  const env = { CT_TEST_XAPI_SECRET: SECRET };
  gw = await startCli(['gateway', '--config', configFile], env);
  const port = gw.ready.ports.http!;

  const acked: number[] = [];
  let next = 0;
  let killed = false;
  const killAfter = 150 + Math.floor(Math.random() * 150);
  const sender = async () => {
    while (!killed) {
      const n = next++;
      const status = await send(port, n).catch(() => 0);
      if (status === 202) acked.push(n);
      else if (!killed) throw new Error(`statement ${n}: HTTP ${status}`);
      if (!killed && acked.length >= killAfter) {
        killed = true;
        gw!.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, sender));
  await gw.kill('SIGKILL');
  expect(acked.length).toBeGreaterThanOrEqual(killAfter);

  const journal = journalEvents(join(dir, 'data'));
  const events = new Set(journal.events.map((e) => e.event_id));
  const outbox = new Set(journal.outbox.map((o) => o.item_id));
  const missing = acked.filter((n) => !events.has(`urn:uuid:${id(n)}`) || !outbox.has(`urn:uuid:${id(n)}`));
  expect(missing).toEqual([]);

  gw = await startCli(['gateway', '--config', configFile], env);
  const port2 = gw.ready.ports.http!;
  const again = await Promise.all(acked.slice(0, 20).map((n) => send(port2, n)));
  expect(again.every((s) => s === 202)).toBe(true);
  const db2 = new Database(join(dir, 'data', 'gateway.db'), { readonly: true });
  const count = journaledEventCount(db2);
  db2.close();
  expect(count).toBe(events.size);
  expect(await gw.kill('SIGTERM')).toBe(0);
});
