// Events as CSV (RFC 4180: every field quoted, quotes doubled, so a value cannot break the row), with the
// columns of `kubetrail query -o csv`, for exports through the API. A test keeps the two in agreement.
import type { EventRecord } from '../core/event.js';
import { eventLatencyMs, eventTime } from '../core/time.js';

export const EVENT_CSV_HEADER = [
  'time',
  'cluster',
  'auditID',
  'stage',
  'level',
  'verb',
  'user',
  'groups',
  'impersonatedUser',
  'sourceIP',
  'userAgent',
  'namespace',
  'resource',
  'subresource',
  'name',
  'apiGroup',
  'code',
  'reason',
  'requestURI',
  'latencyMs',
  'decision',
] as const;

function field(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '""';
  return `"${String(value).replace(/"/g, '""')}"`;
}

export function csvRowOf(values: readonly (string | number | null | undefined)[]): string {
  return values.map(field).join(',');
}

export function eventCsvLine(r: EventRecord): string {
  const e = r.event;
  return csvRowOf([
    eventTime(e),
    r.cluster,
    e.auditID,
    e.stage,
    e.level,
    e.verb,
    e.user?.username,
    (e.user?.groups ?? []).join(';'),
    e.impersonatedUser?.username,
    e.sourceIPs?.[0],
    e.userAgent,
    e.objectRef?.namespace,
    e.objectRef?.resource,
    e.objectRef?.subresource,
    e.objectRef?.name,
    e.objectRef?.apiGroup,
    e.responseStatus?.code,
    e.responseStatus?.reason,
    e.requestURI,
    eventLatencyMs(e),
    e.annotations?.['authorization.k8s.io/decision'],
  ]);
}
