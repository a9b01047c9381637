// Shared pieces of the HTTP API: what routes need from the server (ApiContext), the route guard (Guard),
// input validation with precise messages, time ranges, filters and field names as the caller may use
// them (checked by the one body-field guard of auth/scope.ts and joined to the caller's scope), JSON
// bodies and error answers (`{"error":{"code","message","hint","where"}}` with a status derived from the
// code). Routes take every filter and field from the caller through `filterOf`, `userFilter` and
// `fieldOf`, which require the caller, so that none can skip the guard.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { parseTimeArg } from '../../core/duration.js';
import { KubetrailError, isKubetrailError, type ErrorCode } from '../../core/errors.js';
import type { AlertLog } from '../../core/alert.js';
import type { VerificationRecord } from '../../integrity/types.js';
import { resolveNamedField } from '../../query/field-name.js';
import { parseQuery, type QueryNode } from '../../query/index.js';
import type { Store, TimeRange } from '../../store/store.js';
import { assertFieldAllowed, assertFilterAllowed, scoped, type Principal } from '../auth/scope.js';
import type { ApiAuth } from '../auth/index.js';
import type { Role } from '../auth/tokens.js';
import type { VerificationTask } from '../integrity-task.js';
import type { LiveHub } from '../live.js';
import type { CollectorMetrics } from '../metrics.js';

/** Route options guarding a route: the roles allowed (default: admin, analyst, viewer). */
export type Guard = (roles?: readonly Role[]) => {
  preHandler: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
};

export interface RuleInfo {
  id: string;
  title: string;
  severity: string;
  description: string;
  references: string[];
  enabled: boolean;
}

/** The digest chain as the store holds it. */
export interface ChainState {
  /** Digest records stored. */
  records: number;
  /** The last record's sequence number. */
  headSeq?: number;
  /** When the chain was last signed (RFC 3339). */
  lastSigned?: string;
  /** The signer's public key fingerprint (`sha256:` and hex of the SPKI DER). */
  publicKeyFingerprint?: string;
}

/** What the integrity routes read and run: the store's records and the server's verification task. */
export interface IntegrityApi {
  task: VerificationTask;
  lastVerification(): Promise<VerificationRecord | undefined>;
  chainState(): Promise<ChainState>;
}

export interface ApiContext {
  config: Config;
  store: Store;
  auth: ApiAuth;
  hub: LiveHub;
  metrics: CollectorMetrics;
  logger: Logger;
  /** Where alerts are read and acknowledged (the store's alert tables); undefined when unavailable. */
  alerts?: AlertLog;
  /** The detection rules in effect. */
  rules: () => RuleInfo[];
  /** The tamper evidence: last verification, chain state, verification on demand. */
  integrity?: IntegrityApi;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  KT_AUTH_REQUIRED: 401,
  KT_FORBIDDEN: 403,
  KT_BODY_FORBIDDEN: 403,
  KT_STREAM_LIMIT: 429,
  KT_NOT_FOUND: 404,
  KT_RATE_LIMITED: 429,
  KT_OVERLOADED: 429,
  KT_STORE_OPEN: 503,
  KT_STORE_QUERY: 503,
  KT_STORE_WRITE: 503,
  KT_STORE_SCHEMA: 503,
  KT_INTEGRITY_UNAVAILABLE: 503,
  KT_INTEGRITY_DIGESTS: 503,
  KT_INTERNAL: 500,
  KT_BODY_TOO_LARGE: 413,
};

/** The HTTP status for an error code: 400 unless the code says otherwise. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

export function sendError(reply: FastifyReply, err: KubetrailError): FastifyReply {
  return reply
    .code(statusOf(err.code))
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: err.toJSON() });
}

export function requestError(param: string, message: string, hint?: string): KubetrailError {
  return new KubetrailError('KT_API_REQUEST', message, { where: { path: param }, ...(hint ? { hint } : {}) });
}

/** Validates a query string or body with a zod schema; the first problem becomes KT_API_REQUEST. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what = 'parameter'): z.infer<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `\`${k}\``).join(', ');
    throw requestError(issue.keys[0] ?? '', `unknown ${what}${issue.keys.length > 1 ? 's' : ''} ${keys}`);
  }
  const name = issue.path.map(String).join('.');
  throw requestError(name, `${what} \`${name}\`: ${issue.message}`);
}

/** A `limit` parameter: a whole number in [1, max]. */
export const limitParam = (max: number, dflt: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(max, { error: `must be at most ${max}` })
    .default(dflt);

/** Parses `since`/`until` (durations or RFC 3339 times) into an epoch-µs range. */
export function timeRangeOf(
  q: { since?: string | undefined; until?: string | undefined },
  now = Date.now(),
): TimeRange {
  const out: TimeRange = {};
  for (const key of ['since', 'until'] as const) {
    const text = q[key];
    if (text === undefined || text === '') continue;
    const ms = parseTimeArg(text, now);
    if (ms === undefined)
      throw new KubetrailError(
        'KT_TIME_INVALID',
        `\`${key}\` ${JSON.stringify(text.slice(0, 100))} is neither a duration (15m, 24h, 7d) nor an RFC 3339 time`,
        { where: { path: key } },
      );
    out[key] = ms * 1000;
  }
  if (out.since !== undefined && out.until !== undefined && out.since >= out.until)
    throw new KubetrailError('KT_TIME_INVALID', '`since` must be before `until`', {
      where: { path: 'since' },
    });
  return out;
}

/**
 * A filter the caller sent in parameter `param`, parsed and checked against what the caller may name
 * (a token without bodies may name no body field); not joined to the scope.
 */
export function userFilter(user: Principal, param: string, text: string | undefined): QueryNode {
  const node = parseQuery(text ?? '');
  assertFilterAllowed(user, param, node);
  return node;
}

/** The filter the caller sent in parameter `param` (default `q`), checked, and joined to its scope. */
export function filterOf(user: Principal, q: string | undefined, param = 'q'): QueryNode {
  return scoped(user, userFilter(user, param, q));
}

/**
 * A field name the caller sent in parameter `param` (a catalog field, `annotations.KEY` or a JSON path),
 * checked against what the caller may name; throws KT_QUERY_FIELD for an unknown field.
 */
export function fieldOf(user: Principal, param: string, name: string): string {
  resolveNamedField(name, param, 'GET /api/v1/fields lists the fields');
  assertFieldAllowed(user, param, name);
  return name;
}

/** The authenticated caller (set by requireSession). */
export function userOf(req: FastifyRequest): Principal {
  const u = req.kubetrailUser;
  if (!u) throw new KubetrailError('KT_AUTH_REQUIRED', 'authentication is required');
  return u;
}

/** Parses a JSON request body (bodies arrive raw); `maxBytes` bounds it. */
export function jsonBody(req: FastifyRequest, maxBytes: number): unknown {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (body.length > maxBytes)
    throw new KubetrailError('KT_BODY_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
  const type = String(req.headers['content-type'] ?? '');
  if (body.length > 0 && type !== '' && !/^application\/json\s*(;|$)/i.test(type))
    throw new KubetrailError(
      'KT_API_REQUEST',
      `send the body as application/json, not ${JSON.stringify(type.slice(0, 80))}`,
    );
  if (body.length === 0) throw requestError('body', 'a JSON body is required');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw requestError('body', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Maps anything thrown by a route to a KubetrailError. */
export function asKubetrailError(err: unknown): KubetrailError | undefined {
  return isKubetrailError(err) ? err : undefined;
}
