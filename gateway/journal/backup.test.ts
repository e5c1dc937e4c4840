import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers/gateway.ts';
import { backupGateway, restoreGateway } from './backup.ts';
import { EventJournal, GatewayStore } from './index.ts';
import { EVENT_STORE_OPTS, T0, testEvent } from './test-support.ts';

const OPTS = EVENT_STORE_OPTS;
const ev = testEvent;

describe('gateway backup counts', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts a request row as its events, and a file from before request rows as that gateway did', async () => {
    dir = tempDir();
    const data = join(dir, 'data');
    mkdirSync(data);
    const store = new GatewayStore(join(data, 'gateway.db'), OPTS);
    const journal = new EventJournal(store, { maxRowsPerCommit: 10_000, now: () => T0 });
    await journal.submit([ev(1), ev(2), ev(3)]);
    store.close();
    const manifest = await backupGateway(data, join(dir, 'backup'), T0);
    expect(manifest.counts).toMatchObject({ outbox: 3, events: 3 });
    expect(restoreGateway(join(dir, 'backup'), join(dir, 'restored')).counts).toEqual(manifest.counts);

    // The same events as an older gateway kept them: an events row and an outbox row each, no `items`.
    const old = new Database(join(data, 'gateway.db'));
    old.exec(`
      DROP TABLE event_key_runs; DROP TABLE event_key_run_info; DROP TABLE event_key_clashes; DROP TABLE event_requests; DELETE FROM outbox_event;
      CREATE TABLE events (event_id TEXT PRIMARY KEY, source TEXT NOT NULL, type TEXT NOT NULL,
        ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;`);
    for (const table of ['alert', 'twin', 'event', 'aggregate', 'raw'])
      old.exec(`ALTER TABLE outbox_${table} DROP COLUMN items`);
    for (const n of [1, 2, 3]) {
      const e = ev(n);
      old
        .prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)')
        .run(e.eventId, e.source, e.type, e.ts, T0, '{}');
      old
        .prepare("INSERT INTO outbox_event (item_id, created_at, bytes, body) VALUES (?, ?, 100, '')")
        .run(e.eventId, T0);
    }
    old.close();
    const before = await backupGateway(data, join(dir, 'backup-old'), T0);
    expect(before.counts).toMatchObject({ outbox: 3, events: 3 });
    expect(restoreGateway(join(dir, 'backup-old'), join(dir, 'restored-old')).counts).toEqual(before.counts);
  });
});
