// The stored shape of an event: typed columns for the fields people filter and group on, plus the whole
// event as JSON. Shared by every store dialect so that the field catalog's `column` names mean the same
// thing everywhere. Also computes the content hash that makes writes idempotent.
import crypto, { createHash } from 'node:crypto';
import type { EventRecord } from '../core/event.js';
import { eventLatencyMs, eventTime, timeToMicros } from '../fields/catalog.js';

export type ColumnType = 'varchar' | 'varchar[]' | 'integer' | 'double' | 'timestamp' | 'json';

/** Column name → type, in table order. `event` holds the whole audit event as JSON text. */
export const EVENT_COLUMNS = [
  ['cluster', 'varchar'],
  ['audit_id', 'varchar'],
  ['stage', 'varchar'],
  ['content_hash', 'varchar'],
  ['ts', 'timestamp'],
  ['received_ts', 'timestamp'],
  ['latency_ms', 'double'],
  ['level', 'varchar'],
  ['verb', 'varchar'],
  ['username', 'varchar'],
  ['user_groups', 'varchar[]'],
  ['impersonated_user', 'varchar'],
  ['source_ips', 'varchar[]'],
  ['user_agent', 'varchar'],
  ['namespace', 'varchar'],
  ['resource', 'varchar'],
  ['subresource', 'varchar'],
  ['name', 'varchar'],
  ['api_group', 'varchar'],
  ['api_version', 'varchar'],
  ['code', 'integer'],
  ['reason', 'varchar'],
  ['message', 'varchar'],
  ['request_uri', 'varchar'],
  ['decision', 'varchar'],
  ['annotations', 'json'],
  ['event', 'json'],
] as const satisfies readonly (readonly [string, ColumnType])[];

export type ColumnName = (typeof EVENT_COLUMNS)[number][0];

/** One row ready for a store: timestamps as epoch microseconds, JSON columns as text, absent values null. */
export interface EventRow {
  cluster: string;
  audit_id: string;
  stage: string;
  content_hash: string;
  ts: number;
  received_ts: number | null;
  latency_ms: number | null;
  level: string;
  verb: string;
  username: string | null;
  user_groups: string[];
  impersonated_user: string | null;
  source_ips: string[];
  user_agent: string | null;
  namespace: string | null;
  resource: string | null;
  subresource: string | null;
  name: string | null;
  api_group: string | null;
  api_version: string | null;
  code: number | null;
  reason: string | null;
  message: string | null;
  request_uri: string | null;
  decision: string | null;
  annotations: string | null;
  event: string;
}

const s = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The response code column (a 32-bit integer in every store): a whole number in range, else null (the
 * event itself is still stored whole). A hostile code such as 1e12 must not make the batch unstorable.
 */
function statusCode(code: unknown): number | null {
  if (typeof code !== 'number' || !Number.isFinite(code)) return null;
  const c = Math.trunc(code);
  return c >= -2147483648 && c <= 2147483647 ? c : null;
}

const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * Content hash of an event: identical events (what retries and re-reads produce) hash the same, distinct
 * events that share an auditID and stage do not. `eventJson` is JSON.stringify(event).
 */
export function contentHash(cluster: string, eventJson: string): string {
  // The same bytes as always (UTF-8 of cluster, NUL, event JSON) through SHA-1, so stores written
  // before keep deduplicating; the one-shot hash (Node >= 20.12) skips building a Hash object per event.
  return oneShot
    ? oneShot('sha1', `${cluster}\0${eventJson}`, 'hex').slice(0, 32)
    : createHash('sha1').update(cluster).update('\0').update(eventJson).digest('hex').slice(0, 32);
}

/** Turns a record into a row. `eventJson` may be passed when the caller already serialized the event. */
export function toRow(record: EventRecord, eventJson?: string): EventRow {
  const e = record.event;
  const json = eventJson ?? JSON.stringify(e);
  const ts = timeToMicros(eventTime(e)) ?? 0;
  const received = e.requestReceivedTimestamp ? (timeToMicros(e.requestReceivedTimestamp) ?? null) : null;
  const code = e.responseStatus?.code;
  return {
    cluster: record.cluster,
    audit_id: e.auditID ?? '',
    stage: e.stage ?? '',
    content_hash: contentHash(record.cluster, json),
    ts,
    received_ts: received,
    latency_ms: eventLatencyMs(e) ?? null,
    level: e.level ?? '',
    verb: e.verb ?? '',
    username: s(e.user?.username),
    user_groups: Array.isArray(e.user?.groups) ? e.user.groups.filter((g) => typeof g === 'string') : [],
    impersonated_user: s(e.impersonatedUser?.username),
    source_ips: Array.isArray(e.sourceIPs) ? e.sourceIPs.filter((g) => typeof g === 'string') : [],
    user_agent: s(e.userAgent),
    namespace: s(e.objectRef?.namespace),
    resource: s(e.objectRef?.resource),
    subresource: s(e.objectRef?.subresource),
    name: s(e.objectRef?.name),
    api_group: s(e.objectRef?.apiGroup),
    api_version: s(e.objectRef?.apiVersion),
    code: statusCode(code),
    reason: s(e.responseStatus?.reason),
    message: s(e.responseStatus?.message),
    request_uri: s(e.requestURI),
    decision: s(e.annotations?.['authorization.k8s.io/decision']),
    annotations:
      e.annotations && Object.keys(e.annotations).length > 0 ? JSON.stringify(e.annotations) : null,
    event: json,
  };
}
