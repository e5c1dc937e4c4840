/**
 * The PostgreSQL store's snapshots: the SQLite store's statements (SNAPSHOT_SQL) with `$n` placeholders and
 * the same content (SnapshotBuilder), built in ONE transaction, its rows inserted many per statement. It
 * runs REPEATABLE READ, so every read sees the database as of the transaction's first statement (no apply
 * committing in between changes the copy, as SQLite's IMMEDIATE transaction ensures); two builders racing
 * for one id collide on the snapshot rows' primary key and the loser is run again from the start
 * (pgTransaction), when it sees the winner's id taken.
 */
import type pg from 'pg';
import type { EnrolmentRow } from './enrolments.ts';
import { pgKeyStates, pgRoomPeriods } from './pg-room-periods.ts';
import { bulk, bulkSql, type PgQueryable, pgNamed, pgRows, pgSql, pgTransaction } from './pg-sql.ts';
import {
  ANALYTICS_SQL,
  type AnalyticsDbRow,
  analyticsParams,
  analyticsRowOf,
  ENROLMENT_PAGE_SQL,
  SNAPSHOT_SQL,
  SnapshotBuilder,
  type SnapshotDbRow,
  type SnapshotRowDbRow,
  type SnapshotWrites,
  snapshotIds,
  snapshotInfoOf,
  snapshotParams,
  snapshotRowOf,
} from './snapshots.ts';
import type { AnalyticsRow, SnapshotInfo, SnapshotOptions, SnapshotRow } from './types.ts';

const S = pgSql(SNAPSHOT_SQL);
const ANALYTICS = pgNamed(ANALYTICS_SQL);
const ENROLMENT_PAGE = pgNamed(ENROLMENT_PAGE_SQL);
const INSERT_ROWS = bulkSql(SNAPSHOT_SQL.insertRow, [
  'text',
  'integer',
  'text',
  'text',
  'text',
  'bigint',
  'text',
]);
const INSERT_RESULTS = bulkSql(SNAPSHOT_SQL.insertResult, [
  'text',
  'integer',
  'text',
  'text',
  'float8',
  'text',
  'text',
  'text',
  'bigint',
]);

async function build(c: pg.PoolClient, opts: SnapshotOptions, onCitus: boolean): Promise<SnapshotInfo> {
  await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  const write = async (w: SnapshotWrites) => {
    await bulk(c, INSERT_ROWS, w.rows);
    await bulk(c, INSERT_RESULTS, w.results);
  };
  let snapshotId = '';
  for (snapshotId of snapshotIds(opts.cutoffTs))
    if ((await pgRows(c, S.idTaken, [snapshotId])).length === 0) break;
  const b = new SnapshotBuilder(snapshotId, opts);
  await write(
    b.facilities(
      await pgKeyStates(c, b.cutoffTs, onCitus),
      await pgRoomPeriods(c, b.periodFrom, b.cutoffTs, {}, onCitus),
    ),
  );
  while (b.page)
    await write(
      b.enrolments(await pgRows<EnrolmentRow>(c, ENROLMENT_PAGE.text, ENROLMENT_PAGE.values(b.page))),
    );
  const info = b.info();
  await c.query(S.insertSnapshot, snapshotParams(info));
  return info;
}

/** Builds a snapshot in one transaction on a client of `pool` (`onCitus`: reads in the forms Citus plans). */
export function pgCreateSnapshot(
  pool: pg.Pool,
  opts: SnapshotOptions,
  onCitus = false,
): Promise<SnapshotInfo> {
  return pgTransaction(pool, (c) => build(c, opts, onCitus));
}

export async function pgListSnapshots(
  db: PgQueryable,
  limit: number,
  before?: string,
): Promise<SnapshotInfo[]> {
  const rows =
    before === undefined
      ? await pgRows<SnapshotDbRow>(db, S.list, [limit])
      : await pgRows<SnapshotDbRow>(db, S.listBefore, [before, limit]);
  return rows.map(snapshotInfoOf);
}

export async function pgSnapshot(db: PgQueryable, snapshotId: string): Promise<SnapshotInfo | undefined> {
  const [r] = await pgRows<SnapshotDbRow>(db, S.get, [snapshotId]);
  return r ? snapshotInfoOf(r) : undefined;
}

export async function pgAnalyticsRows(
  db: PgQueryable,
  snapshotId: string,
  afterSeq: number,
  limit: number,
  metric?: string,
): Promise<AnalyticsRow[]> {
  const params = analyticsParams(snapshotId, afterSeq, limit, metric);
  return (await pgRows<AnalyticsDbRow>(db, ANALYTICS.text, ANALYTICS.values(params))).map(analyticsRowOf);
}

export async function pgSnapshotRows(
  db: PgQueryable,
  snapshotId: string,
  afterSeq: number,
  limit: number,
): Promise<SnapshotRow[]> {
  return (await pgRows<SnapshotRowDbRow>(db, S.rows, [snapshotId, afterSeq, limit])).map(snapshotRowOf);
}
