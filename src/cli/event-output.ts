// Prints lists of events in the CLI's output formats: table and wide for people, json (an audit.k8s.io/v1
// EventList), ndjson (one whole audit event per line) and csv for machines.
import type { EventRecord } from '../core/event.js';
import { eventLatencyMs, eventTime } from '../core/time.js';
import { csvRow, EVENT_CSV_HEADER, eventCsvLine } from '../core/csv.js';
import { renderTable, type Column } from './terminal.js';

export const EVENT_FORMATS = ['table', 'wide', 'json', 'ndjson', 'csv'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/** "ns/resource/name" or "resource/name" or the request path for non-resource requests. */
export function objectLabel(r: EventRecord): string {
  const o = r.event.objectRef;
  if (!o || !o.resource) return r.event.requestURI ?? '';
  const res = o.apiGroup ? `${o.resource}.${o.apiGroup}` : o.resource;
  const sub = o.subresource ? `/${o.subresource}` : '';
  const name = o.name ? `/${o.name}` : '';
  return `${o.namespace ? `${o.namespace}/` : ''}${res}${name}${sub}`;
}

/** "user" or "user (as impersonated)". */
export function actorLabel(r: EventRecord): string {
  const u = r.event.user?.username ?? '';
  const imp = r.event.impersonatedUser?.username;
  return imp ? `${u} (as ${imp})` : u;
}

const shortTime = (r: EventRecord) => {
  const t = eventTime(r.event);
  return t ? t.replace('T', ' ').replace(/(\.\d{3})\d*Z$/, '$1Z') : '';
};

const code = (r: EventRecord) => {
  const c = r.event.responseStatus?.code;
  return c === undefined ? '' : String(c);
};

const latency = (r: EventRecord) => {
  const ms = eventLatencyMs(r.event);
  return ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
};

const TABLE: Column<EventRecord>[] = [
  { header: 'TIME', get: shortTime, min: 24 },
  { header: 'USER', get: actorLabel, min: 12, weight: 2 },
  { header: 'VERB', get: (r) => r.event.verb ?? '', min: 6 },
  { header: 'OBJECT', get: objectLabel, min: 16, weight: 3 },
  { header: 'CODE', get: code, min: 4, right: true },
];

const WIDE: Column<EventRecord>[] = [
  ...TABLE,
  { header: 'STAGE', get: (r) => r.event.stage ?? '', min: 8 },
  { header: 'SOURCE', get: (r) => r.event.sourceIPs?.[0] ?? '', min: 8 },
  { header: 'LATENCY', get: latency, min: 7, right: true },
  { header: 'USER AGENT', get: (r) => r.event.userAgent ?? '', min: 10 },
  { header: 'AUDIT ID', get: (r) => r.event.auditID ?? '', min: 36 },
  { header: 'CLUSTER', get: (r) => r.cluster, min: 7 },
];

/**
 * Renders events in one of the formats; the result ends with a newline unless empty. `table` is fitted to
 * `width`; `wide` too on a terminal, but not when `terminal` is false (a pipe or a file), where it keeps
 * every value whole (addresses, user agents, IDs) for the program or file that reads it.
 */
export function formatEvents(
  records: readonly EventRecord[],
  format: EventFormat,
  width: number,
  terminal = false,
): string {
  switch (format) {
    case 'table':
    case 'wide':
      if (records.length === 0) return '';
      return `${renderTable(records, format === 'table' ? TABLE : WIDE, format === 'wide' && !terminal ? Infinity : width)}\n`;
    case 'ndjson':
      return records.map((r) => `${JSON.stringify(r.event)}\n`).join('');
    case 'json':
      return `${JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: records.map((r) => r.event) }, null, 2)}\n`;
    case 'csv':
      return [csvRow([...EVENT_CSV_HEADER]), ...records.map(eventCsvLine)].join('\n') + '\n';
  }
}
