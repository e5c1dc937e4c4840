/**
 * The cloud store's tables on PostgreSQL: the SQLite schema (schema.ts) in PostgreSQL's types — epoch-ms
 * times and counters BIGINT, values DOUBLE PRECISION, identity columns for the AUTOINCREMENT ids. Versioned
 * migrations, applied at start in order, each once, in one transaction under an advisory lock (two cloud
 * processes starting together do not both migrate).
 */
import type pg from 'pg';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Text compares bytewise, as in SQLite, whatever the database's collation: ordering and keyset paging on
 * ids (enrolments, snapshots, models) give the SQLite store's answers.
 */
const bytewise = (sql: string) => sql.replace(/\bTEXT\b/g, 'TEXT COLLATE "C"');

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'ingest: checkpoints, ownership, batches, items, sensors, windows, twin, alerts, events',
    sql: `
CREATE TABLE ownership (
  namespace TEXT NOT NULL, event_hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
  owner_id TEXT NOT NULL, etag TEXT NOT NULL, modified_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, event_hub, consumer_group, partition_id));

CREATE TABLE checkpoints (
  namespace TEXT NOT NULL, event_hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
  sequence_number BIGINT NOT NULL, offset_value TEXT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, event_hub, consumer_group, partition_id));

CREATE TABLE batches (
  gateway_id TEXT NOT NULL, batch_id TEXT NOT NULL, cls TEXT NOT NULL, item_count INTEGER NOT NULL,
  applied_items INTEGER NOT NULL, duplicate_items INTEGER NOT NULL, invalid_items INTEGER NOT NULL,
  partition_id TEXT NOT NULL, sequence_number BIGINT NOT NULL, enqueued_at BIGINT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (gateway_id, batch_id));

CREATE TABLE items (item_id TEXT PRIMARY KEY, cls TEXT NOT NULL, gateway_id TEXT NOT NULL);

CREATE TABLE sensors (
  sensor_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  room_id TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
  UNIQUE (device_id, channel));

CREATE TABLE aggregates (
  sensor_id BIGINT NOT NULL, window_ms BIGINT NOT NULL, window_start BIGINT NOT NULL,
  count BIGINT NOT NULL, sum DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION NOT NULL,
  max DOUBLE PRECISION NOT NULL, first_value DOUBLE PRECISION NOT NULL, first_ts BIGINT NOT NULL,
  last_value DOUBLE PRECISION NOT NULL, last_ts BIGINT NOT NULL, items INTEGER NOT NULL,
  has_base INTEGER NOT NULL,
  PRIMARY KEY (sensor_id, window_ms, window_start));

CREATE TABLE twin_changes (
  gateway_id TEXT NOT NULL, item_id TEXT NOT NULL, room_id TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT NOT NULL, ts BIGINT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
  reasons TEXT NOT NULL,
  PRIMARY KEY (gateway_id, item_id));
CREATE INDEX twin_changes_room ON twin_changes (room_id, ts);
CREATE INDEX twin_changes_key ON twin_changes (room_id, kind, subject, ts);
CREATE INDEX twin_changes_ts ON twin_changes (ts);

CREATE TABLE room_state (
  room_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, ts BIGINT NOT NULL,
  reasons TEXT NOT NULL, item_id TEXT NOT NULL, gateway_id TEXT NOT NULL, detail TEXT,
  PRIMARY KEY (room_id, kind, subject));

CREATE TABLE alerts (
  alert_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, ts BIGINT NOT NULL, severity TEXT NOT NULL,
  code TEXT NOT NULL, room_id TEXT, device_id TEXT, message TEXT NOT NULL);
CREATE INDEX alerts_room ON alerts (room_id, ts);

CREATE TABLE events (
  event_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, ts BIGINT NOT NULL, type TEXT NOT NULL,
  body TEXT NOT NULL, source TEXT, actor_id TEXT, course_id TEXT, object_id TEXT, room_id TEXT,
  score DOUBLE PRECISION, max_score DOUBLE PRECISION, count INTEGER NOT NULL DEFAULT 1);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_enrolment ON events (actor_id, course_id, ts);
CREATE INDEX events_course ON events (course_id, actor_id, ts);

CREATE TABLE readings (
  gateway_id TEXT NOT NULL, item_id TEXT NOT NULL, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  room_id TEXT NOT NULL, quantity TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, unit TEXT NOT NULL,
  ts BIGINT NOT NULL, received_at BIGINT NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (gateway_id, item_id));
CREATE INDEX readings_sensor ON readings (device_id, channel, ts);

CREATE TABLE quarantine (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, partition_id TEXT NOT NULL,
  sequence_number BIGINT NOT NULL, gateway_id TEXT, batch_id TEXT, item_id TEXT, code TEXT NOT NULL,
  reason TEXT NOT NULL, body TEXT NOT NULL);

CREATE TABLE gateways (
  gateway_id TEXT PRIMARY KEY, last_batch_at BIGINT NOT NULL, last_enqueued_at BIGINT NOT NULL,
  newest_item_ts BIGINT, batches_applied BIGINT NOT NULL, duplicate_batches BIGINT NOT NULL,
  duplicate_items BIGINT NOT NULL, quarantined BIGINT NOT NULL,
  items_alert BIGINT NOT NULL, items_twin BIGINT NOT NULL, items_event BIGINT NOT NULL,
  items_aggregate BIGINT NOT NULL, items_raw BIGINT NOT NULL);
`,
  },
  {
    version: 2,
    description: 'reporting and risk: courses, risk models and scores, snapshots and their analytics',
    sql: `
CREATE TABLE courses (course_id TEXT PRIMARY KEY, name TEXT, start_ts BIGINT NOT NULL, end_ts BIGINT);
CREATE TABLE course_assessments (
  course_id TEXT NOT NULL, assessment_id TEXT NOT NULL, kind TEXT, due_ts BIGINT, weight DOUBLE PRECISION,
  PRIMARY KEY (course_id, assessment_id));

CREATE TABLE risk_models (
  model_id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, cutoff_day INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE risk_scores (
  course_id TEXT NOT NULL, student_id TEXT NOT NULL, model_id TEXT NOT NULL, probability DOUBLE PRECISION NOT NULL,
  course_day INTEGER NOT NULL, factors TEXT NOT NULL, computed_at BIGINT NOT NULL,
  PRIMARY KEY (course_id, student_id));
CREATE INDEX risk_scores_student ON risk_scores (student_id);

CREATE TABLE snapshots (
  snapshot_id TEXT PRIMARY KEY, cutoff_ts BIGINT NOT NULL, created_at BIGINT NOT NULL, trigger TEXT NOT NULL,
  rooms INTEGER NOT NULL, enrolments INTEGER NOT NULL, results INTEGER NOT NULL, period_from BIGINT NOT NULL);
CREATE TABLE snapshot_rows (
  snapshot_id TEXT NOT NULL, seq INTEGER NOT NULL, student_id TEXT, course_id TEXT, facility_id TEXT,
  snapshot_ts BIGINT NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, seq));
CREATE TABLE analytics_results (
  snapshot_id TEXT NOT NULL, seq INTEGER NOT NULL, result_id TEXT NOT NULL, metric TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL, student_id TEXT, course_id TEXT, facility_id TEXT, computed_ts BIGINT NOT NULL,
  PRIMARY KEY (snapshot_id, seq));
`,
  },
  {
    version: 3,
    description: "the campus a gateway serves (the wire's campusId)",
    sql: 'ALTER TABLE gateways ADD COLUMN campus_id TEXT;',
  },
  {
    version: 4,
    description: "item and alert ids are their gateway's own; an event's row is its dedupe record",
    sql: `
ALTER TABLE items DROP CONSTRAINT items_pkey;
DELETE FROM items WHERE cls = 'event';
ALTER TABLE items ADD PRIMARY KEY (gateway_id, item_id);
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey;
ALTER TABLE alerts ADD PRIMARY KEY (gateway_id, alert_id);
`,
  },
  {
    version: 5,
    description: 'a sensor is a device channel on a campus',
    sql: `
ALTER TABLE sensors ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sensors DROP CONSTRAINT sensors_device_id_channel_key;
ALTER TABLE sensors ADD UNIQUE (campus_id, device_id, channel);
`,
  },
  {
    version: 6,
    description: "a room is a room id on a campus: its rows take their gateway's campus",
    sql: `
ALTER TABLE twin_changes ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
ALTER TABLE room_state ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
UPDATE twin_changes t SET campus_id = g.campus_id FROM gateways g
  WHERE g.gateway_id = t.gateway_id AND g.campus_id IS NOT NULL;
UPDATE alerts a SET campus_id = g.campus_id FROM gateways g
  WHERE g.gateway_id = a.gateway_id AND g.campus_id IS NOT NULL;
UPDATE room_state s SET campus_id = g.campus_id FROM gateways g
  WHERE g.gateway_id = s.gateway_id AND g.campus_id IS NOT NULL;
ALTER TABLE room_state DROP CONSTRAINT room_state_pkey;
ALTER TABLE room_state ADD PRIMARY KEY (room_id, campus_id, kind, subject);
DROP INDEX twin_changes_room;
DROP INDEX twin_changes_key;
DROP INDEX alerts_room;
CREATE INDEX twin_changes_room ON twin_changes (room_id, campus_id, ts);
CREATE INDEX twin_changes_key ON twin_changes (room_id, campus_id, kind, subject, ts);
CREATE INDEX alerts_room ON alerts (room_id, campus_id, ts);
`,
  },
  {
    version: 7,
    description: "a raw reading's device is on its gateway's campus",
    sql: `
ALTER TABLE readings ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
UPDATE readings r SET campus_id = g.campus_id FROM gateways g
  WHERE g.gateway_id = r.gateway_id AND g.campus_id IS NOT NULL;
DROP INDEX readings_sensor;
CREATE INDEX readings_sensor ON readings (device_id, channel, campus_id, ts);
`,
  },
  {
    version: 8,
    description: "windows keyed time-major; each sensor's window spans (reads seek each window start)",
    sql: `
ALTER TABLE aggregates DROP CONSTRAINT aggregates_pkey;
ALTER TABLE aggregates ADD PRIMARY KEY (window_ms, window_start, sensor_id);
CREATE TABLE sensor_windows (
  sensor_id BIGINT NOT NULL, window_ms BIGINT NOT NULL, phase BIGINT NOT NULL,
  first_start BIGINT NOT NULL, last_start BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, window_ms, phase));
INSERT INTO sensor_windows (sensor_id, window_ms, phase, first_start, last_start)
  SELECT sensor_id, window_ms, ((window_start % window_ms) + window_ms) % window_ms, MIN(window_start),
    MAX(window_start)
  FROM aggregates GROUP BY 1, 2, 3;
`,
  },
];

export const PG_MIGRATIONS: readonly Migration[] = MIGRATIONS.map((m) => ({ ...m, sql: bytewise(m.sql) }));

/**
 * The advisory lock one process holds while it migrates a database (and, on Citus, distributes its tables:
 * citus.ts). The key is arbitrary and fixed ("ct-migrate").
 */
export const MIGRATION_LOCK_KEY = 7466020734856;

/**
 * Applies the migrations `client`'s database lacks (in `schema`, created if missing, when given: it must
 * be the connection's search_path); returns the versions applied.
 */
export async function migrate(client: pg.ClientBase, now: number, schema?: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    // One migrator at a time per database; two processes creating one schema at once would otherwise collide.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of PG_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query(
        'INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)',
        [m.version, m.description, now],
      );
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}
