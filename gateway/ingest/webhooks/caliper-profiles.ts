/**
 * Caliper Analytics 1.1 / 1.2 validation rules (pure data + lookups), written from the IMS Global
 * specification text: Caliper 1.1 (§2 Information Model, §3 Metric Profiles, Appendix A Actions,
 * Appendix B Event Subtypes, Appendix C Entity Subtypes), the Caliper 1.1 extension profiles (Feedback,
 * Resource Management, Search, Survey, Tool Launch) and Caliper 1.2 (Event, Entity and Profile sections,
 * JSON-LD context v1p2).
 *
 * Holds, per version, each event type's allowed actions and the entity types its properties may hold; the
 * entity type hierarchy; the 1.2 metric profiles with the event types/actions each allows; and the few
 * properties the spec makes required for one action. All names are local terms ('Person', 'Viewed'), never
 * full IRIs. An entity given as a string is an IRI and is never type-checked here (§ "thinned" entities).
 *
 * A property typed `Entity | IRI` by the spec is left out of a rule: every entity is an Entity, including
 * types from other JSON-LD contexts (e.g. schema.org's Thesis in a GeneralProfile event).
 */

export type CaliperVersion = 'v1p1' | 'v1p2';

/** Which properties of an event may hold which entity types (local type names, e.g. 'Person'). A value
 *  listed allows that type and every subtype of it (see isA). Properties not listed are not restricted here. */
export interface EventRule {
  actions: readonly string[]; // local action names, e.g. 'Viewed'
  actor?: readonly string[];
  object?: readonly string[];
  generated?: readonly string[];
  target?: readonly string[];
  referrer?: readonly string[];
  /** Properties this event type requires beyond id, type, actor, action, object, eventTime, per action
   *  (e.g. ToolLaunchEvent Launched -> federatedSession). Read through requiredFor. */
  requiredByAction?: Readonly<Record<string, readonly string[]>>;
}

// ---------------------------------------------------------------------------------------------------------
// Action vocabularies

/** Caliper 1.1 Appendix A (note its spelling 'MarkedAsUnread'), plus 'Hid' (a deprecated AssignableEvent
 *  action missing from Appendix A) and the actions added by the 1.1 extension profiles. */
const ACTIONS_V1P1 = [
  'Abandoned',
  'Activated',
  'Added',
  'Attached',
  'Bookmarked',
  'ChangedResolution',
  'ChangedSize',
  'ChangedSpeed',
  'ChangedVolume',
  'Classified',
  'ClosedPopout',
  'Commented',
  'Completed',
  'Created',
  'Deactivated',
  'Deleted',
  'Described',
  'DisabledClosedCaptioning',
  'Disliked',
  'EnabledClosedCaptioning',
  'Ended',
  'EnteredFullScreen',
  'ExitedFullScreen',
  'ForwardedTo',
  'Graded',
  'Hid',
  'Highlighted',
  'Identified',
  'JumpedTo',
  'Liked',
  'Linked',
  'LoggedIn',
  'LoggedOut',
  'MarkedAsRead',
  'MarkedAsUnread',
  'MarkedAsUnRead',
  'Modified',
  'Muted',
  'NavigatedTo',
  'OpenedPopout',
  'Paused',
  'Posted',
  'Questioned',
  'Ranked',
  'Recommended',
  'Removed',
  'Reset',
  'Restarted',
  'Resumed',
  'Retrieved',
  'Reviewed',
  'Rewound',
  'Searched',
  'Shared',
  'Showed',
  'Skipped',
  'Started',
  'Submitted',
  'Subscribed',
  'Tagged',
  'TimedOut',
  'Unmuted',
  'Unsubscribed',
  'Used',
  'Viewed',
  // 1.1 extension profiles: Survey, Resource Management, Tool Launch
  'Accepted',
  'Declined',
  'Sent',
  'OptedIn',
  'OptedOut',
  'Archived',
  'Copied',
  'Downloaded',
  'Printed',
  'Published',
  'Restored',
  'Saved',
  'Unpublished',
  'Uploaded',
  'Launched',
  'Returned',
] as const;

/**
 * The action terms of the Caliper 1.2 JSON-LD context and the spellings its event/profile text uses where
 * they differ (both accepted): the 1.1 list already holds them all but the context's closed-captioning
 * spelling.
 */
const ACTIONS_V1P2 = [...ACTIONS_V1P1, 'DisabledCloseCaptioning', 'EnabledCloseCaptioning'];

/** Every action term known for a version (the generic Event accepts any of them). */
export const ACTIONS: Readonly<Record<CaliperVersion, readonly string[]>> = {
  v1p1: ACTIONS_V1P1,
  v1p2: ACTIONS_V1P2,
};

const MEDIA_ACTIONS = [
  'Started',
  'Ended',
  'Paused',
  'Resumed',
  'Restarted',
  'ForwardedTo',
  'JumpedTo',
  'ChangedResolution',
  'ChangedSize',
  'ChangedSpeed',
  'ChangedVolume',
  'EnabledClosedCaptioning',
  'DisabledClosedCaptioning',
  'EnteredFullScreen',
  'ExitedFullScreen',
  'Muted',
  'Unmuted',
  'OpenedPopout',
  'ClosedPopout',
] as const;

/** The 1.2 context's spelling of the two captioning actions. */
const MEDIA_ACTIONS_CONTEXT_SPELLING = ['EnabledCloseCaptioning', 'DisabledCloseCaptioning'] as const;

const RESOURCE_MANAGEMENT_ACTIONS = [
  'Archived',
  'Copied',
  'Created',
  'Deleted',
  'Described',
  'Downloaded',
  'Modified',
  'Printed',
  'Published',
  'Restored',
  'Retrieved',
  'Saved',
  'Unpublished',
  'Uploaded',
] as const;

/** 'MarkedAsUnRead' in the event tables, 'MarkedAsUnread' in Appendix A / the JSON-LD context. */
const MARKED_AS = ['MarkedAsRead', 'MarkedAsUnRead', 'MarkedAsUnread'] as const;

// ---------------------------------------------------------------------------------------------------------
// Event rules

/** Event types defined by the 1.1 extension profiles (Feedback, Resource Management, Search, Survey, Tool
 *  Launch) — the same definitions 1.2 later folded into the core specification. */
const EXTENSION_EVENTS: Readonly<Record<string, EventRule>> = {
  FeedbackEvent: {
    actions: ['Commented', 'Ranked'],
    actor: ['Person'],
    target: ['Frame'],
    generated: ['Rating', 'Comment'],
  },
  ResourceManagementEvent: {
    actions: RESOURCE_MANAGEMENT_ACTIONS,
    actor: ['Person'],
    object: ['DigitalResource'],
    generated: ['DigitalResource'],
  },
  SearchEvent: { actions: ['Searched'], actor: ['Person'], generated: ['SearchResponse'] },
  SurveyEvent: { actions: ['OptedIn', 'OptedOut'], actor: ['Person'], object: ['Survey'] },
  SurveyInvitationEvent: {
    actions: ['Accepted', 'Declined', 'Sent'],
    actor: ['Person'],
    object: ['SurveyInvitation'],
  },
  // generated: Attempt per the Survey Profile table (the event table lists no generated).
  QuestionnaireEvent: {
    actions: ['Started', 'Submitted'],
    actor: ['Person'],
    object: ['Questionnaire'],
    generated: ['Attempt'],
  },
  // generated: Response (event table) or Attempt (Survey Profile table, Started and Skipped).
  QuestionnaireItemEvent: {
    actions: ['Started', 'Skipped', 'Completed'],
    actor: ['Person'],
    object: ['QuestionnaireItem'],
    generated: ['Response', 'Attempt'],
  },
  // "federatedSession … Required when the action value is Launched, otherwise optional."
  ToolLaunchEvent: {
    actions: ['Launched', 'Returned'],
    actor: ['Person'],
    object: ['SoftwareApplication'],
    generated: ['DigitalResource'],
    target: ['Link', 'LtiLink'],
    requiredByAction: { Launched: ['federatedSession'] },
  },
};

/** Event types whose rules 1.1 and 1.2 share word for word. */
const BOTH: Readonly<Record<string, EventRule>> = {
  AssessmentEvent: {
    actions: ['Started', 'Paused', 'Resumed', 'Restarted', 'Reset', 'Submitted'],
    actor: ['Person'],
    object: ['Assessment'],
    generated: ['Attempt'],
  },
  ForumEvent: { actions: ['Subscribed', 'Unsubscribed'], actor: ['Person'], object: ['Forum'] },
  GradeEvent: { actions: ['Graded'], actor: ['Agent'], object: ['Attempt'], generated: ['Score'] },
  MessageEvent: { actions: [...MARKED_AS, 'Posted'], actor: ['Person'], object: ['Message'] },
  SessionEvent: {
    actions: ['LoggedIn', 'LoggedOut', 'TimedOut'],
    actor: ['Person', 'SoftwareApplication'],
    object: ['Session', 'SoftwareApplication'],
    target: ['DigitalResource'],
    referrer: ['DigitalResource', 'SoftwareApplication'],
  },
  ThreadEvent: { actions: MARKED_AS, actor: ['Person'], object: ['Thread'] },
};

const V1P1: Readonly<Record<string, EventRule>> = {
  ...BOTH,
  // Basic Profile: "Any Caliper action MAY be used"; actor Agent, object Entity.
  Event: { actions: ACTIONS_V1P1, actor: ['Agent'] },
  AnnotationEvent: {
    actions: [
      'Bookmarked',
      'Highlighted',
      'Shared',
      'Tagged',
      // deprecated in 1.1, still valid
      'Attached',
      'Classified',
      'Commented',
      'Described',
      'Disliked',
      'Identified',
      'Liked',
      'Linked',
      'Questioned',
      'Ranked',
      'Recommended',
      'Subscribed',
    ],
    actor: ['Person'],
    object: ['DigitalResource'],
    target: ['Frame'],
    generated: ['Annotation'],
  },
  AssessmentItemEvent: {
    actions: ['Started', 'Skipped', 'Completed', 'Reviewed', 'Viewed'], // Reviewed, Viewed: deprecated
    actor: ['Person'],
    object: ['AssessmentItem'],
    generated: ['Response', 'Attempt'], // Attempt: Assessment Profile, Started
    referrer: ['AssessmentItem'],
  },
  AssignableEvent: {
    actions: [
      'Activated',
      'Deactivated',
      'Started',
      'Completed',
      'Submitted',
      'Reviewed',
      'Abandoned', // deprecated
      'Hid', // deprecated
      'Showed', // deprecated
    ],
    actor: ['Person'],
    object: ['AssignableDigitalResource'],
    target: ['Frame'],
    generated: ['Attempt'],
  },
  MediaEvent: {
    actions: [...MEDIA_ACTIONS, 'Rewound'], // Rewound: deprecated
    actor: ['Person'],
    object: ['MediaObject'],
    target: ['MediaLocation'],
  },
  NavigationEvent: {
    actions: ['NavigatedTo'],
    actor: ['Person'],
    object: ['DigitalResource', 'SoftwareApplication'],
    target: ['Frame'],
    referrer: ['DigitalResource', 'SoftwareApplication'],
  },
  // Deprecated in 1.1, still valid.
  OutcomeEvent: { actions: ['Graded'], actor: ['Agent'], object: ['Attempt'], generated: ['Result'] },
  // Deprecated in 1.1, still valid.
  ReadingEvent: {
    actions: ['NavigatedTo', 'Searched', 'Viewed'],
    actor: ['Person'],
    object: ['DigitalResource'],
    target: ['Frame'],
  },
  ToolUseEvent: {
    actions: ['Used'],
    actor: ['Person'],
    object: ['SoftwareApplication'],
    target: ['SoftwareApplication'],
  },
  ViewEvent: { actions: ['Viewed'], actor: ['Person'], object: ['DigitalResource'], target: ['Frame'] },
  ...EXTENSION_EVENTS,
};

const V1P2: Readonly<Record<string, EventRule>> = {
  ...BOTH,
  // General Profile: "Only the generic Event may be utilized … Any of the Caliper actions described in
  // this specification can be used". Decision: the generic Event accepts every term of the 1.2 action
  // vocabulary (ACTIONS.v1p2, deprecated terms like Rewound or Showed included, since the vocabulary still
  // defines them) and nothing else; actor Agent, object Entity.
  Event: { actions: ACTIONS_V1P2, actor: ['Agent'] },
  AnnotationEvent: {
    actions: ['Bookmarked', 'Highlighted', 'Shared', 'Tagged'],
    actor: ['Person'],
    object: ['DigitalResource'],
    target: ['Frame'],
    generated: ['Annotation'],
  },
  // generated: Response (event table) or Attempt (Assessment Profile table, Started and Skipped).
  AssessmentItemEvent: {
    actions: ['Started', 'Skipped', 'Completed'],
    actor: ['Person'],
    object: ['AssessmentItem'],
    generated: ['Response', 'Attempt'],
    referrer: ['AssessmentItem'],
  },
  AssignableEvent: {
    actions: ['Activated', 'Deactivated', 'Started', 'Completed', 'Submitted', 'Reviewed'],
    actor: ['Person'],
    object: ['AssignableDigitalResource'],
    target: ['Frame'],
    generated: ['Attempt'],
  },
  MediaEvent: {
    actions: [...MEDIA_ACTIONS, ...MEDIA_ACTIONS_CONTEXT_SPELLING],
    actor: ['Person'],
    object: ['MediaObject'],
    target: ['MediaLocation'],
  },
  // The Survey Profile's NavigationEvent limits object to Questionnaire | QuestionnaireItem, both
  // DigitalResources, so the general table covers it.
  NavigationEvent: {
    actions: ['NavigatedTo'],
    actor: ['Person'],
    object: ['DigitalResource', 'SoftwareApplication'],
    target: ['DigitalResource'],
    referrer: ['DigitalResource', 'SoftwareApplication'],
  },
  ...EXTENSION_EVENTS,
  // 1.2 event table: generated "Required (Copied action only)".
  ResourceManagementEvent: {
    ...EXTENSION_EVENTS.ResourceManagementEvent!,
    requiredByAction: { Copied: ['generated'] },
  },
  ToolUseEvent: {
    actions: ['Used'],
    actor: ['Person'],
    object: ['SoftwareApplication'],
    target: ['SoftwareApplication'],
    generated: ['AggregateMeasureCollection'],
  },
  // object: DigitalResource (event table) or Result (Grading Profile: "ViewEvent Person Viewed Result").
  // target: DigitalResource per the Reading Profile table (a Frame; MediaLocation in the Media Profile).
  ViewEvent: {
    actions: ['Viewed'],
    actor: ['Person'],
    object: ['DigitalResource', 'Result'],
    target: ['DigitalResource'],
  },
};

export const EVENT_RULES: Record<CaliperVersion, Readonly<Record<string, EventRule>>> = {
  v1p1: V1P1,
  v1p2: V1P2,
};

/** Extra properties required for (eventType, action) in a version, e.g. ToolLaunchEvent Launched ->
 *  ['federatedSession']. Unknown event types or actions require nothing extra. */
export function requiredFor(version: CaliperVersion, eventType: string, action: string): readonly string[] {
  const rule = Object.hasOwn(EVENT_RULES[version], eventType) ? EVENT_RULES[version][eventType] : undefined;
  const byAction = rule?.requiredByAction;
  return byAction && Object.hasOwn(byAction, action) ? byAction[action]! : [];
}

/** Entity types allowed for the common Event properties, per the generic Event table (1.2 types
 *  federatedSession as "federatedSession | IRI", a typo; its text and Caliper 1.1 say LtiSession). */
export const COMMON_PROPERTY_TYPES: Readonly<
  Record<'edApp' | 'group' | 'membership' | 'session' | 'federatedSession', readonly string[]>
> = {
  edApp: ['SoftwareApplication'],
  group: ['Organization'],
  membership: ['Membership'],
  session: ['Session'],
  federatedSession: ['LtiSession'],
};

// ---------------------------------------------------------------------------------------------------------
// Entity hierarchy

/** Entity type -> its direct supertype ('Entity' at the root; events are not in here). Caliper 1.1 and 1.2
 *  together. Where the spec names two supertypes the first is here and the other in SECONDARY_SUPERTYPE. */
export const SUPERTYPE: Readonly<Record<string, string>> = {
  Agent: 'Entity',
  Person: 'Agent',
  Organization: 'Agent',
  SoftwareApplication: 'Agent',
  CourseOffering: 'Organization',
  CourseSection: 'CourseOffering',
  Group: 'Organization',

  Annotation: 'Entity',
  BookmarkAnnotation: 'Annotation',
  HighlightAnnotation: 'Annotation',
  SharedAnnotation: 'Annotation',
  TagAnnotation: 'Annotation',

  DigitalResource: 'Entity',
  AssignableDigitalResource: 'DigitalResource',
  Assessment: 'AssignableDigitalResource', // and DigitalResourceCollection
  AssessmentItem: 'AssignableDigitalResource',
  Chapter: 'DigitalResource',
  DigitalResourceCollection: 'DigitalResource', // 1.2: and Collection
  Forum: 'DigitalResourceCollection',
  Thread: 'DigitalResourceCollection',
  Questionnaire: 'DigitalResourceCollection',
  Document: 'DigitalResource',
  Frame: 'DigitalResource',
  LtiLink: 'DigitalResource',
  MediaLocation: 'DigitalResource',
  MediaObject: 'DigitalResource',
  AudioObject: 'MediaObject',
  ImageObject: 'MediaObject',
  VideoObject: 'MediaObject',
  Message: 'DigitalResource',
  Page: 'DigitalResource',
  Question: 'DigitalResource',
  DateTimeQuestion: 'Question',
  MultiselectQuestion: 'Question',
  OpenEndedQuestion: 'Question',
  RatingScaleQuestion: 'Question',
  QuestionnaireItem: 'DigitalResource',
  SurveyInvitation: 'DigitalResource',
  WebPage: 'DigitalResource',
  // Deprecated in 1.1.
  EpubChapter: 'DigitalResource',
  EpubPart: 'DigitalResource',
  EpubSubChapter: 'DigitalResource',
  EpubVolume: 'DigitalResource',
  Reading: 'DigitalResource',

  Collection: 'Entity',
  AggregateMeasureCollection: 'Collection',
  Survey: 'Collection',

  Response: 'Entity',
  DateTimeResponse: 'Response',
  FillinBlankResponse: 'Response',
  MultipleChoiceResponse: 'Response',
  MultipleResponseResponse: 'Response',
  MultiselectResponse: 'Response',
  OpenEndedResponse: 'Response',
  RatingScaleResponse: 'Response',
  SelectTextResponse: 'Response',
  TrueFalseResponse: 'Response',

  Scale: 'Entity',
  LikertScale: 'Scale',
  MultiselectScale: 'Scale',
  NumericScale: 'Scale',

  Session: 'Entity',
  LtiSession: 'Session',

  AggregateMeasure: 'Entity',
  Attempt: 'Entity',
  Comment: 'Entity',
  LearningObjective: 'Entity',
  Link: 'Entity',
  Membership: 'Entity',
  Query: 'Entity',
  Rating: 'Entity',
  Result: 'Entity',
  Score: 'Entity',
  SearchResponse: 'Entity',
};

/** Second supertypes: 1.1 and 1.2 give Assessment two (AssignableDigitalResource, DigitalResourceCollection);
 *  1.2 gives DigitalResourceCollection two (Collection, DigitalResource). */
export const SECONDARY_SUPERTYPE: Readonly<Record<string, string>> = {
  Assessment: 'DigitalResourceCollection',
  DigitalResourceCollection: 'Collection',
};

export function isKnownEntityType(type: string): boolean {
  return type === 'Entity' || Object.hasOwn(SUPERTYPE, type);
}

/** A known type's ancestors (itself included), worked out once per type. */
const ANCESTORS = new Map<string, ReadonlySet<string>>();

function ancestorsOf(type: string): ReadonlySet<string> {
  let set = ANCESTORS.get(type);
  if (set === undefined) {
    const all = new Set<string>([type]);
    if (Object.hasOwn(SUPERTYPE, type)) for (const a of ancestorsOf(SUPERTYPE[type]!)) all.add(a);
    if (Object.hasOwn(SECONDARY_SUPERTYPE, type))
      for (const a of ancestorsOf(SECONDARY_SUPERTYPE[type]!)) all.add(a);
    set = all;
    ANCESTORS.set(type, set);
  }
  return set;
}

/** `type` is `ancestor` or a subtype of it. Reflexive; an unknown type is only equal to itself. */
export function isA(type: string, ancestor: string): boolean {
  if (type === ancestor) return true;
  // Only the table's types are remembered (a sender's unknown types would grow the map without bound).
  if (!Object.hasOwn(SUPERTYPE, type)) return false;
  return ancestorsOf(type).has(ancestor);
}

// ---------------------------------------------------------------------------------------------------------
// Metric profiles (1.2)

const NAVIGATED = { NavigationEvent: ['NavigatedTo'], ViewEvent: ['Viewed'] } as const;

/** Profile name (as in an event's `profile`) -> event type -> allowed actions. 1.2 only (1.1 events have no
 *  `profile` property). From each profile's "Event actor action object" table. */
export const PROFILES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  // "Only the generic Event may be utilized", with any Caliper action.
  GeneralProfile: { Event: ACTIONS_V1P2 },
  AnnotationProfile: { AnnotationEvent: ['Bookmarked', 'Highlighted', 'Shared', 'Tagged'] },
  // Reset is missing from the profile's table but named in its rules ("Paused, Resumed, Reset: do not
  // change the current count value") and in the AssessmentEvent table.
  AssessmentProfile: {
    AssessmentEvent: ['Started', 'Paused', 'Resumed', 'Restarted', 'Reset', 'Submitted'],
    AssessmentItemEvent: ['Started', 'Skipped', 'Completed'],
    ...NAVIGATED,
  },
  AssignableProfile: {
    AssignableEvent: ['Activated', 'Deactivated', 'Started', 'Completed', 'Submitted', 'Reviewed'],
    ...NAVIGATED,
  },
  FeedbackProfile: { FeedbackEvent: ['Commented', 'Ranked'] },
  ForumProfile: {
    ForumEvent: ['Subscribed', 'Unsubscribed'],
    ThreadEvent: MARKED_AS,
    MessageEvent: [...MARKED_AS, 'Posted'],
    ...NAVIGATED,
  },
  GradingProfile: { GradeEvent: ['Graded'], ViewEvent: ['Viewed'] },
  MediaProfile: { MediaEvent: [...MEDIA_ACTIONS, ...MEDIA_ACTIONS_CONTEXT_SPELLING], ...NAVIGATED },
  ReadingProfile: { ...NAVIGATED },
  ResourceManagementProfile: { ResourceManagementEvent: RESOURCE_MANAGEMENT_ACTIONS },
  SearchProfile: { SearchEvent: ['Searched'] },
  SessionProfile: { SessionEvent: ['LoggedIn', 'LoggedOut', 'TimedOut'] },
  SurveyProfile: {
    SurveyInvitationEvent: ['Sent', 'Accepted', 'Declined'],
    SurveyEvent: ['OptedIn', 'OptedOut'],
    QuestionnaireEvent: ['Started', 'Submitted'],
    QuestionnaireItemEvent: ['Started', 'Skipped', 'Completed'],
    ...NAVIGATED,
  },
  ToolLaunchProfile: { ToolLaunchEvent: ['Launched', 'Returned'] },
  ToolUseProfile: { ToolUseEvent: ['Used'] },
};

/** The profile exists and lists this event type with this action. */
export function profileAllows(profile: string, eventType: string, action: string): boolean {
  if (!Object.hasOwn(PROFILES, profile)) return false;
  const events = PROFILES[profile]!;
  return Object.hasOwn(events, eventType) && events[eventType]!.includes(action);
}
