// Reading and formatting what the UI shows of an audit event: table columns (how each reads its value),
// times, durations, numbers and response classes.
import type { AuditEvent } from './api.js';

export interface Column {
  id: string;
  title: string;
  /** The filter field a value of this column is filtered by. */
  field?: string;
  width: number;
  get(e: AuditEvent, cluster: string): string;
}

export function latencyMs(e: AuditEvent): number | undefined {
  const a = Date.parse(e.requestReceivedTimestamp);
  const b = Date.parse(e.stageTimestamp);
  return Number.isFinite(a) && Number.isFinite(b) ? b - a : undefined;
}

export function formatTime(t: string | number | undefined): string {
  if (t === undefined || t === '') return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  return `${(ms / 60_000).toFixed(1)}m`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/**
 * A count short enough for a chart axis: 950, 1.5k, 20k, 2.5M, 1G (whole numbers below 1000, at most one
 * decimal above, never a thousands separator that the axis could cut).
 */
export function formatAxisCount(n: number): string {
  const abs = Math.abs(n);
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) return `${trimZero((n / size).toFixed(abs / size >= 100 ? 0 : 1))}${unit}`;
  }
  return Number.isInteger(n) ? String(n) : trimZero(n.toFixed(1));
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

export function codeClass(code: number | string | undefined): string {
  const n = Number(code);
  if (!Number.isFinite(n) || n <= 0) return 'none';
  return `${Math.floor(n / 100)}xx`;
}

export const SENSITIVE_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

export function isSensitive(e: AuditEvent): boolean {
  return SENSITIVE_SUBRESOURCES.has(e.objectRef?.subresource ?? '');
}

export const COLUMNS: Column[] = [
  { id: 'time', title: 'Time', width: 200, get: (e) => formatTime(e.stageTimestamp) },
  { id: 'verb', title: 'Verb', field: 'verb', width: 90, get: (e) => e.verb },
  { id: 'user', title: 'User', field: 'user', width: 240, get: (e) => e.user?.username ?? '' },
  {
    id: 'resource',
    title: 'Resource',
    field: 'resource',
    width: 130,
    get: (e) => e.objectRef?.resource ?? '',
  },
  {
    id: 'subresource',
    title: 'Subresource',
    field: 'subresource',
    width: 100,
    get: (e) => e.objectRef?.subresource ?? '',
  },
  { id: 'ns', title: 'Namespace', field: 'ns', width: 130, get: (e) => e.objectRef?.namespace ?? '' },
  { id: 'name', title: 'Name', field: 'name', width: 180, get: (e) => e.objectRef?.name ?? '' },
  {
    id: 'code',
    title: 'Code',
    field: 'code',
    width: 60,
    get: (e) => (e.responseStatus?.code !== undefined ? String(e.responseStatus.code) : ''),
  },
  { id: 'latency', title: 'Latency', width: 80, get: (e) => formatMs(latencyMs(e)) },
  { id: 'cluster', title: 'Cluster', field: 'cluster', width: 100, get: (_e, c) => c },
  { id: 'stage', title: 'Stage', field: 'stage', width: 130, get: (e) => e.stage },
  { id: 'ip', title: 'Source IP', field: 'ip', width: 120, get: (e) => e.sourceIPs?.[0] ?? '' },
  { id: 'ua', title: 'User agent', field: 'ua', width: 260, get: (e) => e.userAgent ?? '' },
  {
    id: 'decision',
    title: 'Decision',
    field: 'decision',
    width: 80,
    get: (e) => e.annotations?.['authorization.k8s.io/decision'] ?? '',
  },
  { id: 'uri', title: 'Request URI', field: 'uri', width: 320, get: (e) => e.requestURI },
];

export const DEFAULT_COLUMNS = ['time', 'verb', 'user', 'resource', 'ns', 'name', 'code', 'ua'];
