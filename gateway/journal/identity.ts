/**
 * Which journal this is, and whether it is the one the gateway's small state belongs to. The journal
 * (`gateway.db`) records its identity in `meta` when it is created — a random journal id, the gateway id,
 * the creation time — and every twin checkpoint (`twin.json`) records the journal id it was made from. At
 * start the two are compared before anything is written, so a journal that went missing, was emptied,
 * swapped for another gateway's or is malformed stops the gateway with a message that names the file,
 * what was expected and how to go on, instead of silently starting a new, empty journal.
 * `--new-journal` (acceptNew) is the explicit way to start afresh.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { CampusTwinError } from '../../shared/errors.ts';
import { type Db, META_UPSERT, readMeta } from './schema.ts';

export interface JournalIdentity {
  journalId: string;
  gatewayId: string;
  createdAt: number;
}

/** The journal's identity from `meta`, written now if the journal has none (new, or from before identities). */
export function ensureIdentity(db: Db, gatewayId: string, now: number): JournalIdentity {
  const read = (k: string) => readMeta(db, k);
  const journalId = read('journal_id');
  if (journalId) {
    return {
      journalId,
      gatewayId: read('gateway_id') ?? gatewayId,
      createdAt: Number(read('created_at') ?? 0),
    };
  }
  const id = { journalId: randomUUID(), gatewayId, createdAt: now };
  const set = db.prepare(META_UPSERT);
  db.transaction(() => {
    set.run('journal_id', id.journalId);
    set.run('gateway_id', id.gatewayId);
    set.run('created_at', String(id.createdAt));
  })();
  return id;
}

/** What a checkpoint says about the journal it was made from (absent in checkpoints before identities). */
export interface RecordedJournal {
  journalId: string;
  gatewayId?: string;
  createdAt?: number;
}

const HOW = (dbFile: string) =>
  `restore ${dbFile} from a backup (with the gateway stopped), or start a new journal with ` +
  '`campus-twin gateway --new-journal` (the room twin is then rebuilt; readings only in the old journal are not forwarded)';

function refuse(detail: string): CampusTwinError {
  return new CampusTwinError('CT_ERR_JOURNAL_IDENTITY', detail);
}

/** Before opening: a journal that is missing or empty while the checkpoint names one. */
export function checkJournalPresent(
  dbFile: string,
  twinFile: string,
  recorded: RecordedJournal | undefined,
  acceptNew: boolean,
): void {
  if (!recorded || acceptNew) return;
  const state = !existsSync(dbFile) ? 'missing' : statSync(dbFile).size === 0 ? 'empty' : undefined;
  if (!state) return;
  throw refuse(
    `${dbFile} is ${state}, but ${twinFile} records journal ${recorded.journalId}` +
      `${recorded.createdAt ? ` created ${new Date(recorded.createdAt).toISOString()}` : ''}: ${HOW(dbFile)}`,
  );
}

/** After opening: the journal must be this gateway's, and the one the checkpoint was made from. */
export function checkJournalMatches(
  dbFile: string,
  twinFile: string,
  id: JournalIdentity,
  gatewayId: string,
  recorded: RecordedJournal | undefined,
  acceptNew: boolean,
): void {
  if (acceptNew) return;
  if (id.gatewayId !== gatewayId)
    throw refuse(`${dbFile} is the journal of gateway ${id.gatewayId}, not of ${gatewayId}: ${HOW(dbFile)}`);
  if (recorded && recorded.journalId !== id.journalId)
    throw refuse(
      `${dbFile} is journal ${id.journalId} (created ${new Date(id.createdAt).toISOString()}), but ` +
        `${twinFile} records journal ${recorded.journalId}: the journal was swapped or recreated; ${HOW(dbFile)}`,
    );
}

/** A journal SQLite cannot read: say which file and what to do, not just "malformed". */
export function unreadableJournal(dbFile: string, err: unknown): CampusTwinError {
  const why = err instanceof Error ? err.message : String(err);
  return refuse(
    `${dbFile} cannot be read (${why}); check it offline with \`campus-twin gateway check\`, then ${HOW(dbFile)}`,
  );
}
