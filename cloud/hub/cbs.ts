/**
 * Claims-based security (`$cbs`): a `put-token` request carries a SAS token for an audience; when the
 * signature checks against a configured key and has not expired, the connection is granted that audience
 * until the token's expiry. Replies follow the Event Hubs CBS convention: application properties
 * `status-code` (202 accepted, 401 refused, 400 malformed) and `status-description`. Pure.
 */
import { covers, entityPath, type SasKey, verifySas } from './sas.ts';

export const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';

export interface CbsRequest {
  operation: unknown;
  /** The audience, e.g. sb://localhost:5672/campus-twin/Partitions/0. */
  name: unknown;
  type: unknown;
  token: unknown;
}

export interface Grant {
  /** Entity path the grant covers (and everything under it), lower case. */
  path: string;
  expiresAtMs: number;
}

export interface CbsReply {
  status: number;
  description: string;
  condition?: string;
  grant?: Grant;
}

export function putToken(req: CbsRequest, keys: readonly SasKey[], nowMs: number): CbsReply {
  if (req.operation !== 'put-token') {
    return {
      status: 400,
      condition: 'amqp:not-implemented',
      description: `unsupported operation ${String(req.operation)}`,
    };
  }
  if (typeof req.name !== 'string' || typeof req.token !== 'string') {
    return {
      status: 400,
      condition: 'com.microsoft:argument-error',
      description: 'put-token needs name and a string token',
    };
  }
  if (req.type !== SAS_TOKEN_TYPE) {
    return {
      status: 401,
      condition: 'amqp:unauthorized-access',
      description: `only ${SAS_TOKEN_TYPE} tokens are accepted here`,
    };
  }
  const check = verifySas(req.token, keys, nowMs);
  if (!check.ok) return { status: 401, condition: 'amqp:unauthorized-access', description: check.reason };
  const path = entityPath(req.name);
  if (!covers(check.entityPath, path)) {
    return {
      status: 401,
      condition: 'amqp:unauthorized-access',
      description: 'token audience does not cover the claim',
    };
  }
  return { status: 202, description: 'Accepted', grant: { path, expiresAtMs: check.expiresAtMs } };
}

export function isAuthorized(grants: readonly Grant[], path: string, nowMs: number): boolean {
  const p = path.toLowerCase();
  return grants.some((g) => g.expiresAtMs > nowMs && covers(g.path, p));
}
