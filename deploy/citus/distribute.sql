-- campus-twin cloud store on Citus (Azure Cosmos DB for PostgreSQL): how each table is spread.
-- The store runs these itself at start on a database with the citus extension (cloud/store/citus.ts, whose
-- plan this file writes out). To run it by hand instead: once on the coordinator, in the store's schema,
-- after `campus-twin cloud --store postgres://…` has created the tables (its migrations run at start) and
-- before the consumers apply data; see README.md.
-- cloud/store/citus-plan.test.ts holds this file to citus.ts statement for statement, and to the schema: every table named once, each distributed
-- table's primary and unique keys include its distribution column, no foreign keys, and no UPDATE in the
-- store's code sets a distribution column.

-- Small tables that every node reads (joins and lookups stay local to each node).
SELECT create_reference_table('schema_migrations');
SELECT create_reference_table('ownership');
SELECT create_reference_table('checkpoints');
-- One row per gateway; joined to events (a work order's campus) and read by the apply for adoption.
SELECT create_reference_table('gateways');
-- The sensor dictionary: unique by (campus, device, channel), which a distributed table could only keep
-- if distributed by all three; its campus changes when an unnamed sensor is adopted.
SELECT create_reference_table('sensors');
SELECT create_reference_table('quarantine');
SELECT create_reference_table('courses');
SELECT create_reference_table('course_assessments');
SELECT create_reference_table('risk_models');
SELECT create_reference_table('snapshots');

-- What each gateway sends, by gateway: a batch's rows for one gateway land on one shard.
SELECT create_distributed_table('batches', 'gateway_id');
SELECT create_distributed_table('items', 'gateway_id', colocate_with => 'batches');
SELECT create_distributed_table('twin_changes', 'gateway_id', colocate_with => 'batches');
SELECT create_distributed_table('alerts', 'gateway_id', colocate_with => 'batches');
SELECT create_distributed_table('readings', 'gateway_id', colocate_with => 'batches');

-- A room's latest state, by campus (rows move to a campus by insert and delete, never by update).
SELECT create_distributed_table('room_state', 'campus_id');

-- The windows, by sensor: the largest table, spread evenly, every read of it names its sensors.
SELECT create_distributed_table('aggregates', 'sensor_id');
-- Each sensor's window spans (where its windows of each size start and end), beside its windows: a read by
-- sensor joins the two on sensor_id.
SELECT create_distributed_table('sensor_windows', 'sensor_id', colocate_with => 'aggregates');

-- Learning and admin events, by the LMS's event id: their one record whichever gateway brings them.
SELECT create_distributed_table('events', 'event_id');

-- Risk scores by course; a snapshot's rows and analytics by snapshot, together.
SELECT create_distributed_table('risk_scores', 'course_id');
SELECT create_distributed_table('snapshot_rows', 'snapshot_id');
SELECT create_distributed_table('analytics_results', 'snapshot_id', colocate_with => 'snapshot_rows');
