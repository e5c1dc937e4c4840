/**
 * The one catalogue of error codes (STYLE.md #3). Every rejection of input, in the gateway and the cloud,
 * carries one of these codes, its HTTP status (webhooks, APIs) and a human message. docs/errors.md lists
 * them all; a test keeps the two in step.
 */
export const ERRORS = {
  CT_ERR_NOT_JSON: { status: 400, message: 'payload is not valid JSON' },
  CT_ERR_SCHEMA: { status: 422, message: 'payload does not match the expected schema' },
  CT_ERR_BAD_VALUE: { status: 422, message: 'value is not a finite number' },
  CT_ERR_OUT_OF_RANGE: { status: 422, message: 'value outside the physical range of its quantity' },
  CT_ERR_TS_FUTURE: { status: 422, message: 'timestamp is too far in the future' },
  CT_ERR_TS_TOO_OLD: { status: 422, message: 'timestamp is older than the journal keeps' },
  CT_ERR_UNKNOWN_CHANNEL: { status: 422, message: 'channel is not registered for this device' },
  CT_ERR_UNKNOWN_DEVICE: { status: 403, message: 'device is not registered' },
  CT_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'payload exceeds the configured maximum size' },
  CT_ERR_BAD_TOPIC: { status: 400, message: 'topic is not one the gateway accepts' },
  CT_ERR_TOPIC_DENIED: { status: 403, message: 'a device may publish only under its own topic prefix' },
  CT_ERR_SUBSCRIBE_DENIED: { status: 403, message: 'subscription not allowed for this client' },
  CT_ERR_AUTH: { status: 401, message: 'bad credentials' },
  CT_ERR_FORBIDDEN: { status: 403, message: 'the credentials lack the scope this request needs' },
  CT_ERR_BACKUP: { status: 409, message: 'backup or restore refused' },
  CT_ERR_CSRF: { status: 403, message: 'cross-site request refused: its Origin is not this gateway' },
  CT_ERR_AUTH_RATE: { status: 429, message: 'too many failed logins from this address; try again later' },
  CT_ERR_MODEL_UNAVAILABLE: {
    status: 503,
    message: 'no dropout model has been trained yet (campus-twin cloud train-risk)',
  },
  CT_ERR_OUTBOX_FULL: { status: 503, message: 'outbox is full; retry later' },
  CT_ERR_CONFIG: { status: 500, message: 'configuration is invalid' },
  CT_ERR_NOT_FOUND: { status: 404, message: 'no such resource' },
  CT_ERR_AMBIGUOUS: {
    status: 409,
    message: 'the id names a resource on several campuses; name one with ?campus=',
  },
  CT_ERR_WIRE_PROPERTIES: { status: 422, message: 'uplink event lacks the batch properties' },
  CT_ERR_WIRE_ENCODING: { status: 422, message: 'uplink event body is not gzip-compressed JSON' },
  CT_ERR_WIRE_SCHEMA: { status: 422, message: 'uplink event does not match its schema' },
  CT_ERR_BAD_QUERY: { status: 400, message: 'query parameter is invalid' },
  CT_ERR_SIGNATURE: { status: 401, message: 'webhook signature missing or wrong' },
  CT_ERR_SIGNATURE_EXPIRED: { status: 401, message: 'webhook timestamp missing or outside the tolerance' },
  CT_ERR_REPLAY: { status: 401, message: 'webhook request already received (replay)' },
  CT_ERR_CONFLICT: {
    status: 409,
    message: 'an event with this id is already stored with a different body',
  },
  CT_ERR_RATE_LIMITED: { status: 429, message: 'too many requests; retry later' },
  CT_ERR_MEDIA_TYPE: { status: 415, message: 'content type must be JSON' },
  CT_ERR_JOURNAL_UNAVAILABLE: { status: 503, message: 'the journal could not store the events; retry later' },
  CT_ERR_IMPLAUSIBLE: { status: 422, message: 'value is not plausible for its register' },
  CT_ERR_MODBUS_EXCEPTION: { status: 502, message: 'Modbus device answered with an exception' },
  CT_ERR_MODBUS_TIMEOUT: { status: 504, message: 'Modbus device did not answer in time' },
  CT_ERR_MODBUS_FRAME: { status: 502, message: 'Modbus response was malformed (CRC or length error)' },
  CT_ERR_MODBUS_UNREACHABLE: {
    status: 502,
    message: 'Modbus device or bus is not reachable (connect failed or lost)',
  },
  CT_ERR_MQTT_MALFORMED: {
    status: 400,
    message: 'malformed MQTT packet (connection closed)',
  },
  CT_ERR_BACKLOG_OLD: {
    status: 503,
    message: 'the uplink backlog is older than its age budget',
  },
  CT_ERR_DISK_LOW: {
    status: 503,
    message: 'the data volume is nearly full',
  },
  CT_ERR_STATE_DAMAGED: {
    status: 500,
    message: 'a gateway state file was damaged; it was moved aside and rebuilt',
  },
  CT_ERR_JOURNAL_IDENTITY: {
    status: 500,
    message: 'the journal is not the one this gateway was using; start refused',
  },
  CT_ERR_MODBUS_ORDER: {
    status: 422,
    message: "the register map's byte/word order looks wrong for this device",
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** An input rejection: code, status and a message naming what was wrong. */
export class CampusTwinError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail?: string) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message);
    this.name = 'CampusTwinError';
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

/** A rejection as plain data, for pure functions that return rather than throw. */
export interface Rejection {
  code: ErrorCode;
  message: string;
}

export function reject(code: ErrorCode, detail?: string): Rejection {
  return { code, message: detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message };
}
