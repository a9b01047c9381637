// CSV (RFC 4180) encoding: every field quoted, quotes doubled, so commas, quotes and newlines in
// attacker-chosen values cannot break the row structure; and the columns of an event in every CSV
// kubetrail writes (`query -o csv`, the API's and the explorer's exports), defined once.
import type { EventRecord } from './event.js';
import { eventLatencyMs, eventTime } from './time.js';

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '""';
  return `"${String(value).replace(/"/g, '""')}"`;
}

export function csvRow(values: readonly (string | number | null | undefined)[]): string {
  return values.map(csvField).join(',');
}

/** The columns of an event as CSV, in order. */
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

/** One event as a CSV row (without the line end), in the order of EVENT_CSV_HEADER. */
export function eventCsvLine(r: EventRecord): string {
  const e = r.event;
  return csvRow([
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
