/**
 * The cloud store's repository interface. Callers (consumer, checkpoint store, API, bench) see only this;
 * SQLite implements it today (sqlite.ts), PostgreSQL later, both held to contract.ts. Every method is
 * async so that a networked database fits without changing callers. Ids are strings, times epoch ms.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import type { Alert, TwinChangeKind } from '../../shared/events.ts';
import type { WireClass } from '../../shared/wire.ts';
import type { MergedWindow } from '../consume/merge.ts';
import type { EventPosition, PreparedEvent } from '../consume/prepare.ts';
import type { StoredEvent } from '../consume/validate.ts';
import type { CourseRecord } from '../history/records.ts';
import type { StateRow } from '../reporting/directory.ts';
import type { EngagementState } from '../reporting/engagement.ts';
import type { StoredWindow } from '../reporting/history.ts';
import type { RoomPeriod } from '../reporting/room-analytics.ts';
import type { ReliabilityBin } from '../risk/evaluate.ts';
import type { Factor } from '../risk/explain.ts';
import type { Outcome, RiskInputs } from '../risk/features.ts';
import type { LogisticModel } from '../risk/logistic.ts';
import type { DropoutModel } from '../risk/model.ts';

/** One partition of one consumer group of one event hub (the key of checkpoints and ownership). */
export interface PartitionRef {
  fullyQualifiedNamespace: string;
  eventHubName: string;
  consumerGroup: string;
  partitionId: string;
}

/** The SDK's Checkpoint and PartitionOwnership shapes (structurally identical, no SDK import needed). */
export interface CheckpointRow extends PartitionRef {
  sequenceNumber: number;
  offset: string;
}

export interface OwnershipRow extends PartitionRef {
  ownerId: string;
  lastModifiedTimeInMs?: number;
  etag?: string;
}

export type ClassCounts = Record<WireClass, number>;

/** What one applyBatch call did, for metrics and logs. */
export interface ApplyResult {
  /** Events whose batch was applied now (possibly with some duplicate items). */
  batchesApplied: number;
  /** Events skipped because their batch id had been applied before. */
  duplicateBatches: number;
  itemsApplied: ClassCounts;
  /** Items skipped because their id had been applied before (in another batch). */
  duplicateItems: number;
  /** Quarantine rows written: whole events plus single invalid items. */
  quarantined: { code: ErrorCode; count: number }[];
  /** Sum of `count` over the aggregates applied: the raw readings they represent. */
  readingsRepresented: number;
}

export interface QuarantineEntry {
  id: number;
  at: number;
  partitionId: string;
  sequenceNumber: number;
  gatewayId: string | null;
  batchId: string | null;
  itemId: string | null;
  code: string;
  reason: string;
  body: string;
}

/** A device and channel, or a room id, that several campuses have, asked for without naming one. */
export interface Ambiguous {
  campuses: string[];
}

export interface GatewaySummary {
  gatewayId: string;
  /** The campus its latest event named (wire property campusId); null if none of its events did. */
  campusId: string | null;
  /** When its last batch was applied here, and when Event Hubs had enqueued it. */
  lastBatchAt: number;
  lastEnqueuedAt: number;
  /** Newest event time among its applied items (null before any). */
  newestItemTs: number | null;
  items: ClassCounts;
  batchesApplied: number;
  duplicateBatches: number;
  duplicateItems: number;
  quarantined: number;
}

export interface RoomStateValue {
  state: string;
  /** Since when the state stands (the change's event time). */
  ts: number;
  reasons: string[];
  gatewayId: string;
  /** Occupancy: P(occupied) as the gateway judged it (null without evidence) and its basis. */
  probability?: number | null;
  basis?: string | null;
}

export interface RoomView {
  roomId: string;
  /** The campus of the room (its gateways' campusId); null for rooms of gateways that name none. */
  campusId: string | null;
  /** Latest state per kind; health per device. */
  state: Partial<Record<Exclude<TwinChangeKind, 'health'>, RoomStateValue>>;
  health: Record<string, RoomStateValue>;
  recentAlerts: Alert[];
}

/**
 * Which rooms a read is for: every room, the rooms of one id (on every campus that has it), or, with
 * campusId too, one room.
 */
export interface RoomFilter {
  roomId?: string;
  campusId?: string;
}

export interface QueryRange {
  from: number;
  to: number;
  limit: number;
}

export type SnapshotTrigger = 'schedule' | 'api' | 'cli';

export interface SnapshotOptions {
  cutoffTs: number;
  now: number;
  trigger: SnapshotTrigger;
  /** Defaults to DEFAULT_ANALYTICS. */
  analytics?: AnalyticsOptions;
}

/** An immutable point-in-time copy of every room's twin state and every (student, course) engagement. */
export interface SnapshotInfo {
  snapshotId: string;
  cutoffTs: number;
  createdAt: number;
  trigger: SnapshotTrigger;
  rooms: number;
  enrolments: number;
  /** Analytics results computed with it, and the start of the period facility analytics cover. */
  results: number;
  periodFrom: number;
}

/** How facility analytics are computed with a snapshot (cloud/reporting/room-analytics.ts). */
export interface AnalyticsOptions {
  /** The period before the cut-off that room metrics cover. */
  periodMs: number;
  /** Daily open hours "HH:MM-HH:MM" in `timeZone`: utilization counts only these. */
  openHours: string;
  timeZone: string;
}

export const DEFAULT_ANALYTICS: AnalyticsOptions = {
  periodMs: 86_400_000,
  openHours: '08:00-18:00',
  timeZone: 'UTC',
};

/** One analytics figure in the original design's shape, with the subject it is about. */
export interface AnalyticsRow {
  seq: number;
  /** `room/{roomId}/{metric}` or `enrolment/{studentId}/{courseId}/{metric}`, ids percent-encoded. */
  resultId: string;
  metric: string;
  value: number;
  computedTs: number;
  studentId: string | null;
  courseId: string | null;
  facilityId: string | null;
}

/**
 * One row in the original design's shape. A room row has facilityId (the room) and no student or course;
 * an enrolment row has studentId (a pseudonym) and courseId. `state` is JSON text.
 */
export interface SnapshotRow {
  seq: number;
  studentId: string | null;
  courseId: string | null;
  facilityId: string | null;
  snapshotTs: number;
  state: string;
}

/** A room's sensors of one quantity and their stored windows in a range (any window size). */
export interface RoomWindows {
  sensors: { deviceId: string; channel: string }[];
  windows: StoredWindow[];
}

export interface CourseEngagementRow {
  studentId: string;
  courseId: string;
  state: EngagementState;
}

/** A trained dropout model with how it was trained and how it did on held-out courses. */
export interface RiskModelRecord {
  /** A hash of the model's content: the same data and settings give the same id. */
  modelId: string;
  createdAt: number;
  /** The chosen kind: gradient-boosted trees only when they beat the logistic floor on validation. */
  kind: DropoutModel['kind'];
  cutoffDay: number;
  features: string[];
  model: DropoutModel;
  /**
   * How the kind was chosen: leave-one-course-out over the training courses (never the held-out ones),
   * pooled ROC AUC of each kind; the winner is then refitted on every training course.
   */
  selection: { validationCourses: string[]; logisticAuc: number | null; gbdtAuc: number | null };
  /** P(dropout | engagement score at the cut-off): what the original `{"engagement_score"}` endpoint uses. */
  engagement: LogisticModel;
  training: { courses: string[]; rows: number; positives: number; fromTs: number; toTs: number };
  holdout: {
    courses: string[];
    rows: number;
    positives: number;
    auc: number | null;
    /** Students still enrolled at the cut-off (no withdrawal at or before it). */
    rowsStillEnrolled: number;
    aucStillEnrolled: number | null;
    brier: number | null;
    bins: ReliabilityBin[];
    /** The same held-out rows ranked by fewer clicks = more risk (all, and still enrolled). */
    baselineAucNegClicks: number | null;
    baselineAucNegClicksStillEnrolled: number | null;
    engagementAuc: number | null;
    /** The logistic floor on the same held-out rows, whichever kind was chosen. */
    logisticAuc: number | null;
  };
  /** Standardised weights (logistic) or split-gain shares (trees), largest magnitude first. */
  importances: { feature: string; weight: number }[];
}

export interface RiskScoreRow {
  courseId: string;
  studentId: string;
  modelId: string;
  probability: number;
  courseDay: number;
  factors: Factor[];
  computedAt: number;
}

/**
 * The ingest side of a CloudStore (exactly-once apply, the checkpoint store, the ingest reads): what
 * contract.ts holds every store to.
 */
export type IngestStore = Pick<
  CloudStore,
  | 'applyBatch'
  | 'listOwnership'
  | 'claimOwnership'
  | 'listCheckpoints'
  | 'updateCheckpoint'
  | 'dataVersion'
  | 'gateways'
  | 'room'
  | 'sensorWindows'
  | 'quarantine'
  | 'counts'
  | 'close'
>;

/**
 * The reporting side of a CloudStore: snapshots (built, listed, read back) and the live reporting reads.
 * contract-snapshots.ts holds every store to the snapshot part.
 */
export type ReportStore = Pick<
  CloudStore,
  | 'createSnapshot'
  | 'listSnapshots'
  | 'snapshot'
  | 'snapshotRows'
  | 'analyticsRows'
  | 'roomStates'
  | 'alertCounts'
  | 'roomWindows'
  | 'roomPeriods'
  | 'courseEngagement'
>;

export interface CloudStore {
  /**
   * Apply received events of one partition and move its checkpoint to `checkpoint`, all in ONE
   * transaction: either everything (items, quarantine rows, counters, checkpoint) commits or nothing.
   * A batch id seen before is skipped whole; an item id seen before is skipped alone.
   */
  applyBatch(
    partition: PartitionRef,
    events: readonly PreparedEvent[],
    checkpoint: EventPosition,
    now: number,
  ): Promise<ApplyResult>;

  // Event Hubs checkpoint store (cloud/consume/checkpoint-store.ts adapts these to the SDK).
  listOwnership(ns: string, eventHubName: string, consumerGroup: string): Promise<OwnershipRow[]>;
  /** Compare-and-set on etag per partition; returns the claims that succeeded, with new etags. */
  claimOwnership(claims: readonly OwnershipRow[], now: number): Promise<OwnershipRow[]>;
  listCheckpoints(ns: string, eventHubName: string, consumerGroup: string): Promise<CheckpointRow[]>;
  /** Never moves a checkpoint backwards (a stale owner finishing late must not rewind it). */
  updateCheckpoint(checkpoint: CheckpointRow, now: number): Promise<void>;

  /**
   * Changes whenever the data may have: a write by this store object or a commit by another connection to
   * the same database. The API's response cache keys on it.
   */
  dataVersion(): Promise<string>;

  // Reads for the API.
  gateways(): Promise<GatewaySummary[]>;
  /**
   * A room's view: on `campusId`'s campus, or on the one campus that has the room id when none is named
   * (Ambiguous when several have it); undefined for a room never heard of.
   */
  room(roomId: string, alertsLimit: number, campusId?: string): Promise<RoomView | Ambiguous | undefined>;
  /**
   * A sensor's windows: on `campusId`'s campus, or on the one campus that has the device and channel when
   * none is named (Ambiguous when several have it); undefined when the store has never seen it.
   */
  sensorWindows(
    deviceId: string,
    channel: string,
    range: QueryRange,
    campusId?: string,
  ): Promise<MergedWindow[] | Ambiguous | undefined>;
  quarantine(limit: number): Promise<{ total: number; entries: QuarantineEntry[] }>;
  counts(): Promise<{ items: ClassCounts; readingsRepresented: number; quarantined: number }>;

  // Live reporting reads (cloud/api/rooms.ts).
  /** Every room's latest state per kind and subject. */
  roomStates(): Promise<StateRow[]>;
  /** Alerts per room since `since`, by roomKey(campus, room) (reporting/rooms.ts). */
  alertCounts(since: number): Promise<Map<string, number>>;
  /**
   * A room's windows of one quantity: of the room on `campusId`, or on the one campus whose sensors of that
   * quantity are in a room of that id (Ambiguous when several); undefined when it has no such sensor.
   */
  roomWindows(
    roomId: string,
    quantity: string,
    from: number,
    to: number,
    campusId?: string,
  ): Promise<RoomWindows | Ambiguous | undefined>;
  /** The wanted rooms' timelines, windows, energy history and open work orders over [from, to). */
  roomPeriods(from: number, to: number, filter?: RoomFilter): Promise<RoomPeriod[]>;
  /** One course's enrolments as of `cutoffTs`, students after `after` ('' to start), at most `limit`. */
  courseEngagement(
    courseId: string,
    cutoffTs: number,
    after: string,
    limit: number,
  ): Promise<CourseEngagementRow[]>;

  // History (`campus-twin cloud import`): events by id, deduplicated; the course catalogue.
  importEvents(events: readonly StoredEvent[]): Promise<{ inserted: number; duplicates: number }>;
  upsertCourses(courses: readonly CourseRecord[]): Promise<void>;
  courses(): Promise<CourseRecord[]>;

  // Dropout risk (cloud/risk).
  /** Per student, one course's events at or before `cutTs` aggregated into feature inputs. */
  riskInputs(courseId: string, startTs: number, cutTs: number): Promise<RiskInputs[]>;
  /** Outcomes (labels) from admin events at any time. Never feature inputs. */
  riskOutcomes(courseId: string): Promise<Map<string, Outcome>>;
  /** Courses with events, and their first event's time. */
  eventCourses(): Promise<{ courseId: string; firstTs: number }[]>;
  saveRiskModel(m: RiskModelRecord): Promise<void>;
  /** Newest first. */
  riskModels(): Promise<RiskModelRecord[]>;
  replaceRiskScores(courseId: string, rows: readonly RiskScoreRow[]): Promise<void>;
  riskScores(q: { studentId?: string; courseId?: string; top: number }): Promise<RiskScoreRow[]>;

  // Snapshots (cloud/reporting): built in one transaction, never changed afterwards.
  /** Copies every room's state and every (student, course) engagement as of `cutoffTs`. */
  createSnapshot(opts: SnapshotOptions): Promise<SnapshotInfo>;
  /** Newest first; `before` is the snapshot id the previous page ended with. */
  listSnapshots(opts: { limit: number; before?: string }): Promise<SnapshotInfo[]>;
  snapshot(snapshotId: string): Promise<SnapshotInfo | undefined>;
  /** Rows in `seq` order after `afterSeq` (start with -1): callers page through a large snapshot. */
  snapshotRows(snapshotId: string, afterSeq: number, limit: number): Promise<SnapshotRow[]>;
  /** The analytics computed with a snapshot (one metric's only, if given), in `seq` order after `afterSeq`. */
  analyticsRows(
    snapshotId: string,
    afterSeq: number,
    limit: number,
    metric?: string,
  ): Promise<AnalyticsRow[]>;

  close(): Promise<void>;
}

export const EMPTY_COUNTS = (): ClassCounts => ({ alert: 0, twin: 0, event: 0, aggregate: 0, raw: 0 });
