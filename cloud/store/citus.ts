/**
 * How the PostgreSQL store's tables spread over a Citus cluster (Azure Cosmos DB for PostgreSQL), and the
 * step that spreads them. `deploy/citus/distribute.sql` is this plan written out for a manual run
 * (citus-plan.test.ts holds the two equal, and the plan to the schema). On a database with the `citus`
 * extension the store distributes at start, after its migrations, whatever table is not distributed yet:
 * a new store, a table a migration added, or a store created before Citus was installed.
 */
import type pg from 'pg';
import { MIGRATION_LOCK_KEY } from './pg-schema.ts';

export interface CitusTable {
  table: string;
  /** The distribution column; none for a reference table (a copy on every node). */
  column?: string;
  colocateWith?: string;
}

const reference = (table: string): CitusTable => ({ table });
const by = (table: string, column: string, colocateWith?: string): CitusTable => ({
  table,
  column,
  ...(colocateWith ? { colocateWith } : {}),
});

/** In the order they are created: reference tables, then each co-location group's first table first. */
export const CITUS_PLAN: readonly CitusTable[] = [
  reference('schema_migrations'),
  reference('ownership'),
  reference('checkpoints'),
  reference('gateways'),
  reference('sensors'),
  reference('quarantine'),
  reference('courses'),
  reference('course_assessments'),
  reference('risk_models'),
  reference('snapshots'),
  by('batches', 'gateway_id'),
  by('items', 'gateway_id', 'batches'),
  by('twin_changes', 'gateway_id', 'batches'),
  by('alerts', 'gateway_id', 'batches'),
  by('readings', 'gateway_id', 'batches'),
  by('room_state', 'campus_id'),
  by('aggregates', 'sensor_id'),
  by('sensor_windows', 'sensor_id', 'aggregates'),
  by('events', 'event_id'),
  by('risk_scores', 'course_id'),
  by('snapshot_rows', 'snapshot_id'),
  by('analytics_results', 'snapshot_id', 'snapshot_rows'),
];

/** The statement that distributes one table of the plan (as distribute.sql writes it). */
export function citusStatement(t: CitusTable): string {
  if (!t.column) return `SELECT create_reference_table('${t.table}');`;
  const colocate = t.colocateWith ? `, colocate_with => '${t.colocateWith}'` : '';
  return `SELECT create_distributed_table('${t.table}', '${t.column}'${colocate});`;
}

/**
 * When `client`'s database has the citus extension, distributes each table of the plan, in the schema of
 * the connection's search_path, that Citus does not know yet: `onCitus`, and the tables it distributed.
 * A table holding rows is copied to the workers by Citus as it is distributed.
 */
export async function distributeOnCitus(
  client: pg.ClientBase,
  schema?: string,
): Promise<{ onCitus: boolean; distributed: string[] }> {
  const ext = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'");
  if (ext.rowCount === 0) return { onCitus: false, distributed: [] };
  // The migrations' lock: one process migrates or distributes a database at a time.
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    const known = await client.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = COALESCE($1, current_schema())`,
      [schema ?? null],
    );
    const done = new Set(known.rows.map((r) => r.table));
    const distributed: string[] = [];
    for (const t of CITUS_PLAN) {
      if (done.has(t.table)) continue;
      await client.query(citusStatement(t));
      distributed.push(t.table);
    }
    return { onCitus: true, distributed };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
