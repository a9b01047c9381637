// The HTTP API client of the UI: typed answers of /api/v1, errors with their stable code, the session's
// CSRF token sent with every POST, and a hook other modules use to learn that the session has ended.
import type { AuditEvent } from '../../src/core/event.js';
import type { FieldChange, HistoryEntry } from '../../src/history/changes.js';
import type { IntegrityFinding, VerificationRecord } from '../../src/integrity/types.js';

export type { AuditEvent, FieldChange, HistoryEntry, IntegrityFinding, VerificationRecord };

export interface User {
  name: string;
  role: 'admin' | 'analyst' | 'viewer' | string;
  scope?: string | null;
  bodies?: boolean;
}

export interface Me extends User {
  csrfToken: string;
}

export interface EventsPage {
  events: AuditEvent[];
  clusters: string[];
  nextCursor?: string;
}

export interface EventDetail {
  records: { cluster: string; event: AuditEvent }[];
  diff?: { previous?: { auditID: string; time: string }; changes: FieldChange[]; note?: string };
}

export interface Histogram {
  intervalMs: number;
  buckets: { start: string | number; counts: Record<string, number> }[];
}

export interface TopRows {
  field: string;
  total: number;
  rows: Counted[];
}

export interface FieldInfo {
  name: string;
  aliases: string[];
  type: string;
  description: string;
}

export interface Counted {
  value: string | number | null;
  count: number;
}

export interface Session {
  start: string;
  end: string;
  count: number;
  sensitive: number | boolean;
}

export interface Identity {
  user: string;
  total: number;
  verbs: Counted[];
  resources: Counted[];
  namespaces: Counted[];
  sourceIPs: Counted[];
  userAgents: Counted[];
  sessions: Session[];
  events: AuditEvent[];
  clusters?: string[];
}

/** GET /api/v1/rbac/suggest: permissions used in the range, refused requests, the suggested RBAC. */
export interface RbacSuggestion {
  user: string;
  subject: string;
  source: { events: number; maxEvents: number; truncated: boolean };
  used: {
    apiGroup: string;
    resource: string;
    verb: string;
    namespace: string;
    count: number;
    last: string;
  }[];
  refused: { request: string; count: number; last: string }[];
  suggestion: { yaml: string; objects: unknown[] };
}

/** POST /api/v1/rbac/review: the suggestion plus what was granted and went unused. */
export interface RbacReview extends RbacSuggestion {
  rbac: { objects: number; skipped: number };
  granted: number;
  unused: {
    subject: string;
    permission: string;
    namespace: string;
    role: string;
    via?: string;
    binding: string;
    dangerous?: string;
  }[];
}

export interface Alert {
  id: string;
  rule: string;
  title: string;
  severity: string;
  time: string;
  cluster?: string;
  auditIDs: string[];
  message: string;
  references: string[];
  status?: 'open' | 'acked' | string;
  acked?: { by?: string; at?: string } | null;
}

export interface Rule {
  id: string;
  title?: string;
  severity?: string;
  description?: string;
  [key: string]: unknown;
}

/** An error answered by the API: `{"error":{"code","message","hint","where"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly where?: { column?: number; line?: number; path?: string },
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when any request answers 401: the session expired or was revoked. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

type Params = Record<string, string | number | undefined | null>;

export function queryString(params: Params): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const e = (data as { error?: Record<string, unknown> } | undefined)?.error;
    if (res.status === 401 && !path.endsWith('/login') && !path.endsWith('/me')) onUnauthorized();
    throw new ApiError(
      res.status,
      typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`,
      typeof e?.message === 'string' ? e.message : `${res.status} ${res.statusText}`,
      typeof e?.hint === 'string' ? e.hint : undefined,
      (e?.where as ApiError['where']) ?? undefined,
    );
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, params: Params = {}, signal?: AbortSignal) =>
    request<T>('GET', `/api/v1${path}${queryString(params)}`, undefined, signal),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', `/api/v1${path}`, body),
};

export function login(token: string): Promise<{ user: User; csrfToken: string }> {
  return api.post('/login', { token });
}

export function logout(): Promise<unknown> {
  return api.post('/logout');
}

/** The first line of an error message (filter errors carry the filter and a caret on later lines). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message.split('\n')[0]}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** GET /api/v1/gaps: silences of the streams that should be continuous, per cluster. */
export interface Gap {
  cluster: string;
  start: string;
  end?: string;
  seconds: number;
  open: boolean;
  confidence: number;
  level: 'high' | 'medium' | 'low';
  silent: string[];
  goingOn: string[];
  expectedMissing: number;
  allClusters: boolean;
  exact: boolean;
}

export interface GapReport {
  since?: string;
  until?: string;
  bucketSeconds: number;
  clusters: {
    cluster: string;
    events: number;
    streams: { name: string; events: number; perMinute: number }[];
  }[];
  gaps: Gap[];
  webhook?: {
    since: string;
    refused: Record<string, number>;
    duplicates: Record<string, number>;
    received: Record<string, number>;
  };
}

/** GET /api/v1/integrity: the last verification of the tamper evidence and the digest chain's state. */
export interface IntegrityState {
  last?: VerificationRecord;
  chain: { records: number; headSeq?: number; lastSigned?: string; publicKeyFingerprint?: string };
  schedule: { intervalSeconds: number; running: boolean; next?: string };
}

export type ExportFormat = 'bundle' | 'ndjson' | 'csv';

/** The address that downloads the view as a bundle, NDJSON or CSV (the session cookie authenticates it). */
export function exportUrl(format: ExportFormat, params: Params): string {
  return `/api/v1/export${queryString({ ...params, format })}`;
}
