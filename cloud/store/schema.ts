/**
 * The cloud store's tables. Portable by intent (PostgreSQL follows): ids TEXT, times INTEGER epoch ms,
 * upserts as `INSERT … ON CONFLICT … DO UPDATE … WHERE`, no SQLite-only functions in statements.
 * Only the DDL details below (WITHOUT ROWID, AUTOINCREMENT, PRAGMAs) are SQLite's.
 */
import { SENSOR_WINDOWS_DDL } from './window-seeks.ts';

export const SCHEMA_VERSION = 10;

/**
 * Columns added after version 1 (ALTER TABLE … ADD COLUMN on an older file, then backfilled from `body`):
 * the fields of a learning/admin event that reporting groups and filters by.
 */
export const EVENT_COLUMNS_V2 = [
  ['source', 'TEXT'],
  ['actor_id', 'TEXT'],
  ['course_id', 'TEXT'],
  ['object_id', 'TEXT'],
  ['room_id', 'TEXT'],
  ['score', 'REAL'],
  ['max_score', 'REAL'],
  ['count', 'INTEGER NOT NULL DEFAULT 1'],
] as const;

/** Columns added in version 3: an occupancy state's probability and basis (JSON), on the latest state. */
export const ROOM_STATE_COLUMNS_V3 = [['detail', 'TEXT']] as const;

/** The campus a gateway says it serves (wire property campusId; null until one of its events carried it). */
export const GATEWAY_COLUMNS_V5 = [['campus_id', 'TEXT']] as const;

/**
 * Windows, one row per (sensor, size, start). A rowid table with the key as a unique index (version 4;
 * until version 3 the key was a WITHOUT ROWID primary key): rows are appended in arrival order and only
 * the small index entries go where the key puts them. Keyed by the sensor, every apply transaction's
 * windows landed in as many places in the table as there are sensors, each a 100-byte row splitting its
 * page; with 10,000 sensors that made the apply 1.55 × slower (bench/README.md, apply).
 *
 * Since version 10 the key is time-major, (window_ms, window_start, sensor_id): a transaction's windows are
 * recent, so their index entries go side by side at the index's end instead of into one page per sensor.
 * Reads by sensor seek each window start of the sensor's spans (window-seeks.ts, `sensor_windows`).
 */
const AGGREGATES_DDL = `CREATE TABLE IF NOT EXISTS aggregates (
  sensor_id INTEGER NOT NULL, window_ms INTEGER NOT NULL, window_start INTEGER NOT NULL,
  count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  first_value REAL NOT NULL, first_ts INTEGER NOT NULL, last_value REAL NOT NULL, last_ts INTEGER NOT NULL,
  items INTEGER NOT NULL, has_base INTEGER NOT NULL,
  UNIQUE (window_ms, window_start, sensor_id));`;

/**
 * Every applied item id of a gateway (ids are the gateway's own: two gateways may use the same one), except
 * base window aggregates (the common case), whose window row is their dedupe record (aggregates.has_base),
 * and learning/admin events, whose row in `events` is theirs (an event id is the LMS's, the same whichever
 * gateway or import brings it): one statement per item instead of two. Until version 5 the key was item_id.
 */
const ITEMS_DDL = `CREATE TABLE IF NOT EXISTS items (
  gateway_id TEXT NOT NULL, item_id TEXT NOT NULL, cls TEXT NOT NULL,
  PRIMARY KEY (gateway_id, item_id)) WITHOUT ROWID;`;

/**
 * Alerts keyed by their gateway and its alert id (until version 5 by the alert id alone); their room is on
 * their gateway's campus (campus_id, version 8; '' while the gateway names none).
 */
const ALERTS_DDL = `CREATE TABLE IF NOT EXISTS alerts (
  alert_id TEXT NOT NULL, gateway_id TEXT NOT NULL, ts INTEGER NOT NULL, severity TEXT NOT NULL,
  code TEXT NOT NULL, room_id TEXT, device_id TEXT, message TEXT NOT NULL, campus_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (gateway_id, alert_id));`;

/**
 * A room is a room id on a campus (version 8): two campuses may both have a room B1-101. Its latest state per
 * kind and subject; until version 7 keyed by (room_id, kind, subject).
 */
const ROOM_STATE_DDL = `CREATE TABLE IF NOT EXISTS room_state (
  room_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, ts INTEGER NOT NULL,
  reasons TEXT NOT NULL, item_id TEXT NOT NULL, gateway_id TEXT NOT NULL, detail TEXT,
  campus_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (room_id, campus_id, kind, subject)) WITHOUT ROWID;`;

/**
 * The indexes that lead with a room: (room, campus) first, so one room id is found on every campus at once
 * (the API's "which campus?") and on one campus by the same seek. Created after an older file's migration.
 */
export const ROOM_INDEXES = `
CREATE INDEX IF NOT EXISTS twin_changes_room ON twin_changes (room_id, campus_id, ts);
-- A room's state as of any cut-off: one index seek per (room, campus, kind, subject).
CREATE INDEX IF NOT EXISTS twin_changes_key ON twin_changes (room_id, campus_id, kind, subject, ts);
CREATE INDEX IF NOT EXISTS alerts_room ON alerts (room_id, campus_id, ts);
CREATE INDEX IF NOT EXISTS readings_sensor ON readings (device_id, channel, campus_id, ts);
`;

/** A gateway's campus as the gateways table has it, '' when none ($gw: the row's gateway_id column). */
const campusOf = (gw: string) =>
  `COALESCE((SELECT g.campus_id FROM gateways g WHERE g.gateway_id = ${gw}), '')`;

/** An older file's `table` given its campus column, each row its gateway's campus (indexes on it dropped). */
const addCampusColumn = (table: string, indexes: readonly string[]) =>
  `${indexes.map((i) => `DROP INDEX IF EXISTS ${i};`).join('\n')}
ALTER TABLE ${table} ADD COLUMN campus_id TEXT NOT NULL DEFAULT '';
UPDATE ${table} SET campus_id = ${campusOf(`${table}.gateway_id`)};`;

/**
 * Versions 8 (rooms) and 9 (raw readings), on an older file, table by table: each row takes its gateway's
 * campus as the gateways table has it ('' for a gateway that named none), so rows from before the upgrade
 * land where the gateway now says it is. The indexes are made again afterwards (ROOM_INDEXES).
 */
export const MIGRATE_CAMPUS_KEYS = {
  twin_changes: addCampusColumn('twin_changes', ['twin_changes_room', 'twin_changes_key']),
  alerts: addCampusColumn('alerts', ['alerts_room']),
  room_state: `ALTER TABLE room_state RENAME TO room_state_v7;
${ROOM_STATE_DDL}
INSERT INTO room_state (room_id, kind, subject, state, ts, reasons, item_id, gateway_id, detail, campus_id)
  SELECT s.room_id, s.kind, s.subject, s.state, s.ts, s.reasons, s.item_id, s.gateway_id, s.detail,
    ${campusOf('s.gateway_id')} FROM room_state_v7 s;
DROP TABLE room_state_v7;`,
  readings: addCampusColumn('readings', ['readings_sensor']),
} as const;

/**
 * Sensor dictionary: aggregates are keyed by a small integer, not by three strings. A sensor is a device's
 * channel on a campus (the wire's campusId; '' for gateways that do not name theirs): two campuses may
 * both have an `env-1`. Until version 6 the key was (device_id, channel).
 */
const SENSORS_DDL = `CREATE TABLE IF NOT EXISTS sensors (
  sensor_id INTEGER PRIMARY KEY AUTOINCREMENT, campus_id TEXT NOT NULL DEFAULT '', device_id TEXT NOT NULL,
  channel TEXT NOT NULL, room_id TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
  UNIQUE (campus_id, device_id, channel));`;

/** A version-6 file's sensors keyed by campus too (their ids kept: the windows refer to them). */
export const MIGRATE_SENSORS_V7 = `ALTER TABLE sensors RENAME TO sensors_v6;
${SENSORS_DDL}
INSERT INTO sensors (sensor_id, campus_id, device_id, channel, room_id, quantity, unit)
  SELECT sensor_id, '', device_id, channel, room_id, quantity, unit FROM sensors_v6;
DROP TABLE sensors_v6;`;

/** A version-5 file's items and alerts re-keyed by gateway; event ids leave `items` (see ITEMS_DDL). */
export const MIGRATE_KEYS_V6 = `ALTER TABLE items RENAME TO items_v5;
${ITEMS_DDL}
INSERT INTO items (gateway_id, item_id, cls) SELECT gateway_id, item_id, cls FROM items_v5 WHERE cls <> 'event';
DROP TABLE items_v5;
DROP INDEX IF EXISTS alerts_room;
ALTER TABLE alerts RENAME TO alerts_v5;
${ALERTS_DDL}
INSERT INTO alerts (alert_id, gateway_id, ts, severity, code, room_id, device_id, message, campus_id)
  SELECT alert_id, gateway_id, ts, severity, code, room_id, device_id, message, ${campusOf('alerts_v5.gateway_id')}
  FROM alerts_v5;
DROP TABLE alerts_v5;`;

/**
 * An older file's aggregates table (a WITHOUT ROWID table until version 3, sensor-major key until version 9)
 * moved into the current layout, rows and all.
 */
export const MIGRATE_AGGREGATES = `ALTER TABLE aggregates RENAME TO aggregates_old;
${AGGREGATES_DDL}
INSERT INTO aggregates SELECT * FROM aggregates_old ORDER BY window_ms, window_start, sensor_id;
DROP TABLE aggregates_old;`;

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS ownership (
  namespace TEXT NOT NULL, event_hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
  owner_id TEXT NOT NULL, etag TEXT NOT NULL, modified_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, event_hub, consumer_group, partition_id));

CREATE TABLE IF NOT EXISTS checkpoints (
  namespace TEXT NOT NULL, event_hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
  sequence_number INTEGER NOT NULL, offset_value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, event_hub, consumer_group, partition_id));

CREATE TABLE IF NOT EXISTS batches (
  gateway_id TEXT NOT NULL, batch_id TEXT NOT NULL, cls TEXT NOT NULL, item_count INTEGER NOT NULL,
  applied_items INTEGER NOT NULL, duplicate_items INTEGER NOT NULL, invalid_items INTEGER NOT NULL,
  partition_id TEXT NOT NULL, sequence_number INTEGER NOT NULL, enqueued_at INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (gateway_id, batch_id)) WITHOUT ROWID;

${ITEMS_DDL}

${SENSORS_DDL}

${AGGREGATES_DDL}

${SENSOR_WINDOWS_DDL}

-- A room's changes; its room is on its gateway's campus (campus_id, version 8). Indexes: ROOM_INDEXES.
CREATE TABLE IF NOT EXISTS twin_changes (
  gateway_id TEXT NOT NULL, item_id TEXT NOT NULL, room_id TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT NOT NULL, ts INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
  reasons TEXT NOT NULL, campus_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (gateway_id, item_id)) WITHOUT ROWID;
-- Facility analytics read the changes inside a period, across rooms.
CREATE INDEX IF NOT EXISTS twin_changes_ts ON twin_changes (ts);

${ROOM_STATE_DDL}

${ALERTS_DDL}

CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, ts INTEGER NOT NULL, type TEXT NOT NULL,
  body TEXT NOT NULL, source TEXT, actor_id TEXT, course_id TEXT, object_id TEXT, room_id TEXT, score REAL,
  max_score REAL, count INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);

-- Raw readings (forwardRaw); their device is on their gateway's campus (campus_id, version 9). Index:
-- ROOM_INDEXES.
CREATE TABLE IF NOT EXISTS readings (
  gateway_id TEXT NOT NULL, item_id TEXT NOT NULL, device_id TEXT NOT NULL, channel TEXT NOT NULL,
  room_id TEXT NOT NULL, quantity TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL, source TEXT NOT NULL, campus_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (gateway_id, item_id)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, partition_id TEXT NOT NULL,
  sequence_number INTEGER NOT NULL, gateway_id TEXT, batch_id TEXT, item_id TEXT, code TEXT NOT NULL,
  reason TEXT NOT NULL, body TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS gateways (
  gateway_id TEXT PRIMARY KEY, last_batch_at INTEGER NOT NULL, last_enqueued_at INTEGER NOT NULL,
  newest_item_ts INTEGER, batches_applied INTEGER NOT NULL, duplicate_batches INTEGER NOT NULL,
  duplicate_items INTEGER NOT NULL, quarantined INTEGER NOT NULL,
  items_alert INTEGER NOT NULL, items_twin INTEGER NOT NULL, items_event INTEGER NOT NULL,
  items_aggregate INTEGER NOT NULL, items_raw INTEGER NOT NULL, campus_id TEXT);

-- The course catalogue (from imports): start and end, and assessments with their due dates, so that risk
-- features can be taken at "day N of the course" and submissions judged on time, late or missing.
CREATE TABLE IF NOT EXISTS courses (
  course_id TEXT PRIMARY KEY, name TEXT, start_ts INTEGER NOT NULL, end_ts INTEGER);
CREATE TABLE IF NOT EXISTS course_assessments (
  course_id TEXT NOT NULL, assessment_id TEXT NOT NULL, kind TEXT, due_ts INTEGER, weight REAL,
  PRIMARY KEY (course_id, assessment_id)) WITHOUT ROWID;

-- Dropout-risk models (content-addressed, the whole record as JSON) and the latest score per enrolment.
CREATE TABLE IF NOT EXISTS risk_models (
  model_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, cutoff_day INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS risk_scores (
  course_id TEXT NOT NULL, student_id TEXT NOT NULL, model_id TEXT NOT NULL, probability REAL NOT NULL,
  course_day INTEGER NOT NULL, factors TEXT NOT NULL, computed_at INTEGER NOT NULL,
  PRIMARY KEY (course_id, student_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS risk_scores_student ON risk_scores (student_id);

-- Immutable point-in-time copies (snapshots) and the analytics computed from them. Rows are written once,
-- in the transaction that creates the snapshot, and never updated.
CREATE TABLE IF NOT EXISTS snapshots (
  snapshot_id TEXT PRIMARY KEY, cutoff_ts INTEGER NOT NULL, created_at INTEGER NOT NULL, trigger TEXT NOT NULL,
  rooms INTEGER NOT NULL, enrolments INTEGER NOT NULL, results INTEGER NOT NULL, period_from INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS snapshot_rows (
  snapshot_id TEXT NOT NULL, seq INTEGER NOT NULL, student_id TEXT, course_id TEXT, facility_id TEXT,
  snapshot_ts INTEGER NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, seq)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS analytics_results (
  snapshot_id TEXT NOT NULL, seq INTEGER NOT NULL, result_id TEXT NOT NULL, metric TEXT NOT NULL,
  value REAL NOT NULL, student_id TEXT, course_id TEXT, facility_id TEXT, computed_ts INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, seq)) WITHOUT ROWID;
`;

/** Indexes on version-2 columns: run after an older file has been migrated. */
export const DDL_V2_INDEXES = `
CREATE INDEX IF NOT EXISTS events_enrolment ON events (actor_id, course_id, ts);
CREATE INDEX IF NOT EXISTS events_course ON events (course_id, actor_id, ts);
`;
